"""LSTM and GRU: what is particular to them (PyTorch's layout, the fixed activations, the state
[h | c], gated layers in stacks and seq2seq) and the story they are here to tell: a gradient
that survives many steps, and a task Elman cannot learn that they can. What every recurrent
model does (gradients, engines, padding, chunks) is in test_recurrent_models.py."""
import numpy as np
import pytest
from helpers import build, random_problem

import minirnn as mr
from minirnn.data.adding import BASELINE_MSE, adding_problem
from minirnn.models import GRU, LSTM, MultiLayerRNN

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py


@pytest.mark.parametrize("cls,gates", [(LSTM, 4), (GRU, 3)])
def test_the_parameters_are_pytorchs(cls, gates):
    """W_xh, W_hh, b_xh, b_hh are nn.LSTM's / nn.GRU's weight_ih_l0, weight_hh_l0, bias_ih_l0,
    bias_hh_l0, the gates' rows stacked ([i|f|g|o], [r|z|n]); a learned initial state adds h0
    (and the LSTM's c0)."""
    model = cls(input_size=3, hidden_size=5, output_size=2, learn_initial_state=True)
    shapes = {name: p.shape for name, p in model.named_parameters()}
    expected = {"W_xh": (gates * 5, 3), "W_hh": (gates * 5, 5), "b_xh": (gates * 5,),
                "b_hh": (gates * 5,), "W_hy": (2, 5), "b_y": (2,), "h0": (5,)}
    if cls is LSTM:
        expected["c0"] = (5,)
    assert shapes == expected
    assert model.state_size == (10 if cls is LSTM else 5)
    fixed = cls(input_size=3, hidden_size=5, output_size=2)
    assert "h0" not in dict(fixed.named_parameters())  # zero, not learned, by default


@pytest.mark.parametrize("backend", ["tape", "numpy", "cpu"])
def test_the_lstm_state_is_h_beside_c(backend):
    """The final state of an LSTM is [h_T | c_T]: h_T is what the output layer read last, and
    |h| < |c|-bounded: h = o ⊙ tanh(c)."""
    shape = (2, 6, 3, 4, 1)
    x, _ = random_problem(shape, seed=1)
    model = build(LSTM, shape, backend)
    y, state = model(x, return_state=True)
    h, c = state.data[:, :4], state.data[:, 4:]
    np.testing.assert_allclose(y.data[:, -1], h @ model.W_hy.data.T + model.b_y.data,
                               rtol=1e-12)
    assert np.all(np.abs(h) <= np.tanh(np.abs(c)) + 1e-15)


@pytest.mark.parametrize("kwargs,message", [
    (dict(activation="relu"), "activations are fixed .* must be 'tanh', got 'relu'"),
    (dict(hidden_size=0), "hidden_size must be a positive integer"),
    (dict(backend="gpu"), "unknown backend 'gpu'"),
])
@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_constructor_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**(dict(input_size=2, hidden_size=3, output_size=1) | kwargs))


@pytest.mark.parametrize("kwargs,message", [
    (dict(cell="lstm", connectivity="feedback"),
     "connectivity 'feedback' is defined for Elman layers only; lstm layers stack with"),
    (dict(cell="gru", connectivity="output_feedback"), "defined for Elman layers only"),
    (dict(cell="rnn"), "unknown cell 'rnn'; choose one of elman, lstm, gru"),
    (dict(cell="gru", activation="sigmoid"), "activations are fixed"),
])
def test_gated_stacks_refuse_what_is_not_defined_for_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiLayerRNN(input_size=2, hidden_size=3, output_size=1, **kwargs)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("cell,connectivity", [("lstm", "stacked"), ("gru", "skip")])
def test_gated_stacks_match_the_tape(cell, connectivity, backend):
    """A stack of gated layers of different sizes, every engine against the tape, with a
    padded batch and the final state carried (LSTM layers: [h | c] each in the packed state)."""
    from helpers import assert_same, outputs_and_gradients
    shape = (3, 5, 2, 0, 2)
    options = dict(cell=cell, connectivity=connectivity, hidden_sizes=[3, 4])
    x, target = random_problem(shape, seed=4)
    lengths = np.array([5, 2, 4])
    reference = outputs_and_gradients(build(MultiLayerRNN, shape, "tape", **options), x,
                                      target, lengths=lengths)
    result = outputs_and_gradients(build(MultiLayerRNN, shape, backend, **options), x, target,
                                   lengths=lengths)
    assert_same(result, reference, rtol=1e-10, atol=1e-14)
    model = build(MultiLayerRNN, shape, backend, **options)
    assert model.state_size == (2 * 3 + 2 * 4 if cell == "lstm" else 3 + 4) + 2
    assert mr.gradcheck(model, x, target).passed


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_gated_seq2seq_forecaster(cell):
    """The registry's delayed encoder-decoder with gated cells: gradient-checked, and greedy
    decoding runs from the encoder's [h | c] (LSTM) or h (GRU)."""
    from minirnn.models.registry import seq2seq_forecaster
    model = seq2seq_forecaster(input_size=2, hidden_size=3, output_size=1, cell=cell,
                               backend="numpy", dtype="float64")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 6, 2)), rng.standard_normal((2, 4, 1))
    assert mr.gradcheck(model, x, y, forward={"target": y}).passed
    assert model.generate(x, steps=4).shape == (2, 4, 1)


