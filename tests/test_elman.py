"""Elman and StateSpaceRNN: what is particular to them (every activation, a given initial state,
the public API of docs/DESIGN.md, argument errors). What every recurrent model does is in
test_recurrent_models.py; the CUDA engine is in test_cuda.py."""
import numpy as np
import pytest
from helpers import build, random_problem

import minirnn as mr
from minirnn.models import Elman, StateSpaceRNN

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py



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
    same = mr.models.StateSpaceRNN(input_size=1, hidden_size=16, output_size=1, seed=0)
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
    model = Elman(input_size=2, hidden_size=3, output_size=1)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 2\), got \(4, 5, 3\)"):
        model(np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        model(np.zeros((2, 5, 2)), lengths=np.array([0, 5]))
    with pytest.raises(ValueError, match=r"initial state must have shape \(2, 3\)"):
        model(np.zeros((2, 5, 2)), h=np.zeros((2, 4)))
    with pytest.raises(TypeError, match="x is float32 but the model is float64"):
        model(mr.Tensor(np.zeros((2, 5, 2), dtype=np.float32)))


def test_a_long_sequence_trains_in_a_few_arrays_of_its_length():
    """Forward + backward of one long sequence keeps at most five (T, H) arrays alive at once:
    the projection a, the states hs (what BPTT needs), the output y and y ⊙ w of the loss, and
    one gradient in flight. The tape hands every array back as soon as BPTT is past it, and a
    constant (w here) gets no gradient array."""
    import tracemalloc

    T, H = 20_000, 16
    rng = np.random.default_rng(0)
    model = StateSpaceRNN(input_size=H, hidden_size=H, output_size=H, backend="cpu",
                          dtype="float32")
    x = rng.standard_normal((1, T, H)).astype(np.float32)
    w = rng.standard_normal((1, T, H)).astype(np.float32)
    (model(x) * w).sum().backward()  # compile first: every kernel the traced run calls
    tracemalloc.start()
    try:
        (model(x) * w).sum().backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_array = T * H * 4
    assert peak < 5.5 * one_array, f"peak {peak / one_array:.2f} (T, H) arrays"


def test_a_broadcast_gradient_through_the_threaded_products():
    """L = Σ y hands back a broadcast (read-only, zero-stride) gradient; at this size the
    projections' products are cut over threads with BLAS, which must copy such an array rather
    than read its rows as if they were laid out one after another."""
    x = np.random.default_rng(0).standard_normal((64, 100, 64))
    grads = {}
    for backend in ("tape", "cpu"):
        model = StateSpaceRNN(input_size=64, hidden_size=64, output_size=64, backend=backend,
                              dtype="float64", seed=1)
        xt = mr.Tensor(x, requires_grad=True)
        model(xt).sum().backward()
        grads[backend] = [p.grad for p in model.parameters()] + [xt.grad]
    for tape, cpu in zip(grads["tape"], grads["cpu"], strict=True):
        np.testing.assert_allclose(cpu, tape, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("B,T,I,H", [(1, 1, 1, 1), (1, 9, 3, 5), (4, 7, 2, 6), (3, 5, 7, 4)])
@pytest.mark.parametrize("x_needs_grad", [True, False])
def test_the_elman_op_is_the_projection_then_the_recurrence(B, T, I, H, x_needs_grad):
    """``elman_recurrence(x, W_xh, b_h, W_hh, h0, ...)`` takes its layer's input projection: on
    every engine it equals a linear op (a_t = W_xh x_t + b_h) followed by the recurrence, here
    written with primitive ops; so do its gradients, with and without x's (the cpu kernel makes
    them all in its one backward call), on a padded batch."""
    from minirnn.autograd import ops
    from minirnn.kernels.elman import elman_recurrence

    rng = np.random.default_rng(B * 100 + T * 10 + I + H)
    lengths = np.maximum(1, T - np.arange(B) % T).astype(np.int64)
    arrays = [rng.standard_normal(s) for s in ((B, T, I), (H, I), (H,), (H, H), (B, H))]
    weights = rng.standard_normal((B, T, H))
    results = {}
    for backend in ("tape", "numpy", "cpu"):
        x, W_xh, b_h, W_hh, h0 = (mr.Tensor(a, requires_grad=True) for a in arrays)
        x.requires_grad = x_needs_grad
        if backend == "tape":
            a = mr.kernels.linear(x, W_xh, b_h)
            h, states = h0, []
            for t in range(T):
                new = (a[:, t] + h @ W_hh.T).tanh()
                h = ops.where((t < lengths)[:, None], new, h)
                states.append(h)
            hs = ops.stack(states, axis=1)
        else:
            hs = elman_recurrence(x, W_xh, b_h, W_hh, h0, "tanh", lengths, backend)
        (hs * weights).sum().backward()
        results[backend] = [hs.data] + [t.grad for t in (x, W_xh, b_h, W_hh, h0)]
    for backend in ("numpy", "cpu"):
        for got, want in zip(results[backend], results["tape"], strict=True):
            if want is None:
                assert got is None
            else:
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("B,T,I,H,O", [(1, 1, 1, 1, 1), (1, 9, 3, 5, 2), (4, 7, 2, 6, 3),
                                       (3, 5, 7, 4, 5)])
@pytest.mark.parametrize("output_activation", ["identity", "tanh"])
@pytest.mark.parametrize("shared_h0", [True, False])
def test_the_network_op_is_the_layer_then_the_output_layer(B, T, I, H, O, output_activation,
                                                           shared_h0):
    """``elman_network`` (the recurrence and y_t = g(W_hy h_t + b_y) in one entry, what a model
    runs when nobody reads its states) equals the layer op followed by a linear op and g, on
    every engine, values and gradients, with h0 shared by every row (H,) or one per row, on a
    padded batch, with and without x's gradient; and its gradients are finite differences'."""
    from minirnn.autograd import ops
    from minirnn.kernels.elman import elman_network, elman_recurrence

    rng = np.random.default_rng(B * 1000 + T * 100 + I * 10 + H + O)
    lengths = np.maximum(1, T - np.arange(B) % T).astype(np.int64)
    shapes = ((B, T, I), (H, I), (H,), (H, H), (H,) if shared_h0 else (B, H), (O, H), (O,))
    arrays = [rng.standard_normal(s) for s in shapes]
    weights = rng.standard_normal((B, T, O))

    def run(backend, tensors):
        x, W_xh, b_h, W_hh, h0, W_hy, b_y = tensors
        if backend == "composed":
            rows = ops.repeat_rows(h0, B) if shared_h0 else h0
            hs = elman_recurrence(x, W_xh, b_h, W_hh, rows, "tanh", lengths, "numpy")
            v = mr.kernels.linear(hs, W_hy, b_y)
            y = v.tanh() if output_activation == "tanh" else v
        else:
            y = elman_network(x, W_xh, b_h, W_hh, h0, W_hy, b_y, "tanh", output_activation,
                              lengths, backend)
        return y, (y * weights).sum()

    results = {}
    for backend in ("composed", "numpy", "cpu"):
        for x_needs_grad in (True, False):
            tensors = [mr.Tensor(a, requires_grad=True) for a in arrays]
            tensors[0].requires_grad = x_needs_grad
            y, loss = run(backend, tensors)
            loss.backward()
            results[backend, x_needs_grad] = [y.data] + [t.grad for t in tensors]
    for (_, x_needs_grad), got in results.items():
        for value, want in zip(got, results["composed", x_needs_grad], strict=True):
            if want is None:
                assert value is None
            else:
                np.testing.assert_allclose(value, want, rtol=1e-10, atol=1e-12)
    tensors = [mr.Tensor(a, requires_grad=True) for a in arrays]
    names = ("x", "W_xh", "b_h", "W_hh", "h0", "W_hy", "b_y")
    report = mr.autograd.check_gradients(lambda: run("cpu", tensors)[1],
                                         dict(zip(names, tensors, strict=True)))
    assert report.passed, str(report)


def test_the_network_op_refuses_an_output_it_does_not_take():
    from minirnn.kernels.elman import elman_network

    t = [mr.Tensor(np.ones(s)) for s in ((1, 2, 1), (1, 1), (1,), (1, 1), (1,), (1, 1), (1,))]
    with pytest.raises(ValueError, match="output activation 'softmax' is not one of"):
        elman_network(*t, "tanh", "softmax", np.array([2]), "cpu")
