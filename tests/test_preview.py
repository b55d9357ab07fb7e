"""The live preview (tools/website/serve.py, dirty.py, watch.py): what an edit reruns, rebuilds.

The fast tests drive the preview's loop with stand-ins for the generator, MkDocs and the server
on a small repository in a temporary folder; ``test_preview_serves_edits`` (marker ``site``,
``nox -s browser``) runs the real preview on a copy of this repository.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tools.reports import bench, preview
from tools.website import dirty, serve, watch

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> None:
    """Write a file and move its mtime on by a second (edits in one clock tick still differ)."""
    old = path.stat().st_mtime_ns if path.exists() else time.time_ns()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(old + 10**9, old + 10**9))


# ── which pages a file reaches ─────────────────────────────────────────────────────────


def test_includes_reads_snippet_lines_and_drops_sections():
    text = (
        '--8<-- "generated/models/resnet50/params.md"\n'
        "    --8<-- 'reference_impl/resnet.py:config'\n"
        "# ;--8<-- [start:config]\n"  # a marker, escaped: no include
        ';--8<-- "generated/escaped.md"\n'
        "--8<--\ngenerated/a.md\ngenerated/b.md:3:9\n--8<--\n"
        'text --8<-- "not/alone.md" on a line\n'
    )
    assert watch.includes(text) == [
        "generated/models/resnet50/params.md",
        "reference_impl/resnet.py",
        "generated/a.md",
        "generated/b.md",
    ]


def test_the_resnet_note_is_made_from_its_model_files_and_its_code():
    pages = watch.doc_pages(watch.snapshot(ROOT, ("docs",)))
    auto = ["generated/abbreviations.md"]
    hit = watch.affected_pages(ROOT, {"generated/models/resnet50/params.md"}, pages, auto)
    assert hit == {"papers/resnet.md"}
    hit = watch.affected_pages(ROOT, {"reference_impl/resnet.py"}, pages, auto)
    assert {"papers/resnet.md", "papers/resnet-api.md"} <= hit  # snippets; ::: of the API page
    assert "papers/vgg.md" not in hit
    assert watch.affected_pages(ROOT, {"generated/abbreviations.md"}, pages, auto) == pages


def test_models_of_a_reference_file_and_those_a_page_shows():
    built = watch.models_built_from(ROOT, {"reference_impl/resnet.py", "docs/index.md"})
    assert {"resnet18", "resnet50", "resnet152", "plain34"} <= set(built)
    assert not any(m.startswith("vgg") for m in built)
    shown = watch.models_shown(ROOT, ["papers/resnet.md"])
    assert {"resnet50", "resnet18"} <= shown and "resnet152" not in shown


def test_generator_inputs_change_with_a_pages_includes_not_its_prose(tmp_path):
    write(tmp_path / "docs/a.md", '# A\n\nprose\n\n--8<-- "generated/x.md"\n')
    before = watch.generator_inputs(tmp_path, watch.snapshot(tmp_path))
    write(tmp_path / "docs/a.md", '# A\n\nother prose\n\n--8<-- "generated/x.md"\n')
    assert watch.generator_inputs(tmp_path, watch.snapshot(tmp_path)) == before
    write(tmp_path / "docs/a.md", '# A\n\n--8<-- "generated/x.md"\n--8<-- "generated/y.md"\n')
    assert watch.generator_inputs(tmp_path, watch.snapshot(tmp_path)) != before


def test_snapshot_ignores_editor_files_and_sees_edits(tmp_path):
    write(tmp_path / "docs/a.md", "a")
    snap = watch.snapshot(tmp_path)
    for junk in ("4913", ".a.md.swp", "a.md~", ".#a.md", "__pycache__/x.pyc"):
        write(tmp_path / "docs" / junk, "x")
    assert watch.snapshot(tmp_path) == snap
    write(tmp_path / "docs/a.md", "b")
    assert watch.changed(snap, watch.snapshot(tmp_path)) == {"docs/a.md"}


# ── the generator's errors, the search index ───────────────────────────────────────────


def test_a_broken_reference_file_is_one_error_line():
    cause = "cannot import reference_impl/resnet.py: RuntimeError: broken"
    out = "fonts: …\n" + "".join(f"error: model '{m}': {cause}\n" for m in ("a", "b", "c"))
    assert watch.generator_error(out) == f"{cause} (3 groups failed: a, b, c)"
    assert watch.generator_error("error: tools/catalog.toml: bad\n") == "tools/catalog.toml: bad"
    crash = 'Traceback …\n  File "/x/tools/generator/overview.py", line 282, in draw\n'
    crash += "ZeroDivisionError: float division by zero\n"
    assert watch.generator_error(crash) == (
        "python -m tools.generate crashed: ZeroDivisionError: float division by zero "
        "(at overview.py:282)"
    )


def test_search_entries_of_pages_not_rebuilt_are_kept_in_place():
    old = [{"location": "a/"}, {"location": "a/#x"}, {"location": "b/"}, {"location": "c/"}]
    new = [{"location": "b/", "text": "new"}, {"location": "b/#y", "text": "new"}]
    merged = watch.merge_search_entries(old, new, {"b/"})
    assert [e["location"] for e in merged] == ["a/", "a/#x", "b/", "b/#y", "c/"]
    assert merged[2]["text"] == "new"


# ── the loop, with stand-ins ───────────────────────────────────────────────────────────


class FakeGenerator:
    """Records runs; a run ends when the test says how."""

    def __init__(self):
        self.starts: list[list[str]] = []
        self.running = False
        self.result: serve.GeneratorRun | None = None

    def start(self, only, inputs):
        assert not self.running, "two generator runs at once"
        self.starts.append(list(only))
        self.running, self.inputs = True, inputs

    def finish(self, code=0, output="generated: 1 built, 0 cached, 0 failed"):
        self.result = serve.GeneratorRun(code, output, self.starts[-1], self.inputs, 0.1)

    def warm_up(self):
        pass

    def poll(self, wait=False):
        result, self.result = self.result, None
        if result is not None:
            self.running = False
        return result


class FakeSite:
    def __init__(self, root):
        self.root, self.builds, self.ok = root, [], True

    def pages_for(self, paths, pages, autodoc=True):
        return watch.affected_pages(self.root, paths, pages, autodoc=autodoc)

    def index_search(self):
        pass

    def build(self, pages):
        self.builds.append(pages)
        problems = [] if self.ok else ["docs/papers/a.md:3 includes a section that is not there"]
        return dirty.BuildResult(self.ok, sorted(pages or []), problems, 0.01)


class FakeReloader:
    def __init__(self):
        self.calls = []

    def begin(self, hold=True):
        self.calls.append("begin" if hold else "begin (requests answered)")

    def publish(self):
        self.calls.append("publish")

    def abandon(self):
        self.calls.append("abandon")


@pytest.fixture
def repo(tmp_path):
    """A paper "a" with two models, one shown on its page, and its API page."""
    write(tmp_path / "mkdocs.yml", "site_name: t\n")
    write(tmp_path / "reference_impl/a.py", "# --8<-- [start:s]\nX = 1\n# --8<-- [end:s]\n")
    write(
        tmp_path / "tools/catalog.toml",
        '[papers.a]\nmodule = "reference_impl/a.py"\n\n'
        '[[models]]\nid = "m1"\npaper = "a"\n\n[[models]]\nid = "m2"\npaper = "a"\n',
    )
    write(
        tmp_path / "docs/papers/a.md",
        '# A\n\n--8<-- "reference_impl/a.py:s"\n\n--8<-- "generated/models/m1/params.md"\n',
    )
    write(tmp_path / "docs/papers/a-api.md", "# A API\n\n::: reference_impl.a\n")
    write(tmp_path / "docs/index.md", "# Home\n")
    write(tmp_path / "generated/models/m1/params.md", "| 1 |\n")
    return tmp_path


@pytest.fixture
def loop(repo, capsys):
    """The preview after its first generator run and first build, on ``repo``."""
    gen, site, reloader = FakeGenerator(), FakeSite(repo), FakeReloader()
    p = serve.Preview(repo, site, reloader, gen)
    gen.start([], p.inputs())
    gen.finish()
    p.generator_finished(gen.poll())
    p.build_site()
    assert site.builds == [None], "the first build is of every page"
    site.builds.clear()
    p.tick()
    capsys.readouterr()
    return p, gen, site, reloader


def test_a_note_edit_rebuilds_its_page_without_the_generator(loop, repo):
    p, gen, site, _ = loop
    write(repo / "docs/papers/a.md", (repo / "docs/papers/a.md").read_text() + "\nmore\n")
    p.tick()
    assert site.builds == [{"papers/a.md"}]
    assert gen.starts == [[]], "prose does not rerun the generator"


def test_a_model_edit_regenerates_the_shown_model_first_then_the_rest(loop, repo, capsys):
    p, gen, site, reloader = loop
    write(repo / "reference_impl/a.py", "# --8<-- [start:s]\nX = 2\n# --8<-- [end:s]\n")
    p.tick()
    assert gen.starts[-1] == ["m1"], "the model the page shows, first"
    assert site.builds == [], "the page waits for its diagram: code and diagram change together"
    p.tick()
    assert site.builds == [] and len(gen.starts) == 2
    write(repo / "generated/models/m1/params.md", "| 2 |\n")  # what the run wrote
    gen.finish()
    p.tick()
    assert site.builds == [{"papers/a.md"}, {"papers/a-api.md"}], "the note, then the API page"
    assert reloader.calls[-4:] == ["begin", "publish", "begin (requests answered)", "publish"]
    assert gen.starts[-1] == [], "then everything else that is stale"
    gen.finish()
    p.tick()
    assert len(gen.starts) == 3, "and no more runs"
    assert capsys.readouterr().out.splitlines()[-1] == "preview: up to date"


def test_a_broken_reference_file_prints_one_error_and_keeps_the_pages(loop, repo, capsys):
    p, gen, site, _ = loop
    write(repo / "reference_impl/a.py", "raise RuntimeError('broken')\n")
    p.tick()
    gen.finish(1, "error: model 'm1': cannot import reference_impl/a.py: RuntimeError: broken\n")
    for _ in range(3):
        p.tick()
    errors = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "RuntimeError: broken" in errors[0]
    assert site.builds == [] and len(gen.starts) == 2, "nothing rebuilt, nothing rerun"
    write(repo / "reference_impl/a.py", "# --8<-- [start:s]\nX = 3\n# --8<-- [end:s]\n")
    p.tick()
    assert gen.starts[-1] == ["m1"], "the fix is regenerated at once"


def test_a_broken_note_keeps_the_last_good_pages_until_fixed(loop, repo, capsys):
    p, _, site, reloader = loop
    site.ok = False
    write(repo / "docs/papers/a.md", '# A\n\n--8<-- "reference_impl/a.py:nope"\n')
    p.tick()
    p.tick()
    out = capsys.readouterr().out
    assert out.count("error:") == 1 and "the preview keeps the last good pages" in out
    assert reloader.calls[-1] == "abandon" and len(site.builds) == 1, "no retry without a change"
    site.ok = True
    write(repo / "docs/papers/a.md", "# A\n\nfixed\n")
    p.tick()
    assert site.builds[-1] == {"papers/a.md"} and reloader.calls[-1] == "publish"


def test_a_new_page_rebuilds_every_page(loop, repo):
    p, _, site, _ = loop
    write(repo / "docs/papers/b.md", "# B\n")
    p.tick()
    assert site.builds == [None]


def test_a_bug_in_a_tick_is_one_line_and_the_loop_goes_on(loop, capsys):
    p, *_ = loop
    calls = []

    def tick():
        calls.append(1)
        raise KeyError("x")

    p.tick = tick
    p.run(ticks=2, sleep=lambda s: None)
    out = capsys.readouterr().out.splitlines()
    assert len(calls) == 2 and len(out) == 2 and out[0].startswith("error: preview: KeyError")


def test_generator_quick_runs_start_in_a_spare_process(tmp_path):
    write(
        tmp_path / "fakegen.py",
        "import sys\nprint('args', sys.argv[1:])\nsys.exit(len(sys.argv) > 1)\n",
    )
    gen = serve.Generator(tmp_path, module="fakegen", preload=("json",))
    gen.start([], {})
    assert gen.running and gen.spare is None
    run = gen.poll(wait=True)
    assert (run.code, run.output.strip(), gen.running) == (0, "args []", False)
    gen.warm_up()
    spare = gen.spare[0]
    gen.start(["m1", "m2"], {"x": 1})
    assert gen.proc is spare and gen.spare is None, "the quick run took the spare"
    run = gen.poll(wait=True)
    assert run.code == 1 and run.only == ["m1", "m2"] and run.inputs == {"x": 1}
    assert run.output.strip() == "args ['--only', 'm1', 'm2', '--jobs', '1']"
    gen.warm_up()
    spare = gen.spare[0]
    gen.stop()
    assert spare.poll() is not None and gen.spare is None, "stop ends the spare too"


# ── the report ─────────────────────────────────────────────────────────────────────────


def test_the_model_edit_of_the_report_changes_the_count_the_page_shows():
    module = (ROOT / preview.MODULE).read_text(encoding="utf-8")
    catalog = (ROOT / "tools/catalog.toml").read_text(encoding="utf-8")
    shown = {preview.SHOWN}
    assert preview.param_counts(module, catalog, only=shown) == {"resnet50": 25_557_032}
    counts = preview.param_counts(preview.with_classes(module, 1001), catalog, only=shown)
    assert counts[preview.SHOWN] == 25_557_032 + 2049  # one more row of the 2048 → N layer
    assert 'id = "resnet50"' in catalog
    assert f"params = {counts['resnet50']}" in preview.with_params(catalog, counts)


def test_report_section_says_met_missed_and_never():
    broken = {"error_seconds": 0.5, "error_lines": ["error: x"], "served_last_good": True,
              "recovered_seconds": 0.7, "settled_seconds": 0.7}  # fmt: skip
    result = {
        "machine": {"cpus": 2, "cpu": "cpu"}, "date": "d", "load_before": [1], "load_after": [1],
        "warm_start": True, "startup_seconds": 20, "idle_cpu_percent": 0.5, "stop_seconds": 0.3,
        "processes_left": [],
        "note": [{"seconds": t, "cpu": c} for t, c in ((0.4, 0.3), (0.6, 0.4), (1.5, 0.35))],
        "baseline": {"note": [{"seconds": 9.0}] * 3},
        "model": [{"classes": 1001, "seconds": 7.0, "settled": None, "log": ["preview: x"]}] * 3,
        "broken": {kind: [broken] * 3 for kind in preview.BROKEN},
    }  # fmt: skip
    text = preview.markdown(result)
    assert text.startswith(bench.PREVIEW_START) and text.endswith(bench.PREVIEW_END + "\n")
    assert "| ≤ 1 s | 0.60 s ✅ | 0.40, 0.60, 1.50 | 0.35 s |" in text  # medians, not the worst
    assert "| ≤ 10 s | 7.00 s ✅ |" in text and "never (timed out)" in text
    assert "9.00 s" in text and "1 error line(s) at most; the page still served unchanged" in text


def test_tree_cpu_counts_a_child_that_ends_in_between():
    import subprocess
    import sys

    before = preview.tree_cpu(os.getpid())
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert preview.tree_cpu(os.getpid()) - before >= 0.25


def test_bench_keeps_the_preview_section():
    section = f"{bench.PREVIEW_START}\n## Live preview\n\nold\n{bench.PREVIEW_END}\n"
    report = bench.with_preview("# Benchmark\n\nbody\n", section)
    assert report.endswith(section) and bench.preview_section(report) == section
    new = section.replace("old", "new")
    assert bench.with_preview(report, new) == report.replace("old", "new")
    assert bench.with_preview("# Benchmark again\n", bench.preview_section(report)).endswith(
        section
    )


# ── the real preview (nox -s browser) ──────────────────────────────────────────────────


@pytest.mark.site
def test_preview_serves_edits(tmp_path):
    """A note edit, a model edit and a broken note, on a copy served by the real preview."""
    pytest.importorskip("mkdocs")
    if not (ROOT / "generated" / "models" / "resnet50" / "params.md").is_file():
        pytest.skip("needs generated/ (nox -s browser generates it first)")
    repo = tmp_path / "repo"
    preview.copy_repo(repo)
    copy, server = preview.Copy(repo), preview.Server(repo)
    try:
        assert server.wait_line(r"^preview: serving", 0, 900), server.lines[-10:]
        note = preview.measure_note(server, copy, 0)
        assert note["seconds"] is not None and note["seconds"] < 30
        model = preview.measure_model(server, copy, 1001)
        assert model["seconds"] is not None, "the model edit never reached the page"
        broken = preview.measure_broken(server, copy, "note", 0)
        assert len(broken["error_lines"]) == 1 and broken["served_last_good"]
        assert broken["recovered_seconds"] is not None
    finally:
        server.stop()
    time.sleep(1)
    assert preview.processes_in(tmp_path) == []
