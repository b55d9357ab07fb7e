r"""Solutions of the Llama 3 page's 代码 exercises.

Tests: ``tests/test_exercises_llama.py``.

A sliding-window KV cache: every layer keeps the keys and values of only the last window − 1
positions, so the memory of a sequence stops growing; each new token then attends to itself
and those positions only: the locally banded attention of GPT-3's sparse layers (GPT-3 §2.1),
in every layer. Llama 3 itself keeps the whole context (§3.2 shrinks the cache with GQA instead).
"""

import torch

from reference_impl.llama import KVCache, Llama


# --8<-- [start:sliding-window]
class SlidingWindowKVCache(KVCache):
    """A `KVCache` that forgets: each layer keeps only the last `window - 1` positions.

    Args:
        n_layers: Number of blocks.
        window: Keys a new token attends to, itself included (≥ 2).
    """

    def __init__(self, n_layers: int, window: int) -> None:
        super().__init__(n_layers)
        if window < 2:
            raise ValueError("window must be at least 2")
        self.window = window

    def update(self, i: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the kept and the new keys and values; keep only the last window − 1."""
        k, v = super().update(i, k, v)  # (B, h_kv, S, d): what the new queries attend to
        keep = self.window - 1
        self.layers[i] = (k[:, :, -keep:], v[:, :, -keep:])  # the older positions are dropped
        return k, v


@torch.no_grad()
def sliding_window_logits(model: Llama, input_ids: torch.Tensor, window: int) -> torch.Tensor:
    """Feed (B, T) tokens one at a time through a sliding-window cache → logits (B, T, V)."""
    cache = SlidingWindowKVCache(model.config.n_layers, window)
    steps = [model(input_ids[:, t : t + 1], t, cache) for t in range(input_ids.shape[1])]
    return torch.cat(steps, dim=1)


# --8<-- [end:sliding-window]


# --8<-- [start:banded]
@torch.no_grad()
def banded_logits(model: Llama, input_ids: torch.Tensor, window: int) -> torch.Tensor:
    """One forward pass in which query t attends only to keys t − window + 1 … t → (B, T, V)."""
    T = input_ids.shape[1]
    positions = torch.arange(T, device=input_ids.device)
    i, j = positions[:, None], positions[None, :]
    band = (j <= i) & (j > i - window)  # (T, T), as GPT-3's locally banded layers
    x = model.tok_embeddings(input_ids)
    for layer in model.layers:
        x = layer(x, positions, band)
    return model.lm_head(model.norm(x))


# --8<-- [end:banded]
