"""The Elman / state-space recurrence as Numba CPU kernels, parallel over the batch.

Same function as ``elman_numpy`` (see its docstring for the equations and the BPTT derivation);
here each batch row is an independent recurrence, so ``prange`` runs tiles of a few rows on
separate threads, and time stays a sequential loop inside each thread. Kernels write into
arrays that their wrappers allocate; nothing is allocated inside the time loop. Weight
gradients are not accumulated here (that would race between threads): the wrapper computes
them afterwards as one matmul over every (b, t).

Loop order (PERF-NOTES.md): the matrix products are axpys over contiguous rows, each row of the
weight serving every batch row of the tile (``linalg_cpu.rows_vec_mat_acc``), which vectorise
without reassociation; the activation loop is
branch-free (``activate_into``) so it vectorises too; the running state lives in a small local
array, not in a view of the output. ``fastmath`` allows only contraction into FMA and
sign-of-zero freedom: no NaN/inf assumptions, so a diverging network shows its NaN.
"""
import numba
import numpy as np

from .activations import CODES, derivative
from .linalg_cpu import FASTMATH, activate_into, rows_vec_mat_acc


ROWS = 4  # at most this many batch rows per tile, sharing each row of W_hh


def tile_rows(batch: int) -> int:
    """Rows per tile: up to ROWS, but never so many that a thread would be left idle."""
    return max(1, min(ROWS, batch // numba.get_num_threads()))


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _elman_forward(a, Wt, h0, lengths, code, rows, hs):
    """Fill hs (B, T, H): h_t = f(a_t + W h_{t-1}); Wt = W_hh^T, contiguous. Each thread runs
    a tile of ``rows`` batch rows through time."""
    B, T, H = a.shape
    for tile in numba.prange((B + rows - 1) // rows):
        b0 = tile * rows
        n = min(rows, B - b0)
        h = h0[b0:b0 + n].copy()
        z = np.empty((n, H), dtype=a.dtype)
        for t in range(T):
            z[:] = a[b0:b0 + n, t]
            rows_vec_mat_acc(z, h, Wt)  # z += W_hh h_{t-1}, for every row of the tile
            for r in range(n):
                if t < lengths[b0 + r]:  # after its end a row keeps its state
                    activate_into(code, z[r], h[r])
                hs[b0 + r, t] = h[r]


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _elman_backward(dhs, hs, W, lengths, code, rows, dz, dh0):
    """Fill dz (B, T, H) and dh0 (B, H): dh_t = g_t + W^T dz_{t+1}, dz_t = dh_t f'(z_t).
    Tiles of ``rows`` batch rows per thread, as in the forward."""
    B, T, H = hs.shape
    for tile in numba.prange((B + rows - 1) // rows):
        b0 = tile * rows
        n = min(rows, B - b0)
        carry = np.zeros((n, H), dtype=hs.dtype)  # W^T dz_{t+1}: what h_t owes the future
        d = np.empty((n, H), dtype=hs.dtype)
        back = np.empty((n, H), dtype=hs.dtype)
        for t in range(T - 1, -1, -1):
            for r in range(n):
                b = b0 + r
                if t < lengths[b]:
                    for i in range(H):
                        d[r, i] = (dhs[b, t, i] + carry[r, i]) * derivative(code, hs[b, t, i])
                        dz[b, t, i] = d[r, i]
                else:  # padding: h_t = h_{t-1}, the gradient passes straight through
                    for i in range(H):
                        d[r, i] = 0
                        dz[b, t, i] = 0
                        carry[r, i] += dhs[b, t, i]
            back[:] = 0
            rows_vec_mat_acc(back, d, W)  # W_hh^T dz_t, for every row of the tile
            for r in range(n):
                if t < lengths[b0 + r]:
                    carry[r] = back[r]
        dh0[b0:b0 + n] = carry


def elman_forward(a, W_hh, h0, lengths, activation):
    hs = np.empty_like(a)
    c = np.ascontiguousarray
    _elman_forward(c(a), c(W_hh.T), c(h0), lengths, CODES[activation], tile_rows(len(a)), hs)
    return hs


def elman_backward(dhs, hs, W_hh, lengths, activation):
    dz = np.empty_like(hs)
    dh0 = np.empty((hs.shape[0], hs.shape[2]), dtype=hs.dtype)
    _elman_backward(np.ascontiguousarray(dhs), hs, np.ascontiguousarray(W_hh), lengths,
                    CODES[activation], tile_rows(len(hs)), dz, dh0)
    return dz, dh0
