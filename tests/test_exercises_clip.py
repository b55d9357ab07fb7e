"""The CLIP page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import torch

from reference_impl import clip
from reference_impl.exercises.clip import encode_text_bidirectional
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("clip")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_logits_bytes():
    N = 32768
    assert value("clip-logits-bytes") == N * N * 4 == 4 * 2**30  # "正好 4 GiB"
    assert round(N * N / 1e8, 1) == round((N * N - N) / 1e8, 1) == 10.7  # "约 10.7 亿"


def test_b16_has_fewer_parameters_and_more_macs():
    D = 768
    patch = (32 * 32 * 3 - 16 * 16 * 3) * D  # patch embedding, no bias
    positions = ((14 * 14 + 1) - (7 * 7 + 1)) * D
    assert value("clip-b16-params") == patch - positions
    assert (patch, positions) == (1_769_472, 147 * 768)
    assert round(value("clip-b16-params") / 1e4) == 166  # "约 166 万"
    with torch.device("meta"):
        image = torch.empty(1, 3, 224, 224)
        b32 = ex.count_macs(clip.VisionTransformer(clip.CLIPConfig.vit_b32()), image)
        b16 = ex.count_macs(clip.VisionTransformer(clip.CLIPConfig.vit_b16()), image)
    assert (round(b16 / 1e8), round(b32 / 1e8)) == (176, 44)  # "约 176 亿对 44 亿"
    assert round(b16 / b32) == 4


def _captions(cfg: clip.CLIPConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Two batches of the same captions, [SOS] w w w [EOS], differing only in their padding."""
    torch.manual_seed(0)
    eot = cfg.vocab_size - 1
    text = torch.zeros(2, cfg.context_length, dtype=torch.long)
    text[:, 0] = eot - 1  # [SOS]
    text[:, 1:4] = torch.randint(1, eot - 1, (2, 3))
    text[:, 4] = eot
    other = text.clone()
    other[:, 5:] = torch.randint(1, eot - 1, (2, cfg.context_length - 5))  # other padding ids
    return text, other


def test_only_a_mask_keeps_the_padding_out():
    cfg = clip.CLIPConfig.tiny()
    model = clip.CLIP(cfg).eval()
    text, other = _captions(cfg)
    with torch.no_grad():
        causal = model.encode_text(text), model.encode_text(other)
        bidir = [encode_text_bidirectional(model, t, mask_padding=False) for t in (text, other)]
        masked = [encode_text_bidirectional(model, t, mask_padding=True) for t in (text, other)]
    torch.testing.assert_close(causal[0], causal[1], rtol=0, atol=0)  # the causal mask suffices
    assert not torch.allclose(bidir[0], bidir[1], atol=1e-4)  # padding flows into [EOS]
    torch.testing.assert_close(masked[0], masked[1])  # a key-padding mask restores it
    assert not torch.allclose(masked[0], causal[0], atol=1e-4)  # [EOS] now also sees the right


def test_bidirectional_text_on_a_full_sequence_has_no_padding_to_hide():
    cfg = clip.CLIPConfig.tiny()
    model = clip.CLIP(cfg).eval()
    torch.manual_seed(1)
    text = torch.randint(1, cfg.vocab_size - 1, (3, cfg.context_length))
    text[:, -1] = cfg.vocab_size - 1  # [EOS] last: nothing after it
    with torch.no_grad():
        torch.testing.assert_close(
            encode_text_bidirectional(model, text, mask_padding=True),
            encode_text_bidirectional(model, text, mask_padding=False),
        )
        # and with [EOS] last, the causal [EOS] state sees the whole caption too, but through
        # causal layers below it: the two encoders still differ
        assert not torch.allclose(
            model.encode_text(text), encode_text_bidirectional(model, text, mask_padding=False)
        )