@pytest.mark.parametrize("backend", ["tape", "numpy", "cpu"])
def test_the_cell_state_carries_the_gradient_unchanged_when_the_forget_gate_is_open(backend):
    """The LSTM's point, in one test. With its forget gate held open (f = σ(40) = 1 to double
    precision) and its input gate shut (i = σ(-40) ≈ 4e-18), the cell keeps c_{-1} through
    every step: c_t = f c_{t-1} + i g = c_{-1}, and so ∂L/∂c_{-1} = ∂L/∂c_T after 200 steps.
    Elman's ∂L/∂h_{-1}, through 200 products W_hh^T diag(1 - h_t²), is gone."""
    T, H = 200, 4
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, T, 2))
    lstm = LSTM(input_size=2, hidden_size=H, output_size=1, backend=backend, seed=1)
    lstm.b_xh.data[:H] = -40     # input gate shut
    lstm.b_xh.data[H:2 * H] = 40  # forget gate open
    w = rng.standard_normal(H)
    s0 = mr.Tensor(np.concatenate([np.zeros(H), rng.standard_normal(H)])[None],
                   requires_grad=True)
    _, state = lstm(x, h=s0, return_state=True)
    (state[:, H:] * w).sum().backward()  # L = w · c_T
    np.testing.assert_allclose(s0.grad[0, H:], w, rtol=1e-12)

    elman = mr.models.Elman(input_size=2, hidden_size=H, output_size=1, backend=backend, seed=1)
    h0 = mr.Tensor(np.zeros((1, H)), requires_grad=True)
    _, h_T = elman(x, h=h0, return_state=True)
    (h_T * w).sum().backward()
    assert np.linalg.norm(h0.grad) < 1e-6 * np.linalg.norm(w)


@pytest.mark.parametrize("backend", ["tape", "numpy", "cpu"])
def test_the_lstm_shows_the_total_gradient_of_h_and_c_at_every_step(backend):
    """``return_states`` gives h_t and c_t on the tape; their ``.grad`` is the TOTAL ∂L/∂h_t and
    ∂L/∂c_t of BPTT. The oracle, written by hand: the same LSTM with zero "probe" leaves added
    to h_t and to c_t; a probe shifts its state for everything after it (c_t's probe moves h_t
    = o_t tanh(c_t) too), so ∂L/∂probe_t is the total derivative. A padded batch, the loss at
    every step."""
    from minirnn.autograd import Tensor, ops
    rng = np.random.default_rng(3)
    B, T, I, H = 3, 6, 2, 4
    x, target = rng.standard_normal((B, T, I)), rng.standard_normal((B, T, 1))
    lengths = np.array([6, 4, 2])
    model = LSTM(input_size=I, hidden_size=H, output_size=1, backend=backend, seed=2,
                 learn_initial_state=True)
    for p in model.parameters():
        p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    y, states = model(x, lengths=lengths, return_states=True)
    for s in states.values():
        s.retain_grad()
    mask = mr.losses.length_mask(lengths, T)
    mr.losses.mse(y, target, mask=mask).backward()

    W_xh, W_hh, b, W_hy, b_y = (Tensor(v) for v in (
        model.W_xh.data, model.W_hh.data, model.b_xh.data + model.b_hh.data, model.W_hy.data,
        model.b_y.data))
    h = Tensor(np.repeat(model.h0.data[None], B, axis=0))
    c = Tensor(np.repeat(model.c0.data[None], B, axis=0))
    probes, ys = {"h": [], "c": []}, []
    for t in range(T):
        p = Tensor(x[:, t]) @ W_xh.T + h @ W_hh.T + b
        i, f, g, o = (p[:, :H].sigmoid(), p[:, H:2 * H].sigmoid(), p[:, 2 * H:3 * H].tanh(),
                      p[:, 3 * H:].sigmoid())
        active = (t < lengths)[:, None]
        probe_c, probe_h = (Tensor(np.zeros((B, H)), requires_grad=True) for _ in range(2))
        c = ops.where(active, f * c + i * g, c) + probe_c
        h = ops.where(active, o * c.tanh(), h) + probe_h
        probes["c"].append(probe_c)
        probes["h"].append(probe_h)
        ys.append(h @ W_hy.T + b_y)
    mr.losses.mse(ops.stack(ys, axis=1), target, mask=mask).backward()
    for name in ("h", "c"):
        expected = np.stack([q.grad for q in probes[name]], axis=1)
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(states[name].grad, expected, rtol=1e-10, atol=1e-15,
                                   err_msg=name)


def train_on_the_adding_problem(model, steps: int, batch: int = 32, lr: float = 0.01,
                                seed: int = 1) -> float:
    """Adam on fresh batches of the adding problem, the loss at the last step only; returns
    the test MSE on 1,000 sequences none of the batches held."""
    optimizer = mr.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    T = 50
    for _ in range(steps):
        x, target = adding_problem(batch, T, rng, dtype=model.dtype)
        optimizer.zero_grad()
        mr.losses.mse(model(x)[:, -1], target).backward()
        mr.optim.clip_grad_norm(model.parameters(), 1.0)
        optimizer.step()
    x, target = adding_problem(1000, T, seed=99, dtype=model.dtype)
    with mr.no_grad():
        return float(((model(x).data[:, -1] - target) ** 2).mean())


@pytest.mark.slow
def test_the_gated_cells_learn_the_adding_problem_and_elman_does_not():
    """The adding problem at T = 50 (``minirnn.data.adding``): the answer depends on a value up
    to 50 steps back. From fixed seeds and the same 1,000 Adam steps, the LSTM and the GRU go
    far below the 0.167 of answering the mean; Elman stays near it."""
    errors = {}
    for cls in (mr.models.Elman, LSTM, GRU):
        model = cls(input_size=2, hidden_size=32, output_size=1, backend="cpu",
                    dtype="float32", seed=0)
        errors[cls.__name__] = train_on_the_adding_problem(model, steps=1000)
    assert errors["LSTM"] < 0.05 and errors["GRU"] < 0.05, errors
    assert errors["Elman"] > 0.1, errors
    assert BASELINE_MSE == pytest.approx(1 / 6)
