r"""RNN and LSTM: Elman's simple recurrent network and Long Short-Term Memory.

Sepp Hochreiter, Jürgen Schmidhuber. Long Short-Term Memory. *Neural Computation* 9(8):
1735–1780, 1997. doi:10.1162/neco.1997.9.8.1735. With the forget gate of Felix A. Gers, Jürgen
Schmidhuber, Fred Cummins. Learning to Forget: Continual Prediction with LSTM. *Neural
Computation* 12(10): 2451–2471, 2000. The simple recurrent network is Jeffrey L. Elman,
Finding Structure in Time, *Cognitive Science* 14(2): 179–211, 1990.

Implemented:

- Elman's recurrence (Elman 1990, Fig. 2: hidden units fed back through "context units"):
  $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$ (`rnn_step`, `RNNCell`).
- The LSTM memory cell (Hochreiter & Schmidhuber 1997, §4) with the forget gate of Gers et
  al. (2000), in the form `torch.nn.LSTM` computes:
  $i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})$,
  $f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})$,
  $g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})$,
  $o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})$,
  $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, $h_t = o_t \odot \tanh(c_t)$
  (`lstm_step`, `LSTMCell`). `forget_gate=False` fixes $f_t = 1$: the 1997 cell, whose state
  is carried by the "constant error carousel" $c_t = c_{t-1} + i_t \odot g_t$ (§4).
- Stacked (`num_layers`) and bidirectional (Schuster & Paliwal 1997) layers `RNN` and `LSTM`
  with the parameter names and layout of `torch.nn.RNN` / `torch.nn.LSTM`
  (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `…_reverse`; LSTM gate rows in
  the order i, f, g, o), so their state dicts load with `load_state_dict`.
- A word-level language model with the "medium" and "large" configurations of Zaremba,
  Sutskever & Vinyals (2014), arXiv:1409.2329 (§4.1: 2 layers of 650 or 1500 units, a
  10,000-word vocabulary, dropout 0.5 / 0.65 on the non-recurrent connections, uniform
  initialisation in ±0.05 / ±0.04): 19,780,400 and 66,034,000 parameters.

Deviations:

- Modern cell, not the 1997 one: every unit has its own gates (1997: "memory cell blocks"
  sharing gates), $\tanh$ squashing on $g$ and on the cell output (1997: sigmoids scaled to
  [-2, 2] and [-1, 1]), two bias vectors per gate as in cuDNN/PyTorch (one would suffice),
  no peephole connections (Gers & Schmidhuber 2000), and full back-propagation through time.
  The 1997 paper trained with a truncated RTRL variant: errors arriving at a cell's inputs were
  not propagated further back in time, only along the cell state (§4, "Learning").
- Elman (1990) used logistic hidden units and trained with one-step back-propagation (the
  context units were treated as extra inputs); here tanh (or ReLU) units and full BPTT.
- Tensors are always batch-first, (B, T, C); PyTorch's default is (T, B, C).
- Recurrent layers are Python loops over time steps: slow, but every equation is visible.
"""

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Nonlinearity = Literal["tanh", "relu"]


# --8<-- [start:config]
@dataclass(frozen=True)
class LSTMConfig:
    """Hyper-parameters of the LSTM language model; the defaults are Zaremba et al.'s "medium".

    Attributes:
        vocab_size: Words in the vocabulary (Penn Treebank: 10,000).
        hidden_size: Width of the embeddings and of every LSTM layer (650 medium, 1500 large).
        num_layers: Stacked LSTM layers (2).
        dropout: Drop probability on the non-recurrent connections (0.5 medium, 0.65 large).
        init_range: Every parameter starts uniform in ±init_range (0.05 medium, 0.04 large).
        forget_gate: Use the forget gate of Gers et al. (2000); `False` is the 1997 cell.
    """

    vocab_size: int = 10_000
    hidden_size: int = 650
    num_layers: int = 2
    dropout: float = 0.5
    init_range: float = 0.05
    forget_gate: bool = True

    @classmethod
    def medium(cls) -> "LSTMConfig":
        """Zaremba et al. (2014) §4.1, medium: 2 × 650 units, dropout 0.5."""
        return cls()

    @classmethod
    def large(cls) -> "LSTMConfig":
        """Zaremba et al. (2014) §4.1, large: 2 × 1500 units, dropout 0.65."""
        return cls(hidden_size=1500, dropout=0.65, init_range=0.04)

    @classmethod
    def tiny(cls) -> "LSTMConfig":
        """A small configuration for tests and examples."""
        return cls(vocab_size=50, hidden_size=16, num_layers=2, dropout=0.0)


