"""The diagram viewer (docs/javascripts/diagram-viewer.js, issue 10 rule 5), in Chromium.

A click on a diagram opens a full-screen copy: the wheel, a pinch and the buttons zoom it, a drag
pans it, Esc closes it and gives the focus back, node links still lead to their targets, on a
desktop, on a 390 px phone (touch), in dark mode and from the offline bundle over file://.
Screenshots of the open viewer go to ``reports/screenshots/viewer-*.png``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from .conftest import ROOT, SHOTS, TIMEOUT_MS, new_context
from .test_offline import offline  # noqa: F401  (the unpacked bundle, a fixture)

pytestmark = pytest.mark.browser

PAGE = "papers/resnet/"
PHONE = {"width": 390, "height": 844}
DIALOG = ".dl-viewer[role=dialog]"

_STATE_JS = r"""() => {
  const root = document.querySelector('.dl-viewer');
  if (!root) return null;
  const svg = root.querySelector('svg');
  const num = '([-\\d.e]+)';
  const m = new RegExp(`translate\\(${num}px,\\s*${num}px\\)\\s*scale\\(${num}\\)`)
    .exec(svg.style.transform);
  const probe = svg.querySelector('[class*="dlf-"]');
  const text = svg.querySelector('text');
  return {
    transform: svg.style.transform,
    x: m ? +m[1] : NaN, y: m ? +m[2] : NaN, s: m ? +m[3] : NaN,
    focusInside: root.contains(document.activeElement),
    modal: root.getAttribute('aria-modal'),
    label: root.getAttribute('aria-label'),
    ids: svg.querySelectorAll('[id]').length + (svg.id ? 1 : 0),
    links: svg.querySelectorAll('a').length,
    fill: probe ? getComputedStyle(probe).fill : null,
    fillVar: probe ? '--dl-' + /\bdlf-([\w-]+)/.exec(probe.getAttribute('class'))[1] : null,
    font: text ? getComputedStyle(text).fontFamily : '',
    scrollLocked: getComputedStyle(document.documentElement).overflow === 'hidden',
  };
}"""


def _page(browser: Any, server: str, *, phone: bool = False, scheme: str = "light") -> Any:
    if phone:
        ctx = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            color_scheme=scheme,
            locale="zh-CN",
        )
    else:
        ctx, _ = new_context(browser, server, scheme)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dl_errors = []
    page.on("pageerror", lambda e: page.dl_errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.dl_errors.append(m.text))
    return page


def _state(page: Any) -> dict[str, Any] | None:
    return page.evaluate(_STATE_JS)


def _open_by_click(page: Any, index: int = 0) -> Any:
    """Click the empty top-left corner of a diagram (not a node link): the viewer opens."""
    figure = page.locator("figure.dl-diagram").nth(index)
    svg = figure.locator("svg").first
    # the corner just below the header, where no node is
    svg.evaluate("s => scrollTo(0, s.getBoundingClientRect().top + scrollY - 200)")
    svg.click(position={"x": 3, "y": 3})
    page.wait_for_selector(DIALOG)
    return figure


def _stage_centre(page: Any) -> tuple[float, float]:
    box = page.locator(".dl-viewer__stage").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.fixture
def desktop(browser, server):
    page = _page(browser, server)
    page.goto(server + PAGE, wait_until="load")
    yield page
    page.context.close()


def test_click_opens_a_dialog_and_escape_closes_it(desktop):
    page = desktop
    figure = page.locator("figure.dl-diagram").first
    hint = figure.locator("button.dl-zoom")
    assert hint.is_visible() and hint.inner_text() == "放大查看"
    _open_by_click(page)
    st = _state(page)
    assert st["modal"] == "true" and st["label"].endswith("（放大查看）")
    assert st["focusInside"], "the focus moves into the dialog"
    assert st["links"] > 0 and st["ids"] == 0, "a copy with its links, without duplicate ids"
    assert st["scrollLocked"]
    assert page.locator(".dl-viewer").bounding_box()["width"] == 1280  # full screen
    page.keyboard.press("Escape")
    assert page.locator(".dl-viewer").count() == 0
    assert page.evaluate("document.activeElement.classList.contains('dl-zoom')"), (
        "the focus returns to the diagram's 放大查看 button"
    )
    assert not _state(page)
    assert not page.dl_errors, page.dl_errors


def test_button_opens_and_close_button_closes(desktop):
    page = desktop
    hint = page.locator("figure.dl-diagram button.dl-zoom").first
    hint.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(DIALOG)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _state(page)["focusInside"], "Tab stays inside the dialog"
    page.locator(".dl-viewer__close").click()
    assert page.locator(".dl-viewer").count() == 0
    assert page.evaluate("document.activeElement") is not None


def test_wheel_buttons_and_keys_zoom_drag_pans(desktop):
    page = desktop
    _open_by_click(page)
    before = _state(page)
    x, y = _stage_centre(page)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(100)
    zoomed = _state(page)
    assert zoomed["s"] > before["s"] * 1.5, (before["transform"], zoomed["transform"])
    # zooming keeps the point under the cursor in place
    cx = (x - page.locator(".dl-viewer__stage").bounding_box()["x"] - before["x"]) / before["s"]
    cx_after = (x - page.locator(".dl-viewer__stage").bounding_box()["x"] - zoomed["x"]) / zoomed[
        "s"
    ]
    assert abs(cx - cx_after) < 1
    page.locator(".dl-viewer__out").click()
    assert _state(page)["s"] < zoomed["s"]
    page.keyboard.press("+")
    page.keyboard.press("+")
    keyed = _state(page)
    assert keyed["s"] > zoomed["s"] / 1.5
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 80, steps=6)
    page.mouse.up()
    dragged = _state(page)
    assert dragged["x"] == pytest.approx(keyed["x"] + 120, abs=1)
    assert dragged["y"] == pytest.approx(keyed["y"] + 80, abs=1)
    assert dragged["s"] == keyed["s"]
    page.locator(".dl-viewer__fit").click()
    assert _state(page)["s"] == pytest.approx(before["s"])
    page.keyboard.press("ArrowLeft")
    assert _state(page)["x"] == pytest.approx(before["x"] + 60)
    page.keyboard.press("=")
    page.keyboard.press("0")
    assert _state(page)["x"] == pytest.approx(before["x"]) and _state(page)["s"] == before["s"]
    # a smaller window keeps the diagram's point at the centre where it was
    page.set_viewport_size({"width": 1000, "height": 900})
    page.wait_for_timeout(100)
    assert _state(page)["x"] == pytest.approx(before["x"] - 140, abs=1)


_LINK_JS = r"""() => {
  for (const a of document.querySelectorAll('.dl-viewer svg a[*|href]')) {
    for (const part of [...a.querySelectorAll('text'), a]) {  // a cluster's label, or a box
      const r = part.getBoundingClientRect();
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      const hit = document.elementFromPoint(x, y);
      if (hit && a.contains(hit))
        return {x, y, href: a.getAttribute('href') || a.getAttribute('xlink:href')};
    }
  }
  return null;
}"""


def _link_point(page: Any) -> dict[str, Any]:
    """A point of the viewer where a click lands on a node link (not on what covers it)."""
    found = page.evaluate(_LINK_JS)
    assert found, "no node link can be clicked in the viewer"
    return found


def test_a_node_link_in_the_viewer_still_navigates(desktop):
    page = desktop
    _open_by_click(page)
    link = _link_point(page)
    url = _follow(page, link)
    assert page.locator(".dl-viewer").count() == 0, "the viewer closes to show the target"
    target = page.evaluate(
        "(id) => { const r = document.getElementById(id).getBoundingClientRect();"
        " return {top: r.top, h: innerHeight}; }",
        unquote(url.split("#", 1)[1]),
    )
    assert 0 <= target["top"] < target["h"], "the link's target is scrolled into view"


def _follow(page: Any, link: dict[str, Any]) -> str:
    """Click a node link; wait until the browser is at its target (this page or the API page)."""
    url = page.evaluate("(h) => new URL(h, location.href).href", link["href"])
    assert "#" in url, f"a node link points at a class or a diagram: {link['href']}"
    page.mouse.click(link["x"], link["y"])
    page.wait_for_function("(u) => location.href === u", arg=url)
    page.wait_for_load_state("load")
    return url


def test_a_drag_that_starts_on_a_link_does_not_follow_it(desktop):
    page = desktop
    _open_by_click(page)
    link = _link_point(page)
    href, x, y = link["href"], link["x"], link["y"]
    before = _state(page)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 40, steps=5)
    page.mouse.up()
    page.wait_for_timeout(200)
    assert page.locator(DIALOG).count() == 1, "still open: the drag was not a click"
    assert "#" + urlsplit(page.url).fragment != href, "the link was not followed"
    assert _state(page)["x"] == pytest.approx(before["x"] + 60, abs=1)


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"viewer-{name}.png"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desktop_screenshots_and_palette(browser, server, scheme):
    """The copy takes the palette's colours (CSS variables) and the page's font."""
    page = _page(browser, server, scheme=scheme)
    try:
        page.goto(server + PAGE, wait_until="load")
        want_scheme = "slate" if scheme == "dark" else "default"
        assert page.evaluate("document.body.dataset.mdColorScheme") == want_scheme
        _open_by_click(page)
        st = _state(page)
        inline = page.evaluate(
            "(v) => getComputedStyle(document.querySelector("
            "`figure.dl-diagram svg .dlf-${v.slice(5)}`)).fill",
            st["fillVar"],
        )
        assert st["fill"] == inline, "the copy is coloured like the diagram on the page"
        css = (ROOT / "docs" / "stylesheets" / "diagrams.css").read_text(encoding="utf-8")
        var = re.escape(st["fillVar"])
        fallback = re.search(rf"fill: var\({var}, (#[0-9a-f]{{6}})\)", css).group(1)
        rgb = "rgb({}, {}, {})".format(*(int(fallback[i : i + 2], 16) for i in (1, 3, 5)))
        assert (st["fill"] == rgb) == (scheme == "light")
        assert "Noto Sans CJK SC" in st["font"] or "PingFang SC" in st["font"]
        page.mouse.move(*_stage_centre(page))
        page.mouse.wheel(0, -250)
        page.wait_for_timeout(150)
        _shot(page, f"desktop-{scheme}")
        assert not page.dl_errors, page.dl_errors
    finally:
        page.context.close()


def _touch(cdp: Any, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send(
        "Input.dispatchTouchEvent",
        {
            "type": kind,
            "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)],
        },
    )


def _lift(page: Any, cdp: Any) -> None:
    """End a gesture and wait until the viewer has seen every finger leave."""
    _touch(cdp, "touchEnd", [])
    page.wait_for_function("() => !document.querySelector('.dl-viewer--dragging')")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_tap_pinch_and_drag(browser, server, scheme):
    """At 390×844 with touch: a tap opens the viewer, two fingers zoom, one finger pans."""
    page = _page(browser, server, phone=True, scheme=scheme)
    try:
        page.goto(server + PAGE, wait_until="load")
        figure = page.locator("figure.dl-diagram").first
        figure.scroll_into_view_if_needed()
        figure.locator("button.dl-zoom").tap()
        page.wait_for_selector(DIALOG)
        assert page.locator(".dl-viewer").bounding_box()["width"] == PHONE["width"]
        for sel in (".dl-viewer__close", ".dl-viewer__in", ".dl-viewer__out"):
            b = page.locator(sel).bounding_box()
            assert b["width"] >= 40 and b["height"] >= 40, f"{sel} is a comfortable touch target"
        before = _state(page)
        scroll = page.evaluate("scrollY")
        x, y = _stage_centre(page)
        cdp = page.context.new_cdp_session(page)
        _touch(cdp, "touchStart", [(x - 40, y), (x + 40, y)])
        for step in range(1, 7):
            d = 40 + step * 20
            _touch(cdp, "touchMove", [(x - d, y), (x + d, y)])
        _lift(page, cdp)
        pinched = _state(page)
        assert pinched["s"] == pytest.approx(before["s"] * 320 / 80, rel=0.05), (
            before["transform"],
            pinched["transform"],
        )
        _touch(cdp, "touchStart", [(x, y)])
        for step in range(1, 6):
            _touch(cdp, "touchMove", [(x - step * 10, y + step * 20)])
        _lift(page, cdp)
        panned = _state(page)
        assert panned["x"] == pytest.approx(pinched["x"] - 50, abs=1)
        assert panned["y"] == pytest.approx(pinched["y"] + 100, abs=1)
        assert page.evaluate("scrollY") == scroll, "the page underneath did not scroll"
        _shot(page, f"phone-{scheme}")
        # Chromium drops a synthetic tap that follows a gesture within a few milliseconds
        page.wait_for_timeout(500)
        page.locator(".dl-viewer__close").tap()
        page.wait_for_selector(".dl-viewer", state="detached")  # a tap's click comes a bit later
        assert not page.dl_errors, page.dl_errors
    finally:
        page.context.close()


def test_viewer_from_the_offline_bundle(offline, browser):  # noqa: F811
    """Over file:// (no instant navigation, no server): opens, zooms, closes, links work."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto((offline / "papers" / "resnet.html").as_uri(), wait_until="load")
        assert page.url.startswith("file://")
        _open_by_click(page)
        before = _state(page)
        page.mouse.move(*_stage_centre(page))
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(100)
        assert _state(page)["s"] > before["s"]
        page.keyboard.press("Escape")
        assert page.locator(".dl-viewer").count() == 0
        _open_by_click(page)
        _follow(page, _link_point(page))
        assert page.locator(".dl-viewer").count() == 0
        assert not errors, errors
    finally:
        ctx.close()


def test_without_javascript_the_inline_svg_stays(browser, server):
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    try:
        page.goto(server + PAGE, wait_until="load")
        assert page.locator("figure.dl-diagram svg").first.is_visible()
        assert page.locator("button.dl-zoom").count() == 0
    finally:
        ctx.close()


def test_after_navigation(desktop):
    """The next page's diagrams get their viewer too (set up on each `document$` emission; with
    navigation.instant Material swaps pages without reloading scripts; mkdocs.yml has no
    site_url, which instant loading needs, so today each page loads in full)."""
    page = desktop
    assert page.evaluate("typeof document$") != "undefined"
    # the nav groups each paper's note and API page in a collapsed section: open VGG's first
    nav = page.locator(".md-sidebar--primary")
    nav.locator("label.md-nav__link", has_text="VGG").first.click()
    nav.locator("a.md-nav__link[href$='papers/vgg/']").first.click()
    page.wait_for_url("**/papers/vgg/")
    page.wait_for_selector("figure.dl-diagram button.dl-zoom")
    _open_by_click(page)
    assert "VGG" in _state(page)["label"]
    page.keyboard.press("Escape")
    assert page.locator(".dl-viewer").count() == 0
