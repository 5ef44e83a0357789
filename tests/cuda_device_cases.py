"""Device-resident training on a real GPU: run by test_cuda.py when CuPy sees one.

A model moved to the GPU (``Module.to_device``) keeps its parameters, activations, gradients
and optimiser moments there; each case checks that the numbers equal the numpy engine's (the
reference loops on the host) in float64, and that what should stay on the GPU did. Not named
test_*.py: without a GPU there is nothing to run.
"""
import numpy as np
import pytest
from helpers import RECURRENT_MODELS, build, elman_kernel_kinds, random_problem

import minirnn as mr
from minirnn.autograd.arrays import on_device, to_host
from minirnn.optim import Adam, clip_grad_norm

cupy = pytest.importorskip("cupy")

# batch 1 and time 1, odd sizes (every parameter drawn from ±0.8 by helpers.build)
SHAPES = [(1, 1, 1, 1, 1), (3, 7, 2, 5, 2)]
# and a layer too wide for one block (W_hh split over blocks: the wide Elman kernels), with
# the models' own initialisation (±1/√H): ±0.8 at H = 130 would be a gain of ~9 per step,
# which turns rounding differences into real ones within a few steps
WIDE = (5, 9, 3, 130, 2)


def step(model, x, target, lengths=None):
    """y, every parameter's gradient and x's, for L = mse(model(x), target)."""
    x = mr.Tensor(x, requires_grad=True)
    model.zero_grad()
    y = model(x, lengths=lengths)
    mr.losses.mse(y, target).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    return y, grads, x


def assert_close(got, ref, scaled, name=""):
    """Equal to 1e-10: element by element; or (``scaled``, sums of 130 terms in another
    order) to 1e-10 of the array's largest value, so that an element that is a near-zero
    difference of large terms is held to its terms' scale, not to its own."""
    atol = 1e-10 * float(np.abs(ref).max()) if scaled else 1e-13
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=atol, err_msg=name)


def _model(model_class, shape, backend, options, own_init):
    if not own_init:
        return build(model_class, shape, backend, **options)
    B, T, I, H, O = shape
    return model_class(input_size=I, hidden_size=H, output_size=O, backend=backend,
                       dtype="float64", seed=3, **options)


@pytest.mark.parametrize("shape", SHAPES + [WIDE])
@pytest.mark.parametrize("model_class,options", RECURRENT_MODELS)
def test_a_model_on_the_device_matches_the_numpy_engine(shape, model_class, options):
    x, target = random_problem(shape, seed=21)
    lengths = np.array([shape[1]] + [max(1, shape[1] - 2)] * (shape[0] - 1))
    wide = shape == WIDE
    y_ref, grads_ref, x_ref = step(_model(model_class, shape, "numpy", options, wide), x,
                                   target, lengths)
    model = _model(model_class, shape, "cuda", options, wide).to_device()
    y, grads, x_dev = step(model, x, target, lengths)
    assert on_device(y.data)  # the output stayed on the GPU ...
    assert_close(to_host(y.data), y_ref.data, wide, "y")
    for name, g in grads.items():
        if grads_ref[name] is None:  # a fixed (not learned) parameter
            assert g is None, name
            continue
        assert on_device(g), name  # ... and so did every gradient
        assert_close(to_host(g), grads_ref[name], wide, name)
    # x was a host tensor: its gradient came back through the recorded copy
    assert not on_device(x_dev.grad)
    assert_close(x_dev.grad, x_ref.grad, wide, "x")


@pytest.mark.parametrize("dtype,H", [("float64", 130), ("float64", 1024), ("float32", 700)])
def test_wide_layers_split_over_blocks_on_the_gpu(monkeypatch, dtype, H):
    """Layers whose W_hh does not fit one block run the wide kernels with many blocks (a
    cooperative grid) and give the numpy engine's numbers, padding included."""
    from minirnn.models import StateSpaceRNN

    runs = elman_kernel_kinds(monkeypatch)
    shape = (6, 11, 3, H, 2)
    x, target = random_problem(shape, seed=23, dtype=np.dtype(dtype))
    lengths = np.array([11, 4, 11, 1, 9, 11])
    results = []
    for backend in ("numpy", "cuda"):
        model = StateSpaceRNN(input_size=3, hidden_size=H, output_size=2, backend=backend,
                              dtype=dtype, seed=4)
        model.h0.data[...] = np.random.default_rng(5).uniform(-0.5, 0.5, H)
        if backend == "cuda":
            model.to_device()
        y, grads, _ = step(model, x, target, lengths)
        results.append((to_host(y.data), {k: to_host(g) for k, g in grads.items()}))
    assert runs == ["wide"]
    (y_ref, g_ref), (y, g) = results
    tol = 1e-10 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(y, y_ref, rtol=tol, atol=tol * np.abs(y_ref).max())
    for name in g_ref:
        np.testing.assert_allclose(g[name], g_ref[name], rtol=tol,
                                   atol=tol * np.abs(g_ref[name]).max(), err_msg=name)


