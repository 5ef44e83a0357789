"""The explicit-memory recurrence as Numba CPU kernels, parallel over the batch.

Same function as ``memory_numpy`` (its docstring has the equations and the BPTT derivation).
Each thread runs one block of batch rows (as ``elman_cpu`` does), every product of a step over
the whole block with NumPy's BLAS (``minirnn.blas.gemm``); the running states live in small
local arrays; weight gradients are left to one matmul each in the wrapper.
W_ym, W_hm and W_mm are applied by their structure when they have one (zero, diagonal, shift:
``linalg_cpu.structure_of``), as Jordan's and NARX's do; when all three are dense (an
ExplicitMemory) they are one product instead, q_t += [m | h | y]_{t-1} [W_mm; W_hm; W_ym]^T,
since the running states sit side by side in one buffer (and so do their carries backward).
"""
import numba
import numpy as np

from ..blas import block_bounds, cpu_jit, gemm, gemm_address, kernel_threads, row_blocks
from .activations import CODES
from .linalg_cpu import (DENSE, activate_into, copy_into, delta_into, output_delta,
                         rows_structured_acc, rows_structured_acc_transposed, structure_of)
from .memory_numpy import unpack


@cpu_jit(parallel=True)
def _memory_forward(a, W_ymT, W_hmT, W_mmT, W_qT, b_m, W_mhT, W_hyT, b_y, m0, h0, y0, lengths,
                    r, f, g, blocks, address, ms, hs, ys, s_ym, d_ym, k_ym, s_hm, d_hm, k_hm,
                    s_mm, d_mm, k_mm):
    """Fill ms, hs, ys. Weights come transposed (contiguous); W_ym, W_hm, W_mm also come with
    their structure (code, diagonal, shift: ``structure_of``); W_qT = [W_mm | W_hm | W_ym]^T
    when all three are dense (else it has no columns). Each thread runs one block of batch
    rows; each product is over the whole block."""
    B, T, H = a.shape
    M, O = b_m.size, b_y.size
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        state = np.empty((n, M + H + O), dtype=a.dtype)  # [m | h | y]_{t-1}, side by side
        m, h, y = state[:, :M], state[:, M:M + H], state[:, M + H:]
        for i in range(n):
            copy_into(m0[b0 + i], m[i])
            copy_into(h0[b0 + i], h[i])
            copy_into(y0[b0 + i], y[i])
        q = np.empty((n, M), dtype=a.dtype)
        z = np.empty((n, H), dtype=a.dtype)
        o = np.empty((n, O), dtype=a.dtype)
        for t in range(T):
            for i in range(n):
                copy_into(b_m, q[i])
            if W_qT.shape[1] > 0:  # all dense: one product over the three states
                gemm(address, state, W_qT, q, False, 1.0)
            else:
                rows_structured_acc(address, q, y, W_ymT, s_ym, d_ym, k_ym)
                rows_structured_acc(address, q, h, W_hmT, s_hm, d_hm, k_hm)
                rows_structured_acc(address, q, m, W_mmT, s_mm, d_mm, k_mm)
            for i in range(n):
                activate_into(r, q[i], q[i])  # q now holds m_t
            for i in range(n):
                copy_into(a[b0 + i, t], z[i])
            gemm(address, q, W_mhT, z, False, 1.0)
            for i in range(n):
                activate_into(f, z[i], z[i])  # z now holds h_t
                copy_into(b_y, o[i])
            gemm(address, z, W_hyT, o, False, 1.0)
            for i in range(n):
                activate_into(g, o[i], o[i])  # o now holds y_t
                if t < lengths[b0 + i]:  # after its end a row keeps its states
                    copy_into(q[i], m[i])
                    copy_into(z[i], h[i])
                    copy_into(o[i], y[i])
                copy_into(m[i], ms[b0 + i, t])
                copy_into(h[i], hs[b0 + i, t])
                copy_into(y[i], ys[b0 + i, t])


