"""The window layer h_t = f(Σ_i W_i e^i_t + b) (``kernels.window``): the numpy and cpu engines
against the tape's delay lines, products and activation, and every gradient against finite
differences, on one and two delay lines, every activation, batch 1, time 1, window 1, odd
sizes and more rows than a chunk. The models that use it are in test_narx_sliding.py."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.autograd import check_gradients
from minirnn.kernels import window_layer
from minirnn.kernels.window import cpu
from minirnn.models.base import window

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py

# (batch, steps, hidden, [(channels, first, count, start)]): one source as a sliding window
# reads it, two as an open-loop NARX does (inputs from lag 0, outputs from lag 1)
CASES = [
    (1, 1, 1, [(1, 0, 1, 0)]),
    (2, 5, 3, [(3, 0, 3, 0)]),
    (3, 4, 5, [(2, 0, 3, 2)]),
    (1, 6, 4, [(1, 0, 1, 0), (2, 1, 3, 0)]),
    (3, 5, 2, [(2, 0, 3, 2), (1, 1, 2, 2)]),
    (2, 1, 3, [(1, 0, 2, 1), (1, 1, 1, 1)]),
    (3, 70, 3, [(1, 0, 3, 0), (1, 1, 2, 0)]),  # more (b, t) rows than a chunk
]
ACTIVATIONS = ["tanh", "sigmoid", "relu", "identity"]


def problem(case, dtype=np.float64, seed=0):
    """(b, pairs, lags, weights of the loss) for a case, every tensor wanting its gradient."""
    B, T, H, sources = case
    rng = np.random.default_rng(seed)

    def tensor(*shape):
        return mr.Tensor(rng.uniform(-1, 1, shape).astype(dtype), requires_grad=True)

    pairs = [(tensor(B, T + start, C), tensor(H, count * C)) for C, _, count, start in sources]
    lags = [(first, count, start) for _, first, count, start in sources]
    return tensor(H), pairs, lags, rng.standard_normal((B, T, H)).astype(dtype)


def tensors_of(b, pairs):
    named = {"b": b}
    for i, (v, W) in enumerate(pairs):
        named |= {f"v{i}": v, f"W{i}": W}
    return named


def values_and_gradients(b, pairs, lags, weights, activation, backend):
    tensors = tensors_of(b, pairs)
    for t in tensors.values():
        t.grad = None
    h = window(pairs, lags, b, activation, backend)
    (h * weights).sum().backward()
    return h.data, {name: t.grad for name, t in tensors.items()}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("case", CASES)
def test_window_layer_equals_the_tape(case, backend, activation):
    b, pairs, lags, weights = problem(case)
    h, grads = values_and_gradients(b, pairs, lags, weights, activation, backend)
    h_tape, grads_tape = values_and_gradients(b, pairs, lags, weights, activation, "tape")
    np.testing.assert_allclose(h, h_tape, rtol=1e-10, atol=1e-14)
    assert grads.keys() == grads_tape.keys()
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_tape[name], rtol=1e-10, atol=1e-14,
                                   err_msg=name)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("case", CASES[:6])
def test_window_layer_gradients_equal_finite_differences(case, backend, activation):
    b, pairs, lags, weights = problem(case, seed=1)
    report = check_gradients(
        lambda: (window_layer(b, pairs, lags, activation, backend) * weights).sum(),
        tensors_of(b, pairs))
    assert report.passed, str(report)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_constant_sources_get_no_gradient_and_change_nothing_else(backend):
    """A source that wants no gradient (the data) gets None; the weights' are the same."""
    case = CASES[4]
    b, pairs, lags, weights = problem(case, seed=2)
    _, full = values_and_gradients(b, pairs, lags, weights, "tanh", backend)
    constant = [(mr.Tensor(v.data), W) for v, W in pairs]
    _, grads = values_and_gradients(b, constant, lags, weights, "tanh", backend)
    assert [v.grad for v, _ in constant] == [None, None]
    for name in ("b", "W0", "W1"):
        np.testing.assert_array_equal(grads[name], full[name])


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_float32_agrees_with_float64(backend):
    case = CASES[6]
    results = [values_and_gradients(*problem(case, dtype), "tanh", backend)
               for dtype in (np.float32, np.float64)]
    (h32, g32), (h64, g64) = results
    assert h32.dtype == np.float32 and g32["W0"].dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-6)
    for name in g64:
        np.testing.assert_allclose(g32[name], g64[name], rtol=1e-4, atol=1e-4, err_msg=name)


def test_the_cpu_kernel_runs_its_own_loop_and_blas_alike():
    """Without BLAS (``loops_only``) the kernel's products are its own loops: the same numbers."""
    b, pairs, lags, _ = problem((3, 70, 20, [(2, 0, 3, 0)]))
    sources, weights = [v.data for v, _ in pairs], [W.data for _, W in pairs]
    h, e = cpu.window_forward(b.data, sources, weights, lags, "tanh")
    dh = np.random.default_rng(3).standard_normal(h.shape)
    grads = cpu.window_backward(dh, h, e, weights, "tanh")
    with mr.kernels.blas.loops_only():
        h_loops, _ = cpu.window_forward(b.data, sources, weights, lags, "tanh")
        grads_loops = cpu.window_backward(dh, h, e, weights, "tanh")
    np.testing.assert_allclose(h_loops, h, rtol=1e-12)
    np.testing.assert_allclose(grads_loops[0], grads[0], rtol=1e-12)
    np.testing.assert_allclose(grads_loops[1][0], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads_loops[2], grads[2], rtol=1e-12)


def test_sources_of_different_lengths_are_refused():
    b, pairs, lags, _ = problem(CASES[3])
    with pytest.raises(ValueError, match="the sources give different numbers of steps"):
        window_layer(b, pairs, [(0, 1, 0), (1, 3, 1)], "tanh", "cpu")
    with pytest.raises(ValueError, match=r"start must lie in \[0, 6\), got 6"):
        window_layer(b, pairs, [(0, 1, 6), (1, 3, 0)], "tanh", "cpu")
