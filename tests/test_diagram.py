"""The diagram builder, stage by stage (tools/generator/diagram.py), and the rules every
diagram keeps:
plumbing folded into edges, the size budget, drill-down links, shared weights counted once."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from tools import generate
from tools.generator import catalog as cat
from tools.generator import diagram
from tools.generator.trace import trace

ROOT = Path(__file__).resolve().parent.parent
CATALOG = cat.load()


@functools.cache
def _trace(model_id):
    model = CATALOG.model(model_id)
    return trace(model.build(), model.example_inputs())


def _overview(model_id, **kw):
    model = CATALOG.model(model_id)
    opts = {"depth": 2, "merge": "segments", **model.diagram, **kw}
    layout = opts.get("layout")
    keep = tuple(layout.get(k, "") for k in ("down", "up")) if layout else ()
    return diagram.build(_trace(model_id), depth=opts["depth"], merge=opts["merge"], keep=keep)


@functools.cache
def _files(model_id):
    return generate.model_artifacts(CATALOG.model(model_id))[0]


# ── stage by stage ───────────────────────────────────────────────────────────────────────


def test_runs_fold_chained_twins_only():
    runs = diagram.find_runs(_trace("transformer-base"))
    assert runs["encoder.layers.0"] == [f"encoder.layers.{i}" for i in range(6)]
    assert not any(first.endswith("q_proj") for first in runs)  # parallel, not chained
    kept = diagram.find_runs(_trace("unclip-decoder"), keep=("encoder", "decoder"))
    assert not any(first.startswith(("encoder.", "decoder.")) and first.count(".") == 1
                   for first in kept)  # fmt: skip


def test_visibility_levels_and_twins():
    tr = _trace("resnet50")
    runs = diagram.find_runs(tr)
    vis = diagram.Visibility(tr.modules(), "", 0, runs)
    assert vis.expanded("layer1") and not vis.expanded("layer1.0")  # containers always open
    assert vis.level("layer1.0.conv1") == 2
    assert vis.is_hidden("layer1.2.conv1") and not vis.is_hidden("layer1.1.conv1")
    assert vis.twins("layer1.1.conv1") == ["layer1.1.conv1", "layer1.2.conv1"]


def test_values_fold_plumbing_and_find_masks():
    tr = _trace("transformer-base")
    vals = diagram.fold_values(tr, {})
    ne = [op for op in tr.ops if op.name == "ne"]
    assert ne and all(o in vals.mask_root for o in ne[0].outputs)  # src != pad is a mask
    views = [op for op in tr.ops if op.name in ("view", "transpose") and op.module is None]
    assert views and all(diagram.is_plumbing(op) for op in views)
    assert not any(diagram.is_plumbing(op) for op in tr.ops if op.name in ("matmul", "softmax"))


def test_units_have_no_plumbing_and_edges_carry_the_shape_after_it():
    g = diagram.build(_trace("transformer-base"), root="encoder.layers.0.self_attn", merge="none")
    names = {u.name for u in g.units.values()}
    assert not names & diagram.PLUMBING
    assert {"@ matmul", "softmax"} <= names  # what carries the idea stays
    into_matmul = [shp for s, d, shp, _ in g.edges if g.units[d].name == "@ matmul"]
    assert (1, 8, 12, 64) in into_matmul  # q after view + transpose: (B, h, S, d_k)


def test_mask_is_one_small_side_input():
    g = _overview("transformer-base")
    masks = [k for k in g.units if k[0] == "mask"]
    assert len(masks) == 1
    assert {g.units[d].kind for s, d, _, _ in g.edges if s == masks[0]} == {"block"}
    assert not {"ne", "getitem"} & {u.name for u in g.units.values()}


def test_dead_end_bookkeeping_is_dropped():
    g = _overview("clip-vit-b32")
    assert "argmax" not in {u.name for u in g.units.values()}  # the EOS position: an index


@pytest.mark.parametrize("model_id", ["transformer-base", "bert-base-pretraining", "resnet50"])
def test_shared_parameters_counted_once(model_id):
    g = _overview(model_id)
    net = _trace(model_id).root
    total = sum(p.numel() for p in net.parameters())
    assert sum(u.params for u in g.units.values()) + sum(g.unused.values()) == total


def test_tied_embedding_marked_on_every_user():
    g = _overview("transformer-base")
    lookups = sorted((u for u in g.units.values() if u.path == "embedding.lookup"),
                     key=lambda u: u.order)  # fmt: skip
    assert lookups[0].params == 37000 * 512 and lookups[1].params == 0
    assert lookups[1].shared == ("embedding.lookup",)
    proj = next(u for u in g.units.values() if u.path == "output_proj")
    assert proj.params == 0 and proj.shared == ("embedding.lookup",)
    dot = diagram.to_dot(g, link=lambda c: None, mode="segments").source
    assert dot.count("与 embedding.lookup 共享") == 2


def test_graph_stage_keeps_resnet_stages_and_shortcuts():
    g = _overview("resnet50")
    assert "layer2.1–3 · Bottleneck × 3" in g.clusters.values()
    assert sum(1 for e in g.edges if e[3]) == 8


def test_unet_is_drawn_as_a_u():
    g = _overview("unclip-decoder")
    layout = CATALOG.model("unclip-decoder").diagram["layout"]
    node_of = {key: f"n{i}" for i, group in enumerate(g.groups) for key in group}
    shape = diagram._shape(g, node_of, layout)
    assert len(shape.same_rank) == 16  # every skip concatenation on its encoder stage's row
    decoder = {node_of[k] for k, u in g.units.items() if u.path.startswith("decoder.")}
    assert decoder <= shape.rising
    side = {g.units[k].path for k in g.units if node_of[k] in shape.side_ext}
    assert {"text_transformer", "time_embed.0", "clip_emb_proj"} <= side
    skips = [(s, d) for s, d, _, sk in g.edges if sk]
    assert len(skips) == 16 and all(g.units[d].name == "‖ cat" for _, d in skips)


def test_encoder_decoder_side_by_side_with_cross_attention():
    g = _overview("transformer-base")
    layout = CATALOG.model("transformer-base").diagram["layout"]
    dot = diagram.to_dot(g, link=lambda c: None, mode="segments", layout=layout).source
    assert "交叉注意力" in dot and "rank=same" in dot


def test_a_box_one_layer_away_from_a_drawn_diagram_links_to_it():
    from torch import nn

    def block(*extra):
        return nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3), *extra)

    plain = diagram.signature(block())
    assert diagram.signature(block(nn.Identity())) == plain  # Identity is never drawn
    pooled = diagram.signature(block(nn.AvgPool2d(2)))
    assert diagram.variant_of(pooled, [plain]) == plain
    two_more = diagram.signature(block(nn.AvgPool2d(2), nn.ReLU()))
    assert diagram.variant_of(two_more, [plain]) is None
    nested = diagram.signature(block(nn.Sequential(nn.ReLU(), nn.Conv2d(1, 1, 1))))
    assert diagram.variant_of(nested, [plain]) is None  # a whole sub-block is not one layer
    assert diagram.variant_of(diagram.signature(nn.ModuleList([nn.ReLU()])), [plain]) is None


def test_unclip_stages_link_to_the_drawn_stage_they_vary():
    overview = _files("unclip-decoder")["models/unclip-decoder/diagram.md"]
    # encoder.5 lacks the 1×1 shortcut projection of encoder.4 (the attention-stage block)
    details = re.findall(r'id="(unclip-decoder-detail-\d+)"', overview)
    assert len(details) == 1, details  # the up-sampling stage

    def target(path):
        m = re.search(rf'href="#([\w-]+)"[^>]*title="{re.escape(path)}(?:（| →)', overview)
        return m and m.group(1)

    assert target("encoder.5") == "unclip-decoder-blocks-attention-stage"
    assert target("encoder.3") == "unclip-decoder-blocks-resblock"  # + a down-sampling pool
    # 24 blocks of the prior's structure: the catalog's same_as links to the prior's diagram
    assert target("text_transformer") == "unclip-prior-blocks-transformer-block"


# ── inline SVG ────────────────────────────────────────────────────────────────────────────


def test_stylesheet_holds_the_colour_classes():
    css = (ROOT / "docs" / "stylesheets" / "diagrams.css").read_text(encoding="utf-8")
    assert diagram.css_rules() in css


def test_inline_svg_colours_by_class_and_draws_rounded_boxes_as_rects():
    files = _files("resnet18")
    raw, inline = files["models/resnet18/diagram.svg"], files["models/resnet18/diagram.md"]
    rounded = re.findall(r'<path[^>]* d="(M[^"]*C[^"]*)"[^>]*/>', raw)
    boxes = [d for d in rounded if len(re.findall(r"-?[\d.]+,-?[\d.]+", d)) == 25]
    assert boxes, "resnet18's nodes are rounded boxes"
    rects = re.findall(
        r'<rect[^>]* x="([-\d.]+)" y="([-\d.]+)" width="([\d.]+)" height="([\d.]+)"', inline
    )
    assert len(rects) == len(boxes)
    xs = [float(v) for d in boxes for v in re.findall(r"(-?[\d.]+),", d)]
    assert min(float(x) for x, *_ in rects) == pytest.approx(min(xs), abs=0.1)
    assert 'style="fill:var' not in inline and 'text-anchor="middle"' not in inline[300:]
    used = set(re.findall(r"\bdl[fs]-[\w-]+", inline))
    assert {"dlf-conv", "dls-skip"} <= used
    assert used <= set(re.findall(r"\.(dl[fs]-[\w-]+)", diagram.css_rules()))


# ── size budget ───────────────────────────────────────────────────────────────────────────


def test_rendered_size_shrinks_wide_drawings_to_the_column():
    svg = '<svg width="600pt" height="300pt"><text font-size="8.00">x</text></svg>'
    size = diagram.rendered_size(svg, column=400)
    assert size.width == pytest.approx(400, abs=1)
    assert size.text == pytest.approx(8 * 4 / 3 * 400 / 800, abs=0.01)
    assert not size.fits()
    assert diagram.rendered_size(svg, column=2000).fits()


def test_fit_goes_one_level_up_when_too_large():
    assert diagram.candidates(2, "segments")[:3] == [(2, "segments"), (2, "chains"),
                                                    (1, "segments")]  # fmt: skip
    tr = _trace("clip-vit-b32")
    g, _, size = diagram.fit(tr, root="", depth=2, merge="segments")
    assert size.fits()
    assert any(u.kind == "block" for u in g.units.values())  # something was collapsed


_SIZE_MODELS = ["transformer-base", "unclip-decoder", "mae-vit-b16", "clip-vit-b32", "vgg16"]


@pytest.mark.parametrize("model_id", _SIZE_MODELS)
def test_every_diagram_keeps_the_budget(model_id):
    """Computed from each inline SVG's viewBox and font sizes, as the browser lays it out."""
    figures = [f for text in _files(model_id).values() for f in _figures(text)]
    assert figures
    for anchor, svg in figures:
        size = _inline_size(svg)
        assert size.fits(), f"{anchor}: {size}"


