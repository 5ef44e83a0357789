"""Small jitted building blocks shared by the CPU kernels: the activation and the BPTT delta of
a block of rows (each with the activation chosen outside its loops, so the loops vectorise),
row copies, and the products with matrices of a known structure (dense products go to
``minirnn.kernels.blas.gemm``).
"""
import numba
import numpy as np
from numba import types

from .blas import NOT_TRANSPOSED, TRANSPOSED, cpu_jit, gemm
from .activations import activate, derivative


# The activation and the BPTT delta of a block's rows take one call per step, not one per row: a
# call per row (each array argument passed as seven values, the loop's set-up) cost more than a
# 64-wide loop itself. Inside, the activation is chosen once, outside the loops, so each loop is
# branch-free and vectorises, and each row is reached row first (``out[b, t, lo:hi]``), which
# Numba knows to be contiguous. Callers pass them np.int64(0) and np.bool_(True), not the
# literals 0 and True: Numba types a literal as a type of its own and compiled the helpers once
# more for every combination, seconds of every cold start.


@cpu_jit()
def activate_rows(code, z, out, b0, t, lo, hi, shift):
    """out[b0 + i, t, lo + shift : hi + shift] = f(z[i, lo:hi]) for every row i of the block's
    pre-activations z. ``out`` is never ``z``: LLVM vectorises a loop behind a run-time check
    that its arrays do not overlap, and an in-place activation fails it and runs the scalar
    loop, several times slower."""
    if code == 0:
        for i in range(z.shape[0]):
            src, dst = z[i, lo:hi], out[b0 + i, t, lo + shift:hi + shift]
            for k in range(hi - lo):
                dst[k] = activate(0, src[k])
    elif code == 1:
        for i in range(z.shape[0]):
            src, dst = z[i, lo:hi], out[b0 + i, t, lo + shift:hi + shift]
            for k in range(hi - lo):
                dst[k] = activate(1, src[k])
    elif code == 2:
        for i in range(z.shape[0]):
            src, dst = z[i, lo:hi], out[b0 + i, t, lo + shift:hi + shift]
            for k in range(hi - lo):
                dst[k] = activate(2, src[k])
    else:
        for i in range(z.shape[0]):
            src, dst = z[i, lo:hi], out[b0 + i, t, lo + shift:hi + shift]
            for k in range(hi - lo):
                dst[k] = src[k]


@cpu_jit()
def delta_rows(code, g, g_shift, direct, none, carry, h, lo, hi, lengths, b0, t, out):
    """out[i, lo:hi] = (g_i + carry[i, lo:hi]) f'(z) for every row i of a block: the BPTT step
    from the gradient reaching a state to the gradient of its pre-activation, f' written with
    the saved state h[b0 + i, t, lo:hi] = f(z). g_i, the gradient reaching the state directly,
    is g[b0 + i, t, lo + g_shift : hi + g_shift], or zero (``none[:hi - lo]``) when not
    ``direct``. ``out`` and ``carry`` are the block's (n, ·) buffers with the same columns; a
    row past its end (t >= lengths) gets 0."""
    n, w = carry.shape[0], hi - lo
    if code == 0:
        for i in range(n):
            gi = g[b0 + i, t, lo + g_shift:hi + g_shift] if direct else none[:w]
            ci, hr, oi = carry[i, lo:hi], h[b0 + i, t, lo:hi], out[i, lo:hi]
            for k in range(w):
                oi[k] = (gi[k] + ci[k]) * derivative(0, hr[k])
    elif code == 1:
        for i in range(n):
            gi = g[b0 + i, t, lo + g_shift:hi + g_shift] if direct else none[:w]
            ci, hr, oi = carry[i, lo:hi], h[b0 + i, t, lo:hi], out[i, lo:hi]
            for k in range(w):
                oi[k] = (gi[k] + ci[k]) * derivative(1, hr[k])
    elif code == 2:
        for i in range(n):
            gi = g[b0 + i, t, lo + g_shift:hi + g_shift] if direct else none[:w]
            ci, hr, oi = carry[i, lo:hi], h[b0 + i, t, lo:hi], out[i, lo:hi]
            for k in range(w):
                oi[k] = (gi[k] + ci[k]) * derivative(2, hr[k])
    else:
        for i in range(n):
            gi = g[b0 + i, t, lo + g_shift:hi + g_shift] if direct else none[:w]
            ci, oi = carry[i, lo:hi], out[i, lo:hi]
            for k in range(w):
                oi[k] = gi[k] + ci[k]
    for i in range(n):
        if t >= lengths[b0 + i]:
            for k in range(lo, hi):
                out[i, k] = 0


