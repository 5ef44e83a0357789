"""Small jitted building blocks shared by the CPU kernels: the activation of a vector and the
BPTT delta (each with the activation chosen outside its loop, so the loop vectorises), row
copies, and the products with matrices of a known structure (dense products go to
``minirnn.blas.gemm``).
"""
import numpy as np

from ..blas import cpu_jit, gemm
from .activations import activate, derivative


@cpu_jit()
def activate_into(code, z, out):
    """out[i] = f(z[i]) with f chosen once outside the loop, so each loop is branch-free and
    vectorises (a branch on ``code`` per element would stop it). ``out`` must not be ``z``:
    LLVM vectorises the loop behind a run-time check that the two arrays do not overlap, and
    an in-place call fails it and runs the scalar loop (tanh 2.05 against 0.30 ns an
    element)."""
    if code == 0:
        for i in range(z.size):
            out[i] = activate(0, z[i])
    elif code == 1:
        for i in range(z.size):
            out[i] = activate(1, z[i])
    elif code == 2:
        for i in range(z.size):
            out[i] = activate(2, z[i])
    else:
        for i in range(z.size):
            out[i] = z[i]


@cpu_jit()
def delta_into(code, g, carry, h, out):
    """out[i] = (g[i] + carry[i]) f'(z_i), f' written with h = f(z): the BPTT step from the
    gradient reaching a state to the gradient of its pre-activation. Branch-free loops, as in
    ``activate_into``."""
    if code == 0:
        for i in range(out.size):
            out[i] = (g[i] + carry[i]) * derivative(0, h[i])
    elif code == 1:
        for i in range(out.size):
            out[i] = (g[i] + carry[i]) * derivative(1, h[i])
    elif code == 2:
        for i in range(out.size):
            out[i] = (g[i] + carry[i]) * derivative(2, h[i])
    else:
        for i in range(out.size):
            out[i] = g[i] + carry[i]


@cpu_jit()
def copy_into(source, out):
    """out[i] = source[i] for two 1-D arrays (a plain loop, which vectorises: a slice
    assignment between views goes through Numba's general strided copy, several times
    slower at these sizes)."""
    for i in range(out.size):
        out[i] = source[i]


@cpu_jit()
def output_and_carry(g, o, states, lo, lengths, b0, t, state):
    """The end of a packed forward step, for each row i of a block starting at batch row b0:
    y_t = g(o_i) into columns lo: of the packed states at (b0 + i, t); then the whole packed
    row is kept in ``state`` for the next step or, past the row's end, the kept one is copied
    over it (a padded step keeps its states)."""
    for i in range(state.shape[0]):
        b = b0 + i
        activate_into(g, o[i], states[b, t, lo:])
        if t < lengths[b]:
            copy_into(states[b, t], state[i])
        else:
            copy_into(state[i], states[b, t])


@cpu_jit()
def output_delta(g, grads, glo, states, lo, lengths, b0, t, carry, do):
    """do_t = (gy_t + c_y) g'(o_t) for each row i of a block starting at batch row b0, where
    gy_t is the columns glo: of the gradients at (b0 + i, t), and y_t and c_y the columns
    lo: of the packed states at (b0 + i, t) and of the block's carry row i. A padded row's
    do_t is 0 and its carry c_y collects gy_t: its output was copied forward, so the gradient
    passes straight back."""
    O = do.shape[2]
    for i in range(carry.shape[0]):
        b = b0 + i
        if t < lengths[b]:
            delta_into(g, grads[b, t, glo:glo + O], carry[i, lo:lo + O],
                       states[b, t, lo:lo + O], do[b, t])
        else:
            for k in range(O):
                do[b, t, k] = 0
                carry[i, lo + k] += grads[b, t, glo + k]


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
# select per element, and the loop ran scalar (NARX's delay line: 0.66 ns an element).
@cpu_jit()
def rows_structured_acc(address, out, state, lo, Wt, code, diagonal, shift):
    """out[r] += W state[r, lo:lo + W's columns] for every row r of a block: one BLAS product
    when W is dense (given transposed), the O(n) loops of its structure otherwise."""
    if code == DENSE:
        gemm(address, state[:, lo:lo + Wt.shape[0]], Wt, out, False, 1.0)
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
        gemm(address, v, W, carry[:, lo:lo + W.shape[1]], False, 1.0)
    elif code == DIAGONAL:
        k = diagonal.size
        for r in range(v.shape[0]):
            scaled_add_into(diagonal, v[r, :k], carry[r, lo:lo + k])
    elif code == SHIFT:  # carry[r, lo + j] += v[r, j + shift] for j < W's columns - shift
        kept = W.shape[1] - shift
        for r in range(v.shape[0]):
            add_into(v[r, shift:], carry[r, lo:lo + kept])