# --8<-- [end:config]


# --8<-- [start:rnn-step]
def rnn_step(
    x: torch.Tensor,
    h: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None,
    b_hh: torch.Tensor | None,
    nonlinearity: Nonlinearity = "tanh",
) -> torch.Tensor:
    r"""Elman step: $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$.

    Args:
        x: Input at step t, (B, C).
        h: Hidden state $h_{t-1}$, (B, H).
        w_ih: Input-to-hidden weights (H, C).
        w_hh: Hidden-to-hidden weights (H, H): the recurrent connection.
        b_ih: Input bias (H,) or `None`.
        b_hh: Recurrent bias (H,) or `None`.
        nonlinearity: `"tanh"` (default, as in `torch.nn.RNN`) or `"relu"`.

    Returns:
        The new hidden state $h_t$, (B, H).
    """
    a = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # pre-activation (B, H)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


# --8<-- [end:rnn-step]


# --8<-- [start:lstm-step]
def lstm_step(
    x: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None,
    b_hh: torch.Tensor | None,
    forget_gate: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One step of the LSTM cell: three gates, a candidate, and the additive cell-state update.

    Args:
        x: Input at step t, (B, C).
        h: Hidden state $h_{t-1}$, (B, H).
        c: Cell state $c_{t-1}$, (B, H).
        w_ih: Input weights of the gates stacked in the order i, f, g, o: (4H, C);
            (3H, C) in the order i, g, o without the forget gate.
        w_hh: Recurrent weights, stacked likewise: (4H, H) or (3H, H).
        b_ih: Input biases (4H,) / (3H,) or `None`.
        b_hh: Recurrent biases (4H,) / (3H,) or `None`.
        forget_gate: With `False`, $f_t = 1$: the 1997 cell (no forget gate).

    Returns:
        $(h_t, c_t)$, each (B, H).
    """
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # all gates at once (B, 4H)
    if forget_gate:
        i, f, g, o = gates.chunk(4, dim=-1)  # each (B, H)
        f = torch.sigmoid(f)  # forget gate f_t (Gers et al. 2000)
    else:
        i, g, o = gates.chunk(3, dim=-1)  # each (B, H)
        f = torch.ones_like(c)  # 1997: the cell state is never decayed
    i = torch.sigmoid(i)  # input gate i_t: how much of the candidate to write
    g = torch.tanh(g)  # candidate g_t (the cell input)
    o = torch.sigmoid(o)  # output gate o_t: how much of the state to expose
    c = f * c + i * g  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t — additive, so errors flow through
    h = o * torch.tanh(c)  # h_t = o_t ⊙ tanh(c_t)
    return h, c


# --8<-- [end:lstm-step]


def _uniform_(params: list[nn.Parameter], hidden_size: int) -> None:
    """PyTorch's default initialisation of recurrent layers: U(−1/√H, 1/√H) for every tensor."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in params:
        nn.init.uniform_(p, -bound, bound)


class RNNCell(nn.Module):
    """Elman cell with the parameters of `torch.nn.RNNCell` (`weight_ih`, `weight_hh`, biases).

    Args:
        input_size: Features of the input C.
        hidden_size: Units of the hidden state H.
        bias: Learn the two bias vectors.
        nonlinearity: `"tanh"` or `"relu"`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: Nonlinearity = "tanh",
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.nonlinearity = nonlinearity
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(hidden_size)) if bias else None
        _uniform_(list(self.parameters()), hidden_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """Advance one step.

        Args:
            x: Input (B, C).
            h: Previous hidden state (B, H); zeros if omitted.

        Returns:
            The new hidden state (B, H).
        """
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        w = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return rnn_step(x, h, *w, nonlinearity=self.nonlinearity)


# --8<-- [start:lstm-cell]
class LSTMCell(nn.Module):
    """LSTM cell with the parameters of `torch.nn.LSTMCell` (gate rows in the order i, f, g, o).

    Args:
        input_size: Features of the input C.
        hidden_size: Units of the hidden and cell states H.
        bias: Learn the two bias vectors.
        forget_gate: Include the forget gate (Gers et al. 2000); `False` is the 1997 cell,
            with 3 gate blocks (i, g, o) instead of 4.
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, forget_gate: bool = True
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.forget_gate = forget_gate
        n_gates = 4 if forget_gate else 3
        self.weight_ih = nn.Parameter(torch.empty(n_gates * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(n_gates * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(n_gates * hidden_size)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(n_gates * hidden_size)) if bias else None
        _uniform_(list(self.parameters()), hidden_size)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor | None = None, c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step.

        Args:
            x: Input (B, C).
            h: Previous hidden state (B, H); zeros if omitted.
            c: Previous cell state (B, H); zeros if omitted.

        Returns:
            The new hidden and cell states, each (B, H).
        """
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        if c is None:
            c = x.new_zeros(x.shape[0], self.hidden_size)
        w = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return lstm_step(x, h, c, *w, forget_gate=self.forget_gate)


# --8<-- [end:lstm-cell]


class StackedRecurrent(nn.Module):
    """Parameters and time loop shared by `RNN` and `LSTM`, laid out as in `torch.nn.RNNBase`.

    Layer l, direction d owns `weight_ih_l{l}{s}`, `weight_hh_l{l}{s}`, `bias_ih_l{l}{s}` and
    `bias_hh_l{l}{s}` with s = "" (forward in time) or "_reverse" (backward in time), each with
    `n_gates · H` rows. Layer l > 0 reads the concatenated outputs of both directions of layer
    l − 1. Subclasses define `cell`, one time step.

    Args:
        input_size: Features of the input C.
        hidden_size: Units per layer and direction H.
        num_layers: Stacked layers L.
        bias: Learn bias vectors.
        dropout: Dropout on the outputs of every layer but the last (training only).
        bidirectional: Add a second recurrence that reads the sequence backwards.
        n_gates: Blocks of H rows stacked in every weight (1 Elman, 4 LSTM, 3 LSTM-1997).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        dropout: float,
        bidirectional: bool,
        n_gates: int,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout  # a float used with F.dropout: the layer stays one leaf module
        self.suffixes = ("", "_reverse") if bidirectional else ("",)
        rows = n_gates * hidden_size  # the gate blocks are stacked along the rows
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else hidden_size * len(self.suffixes)
            for s in self.suffixes:
                shapes = {"weight_ih": (rows, d_in), "weight_hh": (rows, hidden_size)}
                if bias:
                    shapes |= {"bias_ih": (rows,), "bias_hh": (rows,)}
                for name, shape in shapes.items():  # e.g. weight_ih_l1_reverse
                    self.register_parameter(f"{name}_l{layer}{s}", nn.Parameter(torch.empty(shape)))
        _uniform_(list(self.parameters()), hidden_size)

    def weights(self, layer: int, suffix: str) -> tuple[torch.Tensor | None, ...]:
        """The parameters `(w_ih, w_hh, b_ih, b_hh)` of one layer and direction."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return tuple(getattr(self, f"{n}_l{layer}{suffix}", None) for n in names)

    def cell(
        self, x: torch.Tensor, state: tuple[torch.Tensor, ...], layer: int, suffix: str
    ) -> tuple[torch.Tensor, ...]:
        """One time step of one layer and direction: (B, C) input, states each (B, H)."""
        raise NotImplementedError

    def initial_state(self, x: torch.Tensor) -> torch.Tensor:
        """Zeros of shape (L·D, B, H), D = 2 if bidirectional else 1."""
        return x.new_zeros(self.num_layers * len(self.suffixes), x.shape[0], self.hidden_size)

    # --8<-- [start:time-loop]
    def run(
        self, x: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Unroll every layer and direction over time.

        Args:
            x: Input sequence (B, T, C).
            state: Initial states, each (L·D, B, H); `(h,)` for Elman, `(h, c)` for LSTM.

        Returns:
            The last layer's outputs (B, T, D·H) and the final states, each (L·D, B, H).
        """
        n_dirs, steps = len(self.suffixes), x.shape[1]
        finals: list[list[torch.Tensor]] = [[] for _ in state]
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(self.suffixes):
                s = tuple(t[layer * n_dirs + d] for t in state)  # each (B, H)
                order = range(steps - 1, -1, -1) if suffix else range(steps)  # reverse: T−1 … 0
                h_seq = []
                for t in order:
                    s = self.cell(x[:, t], s, layer, suffix)
                    h_seq.append(s[0])  # the output at step t is h_t
                if suffix:
                    h_seq.reverse()  # back to time order 0 … T−1
                outputs.append(torch.stack(h_seq, dim=1))  # (B, T, H)
                for final, value in zip(finals, s, strict=True):
                    final.append(value)
            x = torch.cat(outputs, dim=-1)  # (B, T, D·H): both directions side by side
            if layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)  # between layers only
        return x, tuple(torch.stack(f) for f in finals)  # each (L·D, B, H)

    # --8<-- [end:time-loop]


class RNN(StackedRecurrent):
    """Stacked, optionally bidirectional Elman RNN with `torch.nn.RNN`'s parameters.

    Args:
        input_size: Features of the input C.
        hidden_size: Units per layer and direction H.
        num_layers: Stacked layers L.
        bias: Learn bias vectors.
        dropout: Dropout on the outputs of every layer but the last (training only).
        bidirectional: Add a second recurrence that reads the sequence backwards.
        nonlinearity: `"tanh"` or `"relu"`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        nonlinearity: Nonlinearity = "tanh",
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, dropout, bidirectional, 1)
        self.nonlinearity = nonlinearity

    def cell(
        self, x: torch.Tensor, state: tuple[torch.Tensor, ...], layer: int, suffix: str
    ) -> tuple[torch.Tensor, ...]:
        """One time step of one layer and direction; the state is `(h,)`."""
        (h,) = state
        return (rnn_step(x, h, *self.weights(layer, suffix), nonlinearity=self.nonlinearity),)

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the RNN over a sequence.

        Args:
            x: Input sequence (B, T, C).
            h0: Initial hidden states (L·D, B, H); zeros if omitted.

        Returns:
            `(output, h_n)`: the last layer's hidden states at every step (B, T, D·H) and every
            layer's final hidden state (L·D, B, H) — as `torch.nn.RNN(batch_first=True)`.
        """
        h0 = self.initial_state(x) if h0 is None else h0
        output, (h_n,) = self.run(x, (h0,))
        return output, h_n


class LSTM(StackedRecurrent):
    """Stacked, optionally bidirectional LSTM with `torch.nn.LSTM`'s parameters.

    Every weight and bias stacks four gate blocks in the order i, f, g, o; three (i, g, o)
    with `forget_gate=False`.

    Args:
        input_size: Features of the input C.
        hidden_size: Units per layer and direction H.
        num_layers: Stacked layers L.
        bias: Learn bias vectors.
        dropout: Dropout on the outputs of every layer but the last (training only).
        bidirectional: Add a second recurrence that reads the sequence backwards.
        forget_gate: Include the forget gate (Gers et al. 2000); `False` is the 1997 LSTM.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        forget_gate: bool = True,
    ) -> None:
        n_gates = 4 if forget_gate else 3
        super().__init__(input_size, hidden_size, num_layers, bias, dropout, bidirectional, n_gates)
        self.forget_gate = forget_gate

    def cell(
        self, x: torch.Tensor, state: tuple[torch.Tensor, ...], layer: int, suffix: str
    ) -> tuple[torch.Tensor, ...]:
        """One time step of one layer and direction; the state is `(h, c)`."""
        h, c = state
        return lstm_step(x, h, c, *self.weights(layer, suffix), forget_gate=self.forget_gate)

    def forward(
        self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run the LSTM over a sequence.

        Args:
            x: Input sequence (B, T, C).
            hx: Initial `(h_0, c_0)`, each (L·D, B, H); zeros if omitted.

        Returns:
            `(output, (h_n, c_n))`: the last layer's hidden states at every step (B, T, D·H),
            and every layer's final hidden and cell states, each (L·D, B, H) — as
            `torch.nn.LSTM(batch_first=True)`.
        """
        if hx is None:
            hx = (self.initial_state(x), self.initial_state(x))
        output, (h_n, c_n) = self.run(x, hx)
        return output, (h_n, c_n)


# --8<-- [start:model]
class LSTMLanguageModel(nn.Module):
    """Word-level LSTM language model (Zaremba et al. 2014): embed, stacked LSTM, softmax layer.

    Dropout acts on the non-recurrent connections only: after the embedding, between the LSTM
    layers and before the output layer (Zaremba et al. 2014, §3, Fig. 2).

    Args:
        config: Hyper-parameters; `LSTMConfig.medium()` is the "medium" model.
    """

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.dropout_in = nn.Dropout(config.dropout)
        self.lstm = LSTM(
            config.hidden_size,
            config.hidden_size,
            config.num_layers,
            dropout=config.dropout,
            forget_gate=config.forget_gate,
        )
        self.dropout_out = nn.Dropout(config.dropout)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        for p in self.parameters():  # §4.1: "initialized uniformly in [−0.05, 0.05]"
            nn.init.uniform_(p, -config.init_range, config.init_range)

    def forward(
        self, tokens: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Predict the next word at every position.

        Args:
            tokens: Word ids (B, T).
            hx: State carried over from the previous segment, each (L, B, H); zeros if omitted.

        Returns:
            Logits over the vocabulary (B, T, V) and the final `(h_n, c_n)`, each (L, B, H).
        """
        x = self.dropout_in(self.embedding(tokens))  # (B, T, H)
        x, hx = self.lstm(x, hx)  # (B, T, H)
        return self.decoder(self.dropout_out(x)), hx


# --8<-- [end:model]


# --8<-- [start:constructors]
def lstm_lm_medium(**overrides: object) -> LSTMLanguageModel:
    """Zaremba et al.'s medium LSTM (19,780,400 parameters); keywords override config fields."""
    return LSTMLanguageModel(dataclasses.replace(LSTMConfig.medium(), **overrides))


def lstm_lm_large(**overrides: object) -> LSTMLanguageModel:
    """Zaremba et al.'s large LSTM (66,034,000 parameters); keywords override config fields."""
    return LSTMLanguageModel(dataclasses.replace(LSTMConfig.large(), **overrides))


# --8<-- [end:constructors]

__all__ = [
    "LSTM",
    "RNN",
    "LSTMCell",
    "LSTMConfig",
    "LSTMLanguageModel",
    "RNNCell",
    "StackedRecurrent",
    "lstm_lm_large",
    "lstm_lm_medium",
    "lstm_step",
    "rnn_step",
]


if __name__ == "__main__":
    config = LSTMConfig.tiny()
    model = LSTMLanguageModel(config)
    tokens = torch.randint(0, config.vocab_size, (2, 7))
    logits, (h_n, c_n) = model(tokens)
    print(logits.shape, h_n.shape)  # torch.Size([2, 7, 50]) torch.Size([2, 2, 16])