def _figures(text):
    return re.findall(r'<figure class="dl-diagram" id="([^"]+)"[^>]*>\n(<svg.*?</svg>)', text,
                      flags=re.S)  # fmt: skip


def _inline_size(svg):
    w_px = float(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))
    _, _, w, h = map(float, re.search(r'viewBox="([^"]+)"', svg).group(1).split())
    return diagram.rendered_size(f'<svg width="{w_px * 3 / 4}pt" height="{h * w_px * 3 / 4 / w}pt">'
                                 + svg)  # fmt: skip


@pytest.mark.parametrize("model_id", ["transformer-base", "unclip-decoder", "mae-vit-b16"])
def test_no_plumbing_box_in_any_diagram(model_id):
    for text in _files(model_id).values():
        for label in re.findall(r'class="node">.*?<text[^>]*>([^<]*)</text>', text, flags=re.S):
            assert label.strip() not in diagram.PLUMBING | {"Identity", "ne"}, label


def test_drill_down_links_resolve_on_the_page():
    files = _files("unclip-decoder")
    page = (ROOT / "docs" / CATALOG.model("unclip-decoder").paper.page).read_text()
    shown = [t for p, t in files.items() if p.endswith(".md")
             and p.removeprefix("models/").removesuffix(".md") in page]  # fmt: skip
    ids = {a for t in shown for a, _ in _figures(t)}
    links = {h for t in shown for h in re.findall(r'href="#(unclip-decoder-[^"]+)"', t)}
    assert links and links <= ids
    prior = _files("unclip-prior")  # a catalog block drawn for the prior (same_as)
    prior_ids = {a for p, t in prior.items() if p.endswith(".md") for a, _ in _figures(t)}
    elsewhere = {h for t in shown for h in re.findall(r'href="#(unclip-prior-[^"]+)"', t)}
    assert elsewhere == {"unclip-prior-blocks-transformer-block"} <= prior_ids
    overview = files["models/unclip-decoder/diagram.md"]
    assert 'href="#unclip-decoder-blocks-attention-stage"' in overview  # a catalog block
    assert "unclip-decoder-detail-" in overview  # and details drawn under the overview


def test_page_size_stays_small():
    files = _files("unclip-decoder")
    # all of the decoder's diagrams (the U, its details, two blocks): was 1 MB for the U alone
    assert sum(len(t.encode()) for p, t in files.items() if p.endswith(".md")) < 300_000
