"""The explicit-memory recurrence as Numba CPU kernels, parallel over the batch.

Same function as ``memory_numpy`` (its docstring has the equations and the BPTT derivation).
Each batch row runs on its own thread; the running states live in small local arrays; weight
gradients are left to one matmul each in the wrapper, so threads never write the same memory.
W_ym, W_hm and W_mm are applied by their structure when they have one (zero, diagonal, shift:
``linalg_cpu.structure_of``), as Jordan's and NARX's do.
"""
import numba
import numpy as np

from .activations import CODES, derivative
from .linalg_cpu import (FASTMATH, activate_into, structure_of, structured_acc,
                         structured_acc_transposed, vec_mat_acc)


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _memory_forward(a, W_ymT, W_hmT, W_mmT, b_m, W_mhT, W_hyT, b_y, m0, h0, y0, lengths,
                    r, f, g, ms, hs, ys, s_ym, d_ym, k_ym, s_hm, d_hm, k_hm, s_mm, d_mm, k_mm):
    """Fill ms, hs, ys. Weights come transposed (contiguous) for the axpy loop order; W_ym,
    W_hm, W_mm also come with their structure (code, diagonal, shift: ``structure_of``)."""
    B, T, H = a.shape
    M, O = b_m.size, b_y.size
    for b in numba.prange(B):
        m, h, y = m0[b].copy(), h0[b].copy(), y0[b].copy()
        q = np.empty(M, dtype=a.dtype)
        z = np.empty(H, dtype=a.dtype)
        o = np.empty(O, dtype=a.dtype)
        for t in range(T):
            if t < lengths[b]:
                q[:] = b_m
                structured_acc(q, y, W_ymT, s_ym, d_ym, k_ym)
                structured_acc(q, h, W_hmT, s_hm, d_hm, k_hm)
                structured_acc(q, m, W_mmT, s_mm, d_mm, k_mm)
                activate_into(r, q, m)
                z[:] = a[b, t]
                vec_mat_acc(z, m, W_mhT)
                activate_into(f, z, h)
                o[:] = b_y
                vec_mat_acc(o, h, W_hyT)
                activate_into(g, o, y)
            ms[b, t] = m
            hs[b, t] = h
            ys[b, t] = y


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _memory_backward(gm, gh, gy, ms, hs, ys, W_ym, W_hm, W_mm, W_mh, W_hy, lengths, r, f, g,
                     dq, dz, do, cm, ch, cy, s_ym, d_ym, k_ym, s_hm, d_hm, k_hm, s_mm, d_mm,
                     k_mm):
    """Fill dq, dz, do (B, T, ·) and the carries cm, ch, cy (B, ·), which end as the
    gradients of the initial states."""
    B, T, H = hs.shape
    M, O = ms.shape[2], ys.shape[2]
    for b in numba.prange(B):
        c_m, c_h, c_y = cm[b], ch[b], cy[b]  # views: this row's carries, zero on entry
        for t in range(T - 1, -1, -1):
            if t < lengths[b]:
                for i in range(O):
                    do[b, t, i] = (gy[b, t, i] + c_y[i]) * derivative(g, ys[b, t, i])
                for i in range(H):
                    c_h[i] += gh[b, t, i]
                vec_mat_acc(c_h, do[b, t], W_hy)
                for i in range(H):
                    dz[b, t, i] = c_h[i] * derivative(f, hs[b, t, i])
                for i in range(M):
                    c_m[i] += gm[b, t, i]
                vec_mat_acc(c_m, dz[b, t], W_mh)
                for i in range(M):
                    dq[b, t, i] = c_m[i] * derivative(r, ms[b, t, i])
                c_y[:] = 0
                c_h[:] = 0
                c_m[:] = 0
                structured_acc_transposed(c_y, dq[b, t], W_ym, s_ym, d_ym, k_ym)
                structured_acc_transposed(c_h, dq[b, t], W_hm, s_hm, d_hm, k_hm)
                structured_acc_transposed(c_m, dq[b, t], W_mm, s_mm, d_mm, k_mm)
            else:  # padding: the states were copied forward, so their gradients pass back
                for i in range(O):
                    do[b, t, i] = 0
                    c_y[i] += gy[b, t, i]
                for i in range(H):
                    dz[b, t, i] = 0
                    c_h[i] += gh[b, t, i]
                for i in range(M):
                    dq[b, t, i] = 0
                    c_m[i] += gm[b, t, i]


def memory_forward(a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0, lengths, r, f, g):
    B, T, _ = a.shape
    ms = np.empty((B, T, b_m.size), dtype=a.dtype)
    hs = np.empty_like(a)
    ys = np.empty((B, T, b_y.size), dtype=a.dtype)
    c = np.ascontiguousarray
    _memory_forward(c(a), c(W_ym.T), c(W_hm.T), c(W_mm.T), c(b_m), c(W_mh.T), c(W_hy.T), c(b_y),
                    c(m0), c(h0), c(y0), lengths, CODES[r], CODES[f], CODES[g], ms, hs, ys,
                    *structure_of(W_ym), *structure_of(W_hm), *structure_of(W_mm))
    return ms, hs, ys


def memory_backward(gm, gh, gy, ms, hs, ys, W_ym, W_hm, W_mm, W_mh, W_hy, lengths, r, f, g):
    B = hs.shape[0]
    dq, dz, do = np.empty_like(ms), np.empty_like(hs), np.empty_like(ys)
    cm = np.zeros((B, ms.shape[2]), dtype=ms.dtype)
    ch = np.zeros((B, hs.shape[2]), dtype=hs.dtype)
    cy = np.zeros((B, ys.shape[2]), dtype=ys.dtype)
    c = np.ascontiguousarray
    _memory_backward(c(gm), c(gh), c(gy), ms, hs, ys, c(W_ym), c(W_hm), c(W_mm), c(W_mh),
                     c(W_hy), lengths, CODES[r], CODES[f], CODES[g], dq, dz, do, cm, ch, cy,
                     *structure_of(W_ym), *structure_of(W_hm), *structure_of(W_mm))
    return dq, dz, do, cm, ch, cy