@pytest.mark.parametrize("dtype,H", [("float64", 37), ("float64", 64), ("float32", 300)])
@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_gated_ops_on_the_device_match_the_numpy_engine(family, dtype, H):
    """The LSTM and GRU ops with their inputs on the GPU (a device-resident model's), W_hh in
    shared memory (H = 37 fits both families' kernels in float64) or read from device memory
    (64, 300), several warps to a block, padded rows: the numpy engine's states and every
    input's gradient, which stay on the GPU."""
    from minirnn.models.gated import gru_states, lstm_states

    gates, parts, states = {"lstm": (4, 2, lstm_states), "gru": (3, 1, gru_states)}[family]
    B, T, I, G = 5, 9, 3, gates * H
    lengths = np.array([9, 4, 9, 1, 7])
    rng = np.random.default_rng(24)
    scale = 1 / np.sqrt(H)  # the models' own initialisation (a gain near 1 per step)
    arrays = [rng.uniform(-1, 1, (B, T, I)), rng.uniform(-scale, scale, (G, I)),
              rng.uniform(-scale, scale, G), rng.uniform(-scale, scale, (G, H)),
              rng.uniform(-scale, scale, G), rng.uniform(-0.5, 0.5, (B, parts * H))]
    w = rng.standard_normal((B, T, parts * H)).astype(dtype)
    results = []
    for backend, xp in (("numpy", np), ("cuda", cupy)):
        inputs = [mr.Tensor(xp.asarray(a.astype(dtype)), requires_grad=True) for a in arrays]
        out = states(*inputs, lengths, backend)
        (out * xp.asarray(w)).sum().backward()
        if backend == "cuda":
            assert on_device(out.data) and all(on_device(t.grad) for t in inputs)
        results.append([to_host(out.data)] + [to_host(t.grad) for t in inputs])
    tol = 1e-10 if dtype == "float64" else 2e-5
    names = ["states", "x", "W_xh", "b_xh", "W_hh", "b_hh", "initial state"]
    for name, ref, got in zip(names, *results, strict=True):
        assert got.dtype == np.dtype(dtype), name
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max(),
                                   err_msg=f"{family}: {name}")


@pytest.mark.parametrize("name", ["elman", "statespace", "narx", "memory", "jordan",
                                  "multilayer", "sliding", "seq2seq", "lstm", "gru"])
def test_training_steps_on_the_device_match_the_host(name):
    """Three whole training steps (MSE, BPTT, clipping, Adam) with the model on the GPU end
    with the same weights, and the same optimiser state, as on the numpy engine."""
    from minirnn.models.registry import build_model, model_config

    rng = np.random.default_rng(22)
    x = rng.standard_normal((4, 9, 2))
    y = rng.standard_normal((4, 9, 1))
    results = []
    for backend in ("numpy", "cuda"):
        model = build_model(name, model_config(name, 2, 1, 6, backend=backend, dtype="float64",
                                               seed=5))
        if backend == "cuda":
            model.to_device()
        optimizer = Adam(model.parameters(), lr=0.01)
        for _ in range(3):
            optimizer.zero_grad()
            out = model(x, y) if name == "seq2seq" else \
                model(x, y=y) if getattr(model, "mode", None) == "open" else model(x)
            mr.losses.mse(out, y).backward()
            clip_grad_norm(model.parameters(), 0.5)
            optimizer.step()
        if backend == "cuda":
            assert all(on_device(p.data) for p in model.parameters())
            assert all(on_device(m) for m in optimizer.m)
        results.append((model.state_dict(), optimizer.state_dict()))
    (weights_ref, opt_ref), (weights, opt) = results
    for key in weights_ref:
        np.testing.assert_allclose(weights[key], weights_ref[key], rtol=1e-9, atol=1e-12,
                                   err_msg=key)
    for slot in opt_ref["slots"]:
        for a, b in zip(opt["slots"][slot], opt_ref["slots"][slot], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-14)


def test_fit_trains_on_the_device_and_returns_a_host_model():
    """``fit`` with the cuda engine keeps the model on the GPU while it trains, gives the same
    history as the numpy engine, and hands the model back in host memory."""
    from minirnn.data.sources import load_series
    from minirnn.data.task import make_task
    from minirnn.models import Elman
    from minirnn.train import TrainConfig, fit

    histories = []
    for backend in ("numpy", "cuda"):
        task = make_task(load_series("sine", steps=300), True)
        model = Elman(input_size=task.model_input_size, hidden_size=12, output_size=1,
                      backend=backend, dtype="float64", seed=1)
        seen = []
        result = fit(model, task, TrainConfig(epochs=3, batch=4, bptt=20, lr=0.01),
                     on_chunk=lambda *a, m=model, seen=seen: seen.append(m.on_device))
        assert not model.on_device
        assert all(seen) == (backend == "cuda")
        histories.append(result.history)
    for ref, got in zip(*histories, strict=True):
        for key in ref:
            assert got[key] == pytest.approx(ref[key], rel=1e-8), key
