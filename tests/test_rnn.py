import runpy

import pytest
import torch
from torch import nn

from reference_impl import rnn

ATOL = 1e-5


def _pair(kind: str, num_layers: int, bidirectional: bool, bias: bool = True):
    """A torch.nn layer and ours with the same weights (loaded from torch's state dict)."""
    torch.manual_seed(0)
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    if kind == "lstm":
        ref, ours = nn.LSTM(5, 7, batch_first=True, **kwargs), rnn.LSTM(5, 7, **kwargs)
    elif kind == "relu":
        ref = nn.RNN(5, 7, nonlinearity="relu", batch_first=True, **kwargs)
        ours = rnn.RNN(5, 7, nonlinearity="relu", **kwargs)
    else:
        ref, ours = nn.RNN(5, 7, batch_first=True, **kwargs), rnn.RNN(5, 7, **kwargs)
    assert list(ours.state_dict()) == list(ref.state_dict())  # same names, same order
    ours.load_state_dict(ref.state_dict())  # strict: same names and shapes
    return ref, ours


@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_equals_torch_after_loading_its_weights(kind, num_layers, bidirectional):
    ref, ours = _pair(kind, num_layers, bidirectional)
    x = torch.randn(3, 11, 5)
    n_states = num_layers * (2 if bidirectional else 1)
    h0 = torch.randn(n_states, 3, 7)
    if kind == "lstm":
        c0 = torch.randn(n_states, 3, 7)
        out_ref, (h_ref, c_ref) = ref(x, (h0, c0))
        out, (h, c) = ours(x, (h0, c0))
        torch.testing.assert_close(c, c_ref, atol=ATOL, rtol=0)
    else:
        out_ref, h_ref = ref(x, h0)
        out, h = ours(x, h0)
    assert out.shape == (3, 11, 7 * (2 if bidirectional else 1))
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=ATOL, rtol=0)


def test_gradients_equal_torch():
    ref, ours = _pair("lstm", 2, True)
    x = torch.randn(2, 6, 5)
    ref(x)[0].square().sum().backward()
    ours(x)[0].square().sum().backward()
    for (name, p_ref), p in zip(ref.named_parameters(), ours.parameters(), strict=True):
        torch.testing.assert_close(p.grad, p_ref.grad, atol=ATOL, rtol=0, msg=name)


def test_without_bias_and_default_zero_state():
    ref, ours = _pair("lstm", 1, False, bias=False)
    assert not any("bias" in k for k in ours.state_dict())
    x = torch.randn(2, 4, 5)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=ATOL, rtol=0)


def test_cells_equal_torch_cells():
    torch.manual_seed(0)
    x, h, c = torch.randn(4, 5), torch.randn(4, 7), torch.randn(4, 7)
    ref_lstm, lstm = nn.LSTMCell(5, 7), rnn.LSTMCell(5, 7)
    lstm.load_state_dict(ref_lstm.state_dict())
    h_ref, c_ref = ref_lstm(x, (h, c))
    h_new, c_new = lstm(x, h, c)
    torch.testing.assert_close(h_new, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c_new, c_ref, atol=ATOL, rtol=0)
    ref_rnn, cell = nn.RNNCell(5, 7), rnn.RNNCell(5, 7)
    cell.load_state_dict(ref_rnn.state_dict())
    torch.testing.assert_close(cell(x, h), ref_rnn(x, h), atol=ATOL, rtol=0)


def test_gate_order_is_i_f_g_o():
    """Saturating one gate block through its bias shows which rows are which gate."""
    cell = rnn.LSTMCell(3, 2)
    H = 2
    x, h, c = torch.randn(1, 3), torch.zeros(1, 2), torch.full((1, 2), 0.7)
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_ih[H : 2 * H] = -1e4  # forget gate closed → old cell state erased
        cell.bias_ih[0:H] = -1e4  # input gate closed → nothing written
    _, c_new = cell(x, h, c)
    torch.testing.assert_close(c_new, torch.zeros(1, 2))
    with torch.no_grad():
        cell.bias_ih[H : 2 * H] = 1e4  # forget gate open, input gate closed → state kept
    _, c_new = cell(x, h, c)
    torch.testing.assert_close(c_new, c)


