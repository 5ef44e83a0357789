"""Small jitted building blocks shared by the CPU kernels.

``vec_mat_acc(out, v, A)`` adds the row vector v times A to out: out[j] += Σ_i v[i] A[i, j].
Written in axpy order (for each i, a contiguous row of A scaled by v[i]), it vectorises without
reassociating sums (PERF-NOTES.md). It serves both directions of a layer:

    forward   z += W v      is  vec_mat_acc(z, v, W.T)   (pass W transposed, contiguous)
    backward  c += W^T d    is  vec_mat_acc(c, d, W)
"""
import numba
import numpy as np

from ..blas import FASTMATH
from .activations import activate


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def vec_mat_acc(out, v, A):
    for i in range(A.shape[0]):
        vi = v[i]
        for j in range(A.shape[1]):
            out[j] += vi * A[i, j]


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def rows_vec_mat_acc(out, v, A):
    """out[r] += v[r] A for a few rows r at once: each row of A, once loaded, serves every r,
    so a thread handling several batch rows reads W from memory once per step instead of once
    per row (at H = 512, where W_hh no longer fits the core's cache, 1.4x on the forward)."""
    for k in range(A.shape[0]):
        for r in range(v.shape[0]):
            vk = v[r, k]
            for j in range(A.shape[1]):
                out[r, j] += vk * A[k, j]


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
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


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def structured_acc(out, v, Wt, code, diagonal, shift):
    """out += W v, with W given transposed (dense) or by its structure."""
    if code == DENSE:
        vec_mat_acc(out, v, Wt)
    elif code == DIAGONAL:
        for i in range(diagonal.size):
            out[i] += diagonal[i] * v[i]
    elif code == SHIFT:
        for i in range(shift, out.size):
            out[i] += v[i - shift]


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def structured_acc_transposed(out, v, W, code, diagonal, shift):
    """out += W^T v, with W given as it is (dense) or by its structure."""
    if code == DENSE:
        vec_mat_acc(out, v, W)
    elif code == DIAGONAL:
        for i in range(diagonal.size):
            out[i] += diagonal[i] * v[i]
    elif code == SHIFT:
        for j in range(out.size - shift):
            out[j] += v[j + shift]
