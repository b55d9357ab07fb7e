"""Each kind of check catches a small deliberate mistake (recorded in reports/crosscheck.md)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reference_impl import gnn, swin
from tests.crosscheck import (
    test_cnn,
    test_gnn_gan,
    test_gpt,
    test_sequence,
    test_swin,
    test_transformers_vision,
)
from tests.crosscheck.common import expect_mismatch


def tanh_gelu(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.GELU):
            module.approximate = "tanh"


def test_gelu_tanh_approximation_is_caught() -> None:
    expect_mismatch(
        "ViT-B/32: GELU → its tanh approximation",
        lambda: test_transformers_vision.check_vit(
            "vit_b32", "vit_base_patch32_224", None, tamper=tanh_gelu
        ),
    )


def swap_q_k(model: nn.Module) -> None:
    attn = model.encoder.layers[0].self_attn
    for leaf in ("weight", "bias"):
        q, k = getattr(attn.q_proj, leaf), getattr(attn.k_proj, leaf)
        q_copy = q.clone()
        q.copy_(k)
        k.copy_(q_copy)


def test_swapped_query_and_key_are_caught() -> None:
    expect_mismatch(
        "Transformer (base): W^Q and W^K swapped in the first encoder layer",
        lambda: test_sequence.check_transformer("base", tamper=swap_q_k),
    )


def test_row_normalisation_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def row_normalised(adj: torch.Tensor) -> torch.Tensor:  # D̃⁻¹Ã instead of D̃^-½ÃD̃^-½
        a_tilde = adj + torch.eye(adj.shape[-1])
        return a_tilde / a_tilde.sum(-1, keepdim=True)

    monkeypatch.setattr(gnn, "normalized_adjacency", row_normalised)
    expect_mismatch(
        "GCN: row normalisation D̃⁻¹Ã instead of D̃^-½ÃD̃^-½", lambda: test_gnn_gan.check_gnn("gcn")
    )


def swap_bn_bias_and_mean(model: nn.Module) -> None:
    bn = model.layer1[0].bn1
    bias = bn.bias.clone()
    bn.bias.copy_(bn.running_mean)
    bn.running_mean.copy_(bias)


def test_swapped_batchnorm_tensors_are_caught() -> None:
    # both are zero at initialisation: only the perturbation of constants makes this visible
    expect_mismatch(
        "ResNet-18: a BatchNorm's bias and running mean swapped",
        lambda: test_cnn.check_resnet(18, tamper=swap_bn_bias_and_mean),
    )


def swap_input_and_forget_gates(model: nn.Module) -> None:
    w = model.weight_ih_l0
    i_rows = w[:20].clone()
    w[:20] = w[20:40]
    w[20:40] = i_rows


def test_gate_order_is_caught() -> None:
    expect_mismatch(
        "LSTM: input and forget gate rows swapped in weight_ih_l0",
        lambda: test_sequence.check_recurrent("LSTM", None, tamper=swap_input_and_forget_gates),
    )


def pre_norm_blocks(model: nn.Module) -> None:
    for block in model.blocks:
        block.pre_norm = True


def test_norm_placement_is_caught() -> None:
    expect_mismatch(
        "GPT-1: its post-LN blocks run as pre-LN (GPT-2's placement)",
        lambda: test_gpt.check_gpt1(tamper=pre_norm_blocks),
    )


def test_missing_shift_mask_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_mask(H: int, W: int, M: int, s: int, device=None) -> torch.Tensor:  # nothing blocked
        return torch.zeros((H // M) * (W // M), M * M, M * M, dtype=torch.bool, device=device)

    monkeypatch.setattr(swin, "shifted_window_mask", no_mask)
    expect_mismatch(
        "Swin-T: SW-MSA after the cyclic shift without its mask (wrapped-around pieces attend)",
        lambda: test_swin.check_torchvision("swin_t"),
    )
