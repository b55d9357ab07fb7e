r"""Solutions of the DETR page's 代码 exercises (tests: ``tests/test_exercises_detr.py``).

1. A greedy matcher instead of the Hungarian algorithm of Eq. (1): take the cheapest remaining
(object, prediction) pair of the cost matrix, strike out its row and column, repeat. It is still
one-to-one, but not optimal: an early cheap pair can take the prediction that a later object
needed, and the total cost $\sum_i \mathcal{L}_{match}(y_i, \hat y_{\sigma(i)})$ comes out higher.

2. No spatial positional encoding (Table 3, "none"): the encoder is then permutation-equivariant
   in its HW tokens, and the predictions do not change when the tokens are shuffled.
"""

import torch

from reference_impl.detr import DETR, DETRConfig, Target, matching_cost


# --8<-- [start:greedy]
def greedy_assignment(cost: list[list[float]]) -> list[int]:
    """Cheapest remaining pair first: a one-to-one assignment of rows to columns, not optimal.

    Args:
        cost: n × m costs with n ≤ m.

    Returns:
        For each row, its column.
    """
    n, m = len(cost), len(cost[0])
    pairs = sorted((cost[i][j], i, j) for i in range(n) for j in range(m))  # cheapest first
    col_of: list[int] = [-1] * n
    taken: set[int] = set()
    for _, i, j in pairs:
        if col_of[i] < 0 and j not in taken:  # row and column both still free
            col_of[i] = j
            taken.add(j)
    return col_of


@torch.no_grad()
def greedy_match(
    logits: torch.Tensor, boxes: torch.Tensor, targets: list[Target], config: DETRConfig
) -> list[torch.Tensor]:
    """`hungarian_match` with `greedy_assignment` in place of the Hungarian algorithm.

    Args:
        logits: (B, N, K + 1) class logits.
        boxes: (B, N, 4) predicted boxes.
        targets: B targets, each with M ≤ N objects.
        config: The cost weights.

    Returns:
        Per image, (M,) long: the prediction matched to each object.
    """
    matches = []
    for lg, bx, t in zip(logits, boxes, targets, strict=True):
        cost = matching_cost(lg, bx, t, config).double().tolist()  # (M, N), as in Eq. (1)
        idx = greedy_assignment(cost) if len(t.labels) else []
        matches.append(torch.tensor(idx, dtype=torch.long, device=boxes.device))
    return matches


# --8<-- [end:greedy]


# --8<-- [start:no-positions]
class DETRWithoutPositions(DETR):
    """DETR without spatial positional encodings: zeros where the sine encodings were added.

    The object queries are kept (the decoder needs N different inputs); only the encoder's
    tokens and the cross-attention keys lose their positions.
    """

    def forward(
        self, images: torch.Tensor, all_layers: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 3, H₀, W₀) → class logits (B, N, K + 1) and boxes (B, N, 4)."""
        z0 = self.input_proj(self.backbone(images))  # (B, d, H, W)
        return self.predict(z0.flatten(2).transpose(1, 2), all_layers)  # (B, HW, d) tokens

    def predict(
        self, tokens: torch.Tensor, all_layers: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder input tokens (B, HW, d) → class logits (B, N, K + 1), boxes (B, N, 4)."""
        pos = torch.zeros_like(tokens)  # no spatial positional encoding
        memory = self.encoder(tokens, pos)  # (B, HW, d)
        queries = self.object_queries.repeat(tokens.shape[0], 1, 1)  # (B, N, d)
        hs = self.decoder(memory, pos, queries, all_layers)
        return self.class_embed(hs), self.bbox_embed(hs).sigmoid()


# --8<-- [end:no-positions]
