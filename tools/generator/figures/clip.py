"""Figures for the CLIP page: image–text similarities of a tiny CLIP trained on coloured shapes."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import Tensor

from reference_impl.clip import (
    CLIP,
    WordTokenizer,
    clip_loss,
    clip_tiny,
    zero_shot_classifier,
    zero_shot_predict,
)
from tools.generator.figures import style

DEPENDS: tuple[str, ...] = ("reference_impl/clip.py",)

COLORS = {"red": (0.9, 0.15, 0.15), "green": (0.2, 0.75, 0.2), "blue": (0.15, 0.3, 0.95)}
SHAPES = ("circle", "square", "triangle")
CLASSES = [f"{c} {s}" for c in COLORS for s in SHAPES]  # 9 classes: "red circle", …
TEMPLATES = ("a {}", "a photo of a {}", "a picture of the {}", "the {}")
_STEPS, _LR = 500, 1e-3


def render(labels: Tensor, g: torch.Generator, size: int = 32) -> Tensor:
    """Draw one shape per image at a random place and size on a noisy grey background.

    Args:
        labels: class indices into :data:`CLASSES`, (B,).
        g: random generator.
        size: image side.

    Returns:
        (B, 3, size, size) in [0, 1].
    """
    B = labels.shape[0]
    lin = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(lin, lin, indexing="ij")
    cy, cx = torch.rand(2, B, 1, 1, generator=g) * 0.4 + 0.3
    r = torch.rand(B, 1, 1, generator=g) * 0.12 + 0.16
    shape = (labels % len(SHAPES))[:, None, None]
    circle = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    square = ((yy - cy).abs() <= 0.8 * r) & ((xx - cx).abs() <= 0.8 * r)
    triangle = (yy - cy <= 0.8 * r) & ((xx - cx).abs() <= (yy - cy + r) * 0.6)
    inside = torch.where(shape == 0, circle, torch.where(shape == 1, square, triangle))
    rgb = torch.tensor(list(COLORS.values()))[labels // len(SHAPES)][:, :, None, None]
    background = 0.5 + 0.08 * torch.randn(B, 3, size, size, generator=g)
    return torch.where(inside[:, None], rgb, background).clamp(0, 1)


def _tokenizer() -> WordTokenizer:
    words = " ".join(TEMPLATES).replace("{}", " ").split() + list(COLORS) + list(SHAPES)
    return WordTokenizer(words, context_length=8)


def train_tiny_clip() -> tuple[CLIP, WordTokenizer, list[float]]:
    """Train ``clip_tiny`` with the symmetric loss; every batch holds the 9 classes once each."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    tok = _tokenizer()
    model = clip_tiny(vocab_size=tok.vocab_size)
    opt = torch.optim.AdamW(model.parameters(), lr=_LR, weight_decay=0.1, foreach=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=_LR, total_steps=_STEPS, pct_start=0.1)
    losses = []
    for step in range(_STEPS):
        labels = torch.randperm(len(CLASSES), generator=g)  # each class once: no false negatives
        template = TEMPLATES[step % len(TEMPLATES)]
        texts = tok([template.format(CLASSES[i]) for i in labels])
        logits, _ = model(render(labels, g), texts)
        loss = clip_loss(logits)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return model.eval(), tok, losses


@style.single_threaded
def draw_similarity() -> Figure:
    """clip_tiny 短暂训练后：9 张新图像与 9 条描述的余弦相似度（左）、训练损失（右）。"""
    model, tok, losses = train_tiny_clip()
    g = torch.Generator().manual_seed(1234)
    labels = torch.arange(len(CLASSES))
    images = render(labels, g)
    with torch.no_grad():
        sim = model.encode_image(images) @ model.encode_text(tok([f"a {c}" for c in CLASSES])).T
        weights = zero_shot_classifier(model, CLASSES, TEMPLATES, tok)
        test = torch.arange(len(CLASSES)).repeat(20)
        pred = zero_shot_predict(model, render(test, g), weights).argmax(-1)
    accuracy = (pred == test).float().mean().item()

    fig = style.new_figure(7.6, 4.4)
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.5, 1])
    n = len(CLASSES)
    im = ax.imshow(sim, cmap="viridis")
    ax.set_xticks(range(n), [f"a {c}" for c in CLASSES], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), [""] * n)
    for i in range(n):  # image thumbnails as row labels
        ax.imshow(images[i].permute(1, 2, 0), extent=(-1.55, -0.6, i + 0.45, i - 0.45))
        for j in range(n):
            ax.text(
                j,
                i,
                f"{sim[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=5.5,
                color="white" if sim[i, j] < sim.max() * 0.6 else "black",
            )
    ax.set_xlim(-1.6, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_title("图像（行）× 文本（列）的余弦相似度", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.7)
    k = 20
    smooth = [
        sum(losses[max(0, i - k + 1) : i + 1]) / len(losses[max(0, i - k + 1) : i + 1])
        for i in range(len(losses))
    ]
    ax2.plot(range(1, len(losses) + 1), smooth, color=style.PALETTE[0])
    ax2.axhline(torch.log(torch.tensor(float(n))).item(), color=style.FG, ls="--", lw=0.8)
    ax2.text(
        len(losses),
        torch.log(torch.tensor(float(n))).item(),
        " ln 9（随机）",
        va="bottom",
        ha="right",
        fontsize=8,
    )
    ax2.set_xlabel("训练步数（每批 9 对图文）")
    ax2.set_ylabel("对称交叉熵（移动平均）")
    ax2.set_title(f"零样本准确率 {accuracy:.0%}（{len(TEMPLATES)} 个提示模板）", fontsize=9)
    ax2.grid(True)
    return fig


FIGURES = {"clip-similarity": draw_similarity}
