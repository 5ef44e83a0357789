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
    vectorises (a branch on ``code`` per element would stop it)."""
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
def output_delta(g, gy, ys, lengths, b0, t, c_y, d_o):
    """do_t = (gy_t + c_y) g'(o_t) for each row of a block of rows starting at b0. A padded
    row's do_t is 0 and its carry c_y collects gy_t: its output was copied forward, so the
    gradient passes straight back."""
    for i in range(d_o.shape[0]):
        b = b0 + i
        if t < lengths[b]:
            delta_into(g, gy[b, t], c_y[i], ys[b, t], d_o[i])
        else:
            for k in range(d_o.shape[1]):
                d_o[i, k] = 0
                c_y[i, k] += gy[b, t, k]


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
    if not W.any():
        return ZERO, empty, 0
    k = min(rows, cols)
    diagonal = np.ascontiguousarray(W[np.arange(k), np.arange(k)])
    off = W.copy()
    off[np.arange(k), np.arange(k)] = 0
    if not off.any():
        return DIAGONAL, diagonal, 0
    i, j = np.nonzero(W)
    s = int(i[0] - j[0])
    if rows == cols and s > 0 and np.all(i - j == s) and len(i) == rows - s \
            and np.all(W[i, j] == 1):
        return SHIFT, empty, s
    return DENSE, empty, 0


@cpu_jit()
def structured_acc(out, v, code, diagonal, shift):
    """out += W v for a structured (not dense) W."""
    if code == DIAGONAL:
        for i in range(diagonal.size):
            out[i] += diagonal[i] * v[i]
    elif code == SHIFT:
        for i in range(shift, out.size):
            out[i] += v[i - shift]


@cpu_jit()
def structured_acc_transposed(out, v, code, diagonal, shift):
    """out += W^T v for a structured (not dense) W."""
    if code == DIAGONAL:
        for i in range(diagonal.size):
            out[i] += diagonal[i] * v[i]
    elif code == SHIFT:
        for j in range(out.size - shift):
            out[j] += v[j + shift]


@cpu_jit()
def rows_structured_acc(address, out, v, Wt, code, diagonal, shift):
    """out[r] += W v[r] for every row r of a block: one BLAS product when W is dense (given
    transposed), the O(n) loops of its structure otherwise."""
    if code == DENSE:
        gemm(address, v, Wt, out, False, 1.0)
    else:
        for r in range(out.shape[0]):
            structured_acc(out[r], v[r], code, diagonal, shift)


@cpu_jit()
def rows_structured_acc_transposed(address, out, v, W, code, diagonal, shift):
    """out[r] += W^T v[r] for every row r of a block, W given as it is (dense) or by its
    structure."""
    if code == DENSE:
        gemm(address, v, W, out, False, 1.0)
    else:
        for r in range(out.shape[0]):
            structured_acc_transposed(out[r], v[r], code, diagonal, shift)
