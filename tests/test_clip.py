"""Tests of reference_impl/clip.py: counts, the Fig. 3 loss, causal text tower, zero-shot."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from reference_impl.clip import (
    QuickGELU,
    ResidualAttentionBlock,
    WordTokenizer,
    clip_loss,
    clip_tiny,
    clip_vit_b32,
    zero_shot_classifier,
    zero_shot_predict,
)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_parameter_counts_vit_b32():
    with torch.device("meta"):
        model = clip_vit_b32()
        logits_i, logits_t = model(
            torch.empty(2, 3, 224, 224), torch.zeros(3, 77, dtype=torch.long)
        )
    assert n_params(model.visual) == 87_849_216
    assert n_params(model.text) == 63_428_096
    assert n_params(model) == 87_849_216 + 63_428_096 + 1 == 151_277_313  # + logit scale
    assert logits_i.shape == (2, 3) and logits_t.shape == (3, 2)


def test_temperature_init_and_clip():
    model = clip_tiny()
    assert math.isclose(model.logit_scale.exp().item(), 1 / 0.07, rel_tol=1e-6)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)  # e^10 ≫ 100
    img, txt = torch.rand(2, 3, 32, 32), torch.randint(0, 63, (2, 8))
    logits, _ = model(img, txt)
    cos = model.encode_image(img) @ model.encode_text(txt).T
    torch.testing.assert_close(logits, 100 * cos)


def test_loss_equals_figure3_pseudocode_by_hand():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.3], [1.5, -0.5, 0.2]])
    n = 3
    loss_i = (
        -sum(
            logits[i, i] - math.log(sum(math.exp(logits[i, j]) for j in range(n))) for i in range(n)
        )
        / n
    )  # rows: each image over all texts
    loss_t = (
        -sum(
            logits[j, j] - math.log(sum(math.exp(logits[i, j]) for i in range(n))) for j in range(n)
        )
        / n
    )  # columns: each text over all images
    assert math.isclose(float(clip_loss(logits)), (loss_i + loss_t) / 2, rel_tol=1e-6)


def test_text_tower_is_causal_and_reads_the_eot_token():
    torch.manual_seed(0)
    model = clip_tiny().eval()
    text = torch.tensor([[61, 5, 9, 12, 63, 0, 0, 0]])  # [SOS] w w w [EOS] pad pad pad
    tr = model.text
    with torch.no_grad():
        x = tr.token_embedding(text) + tr.pos_embed
        h = tr.transformer(x)
        changed = text.clone()
        changed[0, 3] = 30  # change the token at position 3
        h2 = tr.transformer(tr.token_embedding(changed) + tr.pos_embed)
        torch.testing.assert_close(h[:, :3], h2[:, :3])  # earlier positions cannot see it
        assert not torch.allclose(h[:, 3:], h2[:, 3:])
        # the feature is the final state at the [EOS] position (argmax of the ids) …
        torch.testing.assert_close(tr(text), tr.proj(tr.ln_final(h)[:, 4]))
        # … so tokens after [EOS] (padding) have no influence
        padded = text.clone()
        padded[0, 5:] = torch.tensor([7, 8, 9])
        torch.testing.assert_close(tr(padded), tr(text))


def test_block_equals_torch_transformer_encoder_layer_with_causal_mask():
    torch.manual_seed(0)
    d, h, T = 32, 4, 6
    ours = ResidualAttentionBlock(d, h).eval()
    ref = nn.TransformerEncoderLayer(
        d, h, 4 * d, dropout=0.0, activation=QuickGELU(), batch_first=True, norm_first=True
    ).eval()
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(ours.attn.qkv.weight)
        ref.self_attn.in_proj_bias.copy_(ours.attn.qkv.bias)
        ref.self_attn.out_proj.load_state_dict(ours.attn.proj.state_dict())
        ref.linear1.load_state_dict(ours.mlp.fc1.state_dict())
        ref.linear2.load_state_dict(ours.mlp.fc2.state_dict())
        ref.norm1.load_state_dict(ours.norm1.state_dict())
        ref.norm2.load_state_dict(ours.norm2.state_dict())
    x = torch.randn(2, T, d)
    mask = torch.full((T, T), float("-inf")).triu(1)
    torch.testing.assert_close(
        ours(x, mask), ref(x, src_mask=mask, is_causal=True), atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(QuickGELU()(x), x * torch.sigmoid(1.702 * x))


def test_gradients_finite():
    torch.manual_seed(0)
    model = clip_tiny()
    logits, _ = model(torch.rand(4, 3, 32, 32), torch.randint(1, 63, (4, 8)))
    clip_loss(logits).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_zero_shot_classifier_and_prediction():
    torch.manual_seed(0)
    names = ["red circle", "blue square", "green circle"]
    templates = ["a {}", "a photo of a {}", "the {}"]
    tok = WordTokenizer(["a", "photo", "of", "the", "red", "blue", "green", "circle", "square"], 8)
    model = clip_tiny(vocab_size=tok.vocab_size).eval()
    weights = zero_shot_classifier(model, names, templates, tok)
    assert weights.shape == (3, 32)
    torch.testing.assert_close(weights.norm(dim=-1), torch.ones(3))
    with torch.no_grad():  # prompt ensembling: mean of the normalised prompt embeddings
        manual = F.normalize(
            model.encode_text(tok([t.format(names[1]) for t in templates])).mean(0), dim=-1
        )
    torch.testing.assert_close(weights[1], manual)
    # An "image" whose embedding equals class 2's weight vector is classified as class 2:
    model.encode_image = lambda images: weights[[2, 0]]
    probs = zero_shot_predict(model, torch.empty(2, 3, 32, 32), weights)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))
    assert probs.argmax(-1).tolist() == [2, 0]