@cpu_jit()
def copy_into(source, out):
    """out[i] = source[i] for two 1-D arrays (a plain loop, which vectorises: a slice
    assignment between views goes through Numba's general strided copy, several times
    slower at these sizes)."""
    for i in range(out.size):
        out[i] = source[i]


@cpu_jit()
def sum_outer_previous_rows(address, d, d_rows, h_rows, s0, b0, G, saved, dW):
    """dW (G, H) = Σ_t d_t[:G] h_{t-1}^T over a block of batch rows b0 … b0 + n - 1, each
    with h_{-1} = s0[b, :H] (its initial state).

    d (B, T, C) is the gradient array; d_rows (n T, C) and h_rows (n T, H) are the block's (b, t)
    rows of d and of the states laid end to end, so row (b, t) of d pairs in one product with
    the row before it in the states: h_{t-1}, except at t = 0 (the previous batch row's last
    state, or nothing). Those n rows of d are zeroed for the product (and put back after, via
    ``saved`` (n, C)), so that they add exact zeros, and are then paired with s0. (Adding their
    wrong pairs and taking them away after left rounding noise where the true gradient is 0:
    with T = 1 it is.)"""
    n = saved.shape[0]
    C = d.shape[2]
    H = h_rows.shape[1]
    for r in range(n):
        copy_into(d[b0 + r, 0], saved[r])
        for i in range(C):
            d[b0 + r, 0, i] = 0
    gemm(address, d_rows[1:, :G], h_rows[:-1], dW, TRANSPOSED, 0.0)
    for r in range(n):
        b = b0 + r
        copy_into(saved[r], d[b, 0])
        for i in range(G):
            g = saved[r, i]
            for j in range(H):
                dW[i, j] += g * s0[b, j]


def sum_outer_signatures(dtype) -> list:
    """The argument types of ``sum_outer_previous_rows`` in the Elman and GRU backward kernels
    (every array C-contiguous), for arrays of ``dtype`` (``compile_ahead`` has it compiled
    first: the forked process otherwise compiles it deep inside the backward kernel)."""
    rows = types.Array(numba.from_dtype(np.dtype(dtype)), 2, "C")
    return [(types.int64, rows.copy(ndim=3), rows, rows, rows, types.int64, types.int64, rows,
             rows)]


@cpu_jit()
def output_and_carry(g, o, states, lo, lengths, b0, t, state):
    """The end of a packed forward step, for each row i of a block starting at batch row b0:
    y_t = g(o_i) into columns lo: of the packed states at (b0 + i, t); then the whole packed
    row is kept in ``state`` for the next step or, past the row's end, the kept one is copied
    over it (a padded step keeps its states)."""
    activate_rows(g, o, states, b0, t, np.int64(0), o.shape[1], lo)
    for i in range(state.shape[0]):
        b = b0 + i
        if t < lengths[b]:
            copy_into(states[b, t], state[i])
        else:
            copy_into(state[i], states[b, t])


@cpu_jit()
def output_delta(g, grads, gy, states, lo, lengths, b0, t, carry, d):
    """do_t = (gy_t + c_y) g'(o_t) into d[i, lo:] for each row i of a block starting at batch
    row b0, where y_t and c_y are the columns lo: of the packed states at (b0 + i, t) and of
    the block's carry row i, and gy_t the columns gy: of the gradients there. A padded row's
    do_t is 0 and its carry c_y collects gy_t: its output was copied forward, so the gradient
    passes straight back."""
    hi = carry.shape[1]
    delta_rows(g, grads, gy - lo, np.bool_(True), carry[0, :0], carry, states, lo, hi, lengths,
               b0, t, d)
    for i in range(carry.shape[0]):
        b = b0 + i
        if t >= lengths[b]:
            for k in range(hi - lo):
                carry[i, lo + k] += grads[b, t, gy + k]


