"""reports/bench: the clean-clone target as a ratio on one machine; the README quotes the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tools.reports import bench

ROOT = Path(__file__).resolve().parent.parent


def _result(now: float, before: float) -> dict:
    """The parts of a bench result that the targets table reads, every other run failed."""

    def run(seconds: float) -> dict:  # CPU time 1.5 × wall time, as with two busy cores
        return {"exit": 0, "seconds": seconds, "cpu_seconds": seconds * 1.5, "peak_rss_mb": 700.0}

    failed = {"exit": 1}
    return {
        "clean_clone": run(now),
        "baseline_clone": {**run(before), "rev": bench.BASELINE_REV},
        "generate_cold": failed,
        "generate_warm": failed,
        "generate_after_edit": failed,
    }


def test_clean_clone_ratio_row_judges_against_the_run_before():
    # 200 s misses the absolute 150 s, but 200 / 469 = 0.43 meets 150 / 313 = 0.48
    table = "\n".join(bench.targets(_result(200.0, 469.0)))
    assert "| 313 s, 359 s | 200 s (300 s CPU) ❌ |" in table
    assert "| 469 s (704 s CPU) | 200 s: 0.43× ✅ |" in table
    table = "\n".join(bench.targets(_result(140.0, 250.0)))  # 0.56×: fast, but not faster
    assert "140 s (210 s CPU) ✅" in table and "140 s: 0.56× ❌" in table


def test_clean_clone_section_lists_the_baseline_first():
    r = _result(102.0, 304.0)
    lines = bench._clean_clone_section(r["clean_clone"], r["baseline_clone"])
    text = "\n".join(lines)
    assert text.index(f"Commit {bench.BASELINE_REV}, run first: 304 s") < text.index("Now: 102 s")


def test_readme_quotes_the_latest_bench_report():
    report = json.loads((ROOT / "reports" / "bench.json").read_text())
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())  # unwrapped
    now, before = report["clean_clone"]["seconds"], report["baseline_clone"]["seconds"]
    assert f"{now:.0f} s in the latest" in readme
    said = re.search(r"\((\w+)\) on the same machine: (\d+) s there, ([\d.]+)× of it", readme)
    assert said, "README: the baseline sentence changed shape"
    assert said.groups() == (
        report["baseline_clone"]["rev"],
        f"{before:.0f}",
        f"{now / before:.2f}",
    )
