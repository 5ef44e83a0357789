"""CUDA kernels against the tape engine, on tiny sizes: run by test_cuda.py.

Under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, set by test_cuda.py in a subprocess,
because the simulator is chosen when numba.cuda is first imported) or on a real GPU. Not named
test_*.py so that the main run does not collect it without the right environment.
"""
import numpy as np
import pytest
from helpers import (RECURRENT_MODELS, assert_same, build, elman_kernel_kinds,
                     outputs_and_gradients, random_problem)

import minirnn as mr
from minirnn.models import StateSpaceRNN

# tiny: the simulator runs each thread as a Python thread, every block one after another
SIM_SHAPES = [(1, 1, 1, 1, 1), (3, 4, 2, 5, 2)]


@pytest.mark.parametrize("shape", SIM_SHAPES)
@pytest.mark.parametrize("model_class,options", RECURRENT_MODELS)
def test_cuda_matches_the_tape_in_float64(shape, model_class, options):
    x, target = random_problem(shape, seed=11)
    lengths = np.array([shape[1]] + [max(1, shape[1] - 2)] * (shape[0] - 1))
    reference = outputs_and_gradients(build(model_class, shape, "tape", **options), x, target,
                                      lengths=lengths)
    result = outputs_and_gradients(build(model_class, shape, "cuda", **options), x, target,
                                   lengths=lengths)
    assert_same(result, reference, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "identity"])
def test_cuda_activations_float32(activation):
    shape = (2, 3, 2, 3, 1)
    x, target = random_problem(shape, seed=12, dtype=np.float32)
    reference = outputs_and_gradients(
        build(StateSpaceRNN, shape, "tape", "float32", activation=activation), x, target)
    result = outputs_and_gradients(
        build(StateSpaceRNN, shape, "cuda", "float32", activation=activation), x, target)
    assert_same(result, reference, rtol=1e-5, atol=1e-6)


def test_cuda_gradcheck():
    shape = (2, 3, 1, 3, 1)
    x, target = random_problem(shape, seed=13)
    report = mr.gradcheck(build(StateSpaceRNN, shape, "cuda"), x, target, mode="fast",
                          directions=3)
    assert report.passed, str(report)


@pytest.mark.parametrize("first,count,start", [(0, 3, 0), (1, 2, 0), (0, 3, 2), (1, 2, 1)])
def test_cuda_delay_line_matches_the_tape(first, count, start):
    from minirnn.models.base import delay_line

    rng = np.random.default_rng(14)
    v = mr.Tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    weights = rng.standard_normal((2, 4 - start, 3 * count))
    results = []
    for backend in ("tape", "cuda"):
        v.grad = None
        e = delay_line(v, first, count, backend, start=start)
        (e * weights).sum().backward()
        results.append((e.data, v.grad))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def test_cuda_sliding_predictor_and_open_loop_narx():
    rng = np.random.default_rng(15)
    x, y_true = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 1))
    sliding = [mr.models.SlidingPredictor(input_size=2, hidden_size=3, output_size=1, window=3,
                                          backend=b, seed=1)(x)
               for b in ("tape", "cuda")]
    narx = [mr.models.NARX(input_size=2, hidden_size=3, output_size=1, input_delays=1,
                           output_delays=2, mode="open", backend=b,
                           seed=1)(x, y=y_true) for b in ("tape", "cuda")]
    for tape, cuda in (sliding, narx):
        np.testing.assert_allclose(tape.data, cuda.data, rtol=1e-12)


@pytest.mark.parametrize("weights_on_chip", [True, False])
@pytest.mark.parametrize("threads", [2, 64])
def test_cuda_elman_with_and_without_the_weights_on_chip(monkeypatch, weights_on_chip, threads):
    """W_hh in shared memory (when it fits) or read from device memory; a block with fewer
    threads than units (each thread then strides over several): the tape's numbers each time."""
    from minirnn.kernels.elman import cuda as elman_cuda

    assert elman_cuda.shared_bytes(5, 8) == (2 * 5 + 25) * 8  # small W_hh: on chip by default
    monkeypatch.setattr(elman_cuda, "WIDE_LAYERS", False)  # these are the per-row kernels
    if not weights_on_chip:
        monkeypatch.setattr(elman_cuda, "ON_CHIP_BYTES", 0)
    monkeypatch.setattr(elman_cuda, "launch_shape", lambda B, H: (B, min(H, threads)))
    kinds = elman_kernel_kinds(monkeypatch)
    _padded_state_space_matches_the_tape(seed=16)
    assert kinds == ["rows"]