# --- structured matrices ------------------------------------------------------------------------
# Some models hand the general kernels matrices with a known shape of zeros: Jordan's μI and
# (1-μ)I, NARX's delay line [I; 0] and shift, a zero W_hm. A dense product would spend most of
# its time multiplying zeros, so the wrapper recognises these once per call and the kernel
# applies them in O(n) instead of O(n²). The numbers are the same as the dense product's.
DENSE, ZERO, DIAGONAL, SHIFT = 0, 1, 2, 3


def structure_of(W: np.ndarray):
    """(code, diagonal, shift) describing W: all zeros; only W[i, i] (any shape); exactly the
    ones of a down-shift W[i, i-s] = 1 (square); or dense."""
    rows, cols = W.shape
    empty = np.zeros(0, dtype=W.dtype)
    count = np.count_nonzero(W)
    if count == 0:
        return ZERO, empty, 0
    if count > min(rows, cols):  # more than a diagonal or a shift can hold: the usual case
        return DENSE, empty, 0
    diagonal = W.diagonal()
    if np.count_nonzero(diagonal) == count:  # (a copy: the view is read-only, a type of its own)
        return DIAGONAL, diagonal.copy(), 0
    s = rows - count  # a shift by s has its rows - s ones on the s-th subdiagonal, nothing else
    if rows == cols and 0 < s < rows and np.all(W.diagonal(-s) == 1):
        return SHIFT, empty, s
    return DENSE, empty, 0


@cpu_jit()
def add_into(source, out):
    """out[i] += source[i] for two 1-D arrays (vectorises, as ``copy_into``)."""
    for i in range(out.size):
        out[i] += source[i]


@cpu_jit()
def scaled_add_into(scale, source, out):
    """out[i] += scale[i] source[i] for three 1-D arrays (vectorises, as ``copy_into``)."""
    for i in range(out.size):
        out[i] += scale[i] * source[i]


# The structured products below go through row slices and the two helpers above rather than
# indexing the 2-D arrays with shifted columns (out[r, i] += state[r, lo + i - s]): Numba
# allows a negative index to wrap around, so an index it cannot prove non-negative gets a
# select per element, and the loop ran scalar.
@cpu_jit()
def rows_structured_acc(address, out, state, lo, Wt, code, diagonal, shift):
    """out[r] += W state[r, lo:lo + W's columns] for every row r of a block: one BLAS product
    when W is dense (given transposed), the O(n) loops of its structure otherwise."""
    if code == DENSE:
        gemm(address, state[:, lo:lo + Wt.shape[0]], Wt, out, NOT_TRANSPOSED, 1.0)
    elif code == DIAGONAL:
        k = diagonal.size
        for r in range(out.shape[0]):
            scaled_add_into(diagonal, state[r, lo:lo + k], out[r, :k])
    elif code == SHIFT:  # out[r, i] += state[r, lo + i - shift] for i >= shift
        kept = out.shape[1] - shift
        for r in range(out.shape[0]):
            add_into(state[r, lo:lo + kept], out[r, shift:])


@cpu_jit()
def rows_structured_acc_transposed(address, carry, lo, v, W, code, diagonal, shift):
    """carry[r, lo:lo + W's columns] += W^T v[r] for every row r of a block, W given as it is
    (dense) or by its structure."""
    if code == DENSE:
        gemm(address, v, W, carry[:, lo:lo + W.shape[1]], NOT_TRANSPOSED, 1.0)
    elif code == DIAGONAL:
        k = diagonal.size
        for r in range(v.shape[0]):
            scaled_add_into(diagonal, v[r, :k], carry[r, lo:lo + k])
    elif code == SHIFT:  # carry[r, lo + j] += v[r, j + shift] for j < W's columns - shift
        kept = W.shape[1] - shift
        for r in range(v.shape[0]):
            add_into(v[r, shift:], carry[r, lo:lo + kept])
