"""The LSTM and GRU ops (``kernels.lstm``, ``kernels.gru``): on every engine each equals the
tape's unrolling of its cell with primitive ops (``models.gated.lstm_states`` and
``gru_states`` with backend="tape"), its outputs and the gradient of every input, with and
without x's, on padded batches of several shapes; the cpu engine also without BLAS, in one
block of rows, and in float32; and their float32 sigmoid. The models built on them are in
test_recurrent_models.py."""
import math

import numba
import numpy as np
import pytest

import minirnn as mr
from minirnn.kernels import blas
from minirnn.kernels.blas import cpu_jit
from minirnn.kernels.vector_math import gate_sigmoid
from minirnn.models.gated import gru_states, lstm_states

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py

# family: (the states on an engine, gates, parts of the state)
FAMILIES = {"lstm": (lstm_states, 4, 2), "gru": (gru_states, 3, 1)}
INPUTS = ("x", "W_xh", "b_xh", "W_hh", "b_hh", "s0")

# (B, T, I, H): batch 1, time 1, odd sizes, I != H
SHAPES = [(1, 1, 1, 1), (1, 9, 3, 5), (4, 7, 2, 6), (3, 5, 7, 4), (5, 6, 3, 9)]


def padded_lengths(B, T):
    """Every row but the first shorter than T (down to 1), so padding meets every step."""
    return np.maximum(1, T - np.arange(B) % T).astype(np.int64)


def problem(family, B, T, I, H, seed=0, dtype=np.float64):
    """The op's input arrays (x, W_xh, b_xh, W_hh, b_hh, s0) and the loss's weights on the
    states; weights at PyTorch's scale, so that the gates are neither saturated nor linear."""
    _, gates, parts = FAMILIES[family]
    rng = np.random.default_rng(seed)
    scale = 1 / np.sqrt(H)
    arrays = [rng.standard_normal((B, T, I)),
              rng.uniform(-scale, scale, (gates * H, I)), rng.uniform(-scale, scale, gates * H),
              rng.uniform(-scale, scale, (gates * H, H)), rng.uniform(-scale, scale, gates * H),
              rng.standard_normal((B, parts * H))]
    weights = rng.standard_normal((B, T, parts * H))
    return [a.astype(dtype) for a in arrays], weights.astype(dtype)


def run(family, backend, arrays, weights, lengths, needs=(True,) * 6):
    """[states, then the gradient of each input (None where it wants none)] of
    L = Σ weights ⊙ states."""
    states_on, _, _ = FAMILIES[family]
    tensors = [mr.Tensor(a.copy(), requires_grad=need)
               for a, need in zip(arrays, needs, strict=True)]
    states = states_on(*tensors, lengths, backend)
    (states * weights).sum().backward()
    return [states.data] + [t.grad for t in tensors]


def assert_equal_results(got, want, rtol, atol, what=""):
    for name, g, w in zip(("states",) + INPUTS, got, want, strict=True):
        if w is None:
            assert g is None, f"{what} {name}"
        else:
            assert g.dtype == w.dtype, f"{what} {name}"
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{what} {name}")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("x_needs_grad", [True, False])
def test_each_engine_is_the_tape_unrolled(family, shape, x_needs_grad):
    """The op takes its layer's input projection (x, W_xh, b_xh): on numpy and cpu it equals
    a linear op followed by the cell written with primitive ops, values and every gradient,
    with and without x's (the cpu kernel makes them all in its one backward call), on a padded
    batch."""
    arrays, weights = problem(family, *shape, seed=sum(shape))
    lengths = padded_lengths(shape[0], shape[1])
    needs = (x_needs_grad,) + (True,) * 5
    want = run(family, "tape", arrays, weights, lengths, needs)
    for backend in ("numpy", "cpu"):
        got = run(family, backend, arrays, weights, lengths, needs)
        assert_equal_results(got, want, rtol=1e-10, atol=1e-12, what=backend)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("needs", [(True, False, False, False, False, True),
                                   (False, True, False, True, False, False),
                                   (False, False, True, False, False, False),
                                   (False, False, False, False, True, False)])
def test_only_the_gradients_asked_for(family, needs):
    """Any subset of the inputs may want a gradient (a constant's is never handed out); those
    that do get the tape's. One bias alone, too: the LSTM's two bias gradients are one sum."""
    shape = (3, 4, 2, 5)
    arrays, weights = problem(family, *shape, seed=7)
    lengths = np.array([4, 2, 3])
    want = run(family, "tape", arrays, weights, lengths, needs)
    got = run(family, "cpu", arrays, weights, lengths, needs)
    assert_equal_results(got, want, rtol=1e-10, atol=1e-12)


def test_the_lstm_bias_gradients_are_two_arrays():
    """∂L/∂b_xh = ∂L/∂b_hh = Σ dp_t: the cpu kernel sums it once, and the op hands the second
    bias a copy, so that an optimiser updating one gradient in place leaves the other alone."""
    arrays, weights = problem("lstm", 2, 3, 2, 3)
    got = run("lstm", "cpu", arrays, weights, np.array([3, 3]))
    db_xh, db_hh = got[3], got[5]
    np.testing.assert_array_equal(db_xh, db_hh)
    assert not np.shares_memory(db_xh, db_hh)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (5, 6, 5, 12)])
