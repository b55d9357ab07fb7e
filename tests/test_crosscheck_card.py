"""The paper cards show the committed cross-check report (reports/crosscheck.json)."""

from __future__ import annotations

import json

from tools.generator import catalog as cat
from tools.generator import pages

CATALOG = cat.load()
REPORT = json.loads((cat.ROOT / "reports" / "crosscheck.json").read_text(encoding="utf-8"))


def test_every_paper_has_a_case_or_says_why_not() -> None:
    with_cases = {c["paper"] for c in REPORT["cases"]}
    for slug in CATALOG.papers:
        assert slug in with_cases or slug in REPORT["papers"], slug
    assert set(REPORT["papers"]) <= set(CATALOG.papers)


def test_every_case_passed_with_equal_counts() -> None:
    for case in REPORT["cases"]:
        assert case["max_abs"] <= 1e-4 * case["scale"], case["label"]
        assert case["params_ours"] == case["params_reference"], case["label"]
    assert len(REPORT["failures_shown"]) >= 4  # the deliberate breakages were all caught


def test_card_lists_each_model_with_library_version_and_error() -> None:
    text = pages.card(CATALOG.papers["vit"], CATALOG)
    version = REPORT["libraries"]["timm"]
    assert f"- ViT-B/16：与 timm {version} `vit_base_patch16_224` 输出一致（最大误差 " in text
    assert text.count("输出一致") == sum(c["paper"] == "vit" for c in REPORT["cases"]) == 5
    assert "×10⁻" in text


def test_card_says_when_a_case_differs_by_design_or_was_not_run() -> None:
    assert "按设计不同" in pages.card(CATALOG.papers["alexnet"], CATALOG)
    assert "v1.5" in pages.card(CATALOG.papers["resnet"], CATALOG)
    assert "QuickGELU" in pages.card(CATALOG.papers["clip"], CATALOG)
    dalle2 = pages.card(CATALOG.papers["dalle2"], CATALOG)
    assert "未运行" in dalle2 and "输出一致" not in dalle2


def test_card_lists_the_torch_versions_the_suite_passed_on() -> None:
    versions = pages.tested_torch_versions()
    assert pages.version("torch").split("+")[0] in versions
    assert "测试\n:   整个测试套件通过的 PyTorch 版本：" + "、".join(versions) in pages.card(
        CATALOG.papers["bert"], CATALOG
    )


def test_scientific_notation() -> None:
    assert pages._sci(1.3e-6) == "1.3×10⁻⁶"
    assert pages._sci(2.04e-5) == "2.0×10⁻⁵"
    assert pages._sci(0.0) == "0"
