r"""Solutions of the RNN page's 代码 exercises (tests: ``tests/test_exercises_rnn.py``).

The gated recurrent unit of Cho et al. (2014, arXiv:1406.1078, §2.3), in the page's notation:
$r_t = \sigma(W_r x_t + U_r h_{t-1})$, $z_t = \sigma(W_z x_t + U_z h_{t-1})$,
$\tilde h_t = \tanh(W x_t + U(r_t \odot h_{t-1}))$, $h_t = z_t \odot h_{t-1} + (1 - z_t) \odot
\tilde h_t$, with biases as in `LSTMCell`. One update gate decides both how much of the old state
to keep and how much of the candidate to write.

``torch.nn.GRUCell`` stacks its rows the same way (r, z, n) but applies the reset gate after the
recurrent product, $r_t \odot (U h_{t-1} + b)$; Cho et al. apply it before, $U(r_t \odot h_{t-1})$.
"""

import torch
from torch import nn
from torch.nn import functional as F

from reference_impl.rnn import LSTMCell


# --8<-- [start:gru-cell]
class GRUCell(nn.Module):
    """GRU cell (Cho et al. 2014): gate rows stacked r, z, n in one weight, like `LSTMCell`.

    Args:
        input_size: Features of the input C.
        hidden_size: Units of the hidden state H.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))  # W_r, W_z, W
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))  # U_r, U_z, U
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))
        bound = hidden_size**-0.5  # PyTorch's default for recurrent cells: U(−1/√H, 1/√H)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """Advance one step: input (B, C), previous state (B, H) (zeros if omitted) → (B, H)."""
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        H = self.hidden_size
        wx = F.linear(x, self.weight_ih, self.bias_ih)  # (B, 3H): W_r x, W_z x, W x
        u_r, u_z, u = self.weight_hh.split(H)  # each (H, H)
        b_r, b_z, b = self.bias_hh.split(H)
        r = torch.sigmoid(wx[:, :H] + F.linear(h, u_r, b_r))  # reset gate r_t
        z = torch.sigmoid(wx[:, H : 2 * H] + F.linear(h, u_z, b_z))  # update gate z_t
        candidate = torch.tanh(wx[:, 2 * H :] + F.linear(r * h, u, b))  # h̃_t = tanh(Wx + U(r⊙h))
        return z * h + (1 - z) * candidate  # keep z of the old state, write 1 − z of the new


def params_ratio(input_size: int, hidden_size: int) -> float:
    """Parameters of a GRU cell over those of an LSTM cell of the same size (3/4)."""
    gru = sum(p.numel() for p in GRUCell(input_size, hidden_size).parameters())
    lstm = sum(p.numel() for p in LSTMCell(input_size, hidden_size).parameters())
    return gru / lstm


# --8<-- [end:gru-cell]