def _padded_state_space_matches_the_tape(seed):
    """A StateSpaceRNN (3, 4, 2, 5, 2) with rows of 4, 2 and 3 steps: cuda against tape."""
    shape = (3, 4, 2, 5, 2)
    x, target = random_problem(shape, seed=seed)
    lengths = np.array([4, 2, 3])
    reference = outputs_and_gradients(build(StateSpaceRNN, shape, "tape"), x, target,
                                      lengths=lengths)
    result = outputs_and_gradients(build(StateSpaceRNN, shape, "cuda"), x, target,
                                   lengths=lengths)
    assert_same(result, reference, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("on_chip_bytes", [250, 0])
def test_cuda_elman_wide_kernels(monkeypatch, on_chip_bytes):
    """The kernels for layers too wide for one block (W_hh's rows split over blocks, a grid
    barrier between steps), their rows of W_hh on chip (250 bytes: too little for the per-row
    kernel's 280, enough for 5 rows of 6) or read from device memory: the tape's numbers.
    The simulator runs one block; several are checked on a GPU (cuda_device_cases.py)."""
    from minirnn.kernels.elman import cuda as elman_cuda

    monkeypatch.setattr(elman_cuda, "ON_CHIP_BYTES", on_chip_bytes)
    kinds = elman_kernel_kinds(monkeypatch)
    _padded_state_space_matches_the_tape(seed=17)
    assert kinds == ["wide"]


# --- the gated families' ops (LSTM, GRU), cuda against the tape ---------------------------------
# (batch, time, input, hidden, lengths): batch 1 and time 1; odd sizes with padded rows (a row
# of full length, one that ends early, one in between)
GATED_SHAPES = [(1, 1, 1, 1, [1]), (3, 4, 2, 5, [4, 2, 3]), (2, 3, 3, 2, [1, 3])]


def _gated_states(family, backend, dtype, B, T, I, H, lengths, seed=18):
    """The op's states (every s_t = [h_t | c_t] for the LSTM, h_t for the GRU) and the gradient
    of every input (x, W_xh, b_xh, W_hh, b_hh, the initial state) for L = Σ states ⊙ w, w
    random: all the inputs random in ±0.8, the same for every backend."""
    from minirnn.models.gated import gru_states, lstm_states

    gates, parts, states = {"lstm": (4, 2, lstm_states), "gru": (3, 1, gru_states)}[family]
    rng = np.random.default_rng(seed)
    shapes = [(B, T, I), (gates * H, I), (gates * H,), (gates * H, H), (gates * H,),
              (B, parts * H)]
    inputs = [mr.Tensor(rng.uniform(-0.8, 0.8, s).astype(dtype), requires_grad=True)
              for s in shapes]
    out = states(*inputs, np.array(lengths), backend)
    (out * rng.standard_normal(out.shape).astype(dtype)).sum().backward()
    return [out.data] + [t.grad for t in inputs]


def _assert_gated_like_the_tape(family, shape, dtype=np.float64, rtol=1e-10, atol=1e-14):
    reference = _gated_states(family, "tape", dtype, *shape)
    result = _gated_states(family, "cuda", dtype, *shape)
    names = ["states", "x", "W_xh", "b_xh", "W_hh", "b_hh", "initial state"]
    for name, got, ref in zip(names, result, reference, strict=True):
        assert got.dtype == dtype, name
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, err_msg=f"{family}: {name}")


@pytest.mark.parametrize("shape", GATED_SHAPES)
@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_cuda_gated_ops_match_the_tape(family, shape):
    _assert_gated_like_the_tape(family, shape)


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_cuda_gated_ops_float32(family):
    _assert_gated_like_the_tape(family, (3, 4, 2, 5, [4, 2, 3]), np.float32, rtol=1e-5,
                                atol=1e-6)


@pytest.mark.parametrize("weights_on_chip", [True, False])
@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_cuda_gated_ops_with_and_without_the_weights_on_chip(monkeypatch, family,
                                                             weights_on_chip):
    """W_hh in shared memory (when it fits) or read from device memory (room for the state
    alone); fewer blocks than rows (the grid-stride loop over rows) and fewer threads than units
    (each thread strides over several): the tape's numbers each time."""
    import importlib

    device = importlib.import_module(f"minirnn.kernels.{family}.cuda")
    state = {"lstm": (3, 6), "gru": (2, 4)}[family]  # values of state, forward and backward
    weights = {"lstm": 4, "gru": 3}[family] * 5 * 5
    if weights_on_chip:
        assert device.forward_shared_bytes(5, 8) == (state[0] * 5 + weights) * 8
        assert device.backward_shared_bytes(5, 8) == (state[1] * 5 + weights) * 8
    else:
        monkeypatch.setattr(device, "ON_CHIP_BYTES", state[1] * 5 * 8)
        assert device.forward_shared_bytes(5, 8) == state[0] * 5 * 8
        assert device.backward_shared_bytes(5, 8) == state[1] * 5 * 8
    launches = []

    def shape(B, H):
        launches.append((B, H))
        return min(B, 2), min(H, 2)

    monkeypatch.setattr(device, "launch_shape", shape)
    _assert_gated_like_the_tape(family, (3, 4, 2, 5, [4, 2, 3]))
    assert launches == [(3, 5), (3, 5)]  # forward and backward, one launch each


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_cuda_gated_ops_refuse_a_state_too_wide_for_a_block(family):
    from minirnn.kernels.gru.cuda import check_width as gru_width
    from minirnn.kernels.lstm.cuda import check_width as lstm_width

    check_width, widest = {"lstm": (lstm_width, 1024), "gru": (gru_width, 1536)}[family]
    check_width(widest, np.float64)
    check_width(2 * widest, np.float32)
    with pytest.raises(ValueError, match=f"at most {widest} in float64"):
        check_width(widest + 1, np.float64)
