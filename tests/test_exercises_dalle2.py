"""The DALL·E 2 page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import math

import torch

from reference_impl import dalle2
from reference_impl.exercises.dalle2 import slerp, text_diff
from tools.generator import exercises as ex
from tools.generator.exercises.dalle2 import attention_shapes

ANSWERS = {e.id: e for e in ex.load("dalle2")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def linear(d_in: int, d_out: int) -> int:
    return d_in * d_out + d_out


def test_clip_conditioning_params():
    clip_dim, d_emb, width = 1024, 4 * 512, 2048
    assert value("dalle2-clip-conditioning") == linear(clip_dim, d_emb) + linear(
        clip_dim, 4 * width
    )
    assert round(value("dalle2-clip-conditioning") / 1e5) == 105  # "约 1050 万"
    assert round(100 * value("dalle2-clip-conditioning") / 3_565_434_374, 1) == 0.3  # "0.3%"


def test_attention_keys():
    text, clip_tokens = 256, 4
    assert value("dalle2-attention-keys") == 8 * 8 + text + clip_tokens == 324
    # (queries, keys) of every attention call: the text encoder's self-attention, then the
    # U-Net's 8×8, 16×16 and 32×32 levels, whose keys add the 260 text and CLIP tokens
    assert attention_shapes() == {(256, 256), (64, 324), (256, 516), (1024, 1284)}
    assert round(10 * 260 / 324) == 8 and round(10 * 260 / 1284) == 2  # "八成" "两成"


def test_linear_schedule_spends_more_steps_in_near_pure_noise():
    counts = {
        s: int((dalle2.GaussianDiffusion(1000, s).alphas_cumprod < 0.01).sum())
        for s in ("linear", "cosine")
    }
    assert counts == {"linear": 327, "cosine": 65}  # the answer's numbers


def test_slerp_stays_on_the_sphere():
    a = torch.tensor([1.0, 0.0], dtype=torch.float64)
    b = torch.tensor([0.0, 1.0], dtype=torch.float64)  # 90° apart
    mid = slerp(a, b, 0.5)
    assert math.isclose(float(mid.norm()), 1.0)
    assert math.isclose(float(((a + b) / 2).norm()), math.cos(math.pi / 4))  # lerp: 0.707
    assert round(math.cos(math.pi / 4), 3) == 0.707
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)

    # random unit vectors in 16 dims: the arc keeps unit length and splits the angle evenly
    torch.manual_seed(0)
    z1, z2 = torch.nn.functional.normalize(torch.randn(2, 4, 16, dtype=torch.float64), dim=-1)
    omega = torch.arccos((z1 * z2).sum(-1))
    for theta in (0.1, 0.25, 0.5, 0.9):
        z = slerp(z1, z2, theta)
        torch.testing.assert_close(z.norm(dim=-1), torch.ones(4, dtype=torch.float64))
        torch.testing.assert_close(torch.arccos((z * z1).sum(-1).clamp(-1, 1)), theta * omega)
        lerp = (1 - theta) * z1 + theta * z2
        assert (lerp.norm(dim=-1) < 1).all()  # the straight line leaves the sphere


def test_text_diff_rotates_the_image_embedding_towards_the_caption_change():
    torch.manual_seed(0)
    model = dalle2.CLIP(dalle2.CLIPConfig.tiny()).eval()
    with torch.no_grad():
        z_i = model.encode_image(torch.randn(1, 3, 16, 16))  # (1, 16), unit length
        tokens = torch.randint(1, 62, (2, 8))
        tokens[:, -1] = 63  # end-of-text: the largest id
        z_t = model.encode_text(tokens)[0]  # (2, 16): "before" and "after" captions
    z_d = torch.nn.functional.normalize(z_t[1] - z_t[0], dim=-1)
    cos_to_d = [float((text_diff(z_i, z_t[:1], z_t[1:], th) * z_d).sum()) for th in (0, 0.25, 0.5)]
    assert cos_to_d == sorted(cos_to_d) and cos_to_d[0] < cos_to_d[-1]  # ever closer to z_d
    for theta in (0.25, 0.5):
        edited = text_diff(z_i, z_t[:1], z_t[1:], theta)
        torch.testing.assert_close(edited.norm(dim=-1), torch.ones(1))  # still a unit vector