@cpu_jit(parallel=True)
def _memory_backward(gm, gh, gy, ms, hs, ys, W_ym, W_hm, W_mm, W_q, W_mh, W_hy, lengths, r, f,
                     g, blocks, address, dq, dz, do, carry, s_ym, d_ym, k_ym, s_hm, d_hm, k_hm,
                     s_mm, d_mm, k_mm):
    """Fill dq, dz, do (B, T, ·) and the carries [cm | ch | cy] (B, M+H+O), zero on entry,
    which end as the gradients of the initial states. A padded step's d's are 0, so the
    products add nothing to that row's carries, which only collect its direct gradients
    (gm, gh, gy). W_q = [W_mm | W_hm | W_ym] when all three are dense (else empty)."""
    B, T, H = hs.shape
    M = ms.shape[2]
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        c = carry[b0:b1]  # this block's carries, side by side
        c_m, c_h, c_y = c[:, :M], c[:, M:M + H], c[:, M + H:]
        for t in range(T - 1, -1, -1):
            d_o, d_z, d_q = do[b0:b1, t], dz[b0:b1, t], dq[b0:b1, t]
            output_delta(g, gy, ys, lengths, b0, t, c_y, d_o)
            for i in range(n):
                if t >= lengths[b0 + i]:  # padding: the direct gradients pass straight back
                    for k in range(H):
                        c_h[i, k] += gh[b0 + i, t, k]
                    for k in range(M):
                        c_m[i, k] += gm[b0 + i, t, k]
            gemm(address, d_o, W_hy, c_h, False, 1.0)  # carry + W_hy^T do
            for i in range(n):
                b = b0 + i
                if t < lengths[b]:  # dz_t = (gh + W_hm^T dq_{t+1} + W_hy^T do_t) f'
                    delta_into(f, gh[b, t], c_h[i], hs[b, t], d_z[i])
                else:
                    d_z[i] = 0
            gemm(address, d_z, W_mh, c_m, False, 1.0)  # carry + W_mh^T dz
            for i in range(n):
                b = b0 + i
                if t < lengths[b]:  # dq_t = (gm + W_mm^T dq_{t+1} + W_mh^T dz_t) r'
                    delta_into(r, gm[b, t], c_m[i], ms[b, t], d_q[i])
                    c_y[i], c_h[i], c_m[i] = 0, 0, 0  # the carries to t-1 start from dq_t
                else:
                    d_q[i] = 0
            if W_q.shape[0] > 0:  # all dense: one product sends dq_t to the three states
                gemm(address, d_q, W_q, c, False, 1.0)
            else:
                rows_structured_acc_transposed(address, c_y, d_q, W_ym, s_ym, d_ym, k_ym)
                rows_structured_acc_transposed(address, c_h, d_q, W_hm, s_hm, d_hm, k_hm)
                rows_structured_acc_transposed(address, c_m, d_q, W_mm, s_mm, d_mm, k_mm)


def memory_forward(a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0, lengths, r, f, g):
    B, T, H = a.shape
    states = np.empty((B, T, b_m.size + H + b_y.size), dtype=a.dtype)
    ms, hs, ys = unpack(states, b_m.size, H)  # the kernel writes into views of one array
    c = np.ascontiguousarray
    W_q = _stacked(W_ym, W_hm, W_mm)
    with kernel_threads():  # each thread calls BLAS on its own block
        _memory_forward(c(a), c(W_ym.T), c(W_hm.T), c(W_mm.T), c(W_q.T), c(b_m), c(W_mh.T),
                        c(W_hy.T), c(b_y), c(m0), c(h0), c(y0), lengths, CODES[r], CODES[f],
                        CODES[g],
                        row_blocks(B), gemm_address(a.dtype), ms, hs, ys, *structure_of(W_ym),
                        *structure_of(W_hm), *structure_of(W_mm))
    return states


def memory_backward(gm, gh, gy, ms, hs, ys, W_ym, W_hm, W_mm, W_mh, W_hy, lengths, r, f, g):
    B, _, H = hs.shape
    M = ms.shape[2]
    dq, dz, do = (np.empty(s.shape, dtype=s.dtype) for s in (ms, hs, ys))
    carry = np.zeros((B, M + H + ys.shape[2]), dtype=hs.dtype)
    c = np.ascontiguousarray
    with kernel_threads():  # gm, gh, gy: slices of one array, read in place (no copies)
        _memory_backward(gm, gh, gy, ms, hs, ys, c(W_ym), c(W_hm), c(W_mm),
                         _stacked(W_ym, W_hm, W_mm), c(W_mh), c(W_hy), lengths, CODES[r],
                         CODES[f], CODES[g], row_blocks(B), gemm_address(hs.dtype), dq, dz, do,
                         carry, *structure_of(W_ym), *structure_of(W_hm), *structure_of(W_mm))
    return dq, dz, do, carry[:, :M], carry[:, M:M + H], carry[:, M + H:]


def _stacked(W_ym, W_hm, W_mm):
    """[W_mm | W_hm | W_ym] (M, M+H+O) when all three are dense, else an empty (0, M+H+O)."""
    if any(structure_of(W)[0] != DENSE for W in (W_ym, W_hm, W_mm)):
        return np.zeros((0, W_mm.shape[1] + W_hm.shape[1] + W_ym.shape[1]), dtype=W_mm.dtype)
    return np.ascontiguousarray(np.concatenate([W_mm, W_hm, W_ym], axis=1))
