r"""Solutions of the DETR page's 代码 exercises (tests: ``tests/test_exercises_detr.py``).

A greedy matcher instead of the Hungarian algorithm of Eq. (1): take the cheapest remaining
(object, prediction) pair of the cost matrix, strike out its row and column, repeat. It is still
one-to-one, but not optimal: an early cheap pair can take the prediction that a later object
needed, and the total cost $\sum_i \mathcal{L}_{match}(y_i, \hat y_{\sigma(i)})$ comes out higher.
"""

import torch

from reference_impl.detr import DETRConfig, Target, matching_cost


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
