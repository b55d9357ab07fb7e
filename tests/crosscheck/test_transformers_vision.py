"""ViT against timm, MAE against transformers' ViTMAEForPreTraining, CLIP against open_clip."""

from __future__ import annotations

import open_clip
import pytest
import timm
import torch
import transformers

from reference_impl import clip, mae, vit
from tests.crosscheck.common import Case, compare, n_params, perturb_constants


def images(batch: int, size: int) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))


# name of ours, timm's name, image side compared (None: paper size 224)
VITS = [
    ("vit_b16", "vit_base_patch16_224", None),
    ("vit_b32", "vit_base_patch32_224", None),
    ("vit_l16", "vit_large_patch16_224", None),
    ("vit_l32", "vit_large_patch32_224", None),
    ("vit_h14", "vit_huge_patch14_224", 112),
]
LABELS = {"vit_b16": "ViT-B/16", "vit_b32": "ViT-B/32", "vit_l16": "ViT-L/16"}
LABELS |= {"vit_l32": "ViT-L/32", "vit_h14": "ViT-H/14"}


def check_vit(ours_name: str, timm_name: str, side: int | None, tamper=None) -> dict:
    size = {} if side is None else {"image_size": side}
    # num_classes given: timm's L/32 and H/14 default to their headless in21k configurations
    theirs = timm.create_model(
        timm_name, num_classes=1000, **({} if side is None else {"img_size": side})
    )
    perturb_constants(theirs)
    ours = getattr(vit, ours_name)(**size)
    vit.load_timm(ours, theirs.state_dict())
    x = images(1, side or 224)
    note, counts = "", {}
    if side is not None:  # counts at the paper's 224 pixels, on the meta device
        with torch.device("meta"):
            counts = {
                "params_ours": n_params(getattr(vit, ours_name)()),
                "params_theirs": n_params(timm.create_model(timm_name, num_classes=1000)),
            }
        note = f"输出在 {side}×{side} 输入上比较（CPU 上省时间），参数量按 224×224 计"
    case = Case(
        "vit",
        LABELS[ours_name],
        f"{ours_name}()",
        "timm",
        timm_name,
        f"1×3×{side or 224}×{side or 224}",
        note,
    )
    return compare(case, ours, theirs, lambda m: m(x), lambda m: m(x), **counts, tamper=tamper)


@pytest.mark.parametrize(("ours_name", "timm_name", "side"), VITS, ids=[v[0] for v in VITS])
def test_vit(ours_name: str, timm_name: str, side: int | None) -> None:
    check_vit(ours_name, timm_name, side)


def check_mae(size: str) -> dict:
    c = getattr(mae.MAEConfig, f"vit_{size}")()
    hf = transformers.ViTMAEConfig(
        hidden_size=c.d_model,
        num_hidden_layers=c.n_layers,
        num_attention_heads=c.n_heads,
        intermediate_size=c.d_mlp,
        decoder_hidden_size=c.decoder_d_model,
        decoder_num_hidden_layers=c.decoder_n_layers,
        decoder_num_attention_heads=c.decoder_n_heads,
        decoder_intermediate_size=c.decoder_d_mlp,
        image_size=c.image_size,
        patch_size=c.patch_size,
        mask_ratio=c.mask_ratio,
        norm_pix_loss=c.norm_pix_loss,
        layer_norm_eps=c.ln_eps,
        attn_implementation="eager",
    )
    theirs = transformers.ViTMAEForPreTraining(hf)
    perturb_constants(theirs)
    ours = mae.MaskedAutoencoder(c)
    mae.load_transformers(ours, theirs.state_dict())
    x = images(2, c.image_size)
    noise = torch.rand(2, c.n_patches, generator=torch.Generator().manual_seed(2))

    def run_theirs(m: torch.nn.Module) -> tuple[torch.Tensor, ...]:
        out = m(pixel_values=x, noise=noise)
        return out.logits, out.mask, out.loss

    def run_ours(m: torch.nn.Module) -> tuple[torch.Tensor, ...]:
        loss, pred, mask = m(x, noise)
        return pred, mask, loss

    label = {"base": "MAE ViT-B/16", "large": "MAE ViT-L/16"}[size]
    ctor = {"base": "mae_vit_base_patch16()", "large": "mae_vit_large_patch16()"}[size]
    case = Case(
        "mae",
        label,
        ctor,
        "transformers",
        "ViTMAEForPreTraining",
        "2×3×224×224，同一噪声（同一掩码）",
        note="比较重建、掩码和损失",
    )
    return compare(case, ours, theirs, run_ours, run_theirs)


@pytest.mark.parametrize("size", ["base", "large"])
def test_mae(size: str) -> None:
    check_mae(size)


CLIPS = [
    ("clip_vit_b32", "ViT-B-32-quickgelu"),
    ("clip_vit_b16", "ViT-B-16-quickgelu"),
    ("clip_vit_l14", "ViT-L-14-quickgelu"),
]


def check_clip(ours_name: str, oc_name: str) -> dict:
    theirs = open_clip.create_model(oc_name)
    perturb_constants(theirs)
    ours = getattr(clip, ours_name)()
    clip.load_openai(ours, theirs.state_dict())
    x = images(2, 224)
    g = torch.Generator().manual_seed(3)
    text = torch.zeros(2, 77, dtype=torch.long)
    text[:, 1:9] = torch.randint(1, 49406, (2, 8), generator=g)
    text[:, 0], text[0, 9], text[1, 6] = 49406, 49407, 49407  # [SOS] … [EOS], then padding

    def run_theirs(m: torch.nn.Module) -> tuple[torch.Tensor, ...]:
        img, txt = m.encode_image(x, normalize=True), m.encode_text(text, normalize=True)
        return img, txt, m.logit_scale.exp() * img @ txt.T

    def run_ours(m: clip.CLIP) -> tuple[torch.Tensor, ...]:
        return m.encode_image(x), m.encode_text(text), m(x, text)[0]

    label = {"clip_vit_b32": "CLIP ViT-B/32", "clip_vit_b16": "CLIP ViT-B/16"}
    label |= {"clip_vit_l14": "CLIP ViT-L/14"}
    case = Case(
        "clip",
        label[ours_name],
        f"{ours_name}()",
        "open_clip_torch",
        oc_name,
        "2×3×224×224 与 2×77 词元",
    )
    return compare(case, ours, theirs, run_ours, run_theirs)


@pytest.mark.parametrize(("ours_name", "oc_name"), CLIPS, ids=[c[0] for c in CLIPS])
def test_clip(ours_name: str, oc_name: str) -> None:
    check_clip(ours_name, oc_name)