def test_1997_cell_has_no_forget_gate_and_accumulates():
    """Without a forget gate c_t = c_{t-1} + i_t ⊙ g_t: the constant error carousel."""
    torch.manual_seed(0)
    lstm = rnn.LSTM(4, 6, forget_gate=False)
    assert lstm.weight_ih_l0.shape == (3 * 6, 4)  # i, g, o
    x = torch.randn(2, 30, 4)
    c = torch.zeros(2, 6)
    h = torch.zeros(2, 6)
    w = lstm.weights(0, "")
    increments = []
    for t in range(30):
        h_next, c_next = rnn.lstm_step(x[:, t], h, c, *w, forget_gate=False)
        increments.append(c_next - c)
        h, c = h_next, c_next
    _, (_, c_n) = lstm(x)
    torch.testing.assert_close(c_n[0], torch.stack(increments).sum(0), atol=ATOL, rtol=0)
    # the error carousel: along the cell state alone, ∂c_T/∂c_0 is the identity when f ≡ 1
    with torch.no_grad():
        lstm.weight_hh_l0.zero_()  # cut the other path, c_0 → h_t → gates
    c0 = torch.randn(1, 2, 6, requires_grad=True)
    _, (_, c_n) = lstm(x, (torch.zeros(1, 2, 6), c0))
    (grad,) = torch.autograd.grad(c_n.sum(), c0)
    torch.testing.assert_close(grad, torch.ones_like(grad))


def test_reverse_direction_reads_the_flipped_sequence():
    torch.manual_seed(0)
    bi = rnn.LSTM(5, 7, bidirectional=True)
    fwd = rnn.LSTM(5, 7)
    with torch.no_grad():  # copy the reverse weights into a unidirectional LSTM
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(fwd, f"{name}_l0").copy_(getattr(bi, f"{name}_l0_reverse"))
    x = torch.randn(2, 9, 5)
    out_bi, _ = bi(x)
    out_rev, _ = fwd(x.flip(1))
    torch.testing.assert_close(out_bi[..., 7:], out_rev.flip(1), atol=ATOL, rtol=0)


def test_unidirectional_is_causal():
    torch.manual_seed(0)
    lstm = rnn.LSTM(5, 7, num_layers=2)
    x = torch.randn(1, 12, 5)
    y = x.clone()
    y[:, 8:] = torch.randn(1, 4, 5)  # change the future
    torch.testing.assert_close(lstm(x)[0][:, :8], lstm(y)[0][:, :8])
    assert not torch.allclose(lstm(x)[0][:, 8:], lstm(y)[0][:, 8:])


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("constructor", "expected"),
    [(rnn.lstm_lm_medium, 19_780_400), (rnn.lstm_lm_large, 66_034_000)],
)
def test_parameter_counts_on_meta(constructor, expected):
    with torch.device("meta"):
        model = constructor()
        logits, (h_n, c_n) = model(torch.zeros(1, 35, dtype=torch.long))
    assert _count(model) == expected
    H = model.config.hidden_size
    # by hand: embedding V·H, two LSTM layers 4H(H + H) + 8H each, decoder H·V + V
    V = model.config.vocab_size
    assert expected == V * H + 2 * (4 * H * 2 * H + 8 * H) + H * V + V
    assert logits.shape == (1, 35, V) and h_n.shape == c_n.shape == (2, 1, H)


def test_language_model_tiny_forward_and_gradients():
    torch.manual_seed(0)
    config = rnn.LSTMConfig.tiny()
    model = rnn.LSTMLanguageModel(config)
    tokens = torch.randint(0, config.vocab_size, (3, 8))
    logits, (h_n, c_n) = model(tokens)
    assert logits.shape == (3, 8, config.vocab_size)
    assert h_n.shape == c_n.shape == (config.num_layers, 3, config.hidden_size)
    loss = nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten())
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # the state carried to the next segment continues the sequence exactly
    whole, _ = model(tokens)
    first, hx = model(tokens[:, :5])
    second, _ = model(tokens[:, 5:], hx)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=ATOL, rtol=0)


def test_runs_as_script(capsys):
    runpy.run_path("reference_impl/rnn.py", run_name="__main__")
    assert "torch.Size([2, 7, 50])" in capsys.readouterr().out
