"""Tests of reference_impl/bert.py: counts, tied weights, masks, MLM loss, 80/10/10 masking."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reference_impl.bert import (
    IGNORE_INDEX,
    BertConfig,
    BertForPreTraining,
    EncoderLayer,
    bert_base,
    bert_base_pretraining,
    bert_large,
    bert_large_pretraining,
    mask_tokens,
    padding_mask,
    pretraining_loss,
)


def encoder_count(cfg: BertConfig) -> int:
    H, L, V = cfg.d_model, cfg.n_layers, cfg.vocab_size
    embeddings = (V + cfg.max_len + cfg.n_segments) * H + 2 * H  # three tables + LayerNorm
    layer = 4 * (H * H + H) + (H * cfg.d_ff + cfg.d_ff) + (cfg.d_ff * H + H) + 2 * 2 * H
    pooler = H * H + H
    return embeddings + L * layer + pooler


@pytest.mark.parametrize(
    ("build", "config", "count"),
    [
        (bert_base, BertConfig.base(), 109_482_240),
        (bert_large, BertConfig.large(), 335_141_888),
    ],
)
def test_encoder_parameter_counts_on_meta(build, config, count) -> None:
    with torch.device("meta"):
        model = build()
    assert sum(p.numel() for p in model.parameters()) == count == encoder_count(config)
    hidden, pooled = model(torch.empty(1, 128, dtype=torch.long, device="meta"))
    assert hidden.shape == (1, 128, config.d_model) and pooled.shape == (1, config.d_model)


@pytest.mark.parametrize(
    ("build", "config", "count"),
    [
        (bert_base_pretraining, BertConfig.base(), 110_106_428),
        (bert_large_pretraining, BertConfig.large(), 336_226_108),
    ],
)
def test_pretraining_counts_on_meta(build, config, count) -> None:
    """The heads add a dense layer, a LayerNorm, a bias per token and NSP: the decoder is tied."""
    with torch.device("meta"):
        model = build()
    H, V = config.d_model, config.vocab_size
    heads = (H * H + H) + 2 * H + V + (2 * H + 2)
    assert sum(p.numel() for p in model.parameters()) == count == encoder_count(config) + heads


def test_paper_figures_are_two_significant_figures() -> None:
    """'110M' and '340M' (§3) are our counts rounded to two significant figures."""
    assert round(109_482_240, -7) == 110_000_000
    assert round(335_141_888, -7) == 340_000_000
    # with exactly 30,000 WordPieces, BERT-large would round to 330 M instead
    assert round(335_141_888 - 522 * 1024, -7) == 330_000_000


@pytest.fixture(scope="module")
def tiny() -> BertForPreTraining:
    torch.manual_seed(0)
    return BertForPreTraining(BertConfig.tiny()).eval()


def _batch(cfg: BertConfig, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, cfg.vocab_size, (2, 12), generator=gen)
    ids[:, 0], ids[:, 5], ids[:, 9] = cfg.cls_id, cfg.sep_id, cfg.sep_id
    ids[1, 10:] = cfg.pad_id
    ids[0, 11] = cfg.sep_id
    segments = (torch.arange(12) > 5).long().expand(2, -1).clone()
    return ids, segments, ids != cfg.pad_id


def test_forward_shapes_and_finite_gradients() -> None:
    torch.manual_seed(0)
    cfg = BertConfig.tiny()
    model = BertForPreTraining(cfg)
    ids, segments, mask = _batch(cfg)
    corrupted, labels = mask_tokens(ids, cfg, torch.Generator().manual_seed(0))
    mlm_logits, nsp_logits = model(corrupted, segments, mask)
    assert mlm_logits.shape == (2, 12, cfg.vocab_size) and nsp_logits.shape == (2, 2)
    pretraining_loss(mlm_logits, nsp_logits, labels, torch.tensor([0, 1])).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_mlm_decoder_is_tied_to_token_embeddings(tiny) -> None:
    decoder, table = tiny.mlm.decoder.weight, tiny.bert.embeddings.token_embeddings.weight
    assert decoder is table and decoder.data_ptr() == table.data_ptr()
    with torch.no_grad():
        table[5, 0] += 1.0
    assert decoder[5, 0] == table[5, 0]
    names = [name for name, _ in tiny.named_parameters()]
    assert "mlm.decoder.weight" not in names  # counted once, under the embeddings


def test_mlm_loss_counts_only_chosen_positions(tiny) -> None:
    cfg = tiny.bert.config
    ids, segments, mask = _batch(cfg)
    corrupted, labels = mask_tokens(ids, cfg, torch.Generator().manual_seed(3))
    mlm_logits, nsp_logits = tiny(corrupted, segments, mask)
    mlm_logits = mlm_logits.detach().requires_grad_()
    nsp_labels = torch.tensor([0, 1])
    loss = pretraining_loss(mlm_logits, nsp_logits.detach(), labels, nsp_labels)
    loss.backward()
    chosen = labels != IGNORE_INDEX
    assert chosen.any() and (~chosen).any()
    assert (mlm_logits.grad[~chosen] == 0).all()  # unchosen positions have no gradient
    assert (mlm_logits.grad[chosen].abs().sum(-1) > 0).all()
    manual = F.cross_entropy(mlm_logits[chosen], ids[chosen]) + F.cross_entropy(
        nsp_logits, nsp_labels
    )
    torch.testing.assert_close(loss, manual)


def test_changing_a_padded_token_changes_nothing_else(tiny) -> None:
    cfg = tiny.bert.config
    ids, segments, mask = _batch(cfg)
    changed = ids.clone()
    changed[1, 10:] = torch.tensor([17, 42])  # new ids at the padded positions, still masked
    (h1, p1), (h2, p2) = tiny.bert(ids, segments, mask), tiny.bert(changed, segments, mask)
    torch.testing.assert_close(h1[:, :10], h2[:, :10])
    torch.testing.assert_close(h1[0], h2[0])
    torch.testing.assert_close(p1, p2)
    # the default mask is input_ids != pad_id, so it gives the same result
    torch.testing.assert_close(tiny.bert(ids, segments)[0], h1)


def test_encoder_is_bidirectional(tiny) -> None:
    """No causal mask: the first position's vector depends on the last token."""
    cfg = tiny.bert.config
    ids, segments, mask = _batch(cfg)
    changed = ids.clone()
    changed[0, 10] = 50
    h1, _ = tiny.bert(ids, segments, mask)
    h2, _ = tiny.bert(changed, segments, mask)
    assert not torch.allclose(h1[0, 0], h2[0, 0])


