"""The generator: counts, diagrams, cache, determinism and bad input."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import sys
import time
import types
from pathlib import Path

import pytest
import torch

from tools import generate
from tools.generator import cache, diagram, models, tables
from tools.generator import catalog as cat
from tools.generator import figures as gen_figures
from tools.generator.trace import trace

ROOT = Path(__file__).resolve().parent.parent
CATALOG = cat.load()


def test_catalog_is_consistent():
    ids = [m.id for m in CATALOG.models]
    assert len(ids) == len(set(ids))
    for paper in CATALOG.papers.values():
        assert (ROOT / paper.module).is_file()
        assert (ROOT / "docs" / paper.page).is_file(), f"{paper.slug}: page {paper.page} missing"
        assert paper.link.startswith("https://")


@pytest.mark.parametrize("model", CATALOG.models, ids=lambda m: m.id)
def test_catalog_counts_are_exact(model):
    """Every catalog figure of ours is the model's real count (built on the meta device)."""
    net = model.build()
    assert sum(p.numel() for p in net.parameters()) == model.params


def test_reference_files_are_self_contained():
    """A reader can copy one file: it imports only the standard library and torch."""
    allowed = set(sys.stdlib_module_names) | {"torch", "__future__"}
    for path in sorted((ROOT / "reference_impl").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["<relative>"]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


# ── tables ──────────────────────────────────────────────────────────────────────────────


def _artifacts(model_id):
    return generate.model_artifacts(CATALOG.model(model_id))


@pytest.fixture(scope="module")
def resnet50():
    return _artifacts("resnet50")


def test_table_total_equals_sum_of_numel(resnet50):
    files, stats = resnet50
    table = files["models/resnet50/params.md"]
    total = re.search(r"\*\*合计\*\* \| ResNet \| 1000 \| \*\*([\d,]+)\*\*", table)
    assert total and int(total.group(1).replace(",", "")) == 25_557_032
    # the per-stage rows add up to the total (stem + 4 stages + fc)
    rows = dict(re.findall(r"^\| `([\w.]+)` \| \w+ \| [^|]+ \| ([\d,]+) \|", table, flags=re.M))
    top = ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"]
    assert sum(int(rows[k].replace(",", "")) for k in top) == stats.params
    assert "论文" in table and "FLOPs（乘加）3.8 G（差" in table  # the paper's "3.8", not 3.80


def test_macs_paper_layout_vs_v15():
    """Same parameters, different MACs: the stride placement of the bottleneck."""
    _, v1 = _artifacts("resnet50")
    _, v15 = _artifacts("resnet50-v1-5")
    assert v1.params == v15.params
    assert v1.macs == pytest.approx(3.858e9, rel=2e-3)
    assert v15.macs == pytest.approx(4.089e9, rel=2e-3)


def test_torchinfo_agrees_without_shared_weights(resnet50):
    _, stats = resnet50
    assert stats.torchinfo_params == stats.params


def test_gap_must_be_explained():
    model = CATALOG.model("resnet18")
    stats = tables.Stats(model.params, model.params, int(2.5e9), {}, None)
    assert "explain the gap" in tables.gap_problem(model, stats)
    wrong = tables.Stats(model.params + 1, model.params + 1, int(1.8e9), {}, None)
    assert "tools/catalog.toml says" in tables.gap_problem(model, wrong)
    ok = tables.Stats(model.params, model.params, int(1.81e9), {}, None)
    assert tables.gap_problem(model, ok) is None


# ── diagrams ──────────────────────────────────────────────────────────────────────────────


def _graph(model_id, **kw):
    model = CATALOG.model(model_id)
    net = model.build()
    tr = trace(net, model.example_inputs())
    opts = {"depth": 2, "merge": "segments", **model.diagram, **kw}
    return diagram.build(tr, depth=opts["depth"], merge=opts["merge"])


def test_resnet50_overview_collapses_stages_and_shows_skips(resnet50):
    g = _graph("resnet50")
    labels = set(g.clusters.values())
    for stage, n in (("layer1", 2), ("layer2", 3), ("layer3", 5), ("layer4", 2)):
        assert stage in labels
        assert f"{stage}.1–{n} · Bottleneck × {n}" in labels
    skips = [e for e in g.edges if e[3]]
    assert len(skips) == 8  # one shortcut per drawn block: first block + folded run, 4 stages
    assert all(g.units[dst].kind == "merge" for _, dst, _, _ in skips)
    svg = resnet50[0]["models/resnet50/diagram.md"]
    assert svg.count("dls-skip") >= 8
    # node links go to the API page beside the note (papers/resnet-api.md), served as a folder
    assert 'href="../resnet-api/#reference_impl.resnet.Bottleneck"' in svg
    assert "Sequential" not in svg


def test_block_diagram_shows_projection_and_identity(resnet50):
    files, _ = resnet50
    proj = files["models/resnet50/blocks/bottleneck-projection.md"]
    ident = files["models/resnet50/blocks/bottleneck-identity.md"]
    assert "downsample" in proj and "downsample" not in ident
    for svg in (proj, ident):
        assert "⊕" in svg and "conv3" in svg and "dls-skip" in svg


def test_diagram_svgs_are_themable_and_unique(resnet50):
    files, _ = resnet50
    md = files["models/resnet50/diagram.md"]
    assert 'fill="#' not in re.sub(r'fill="#(ffffff|000000)"', "", md.split("<figcaption>")[0])
    ids = re.findall(r'\bid="([^"]+)"', md)
    assert ids and all(i.startswith("resnet50-") for i in ids)


# ── cache, determinism, atomic writes, bad input ──────────────────────────────────────────


def _only(tmp, ids, force=False):
    return generate.run(set(ids), force, out=tmp)


def test_deterministic_and_cached(tmp_path, capsys):
    """In-process and with a pool of two workers (any completion order): the same files."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert _only(a, ["resnet18", "vgg"]) == 0
    assert generate.run({"resnet18", "vgg"}, False, out=b, jobs=2) == 0
    assert "(2 workers)" in capsys.readouterr().out
    files_a = sorted(
        p.relative_to(a) for p in a.rglob("*") if p.is_file() and "timings" not in p.name
    )
    files_b = sorted(
        p.relative_to(b) for p in b.rglob("*") if p.is_file() and "timings" not in p.name
    )
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    capsys.readouterr()
    t0 = time.perf_counter()
    assert _only(a, ["resnet18", "vgg"]) == 0
    # nothing rebuilt ("0 built" is the check); the time only guards against a cache that
    # recomputes (it took 3.1 s once, against a 2 s limit, with browser tests beside it)
    assert time.perf_counter() - t0 < 5.0
    assert "0 built" in capsys.readouterr().out
    # a deleted artifact is noticed and rebuilt
    (a / "models/resnet18/params.md").unlink()
    assert _only(a, ["resnet18"]) == 0
    assert (a / "models/resnet18/params.md").read_bytes() == (
        b / "models/resnet18/params.md"
    ).read_bytes()
    assert not list(a.rglob("*.tmp"))


def test_editing_a_module_rebuilds_only_its_models(tmp_path, monkeypatch):
    assert _only(tmp_path, ["resnet18", "alexnet"]) == 0
    real = cache.sources

    def edited(*paths):
        out = real(*paths)
        return [s + b"# edited" if s.startswith(b"reference_impl/resnet.py") else s for s in out]

    monkeypatch.setattr(cache, "sources", edited)
    assert _only(tmp_path, ["resnet18", "alexnet"]) == 0
    log = {e["group"]: e["status"] for e in json.loads((tmp_path / "timings.json").read_text())}
    assert log["model-resnet18"] == "built" and log["model-alexnet"] == "cached"


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.md"
    cache.write_atomic(target, "old")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        cache.write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.md"]


def _fake_model(tmp_path, source, constructor="build"):
    name = f"_fake_{abs(hash(source)) % 10**8}"
    module = types.ModuleType(f"reference_impl.{name}")
    exec(source, module.__dict__)
    sys.modules[module.__name__] = module
    paper = dataclasses.replace(CATALOG.papers["resnet"], module=f"reference_impl/{name}.py")
    base = CATALOG.model("resnet18")
    return dataclasses.replace(base, id="fake", paper=paper, constructor=constructor, blocks=())


def test_model_whose_forward_raises(tmp_path):
    model = _fake_model(
        tmp_path,
        "import torch\n"
        "class Broken(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        raise ValueError('boom')\n"
        "def build():\n"
        "    return Broken()\n",
    )
    with pytest.raises(
        generate.GenerationError, match=r"model 'fake': forward .* ValueError: boom"
    ):
        generate.model_artifacts(model)


def test_unknown_constructor(tmp_path):
    model = _fake_model(tmp_path, "x = 1\n", constructor="nope")
    with pytest.raises(cat.CatalogError, match=r"model 'fake': unknown constructor 'nope'"):
        generate.model_artifacts(model)


def test_malformed_catalog_entries():
    good = {
        "papers": {
            "p": {
                "title": "T",
                "authors": ["A"],
                "venue": "V",
                "year": 2020,
                "module": "reference_impl/resnet.py",
                "page": "papers/resnet.md",
                "arxiv": "1",
            }
        },
        "models": [
            {
                "id": "m",
                "paper": "p",
                "constructor": "resnet18",
                "inputs": [[1, 3, 8, 8]],
                "params": 1,
            }
        ],
    }
    assert cat.parse(good).models[0].id == "m"
    linked = json.loads(json.dumps(good))
    linked["models"].append(
        {**good["models"][0], "id": "m2", "blocks": [{"name": "c", "path": "x"}]}
    )
    linked["models"][0]["blocks"] = [{"name": "b", "path": "x", "same_as": "m2-blocks-c"}]
    assert cat.parse(linked).models[0].blocks[0].same_as == "m2-blocks-c"
    bad_cases = [
        (("models", 0, "paper"), "nope", "unknown paper 'nope'"),
        (("models", 0, "inputs"), [[1, -3]], "positive integers"),
        (("models", 0, "params"), "many", "'params' has the wrong type"),
        (("models", 0, "id"), "Bad_Id", "lowercase"),
        (("papers", "p", "module"), "reference_impl/none.py", "does not exist"),
        # a block linked to a diagram that no other model of the paper draws
        (("models", 0, "blocks"), [{"name": "b", "path": "x", "same_as": "m2-blocks-c"}],
         "same_as 'm2-blocks-c' is not a block drawn for another model"),
    ]  # fmt: skip
    for (section, key, field), value, message in bad_cases:
        data = json.loads(json.dumps(good))
        data[section][key][field] = value
        with pytest.raises(cat.CatalogError, match=re.escape(message)):
            cat.parse(data)


def test_missing_dot_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert generate.run({"resnet18"}, False, out=tmp_path / "out") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apt-get install graphviz" in err[0]


def test_failure_keeps_other_models(tmp_path, monkeypatch, capsys):
    assert _only(tmp_path, ["resnet18", "alexnet"]) == 0
    before = (tmp_path / "models/alexnet/params.md").read_bytes()
    real = generate.model_artifacts

    def fail_resnet(model):
        if model.id == "resnet18":
            raise generate.GenerationError("model 'resnet18': forward failed: boom")
        return real(model)

    monkeypatch.setattr(generate, "model_artifacts", fail_resnet)
    assert _only(tmp_path, ["resnet18", "alexnet"], force=True) == 1
    err = capsys.readouterr().err
    assert "error: model 'resnet18': forward failed: boom" in err
    assert (tmp_path / "models/alexnet/params.md").read_bytes() == before
    assert (tmp_path / "models/resnet18/params.md").is_file()


def test_dtype_of_inputs_on_meta():
    spec = cat.InputSpec((2, 5), "int64", 100)
    assert spec.make("meta").dtype == torch.int64
    assert spec.make("cpu").max() < 100


def test_pool_reports_a_failing_group_in_one_line_and_keeps_the_others(tmp_path, capsys):
    """A worker's exception comes back as one ``error:`` line; the other groups are written."""
    fake = dataclasses.replace(CATALOG.model("resnet18"), constructor="nope")
    res = generate.build_group("model", fake)
    assert "files" not in res and {"error", "cpu", "seconds", "peak_mb"} <= set(res)
    assert "unknown constructor 'nope'" in res["error"]
    out = tmp_path / "out"
    assert generate.run({"resnet18", "alexnet"}, False, out=out, jobs=2) == 0
    log = json.loads((out / "timings.json").read_text())
    # the report lists the groups in catalog order, whatever order the workers finished in
    groups = [e["group"] for e in log]
    assert groups == [
        "model-alexnet", "model-resnet18", "figures-alexnet", "exercises-alexnet", "catalog-pages"
    ]  # fmt: skip
    assert all(e["status"] == "built" and e["cpu"] >= 0 for e in log[:3])


def test_figure_svg_precision_is_trimmed_in_geometry_only():
    svg = (
        '<svg><path d="M 57.600001 307.58 L -0.001 12.3456789"/>'
        '<text x="46.248652" y="228.967295" transform="rotate(-0 46.248652 228.967295)">'
        '0.125663</text><image id="i1.23456" xlink:href="data:image/png;base64,AB1.234567"/></svg>'
    )
    out = gen_figures.trim_precision(svg)
    assert 'd="M 57.6 307.58 L 0 12.35"' in out
    assert '<text x="46.25" y="228.97">0.125663</text>' in out  # text content untouched
    assert 'id="i1.23456"' in out and "base64,AB1.234567" in out


def test_api_pages_beside_the_notes():
    """Each paper's API reference is a page of its own, in nav right after its note."""
    nav = re.search(r"(?ms)^nav:\n(.*)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    entries = re.findall(r"- (papers/[\w-]+\.md)", nav.group(1))
    for slug, paper in CATALOG.papers.items():
        api = models.api_page(paper.page)
        assert api == f"papers/{slug}-api.md"
        note = (ROOT / "docs" / paper.page).read_text(encoding="utf-8")
        page = (ROOT / "docs" / api).read_text(encoding="utf-8")
        assert "\n::: " not in note, f"{paper.page}: the API reference belongs on {api}"
        assert f"]({slug}-api.md)" in note, f"{paper.page} does not link to {api}"
        assert re.search(rf"(?m)^::: {re.escape(paper.import_name)}$", page), api
        assert entries[entries.index(paper.page) + 1] == api, f"nav: {api} after {paper.page}"
    assert models.api_link("papers/resnet.md", "m.C") == "../resnet-api/#m.C"


def test_first_run_starts_the_longest_groups(tmp_path):
    """No timings yet: the expected seconds order the pool; a run's own timings replace them."""
    expected = generate._previous_seconds(tmp_path)
    longest = max(expected, key=expected.get)
    assert longest.startswith("figures-") and expected[longest] > 10
    log = [{"group": longest, "status": "built", "seconds": 1.5}]
    log.append({"group": "model-x", "status": "cached", "seconds": 0.0})
    (tmp_path / "timings.json").write_text(json.dumps(log))
    seconds = generate._previous_seconds(tmp_path)
    assert seconds[longest] == 1.5 and "model-x" not in seconds
    groups = {f"figures-{slug}" for slug in generate.figure_modules()}
    groups |= {f"model-{m.id}" for m in CATALOG.models}
    assert set(generate.EXPECTED_SECONDS) <= groups  # a renamed group would be silently last
