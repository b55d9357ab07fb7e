"""Write reports/crosscheck.json and reports/crosscheck.md from the results of one run.

The JSON is what the paper cards read (tools/generator/pages.py); the Markdown is for people.
"""

from __future__ import annotations

import json
import platform
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JSON = ROOT / "reports" / "crosscheck.json"
MARKDOWN = ROOT / "reports" / "crosscheck.md"
LIBRARIES = ["torch", "torchvision", "transformers", "timm", "open_clip_torch", "torch_geometric"]

# papers without a case, or where the canonical model differs from the paper's by design
PAPER_NOTES = {
    "alexnet": "论文的双塔 AlexNet 与 torchvision 的单塔版本按设计不同，未对照；"
    "对照的是同一文件里按 torchvision 布局构造的 alexnet_torchvision()",
    "resnet": "ResNet-50/101/152：torchvision 是 v1.5（步幅在 3×3 卷积上），论文的步幅在第一个 "
    "1×1 上，按设计不同；以 stride_in_3x3=True 对照",
    "clip": "发布的 OpenAI 模型用 QuickGELU：对照 open_clip 的 -quickgelu 配置（不带后缀的配置用"
    "精确 GELU，按设计不同）",
    "transformer": "nn.Transformer 在编码器和解码器末尾各多一个 LayerNorm（论文的 post-LN 没有），"
    "对照时换成恒等；不含嵌入和共享输出层",
    "embedding": "未运行：word2vec / GloVe 的标准实现（C 代码、gensim）不是 PyTorch 模块，"
    "没有可以复制权重再比较输出的对照",
    "dmtet": "未运行：DMTet 的官方实现在 NVIDIA Kaolin 里（PyPI 上只有占位包），且需要 CUDA",
    "get3d": "未运行：GET3D 的官方实现依赖 CUDA 扩展（nvdiffrast 等），不能在 CPU 上对照",
    "dalle2": "未运行：DALL·E 2 没有官方实现；社区的 dalle2-pytorch 结构不同，不是公认的标准",
}


def write(results: list[dict], failures_shown: list[dict]) -> None:
    """Both reports; the cases keep the order in which the tests ran."""
    data = {
        "generated": time.strftime("%Y-%m-%d", time.gmtime()),
        "command": "nox -s crosscheck",
        "python": platform.python_version(),
        "libraries": {name: version(name) for name in LIBRARIES},
        "tolerance": "max |Δ| ≤ 1e-4 × max |reference output|, eval mode, float32",
        "cases": results,
        "papers": PAPER_NOTES,
        "failures_shown": failures_shown,
    }
    JSON.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    MARKDOWN.write_text(markdown(data), encoding="utf-8")


def markdown(data: dict) -> str:
    """The human-readable report."""
    libs = ", ".join(f"{k} {v}" for k, v in data["libraries"].items())
    lines = [
        "# Cross-check against the canonical implementations",
        "",
        f"Written by `{data['command']}` on {data['generated']} (Python {data['python']}; {libs}).",
        "Each canonical model's random weights, with every constant tensor perturbed first, are",
        "copied into ours by the reference file's loader; both run in eval mode on the same input.",
        f"Pass: {data['tolerance']}, and equal parameter counts (tied weights once).",
        "",
        "| paper | model | ours | reference | input | max \\|Δ\\| | output scale | parameters |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in data["cases"]:
        ref = f"{c['library']} {c['library_version']} `{c['reference']}`"
        params = f"{c['params_ours']:,}" + (
            "" if c["params_ours"] == c["params_reference"] else f" ≠ {c['params_reference']:,}"
        )
        lines.append(
            f"| {c['paper']} | {c['label']} | `{c['ours']}` | {ref} | {c['input']} | "
            f"{c['max_abs']:.2e} | {c['scale']:.3g} | {params} |"
        )
    notes = [f"- {c['label']}: {c['note']}" for c in data["cases"] if c["note"]]
    lines += ["", "## Notes", "", *notes, ""]
    lines += [f"- **{slug}**: {text}" for slug, text in data["papers"].items()]
    lines += [
        "",
        "## Each check can fail",
        "",
        "Broken on purpose in `tests/crosscheck/test_can_fail.py`; each was caught:",
        "",
    ]
    lines += [f"- {f['broken']} → {f['caught']}" for f in data["failures_shown"]]
    return "\n".join(lines) + "\n"