def test_segment_and_position_embeddings_matter(tiny) -> None:
    cfg = tiny.bert.config
    ids, segments, mask = _batch(cfg)
    h, _ = tiny.bert(ids, segments, mask)
    assert not torch.allclose(h, tiny.bert(ids, torch.zeros_like(segments), mask)[0])
    same = torch.full((1, 6), 50)  # one token repeated: only the positions tell them apart
    h_same, _ = tiny.bert(same)
    assert not torch.allclose(h_same[0, 1], h_same[0, 2])


@torch.no_grad()
def test_encoder_layer_equals_torch_post_ln_gelu_layer() -> None:
    cfg = BertConfig.tiny()
    ref = nn.TransformerEncoderLayer(
        cfg.d_model,
        cfg.n_heads,
        cfg.d_ff,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=cfg.layer_norm_eps,
        batch_first=True,
        norm_first=False,
    ).eval()
    torch.manual_seed(0)
    for p in ref.parameters():
        p.normal_(0, 0.2)
    ours = EncoderLayer(cfg).eval()
    attn = ours.self_attn
    for proj, w, b in zip(
        (attn.q_proj, attn.k_proj, attn.v_proj),
        ref.self_attn.in_proj_weight.chunk(3),
        ref.self_attn.in_proj_bias.chunk(3),
        strict=True,
    ):
        proj.weight.copy_(w)
        proj.bias.copy_(b)
    attn.out_proj.load_state_dict(ref.self_attn.out_proj.state_dict())
    ours.ffn.linear1.load_state_dict(ref.linear1.state_dict())
    ours.ffn.linear2.load_state_dict(ref.linear2.state_dict())
    ours.norm1.load_state_dict(ref.norm1.state_dict())
    ours.norm2.load_state_dict(ref.norm2.state_dict())
    x = torch.randn(2, 7, cfg.d_model)
    is_token = torch.ones(2, 7, dtype=torch.bool)
    is_token[0, 5:] = False
    expected = ref(x, src_key_padding_mask=~is_token)
    torch.testing.assert_close(ours(x, padding_mask(is_token)), expected, atol=1e-5, rtol=1e-5)


def test_masking_is_80_10_10() -> None:
    cfg = BertConfig.base()
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, cfg.vocab_size, (256, 128), generator=gen)
    ids[:, 0], ids[:, 60], ids[:, 127] = cfg.cls_id, cfg.sep_id, cfg.sep_id
    ids[:32, 100:127] = cfg.pad_id
    corrupted, labels = mask_tokens(ids, cfg, torch.Generator().manual_seed(1))
    special = (ids == cfg.cls_id) | (ids == cfg.sep_id) | (ids == cfg.pad_id)
    chosen = labels != IGNORE_INDEX
    assert not (chosen & special).any()  # [CLS], [SEP], [PAD] are never predicted
    assert (labels[chosen] == ids[chosen]).all()
    assert (corrupted[~chosen] == ids[~chosen]).all()  # unchosen tokens are untouched
    per_sequence = chosen.sum(1).float() / (~special).sum(1).float()
    assert ((per_sequence - 0.15).abs() < 0.01).all()  # round(15 %) in every sequence
    n = chosen.sum().item()
    masked = (corrupted[chosen] == cfg.mask_id).sum().item() / n
    kept = (corrupted[chosen] == ids[chosen]).sum().item() / n
    randomised = 1 - masked - kept
    assert n > 4000
    assert masked == pytest.approx(0.8, abs=0.015)  # ±1.5 points: > 3 standard deviations
    assert kept == pytest.approx(0.1, abs=0.015)
    assert randomised == pytest.approx(0.1, abs=0.015)
    # the same seed gives the same corruption
    again, _ = mask_tokens(ids, cfg, torch.Generator().manual_seed(1))
    assert torch.equal(corrupted, again)


def test_integer_attention_mask_as_transformers_users_pass_it(tiny) -> None:
    cfg = tiny.bert.config
    ids, segments, mask = _batch(cfg)
    hidden, pooled = tiny.bert(ids, segments, mask)
    hidden_int, pooled_int = tiny.bert(ids, segments, mask.long())  # 0/1, as from a tokenizer
    torch.testing.assert_close(hidden_int, hidden, rtol=0, atol=0)
    torch.testing.assert_close(pooled_int, pooled, rtol=0, atol=0)
    assert not torch.equal(tiny.bert(ids, segments, torch.ones_like(mask.long()))[1], pooled)
