"""The layered recurrence as Numba CPU kernels, parallel over the batch (equations and BPTT in
``layered_numpy``). Per row: local state vectors, layers in order forward and in reverse order
backward; weight gradients are left to one matmul each in the wrapper."""
import numba
import numpy as np

from .activations import CODES, derivative
from .linalg_cpu import FASTMATH, activate_into, vec_mat_acc


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _layered_forward(a, Ut, Vt, Yt, W_hyT, b_y, S0, y0, offsets, lengths, f, g, S_all, ys):
    """Weights come transposed (contiguous) so each product is an axpy over rows."""
    B, T, N = a.shape
    O = b_y.size
    for b in numba.prange(B):
        S, y = S0[b].copy(), y0[b].copy()
        S_new = np.empty(N, dtype=a.dtype)
        y_new = np.empty(O, dtype=a.dtype)
        for t in range(T):
            if t < lengths[b]:
                S_new[:] = a[b, t]
                vec_mat_acc(S_new, S, Vt)  # previous step: every layer reads V S_{t-1}
                vec_mat_acc(S_new, y, Yt)  # and the output feedback Y y_{t-1}
                for layer in range(offsets.size - 1):
                    lo, hi = offsets[layer], offsets[layer + 1]
                    for j in range(lo):  # same step: the layers below, already computed
                        sj = S_new[j]
                        for i in range(lo, hi):
                            S_new[i] += sj * Ut[j, i]
                    activate_into(f, S_new[lo:hi], S_new[lo:hi])
                y_new[:] = b_y
                vec_mat_acc(y_new, S_new, W_hyT)
                activate_into(g, y_new, y)
                S[:] = S_new
            S_all[b, t] = S
            ys[b, t] = y


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _layered_backward(gS, gy, S_all, ys, U, V, Y, W_hy, offsets, lengths, f, g, dz, do, cS, cy):
    """Fill dz, do (B, T, ·); cS, cy (B, ·), zero on entry, end as the initial gradients."""
    B, T, N = S_all.shape
    O = ys.shape[2]
    for b in numba.prange(B):
        c_S, c_y = cS[b], cy[b]
        for t in range(T - 1, -1, -1):
            if t < lengths[b]:
                for k in range(O):
                    do[b, t, k] = (gy[b, t, k] + c_y[k]) * derivative(g, ys[b, t, k])
                for i in range(N):  # dS = gS + cS + W_hy^T do, kept in c_S
                    c_S[i] += gS[b, t, i]
                vec_mat_acc(c_S, do[b, t], W_hy)
                for layer in range(offsets.size - 2, -1, -1):
                    lo, hi = offsets[layer], offsets[layer + 1]
                    for i in range(lo, hi):
                        dz[b, t, i] = c_S[i] * derivative(f, S_all[b, t, i])
                        di = dz[b, t, i]
                        for j in range(lo):
                            c_S[j] += di * U[i, j]
                c_S[:] = 0
                c_y[:] = 0
                vec_mat_acc(c_S, dz[b, t], V)
                vec_mat_acc(c_y, dz[b, t], Y)
            else:
                for k in range(O):
                    do[b, t, k] = 0
                    c_y[k] += gy[b, t, k]
                for i in range(N):
                    dz[b, t, i] = 0
                    c_S[i] += gS[b, t, i]


def layered_forward(a, U, V, Y, W_hy, b_y, S0, y0, offsets, lengths, f, g):
    B, T, N = a.shape
    S_all = np.empty_like(a)
    ys = np.empty((B, T, b_y.size), dtype=a.dtype)
    c = np.ascontiguousarray
    _layered_forward(c(a), c(U.T), c(V.T), c(Y.T), c(W_hy.T), c(b_y), c(S0), c(y0), offsets,
                     lengths, CODES[f], CODES[g], S_all, ys)
    return S_all, ys


def layered_backward(gS, gy, S_all, ys, U, V, Y, W_hy, offsets, lengths, f, g):
    B, T, N = S_all.shape
    dz, do = np.empty_like(S_all), np.empty_like(ys)
    cS = np.zeros((B, N), dtype=S_all.dtype)
    cy = np.zeros((B, ys.shape[2]), dtype=ys.dtype)
    c = np.ascontiguousarray
    _layered_backward(c(gS), c(gy), S_all, ys, c(U), c(V), c(Y), c(W_hy), offsets, lengths,
                      CODES[f], CODES[g], dz, do, cS, cy)
    return dz, do, cS, cy
