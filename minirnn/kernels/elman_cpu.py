"""The Elman / state-space recurrence as Numba CPU kernels, parallel over the batch.

Same function as ``elman_numpy`` (see its docstring for the equations and the BPTT derivation);
here each batch row is an independent recurrence, so ``prange`` runs rows on separate threads,
and time stays a sequential loop inside each thread. Kernels write into arrays that their
wrappers allocate; nothing is allocated inside the time loop. Weight gradients are not
accumulated here (that would race between threads): the wrapper computes them afterwards as one
matmul over every (b, t).

Loop order (PERF-NOTES.md): the matrix-vector products are axpys over contiguous rows
(``linalg_cpu.vec_mat_acc``), which vectorise without reassociation; the activation loop is
branch-free (``activate_into``) so it vectorises too; the running state lives in a small local
array, not in a view of the output. ``fastmath`` allows only contraction into FMA and
sign-of-zero freedom: no NaN/inf assumptions, so a diverging network shows its NaN.
"""
import numba
import numpy as np

from .activations import CODES, derivative
from .linalg_cpu import FASTMATH, activate_into, vec_mat_acc


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _elman_forward(a, Wt, h0, lengths, code, hs):
    """Fill hs (B, T, H): h_t = f(a_t + W h_{t-1}); Wt = W_hh^T, contiguous."""
    B, T, H = a.shape
    for b in numba.prange(B):
        h = h0[b].copy()
        z = np.empty(H, dtype=a.dtype)
        for t in range(T):
            if t < lengths[b]:
                z[:] = a[b, t]
                vec_mat_acc(z, h, Wt)  # z += W_hh h_{t-1}
                activate_into(code, z, h)
            hs[b, t] = h


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _elman_backward(dhs, hs, W, lengths, code, dz, dh0):
    """Fill dz (B, T, H) and dh0 (B, H): dh_t = g_t + W^T dz_{t+1}, dz_t = dh_t f'(z_t)."""
    B, T, H = hs.shape
    for b in numba.prange(B):
        carry = np.zeros(H, dtype=hs.dtype)
        d = np.empty(H, dtype=hs.dtype)
        for t in range(T - 1, -1, -1):
            if t < lengths[b]:
                for i in range(H):
                    d[i] = (dhs[b, t, i] + carry[i]) * derivative(code, hs[b, t, i])
                    dz[b, t, i] = d[i]
                carry[:] = 0
                vec_mat_acc(carry, d, W)  # carry = W_hh^T dz_t
            else:  # padding: h_t = h_{t-1}, the gradient passes straight through
                for i in range(H):
                    dz[b, t, i] = 0
                    carry[i] += dhs[b, t, i]
        dh0[b] = carry


def elman_forward(a, W_hh, h0, lengths, activation):
    hs = np.empty_like(a)
    c = np.ascontiguousarray
    _elman_forward(c(a), c(W_hh.T), c(h0), lengths, CODES[activation], hs)
    return hs


def elman_backward(dhs, hs, W_hh, lengths, activation):
    dz = np.empty_like(hs)
    dh0 = np.empty((hs.shape[0], hs.shape[2]), dtype=hs.dtype)
    _elman_backward(np.ascontiguousarray(dhs), hs, np.ascontiguousarray(W_hh), lengths,
                    CODES[activation], dz, dh0)
    return dz, dh0