def test_the_loops_without_blas(family, shape):
    """Without NumPy's BLAS the kernels' own loops do every product (at (5, 6, 5, 12) the
    products are above ``blas.SMALL_PRODUCT``, so the other tests run them on BLAS): the
    tape's numbers either way."""
    arrays, weights = problem(family, *shape, seed=3)
    lengths = padded_lengths(shape[0], shape[1])
    want = run(family, "tape", arrays, weights, lengths)
    with blas.loops_only():
        got = run(family, "cpu", arrays, weights, lengths)
    assert_equal_results(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_one_block_of_rows(family, monkeypatch):
    """Work below ``blas.SPLIT_WORK`` runs in one block on the calling thread (what users get
    at small sizes; the other tests cut every batch into blocks): the same numbers."""
    monkeypatch.setattr(blas, "SPLIT_WORK", float("inf"))
    shape = (6, 5, 3, 7)
    arrays, weights = problem(family, *shape, seed=4)
    lengths = padded_lengths(shape[0], shape[1])
    assert blas.row_blocks(shape[0], 1.0) == 1
    want = run(family, "tape", arrays, weights, lengths)
    got = run(family, "cpu", arrays, weights, lengths)
    assert_equal_results(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", [(1, 8, 2, 6), (3, 8, 2, 6), (4, 5, 3, 33)])
def test_float32(family, shape):
    """float32 stays float32 and is as close to the tape's float32 as float32 allows."""
    arrays, weights = problem(family, *shape, seed=5, dtype=np.float32)
    lengths = padded_lengths(shape[0], shape[1])
    want = run(family, "tape", arrays, weights, lengths)
    got = run(family, "cpu", arrays, weights, lengths)
    assert_equal_results(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_recurrent_gradient_that_is_zero_comes_out_exactly_zero(family):
    """One step from a zero state: no state follows another, so ∂L/∂W_hh is exactly 0, and
    the kernel's sum over the rows laid end to end (each row's first step paired with the row
    before it in memory) must give exact zeros, not rounding noise."""
    arrays, weights = problem(family, 6, 1, 3, 5)
    arrays[5][...] = 0
    got = run(family, "cpu", arrays, weights, np.ones(6, dtype=np.int64))
    assert got[4].shape == arrays[3].shape and not got[4].any()
    assert got[2].any()  # the input weights' gradient is not


@pytest.mark.parametrize("family", FAMILIES)
def test_padded_rows_keep_their_state_and_pass_the_gradient(family):
    """Past its length a row's state stays its last one, and the gradient reaching a padded
    step goes back unchanged to that last state: a row of length 2 in a batch of T = 5 gives
    the same states and gradients as the same row alone with T = 2, plus the padded steps'
    loss weights added to its last step's."""
    B, T, I, H = 2, 5, 3, 4
    arrays, weights = problem(family, B, T, I, H, seed=9)
    lengths = np.array([5, 2])
    got = run(family, "cpu", arrays, weights, lengths)
    states = got[0]
    for t in range(2, T):
        np.testing.assert_array_equal(states[1, t], states[1, 1])
    alone = [arrays[0][1:, :2]] + arrays[1:5] + [arrays[5][1:]]
    short_weights = weights[1:, :2].copy()
    short_weights[:, 1] += weights[1, 2:].sum(axis=0)
    one = run(family, "cpu", alone, short_weights, np.array([2]))
    np.testing.assert_allclose(states[1, :2], one[0][0], rtol=1e-12)
    np.testing.assert_allclose(got[1][1, :2], one[1][0], rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(got[1][1, 2:], 0)  # a padded step's input has no effect
    np.testing.assert_allclose(got[6][1], one[6][0], rtol=1e-10, atol=1e-14)



@pytest.mark.parametrize("family", FAMILIES)
def test_deterministic_mode_gives_the_same_bits_on_any_thread_count(family, monkeypatch):
    """In deterministic mode the batch is cut into the same blocks whatever the thread count,
    and the blocks' shares of the weight gradients are added in the same order: one thread
    and all of them give the same bits."""
    monkeypatch.setattr(blas, "_deterministic", True)
    arrays, weights = problem(family, 9, 6, 3, 5, seed=11)
    lengths = padded_lengths(9, 6)
    most = numba.get_num_threads()
    runs = []
    for threads in sorted({1, most}):
        numba.set_num_threads(threads)
        try:
            runs.append(run(family, "cpu", arrays, weights, lengths))
        finally:
            numba.set_num_threads(most)
    for got in runs[1:]:
        for name, a, b in zip(("states",) + INPUTS, got, runs[0], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)

@cpu_jit()
def _gate_sigmoid_all(z, out):
    for i in range(z.size):
        out[i] = gate_sigmoid(z[i])


def _libm_sigmoid(z):
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


@pytest.mark.parametrize("dtype,most", [(np.float64, 3), (np.float32, 3)])
def test_the_gate_sigmoid_is_within_a_few_ulps(dtype, most):
    """The gates' sigmoid (float32 computed in float32) against libm's, in ulps of the result's
    precision, down to -87 (below, it is 0) and at the special values."""
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.uniform(-30, 30, 40_000), rng.uniform(-1, 1, 40_000),
                        rng.standard_normal(20_000) * 1e-3, rng.uniform(-87, 87, 20_000),
                        np.linspace(-0.7, 0.7, 2001)]).astype(dtype)
    out = np.empty_like(z)
    _gate_sigmoid_all(z, out)
    reference = np.array([_libm_sigmoid(v) for v in z.astype(np.float64)])
    spacing = np.spacing(reference.astype(dtype)).astype(np.float64)
    assert (np.abs(out.astype(np.float64) - reference) / spacing).max() <= most
    special = np.array([0.0, -0.0, 1e-45, 88.0, 800.0, -88.0, -800.0, np.inf, -np.inf, np.nan],
                       dtype=dtype)
    s = np.empty_like(special)
    _gate_sigmoid_all(special, s)
    assert s[0] == s[1] == s[2] == 0.5 and np.all(s[3:5] == 1) and s[7] == 1 and s[8] == 0
    assert np.all(s[5:7] < 1e-38) and np.isnan(s[9])
