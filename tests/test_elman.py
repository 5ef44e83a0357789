"""Elman and StateSpaceRNN on every CPU engine: gradients against finite differences, engines
against the tape, padded batches, and state carried across chunks (truncated BPTT).

The CUDA engine runs the same checks in test_cuda.py (simulator and PTX)."""
import numpy as np
import pytest
from helpers import SHAPES, assert_same, build, outputs_and_gradients, random_problem

import minirnn as mr
from minirnn.models import Elman, StateSpaceRNN

CPU_BACKENDS = ["tape", "numpy", "cpu"]
MODELS = [Elman, StateSpaceRNN]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck_every_parameter_and_the_input(backend, model_class, shape):
    x, target = random_problem(shape)
    model = build(model_class, shape, backend)
    report = mr.gradcheck(model, x, target)
    assert report.passed, str(report)
    expected = {"W_xh", "W_hh", "b_h", "W_hy", "b_y", "x"} | (
        {"h0"} if model_class is StateSpaceRNN else set())
    assert {c.name for c in report.checks} == expected


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_gradcheck_each_activation(activation, backend):
    shape = (2, 6, 2, 3, 2)
    x, target = random_problem(shape, seed=1)
    model = build(StateSpaceRNN, shape, backend, activation=activation,
                  output_activation="sigmoid")
    report = mr.gradcheck(model, x, target)
    assert report.passed, str(report)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_engines_match_the_tape_in_float64(backend, shape):
    x, target = random_problem(shape, seed=2)
    reference = outputs_and_gradients(build(StateSpaceRNN, shape, "tape"), x, target)
    result = outputs_and_gradients(build(StateSpaceRNN, shape, backend), x, target)
    assert_same(result, reference, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_fused_engines_match_the_tape_in_float32(backend):
    shape = (3, 8, 2, 6, 2)
    x, target = random_problem(shape, seed=3, dtype=np.float32)
    reference = outputs_and_gradients(build(StateSpaceRNN, shape, "tape", "float32"), x, target)
    result = outputs_and_gradients(build(StateSpaceRNN, shape, backend, "float32"), x, target)
    assert result[0].dtype == np.float32
    assert_same(result, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_padded_rows_equal_their_unpadded_runs(backend):
    """A row of length L in a padded batch gives the outputs and final state of running that
    row alone for L steps; its padded steps change neither the state nor the loss."""
    shape = (3, 6, 2, 4, 1)
    x, _ = random_problem(shape, seed=4)
    lengths = np.array([6, 2, 4])
    model = build(StateSpaceRNN, shape, backend)
    y, h_last = model(x, lengths=lengths, return_state=True)
    for b, L in enumerate(lengths):
        y_alone, h_alone = model(x[b:b + 1, :L], return_state=True)
        np.testing.assert_allclose(y.data[b, :L], y_alone.data[0], rtol=1e-12)
        np.testing.assert_allclose(h_last.data[b], h_alone.data[0], rtol=1e-12)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_padding_changes_neither_the_state_nor_the_masked_loss(backend):
    """Whatever the padded steps hold, a masked loss and its gradients are the same."""
    shape = (3, 6, 2, 4, 1)
    x, target = random_problem(shape, seed=9)
    lengths = np.array([6, 2, 4])
    mask = mr.losses.length_mask(lengths, 6)
    model = build(StateSpaceRNN, shape, backend)
    results = []
    for fill in (0.0, 1e3):
        x_padded, target_padded = x.copy(), target.copy()
        x_padded[mask == 0], target_padded[mask == 0] = fill, fill
        model.zero_grad()
        y, h_last = model(x_padded, lengths=lengths, return_state=True)
        loss = mr.losses.mse(y, target_padded, mask=mask)
        loss.backward()
        results.append((loss.item(), h_last.data, [p.grad.copy() for p in model.parameters()]))
    (loss0, h0, g0), (loss1, h1, g1) = results
    assert loss0 == loss1
    np.testing.assert_array_equal(h0, h1)
    for a, b in zip(g0, g1):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_padded_batch_gradients_match_the_tape(backend):
    shape = (3, 6, 2, 4, 2)
    x, target = random_problem(shape, seed=5)
    lengths = np.array([1, 6, 3])
    reference = outputs_and_gradients(build(StateSpaceRNN, shape, "tape"), x, target,
                                      lengths=lengths)
    result = outputs_and_gradients(build(StateSpaceRNN, shape, backend), x, target,
                                   lengths=lengths)
    assert_same(result, reference, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_gradcheck_with_a_given_initial_state_and_lengths(backend):
    shape = (2, 5, 2, 3, 1)
    x, target = random_problem(shape, seed=6)
    model = build(Elman, shape, backend)
    h = mr.Tensor(np.random.default_rng(7).standard_normal((2, 3)), requires_grad=True)
    lengths = np.array([5, 3])
    tensors = dict(model.named_parameters(), h=h)
    report = mr.autograd.check_gradients(
        lambda: mr.losses.mse(model(x, h=h, lengths=lengths), target), tensors)
    assert report.passed, str(report)


def chunked_gradients(model, x, target, chunk):
    """Truncated BPTT: run x in chunks, carrying the state but cutting the gradient between."""
    model.zero_grad()
    h, outputs = None, []
    for start in range(0, x.shape[1], chunk):
        part = slice(start, start + chunk)
        y, h = model(x[:, part], h=h, return_state=True)
        mr.losses.mse(y, target[:, part]).backward()
        h = h.detach()
        outputs.append(y.data)
    return np.concatenate(outputs, axis=1), {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_truncated_bptt_equals_the_truncated_graph(backend):
    shape = (2, 9, 2, 4, 1)
    x, target = random_problem(shape, seed=8)
    model = build(StateSpaceRNN, shape, backend)
    y_chunks, grads = chunked_gradients(model, x, target, chunk=4)
    # carrying the state reproduces the full forward pass exactly
    np.testing.assert_allclose(y_chunks, model(x).data, rtol=1e-12)
    # and the gradient is that of the same truncated graph on the tape engine
    y_tape, grads_tape = chunked_gradients(build(StateSpaceRNN, shape, "tape"), x, target, 4)
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_tape[name], rtol=1e-10, atol=1e-14)
    # which differs from full BPTT: the cut is real
    _, full = outputs_and_gradients(build(StateSpaceRNN, shape, "tape"), x, target)
    assert not np.allclose(full["W_hh"], grads_tape["W_hh"])


def test_public_api_example():
    x = np.random.default_rng(0).standard_normal((4, 10, 1))
    m = mr.models.StateSpaceRNN(input_size=1, hidden_size=16, output_size=1, activation="tanh",
                                output_activation="identity", backend="cpu", dtype="float64",
                                seed=0)
    y = m(x)
    assert y.shape == (4, 10, 1)
    loss = mr.losses.mse(y, np.zeros((4, 10, 1)))
    loss.backward()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["W_xh", "W_hh", "b_h", "W_hy", "b_y", "h0"]
    assert all(p.grad is not None for p in m.parameters())
    same = mr.models.StateSpaceRNN(1, 16, 1, seed=0)
    np.testing.assert_array_equal(same.W_hh.data, m.W_hh.data)  # the seed fixes the weights


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(hidden_size=0), ValueError, "hidden_size must be a positive integer"),
    (dict(hidden_size=-3), ValueError, "hidden_size must be a positive integer"),
    (dict(backend="gpu"), ValueError, "unknown backend 'gpu'"),
    (dict(activation="swish"), ValueError, "unknown activation 'swish'"),
    (dict(dtype="float16"), ValueError, "dtype must be float32 or float64"),
])
def test_constructor_errors(kwargs, error, message):
    options = dict(input_size=2, hidden_size=3, output_size=1) | kwargs
    with pytest.raises(error, match=message):
        Elman(**options)


def test_forward_errors():
    model = Elman(2, 3, 1)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 2\), got \(4, 5, 3\)"):
        model(np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        model(np.zeros((2, 5, 2)), lengths=np.array([0, 5]))
    with pytest.raises(ValueError, match=r"initial state must have shape \(2, 3\)"):
        model(np.zeros((2, 5, 2)), h=np.zeros((2, 4)))
    with pytest.raises(TypeError, match="x is float32 but the model is float64"):
        model(mr.Tensor(np.zeros((2, 5, 2), dtype=np.float32)))
