/* Diagram viewer: a click on a generated diagram (<figure class="dl-diagram"> holding an inline
 * <svg>, written by tools/generate.py) opens a copy of it full screen. Drag to pan, wheel or pinch
 * to zoom (around the pointer), double-click to zoom in; +/−/0/arrow keys do the same from the
 * keyboard; Esc or the × button closes it and gives the focus back. Node links keep working: a
 * click on a box follows its link (the viewer closes first), a drag never does.
 *
 * The copy lives in <body>, so it inherits the --dl-* colour variables of the light/dark palette
 * (stylesheets/diagrams.css). Without JavaScript the inline SVG is simply left as it is. No
 * dependencies; set up again on every `document$` emission of Material's instant navigation.
 */
(function () {
  "use strict";

  var MIN_ZOOM = 0.02; // also never below half the "whole diagram" view
  var MAX_ZOOM = 4; // relative to the natural size (1 = the SVG's own pixels: 10 pt text is 13 px)
  var DRAG = 5; // pixels a pointer moves before a press becomes a drag
  var viewer = null; // the open viewer, if any

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  // the node link a click lands on, if any (Graphviz also writes <a> with a title only)
  function linkOf(target) {
    var a = target.closest ? target.closest("a") : null;
    return a && (a.getAttribute("href") || a.getAttribute("xlink:href")) ? a : null;
  }

  function button(cls, label, text) {
    var b = el("button", cls, text);
    b.type = "button";
    b.title = label;
    b.setAttribute("aria-label", label);
    return b;
  }

  function open(figure, opener) {
    if (viewer) close();
    var source = figure.querySelector("svg");
    var box = source.viewBox && source.viewBox.baseVal;
    var rect = source.getBoundingClientRect();
    // natural size: Graphviz's viewBox is in points, the page shows 1 pt as 4/3 px
    var w = box && box.width ? box.width * 4 / 3 : rect.width;
    var h = box && box.height ? box.height * 4 / 3 : rect.height;

    var svg = source.cloneNode(true);
    svg.removeAttribute("style");
    svg.removeAttribute("role"); // in the dialog its node links are reachable one by one
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    svg.setAttribute("class", "dl-viewer__svg");
    // the copy must not duplicate the page's ids (link targets, anchors)
    [svg].concat([].slice.call(svg.querySelectorAll("[id]"))).forEach(function (n) {
      n.removeAttribute("id");
    });

    var caption = figure.querySelector("figcaption");
    var title = (caption ? caption.textContent : "结构图").replace(/（.*$/, "");
    var root = el("div", "dl-viewer");
    root.setAttribute("role", "dialog");
    root.setAttribute("aria-modal", "true");
    root.setAttribute("aria-label", title + "（放大查看）");
    var bar = el("div", "dl-viewer__bar");
    var heading = el("span", "dl-viewer__title", title);
    var hint = el("span", "dl-viewer__hint", "拖动平移 · 滚轮或双指缩放 · Esc 关闭");
    var zoomIn = button("dl-viewer__btn dl-viewer__in", "放大", "+");
    var zoomOut = button("dl-viewer__btn dl-viewer__out", "缩小", "−");
    var fitBtn = button("dl-viewer__btn dl-viewer__fit", "适应窗口", "适应");
    var closeBtn = button("dl-viewer__btn dl-viewer__close", "关闭", "×");
    [heading, hint, zoomOut, zoomIn, fitBtn, closeBtn].forEach(function (c) {
      bar.appendChild(c);
    });
    var stage = el("div", "dl-viewer__stage");
    stage.tabIndex = -1;
    stage.appendChild(svg);
    root.appendChild(bar);
    root.appendChild(stage);
    document.body.appendChild(root);
    document.documentElement.classList.add("dl-viewer-open");

    var v = { root: root, opener: opener, s: 1, x: 0, y: 0, min: MIN_ZOOM };
    viewer = v;

    function apply() {
      svg.style.transform = "translate(" + v.x + "px," + v.y + "px) scale(" + v.s + ")";
      root.setAttribute("data-zoom", v.s.toFixed(3));
    }

    function fit() {
      var r = stage.getBoundingClientRect();
      var s = Math.min(1, (r.width - 16) / w, (r.height - 16) / h);
      v.min = Math.max(MIN_ZOOM, Math.min(s / 2, 0.5));
      v.s = s;
      v.x = (r.width - w * s) / 2;
      v.y = Math.max(8, (r.height - h * s) / 2);
      apply();
    }

    // zoom by factor f keeping the stage point (px, py) fixed
    function zoom(f, px, py) {
      var r = stage.getBoundingClientRect();
      if (px === undefined) {
        px = r.width / 2;
        py = r.height / 2;
      }
      var s = Math.min(MAX_ZOOM, Math.max(v.min, v.s * f));
      v.x = px - ((px - v.x) * s) / v.s;
      v.y = py - ((py - v.y) * s) / v.s;
      v.s = s;
      apply();
    }
    v.zoom = zoom;

    function local(e) {
      var r = stage.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    }

    // pointers: one drags, two pinch; `moved` turns the coming click into a no-op
    var pointers = {};
    var start = null;
    var moved = false;

    // the first two pointers: their midpoint and distance
    function spread() {
      var ids = Object.keys(pointers);
      var a = pointers[ids[0]];
      var b = pointers[ids[1]] || a;
      var d = Math.hypot(a.x - b.x, a.y - b.y) || 1;
      return { n: ids.length, x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, d: d };
    }

    function snapshot() {
      var p = spread();
      // the content point under the midpoint stays under it while the pointers move
      start = { x: p.x, y: p.y, d: p.d, s: v.s, cx: (p.x - v.x) / v.s, cy: (p.y - v.y) / v.s };
    }

    stage.addEventListener("pointerdown", function (e) {
      if (e.pointerType === "mouse" && e.button !== 0) return;
      pointers[e.pointerId] = local(e);
      if (Object.keys(pointers).length === 1) moved = false;
      snapshot();
    });
    stage.addEventListener("pointermove", function (e) {
      if (!(e.pointerId in pointers)) return;
      pointers[e.pointerId] = local(e);
      var p = spread();
      if (!moved && p.n < 2 && Math.hypot(p.x - start.x, p.y - start.y) < DRAG) return;
      if (!moved) {
        moved = true;
        try {
          stage.setPointerCapture(e.pointerId); // only now: a plain click still reaches its link
        } catch (err) {
          /* a synthetic pointer cannot be captured; the drag works without */
        }
      }
      if (p.n > 1) v.s = Math.min(MAX_ZOOM, Math.max(v.min, (start.s * p.d) / start.d));
      v.x = p.x - start.cx * v.s;
      v.y = p.y - start.cy * v.s;
      apply();
      root.classList.add("dl-viewer--dragging");
    });
    function release(e) {
      delete pointers[e.pointerId];
      if (Object.keys(pointers).length) snapshot();
      else root.classList.remove("dl-viewer--dragging");
    }
    stage.addEventListener("pointerup", release);
    stage.addEventListener("pointercancel", release);
    stage.addEventListener("dragstart", function (e) {
      e.preventDefault();
    });
    stage.addEventListener(
      "click",
      function (e) {
        if (moved) {
          e.preventDefault();
          e.stopPropagation();
          moved = false;
        } else if (linkOf(e.target) && !(e.ctrlKey || e.metaKey || e.shiftKey)) {
          // follow the link on the page underneath: close first (a link removed from the page
          // during its click would not navigate), then go; modified clicks open a new tab
          var a = linkOf(e.target);
          var url = new URL(a.getAttribute("href") || a.getAttribute("xlink:href"), location.href);
          e.preventDefault();
          close(true);
          location.href = url.href;
        }
      },
      true
    );
    stage.addEventListener("dblclick", function (e) {
      var p = local(e);
      zoom(2, p.x, p.y);
    });
    stage.addEventListener(
      "wheel",
      function (e) {
        e.preventDefault();
        var dy = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1);
        var p = local(e);
        zoom(Math.exp(-dy * 0.002), p.x, p.y);
      },
      { passive: false }
    );

    zoomIn.addEventListener("click", function () {
      zoom(1.5);
    });
    zoomOut.addEventListener("click", function () {
      zoom(1 / 1.5);
    });
    fitBtn.addEventListener("click", fit);
    closeBtn.addEventListener("click", function () {
      close();
    });
    // a resized window (a phone turned) keeps the point at the centre where it was
    var size = stage.getBoundingClientRect();
    v.fit = fit;
    v.onresize = function () {
      var r = stage.getBoundingClientRect();
      v.x += (r.width - size.width) / 2;
      v.y += (r.height - size.height) / 2;
      size = r;
      apply();
    };
    window.addEventListener("resize", v.onresize);
    document.addEventListener("keydown", keydown, true);

    fit();
    closeBtn.focus({ preventScroll: true });
  }

  var ZOOM_KEYS = { "+": 1.25, "=": 1.25, "-": 0.8 };
  var PAN_KEYS = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };

  function keydown(e) {
    var v = viewer;
    if (!v) return;
    if (e.key === "Tab") {
      // keep the focus inside the dialog
      var items = v.root.querySelectorAll("button, a[*|href]");
      var first = items[0];
      var last = items[items.length - 1];
      var wrap = !v.root.contains(document.activeElement)
        ? first
        : e.shiftKey && document.activeElement === first
          ? last
          : !e.shiftKey && document.activeElement === last
            ? first
            : null;
      if (wrap) {
        wrap.focus();
        e.preventDefault();
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") close();
    else if (e.key === "0") v.fit();
    else if (ZOOM_KEYS[e.key]) v.zoom(ZOOM_KEYS[e.key]);
    else if (PAN_KEYS[e.key]) {
      v.x += PAN_KEYS[e.key][0] * 60;
      v.y += PAN_KEYS[e.key][1] * 60;
      v.zoom(1);
    } else return;
    e.preventDefault();
    e.stopPropagation(); // Material's own shortcuts (search, pages) stay quiet meanwhile
  }

  // Close the viewer; `following` is true when a link click will move the page itself.
  function close(following) {
    var v = viewer;
    if (!v) return;
    viewer = null;
    window.removeEventListener("resize", v.onresize);
    document.removeEventListener("keydown", keydown, true);
    document.documentElement.classList.remove("dl-viewer-open");
    v.root.remove();
    if (v.opener && document.contains(v.opener)) v.opener.focus({ preventScroll: !!following });
  }

  function setup(figure) {
    var svg = figure.querySelector("svg");
    if (!svg || figure.dataset.dlViewer) return;
    figure.dataset.dlViewer = "1";
    figure.classList.add("dl-zoomable");
    var hint = button("dl-zoom", "放大查看（拖动平移，滚轮或双指缩放）", "放大查看");
    hint.setAttribute("aria-haspopup", "dialog");
    hint.addEventListener("click", function () {
      open(figure, hint);
    });
    figure.insertBefore(hint, svg);
    svg.addEventListener("click", function (e) {
      if (linkOf(e.target)) return; // a node link: let it work
      open(figure, hint);
    });
  }

  function init() {
    close();
    document.querySelectorAll("figure.dl-diagram").forEach(setup);
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
