"""The layered recurrence as Numba CPU kernels, parallel over the batch (equations and BPTT in
``layered_numpy``). Each thread runs one block of batch rows (as ``elman_cpu`` does), every
product of a step over the whole block with NumPy's BLAS (``minirnn.blas.gemm``); layers in
order forward and in reverse order backward; weight gradients are left to one matmul each in
the wrapper."""
import numba
import numpy as np

from ..blas import block_bounds, cpu_jit, gemm, gemm_address, kernel_threads, row_blocks
from .activations import CODES
from .linalg_cpu import activate_into, copy_into, delta_into, output_delta


@cpu_jit(parallel=True)
def _layered_forward(a, Ut, Vt, Yt, W_hyT, b_y, S0, y0, offsets, lengths, f, g, blocks, address,
                     u_cols, v_cols, y_cols, output_feedback, S_all, ys):
    """Weights come transposed (contiguous): each product is then state rows times a matrix.
    Layer l's rows of U and V are read only over the columns the stack connects (u_cols[l],
    v_cols[l]: [first, end), ``layered.layered_recurrence``), W_hy over y_cols, and Y not at
    all without output feedback (Y = 0)."""
    B, T, N = a.shape
    O = b_y.size
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        S, y = S0[b0:b1].copy(), y0[b0:b1].copy()
        S_new = np.empty((n, N), dtype=a.dtype)
        y_new = np.empty((n, O), dtype=a.dtype)
        for t in range(T):
            for i in range(n):
                copy_into(a[b0 + i, t], S_new[i])
            if output_feedback:
                gemm(address, y, Yt, S_new, False, 1.0)  # the output feedback Y y_{t-1}
            for layer in range(offsets.size - 1):
                lo, hi = offsets[layer], offsets[layer + 1]
                c0, c1 = v_cols[layer, 0], v_cols[layer, 1]
                if c1 > c0:  # previous step: V S_{t-1}
                    gemm(address, S[:, c0:c1], Vt[c0:c1, lo:hi], S_new[:, lo:hi], False, 1.0)
                c0, c1 = u_cols[layer, 0], u_cols[layer, 1]
                if c1 > c0:  # same step: U S_t over the layers below, already computed
                    gemm(address, S_new[:, c0:c1], Ut[c0:c1, lo:hi], S_new[:, lo:hi], False,
                         1.0)
                for i in range(n):
                    activate_into(f, S_new[i, lo:hi], S_new[i, lo:hi])
            for i in range(n):
                copy_into(b_y, y_new[i])
            c0, c1 = y_cols[0], y_cols[1]
            gemm(address, S_new[:, c0:c1], W_hyT[c0:c1], y_new, False, 1.0)
            for i in range(n):
                activate_into(g, y_new[i], y_new[i])
                if t < lengths[b0 + i]:  # after its end a row keeps its states
                    copy_into(S_new[i], S[i])
                    copy_into(y_new[i], y[i])
                copy_into(S[i], S_all[b0 + i, t])
                copy_into(y[i], ys[b0 + i, t])


@cpu_jit(parallel=True)
def _layered_backward(gS, gy, S_all, ys, U, V, Y, W_hy, offsets, lengths, f, g, blocks, address,
                      u_cols, v_cols, y_cols, output_feedback, dz, do, cS, cy):
    """Fill dz, do (B, T, ·); cS, cy (B, ·), zero on entry, end as the initial gradients. A
    padded step's d's are 0, so the products add nothing to that row's carries. The same
    column ranges as the forward."""
    B, T, N = S_all.shape
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        c_S, c_y = cS[b0:b1], cy[b0:b1]
        for t in range(T - 1, -1, -1):
            d_o, d_z = do[b0:b1, t], dz[b0:b1, t]
            output_delta(g, gy, ys, lengths, b0, t, c_y, d_o)
            for i in range(n):
                if t >= lengths[b0 + i]:  # padding: the direct gradient passes straight back
                    for k in range(N):
                        c_S[i, k] += gS[b0 + i, t, k]
            c0, c1 = y_cols[0], y_cols[1]
            gemm(address, d_o, W_hy[:, c0:c1], c_S[:, c0:c1], False, 1.0)  # + W_hy^T do
            for layer in range(offsets.size - 2, -1, -1):
                lo, hi = offsets[layer], offsets[layer + 1]
                for i in range(n):
                    b = b0 + i
                    if t < lengths[b]:  # dz = (gS + carry + W_hy^T do + U^T dz_above) f'
                        delta_into(f, gS[b, t, lo:hi], c_S[i, lo:hi], S_all[b, t, lo:hi],
                                   d_z[i, lo:hi])
                    else:
                        d_z[i, lo:hi] = 0
                c0, c1 = u_cols[layer, 0], u_cols[layer, 1]
                if c1 > c0:  # the layers below read this one's dz through U
                    gemm(address, d_z[:, lo:hi], U[lo:hi, c0:c1], c_S[:, c0:c1], False, 1.0)
            for i in range(n):
                if t < lengths[b0 + i]:  # the carries to step t-1 start afresh from dz_t
                    c_S[i], c_y[i] = 0, 0
            for layer in range(offsets.size - 1):
                lo, hi = offsets[layer], offsets[layer + 1]
                c0, c1 = v_cols[layer, 0], v_cols[layer, 1]
                if c1 > c0:
                    gemm(address, d_z[:, lo:hi], V[lo:hi, c0:c1], c_S[:, c0:c1], False, 1.0)
            if output_feedback:
                gemm(address, d_z, Y, c_y, False, 1.0)


def layered_forward(a, U, V, Y, W_hy, b_y, S0, y0, offsets, reads, lengths, f, g):
    B, T, N = a.shape
    S_all = np.empty_like(a)
    ys = np.empty((B, T, b_y.size), dtype=a.dtype)
    c = np.ascontiguousarray
    with kernel_threads():  # each thread calls BLAS on its own block
        _layered_forward(c(a), c(U.T), c(V.T), c(Y.T), c(W_hy.T), c(b_y), c(S0), c(y0), offsets,
                         lengths, CODES[f], CODES[g], row_blocks(B), gemm_address(a.dtype),
                         *reads, bool(Y.any()), S_all, ys)
    return S_all, ys


def layered_backward(gS, gy, S_all, ys, U, V, Y, W_hy, offsets, reads, lengths, f, g):
    B, T, N = S_all.shape
    dz, do = np.empty_like(S_all), np.empty_like(ys)
    cS = np.zeros((B, N), dtype=S_all.dtype)
    cy = np.zeros((B, ys.shape[2]), dtype=ys.dtype)
    c = np.ascontiguousarray
    with kernel_threads():
        _layered_backward(gS, gy, S_all, ys, c(U), c(V), c(Y), c(W_hy), offsets, lengths,
                          CODES[f], CODES[g], row_blocks(B), gemm_address(S_all.dtype),
                          *reads, bool(Y.any()), dz, do, cS, cy)
    return dz, do, cS, cy
