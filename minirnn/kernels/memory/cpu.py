"""The explicit-memory recurrence as Numba CPU kernels, parallel over the batch.

Same function as ``reference`` (its docstring has the equations and the BPTT derivation).
Each thread runs one block of batch rows (as ``elman.cpu`` does), every product of a step over
the whole block with NumPy's BLAS (``minirnn.kernels.blas.gemm``); the running states live in small
local arrays; weight gradients are left to one matmul each in the wrapper.
W_ym, W_hm and W_mm are applied by their structure when they have one (zero, diagonal, shift:
``linalg_cpu.structure_of``), as Jordan's and NARX's do; when all three are dense (an
ExplicitMemory) they are one product instead, q_t += [m | h | y]_{t-1} [W_mm; W_hm; W_ym]^T,
since the running states sit side by side in one buffer (and so do their carries backward).

The kernels read and write the packed arrays [m | h | y] (B, T, M+H+O) of states and of their
gradients, and index a row before its columns (``states[b, t, M:M + H]``): Numba then knows
each vector is contiguous and vectorises the loops over it. Through views of the packed array
(``states[:, :, M:M + H][b, t]``) it would not know, and the loops ran scalar. The forward
activates from pre-activation buffers straight into the output, never in place
(``linalg_cpu.activate_rows`` says why), and keeps a copy of the last states for the next step
(a row past its end copies them forward instead).
"""
import numba
import numpy as np

from ..blas import (NOT_TRANSPOSED, block_bounds, cpu_jit, gemm, gemm_address, kernel_threads,
                    row_blocks)
from ..activations import CODES
from ..linalg_cpu import (DENSE, activate_rows, copy_into, delta_rows, output_and_carry,
                         output_delta, rows_structured_acc, rows_structured_acc_transposed,
                         structure_of)


@cpu_jit(parallel=True)
def _memory_forward(a, W_ymT, W_hmT, W_mmT, W_qT, b_m, W_mhT, W_hyT, b_y, m0, h0, y0, lengths,
                    r, f, g, blocks, address, states, s_ym, d_ym, k_ym, s_hm, d_hm, k_hm,
                    s_mm, d_mm, k_mm):
    """Fill states (B, T, M+H+O). Weights come transposed (contiguous); W_ym, W_hm, W_mm also
    come with their structure (code, diagonal, shift: ``structure_of``); W_qT = [W_mm | W_hm |
    W_ym]^T when all three are dense (else it has no columns). Each thread runs one block of
    batch rows; each product is over the whole block."""
    B, T, H = a.shape
    M, O = b_m.size, b_y.size
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        state = np.empty((n, M + H + O), dtype=a.dtype)  # [m | h | y]_{t-1}, side by side
        for i in range(n):
            copy_into(m0[b0 + i], state[i, :M])
            copy_into(h0[b0 + i], state[i, M:M + H])
            copy_into(y0[b0 + i], state[i, M + H:])
        q = np.empty((n, M), dtype=a.dtype)  # the pre-activations of m_t, h_t, y_t
        z = np.empty((n, H), dtype=a.dtype)
        o = np.empty((n, O), dtype=a.dtype)
        for t in range(T):
            new = states[b0:b1, t]  # [m | h | y]_t, activated straight into the output
            for i in range(n):
                copy_into(b_m, q[i])
            if W_qT.shape[1] > 0:  # all dense: one product over the three states
                gemm(address, state, W_qT, q, NOT_TRANSPOSED, 1.0)
            else:
                rows_structured_acc(address, q, state, M + H, W_ymT, s_ym, d_ym, k_ym)
                rows_structured_acc(address, q, state, M, W_hmT, s_hm, d_hm, k_hm)
                rows_structured_acc(address, q, state, zero, W_mmT, s_mm, d_mm, k_mm)
            activate_rows(r, q, states, b0, t, zero, M, zero)  # m_t
            for i in range(n):
                copy_into(a[b0 + i, t], z[i])
            gemm(address, new[:, :M], W_mhT, z, NOT_TRANSPOSED, 1.0)
            activate_rows(f, z, states, b0, t, zero, H, M)  # h_t
            for i in range(n):
                copy_into(b_y, o[i])
            gemm(address, new[:, M:M + H], W_hyT, o, NOT_TRANSPOSED, 1.0)
            output_and_carry(g, o, states, M + H, lengths, b0, t, state)


@cpu_jit(parallel=True)
def _memory_backward(grads, states, W_ym, W_hm, W_mm, W_q, W_mh, W_hy, lengths, r, f, g,
                     blocks, address, dq, dz, do, carry, s_ym, d_ym, k_ym, s_hm, d_hm, k_hm,
                     s_mm, d_mm, k_mm):
    """Fill dq, dz, do (B, T, ·) and the carries [cm | ch | cy] (B, M+H+O), zero on entry,
    which end as the gradients of the initial states; dq may be (B, T, 0) when no gradient
    needs it (NARX's and Jordan's fixed memory weights). grads = [gm | gh | gy], the gradients
    reaching the packed states directly, or gy alone (B, T, O) when nothing else reads m_t
    and h_t. A padded step's d's are 0, so the products add nothing to that row's carries,
    which only collect its direct gradients. W_q = [W_mm | W_hm | W_ym] when all three are
    dense (else empty)."""
    B, T, _ = states.shape
    M, H, O = W_mm.shape[0], dz.shape[2], do.shape[2]
    keep_dq = dq.shape[2] > 0
    gy = grads.shape[2] - O  # the column of gy in grads: M + H, or 0 for gy alone
    direct = gy > 0  # gradients reach m_t and h_t directly
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        c = carry[b0:b1]  # this block's carries [cm | ch | cy], side by side
        d = np.empty((n, M + H + O), dtype=dz.dtype)  # [· | dz_t | do_t], the carries' columns
        d_q = np.empty((n, M), dtype=dz.dtype)  # dq_t, read by the products
        none = np.zeros(max(M, H), dtype=dz.dtype)  # gm_t, gh_t when grads is gy alone
        for t in range(T - 1, -1, -1):
            output_delta(g, grads, gy, states, M + H, lengths, b0, t, c, d)  # do_t
            for i in range(n):
                b = b0 + i
                copy_into(d[i, M + H:], do[b, t])
                if direct and t >= lengths[b]:  # padding: the direct gradients pass back
                    for k in range(M + H):
                        c[i, k] += grads[b, t, k]
            gemm(address, d[:, M + H:], W_hy, c[:, M:M + H], NOT_TRANSPOSED, 1.0)  # ch + W_hy^T do
            # dz_t = (gh + W_hm^T dq_{t+1} + W_hy^T do_t) f'
            delta_rows(f, grads, zero, direct, none, c, states, M, M + H, lengths, b0, t, d)
            for i in range(n):
                copy_into(d[i, M:M + H], dz[b0 + i, t])
            gemm(address, d[:, M:M + H], W_mh, c[:, :M], NOT_TRANSPOSED, 1.0)  # cm + W_mh^T dz
            # dq_t = (gm + W_mm^T dq_{t+1} + W_mh^T dz_t) r'
            delta_rows(r, grads, zero, direct, none, c, states, zero, M, lengths, b0, t, d_q)
            for i in range(n):
                b = b0 + i
                if t < lengths[b]:
                    c[i] = 0  # the carries to t-1 start from dq_t
                if keep_dq:
                    copy_into(d_q[i], dq[b, t])
            if W_q.shape[0] > 0:  # all dense: one product sends dq_t to the three states
                gemm(address, d_q, W_q, c, NOT_TRANSPOSED, 1.0)
            else:
                rows_structured_acc_transposed(address, c, M + H, d_q, W_ym, s_ym, d_ym, k_ym)
                rows_structured_acc_transposed(address, c, M, d_q, W_hm, s_hm, d_hm, k_hm)
                rows_structured_acc_transposed(address, c, zero, d_q, W_mm, s_mm, d_mm, k_mm)


def memory_forward(a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0, lengths, r, f, g):
    B, T, H = a.shape
    states = np.empty((B, T, b_m.size + H + b_y.size), dtype=a.dtype)
    c = np.ascontiguousarray
    W_q = _stacked(W_ym, W_hm, W_mm)
    blocks = row_blocks(B, B * T * states.shape[2] ** 2)
    with kernel_threads(blocks):  # each thread calls BLAS on its own block
        _memory_forward(c(a), c(W_ym.T), c(W_hm.T), c(W_mm.T), c(W_q.T), c(b_m), c(W_mh.T),
                        c(W_hy.T), c(b_y), c(m0), c(h0), c(y0), lengths, CODES[r], CODES[f],
                        CODES[g], blocks, gemm_address(a.dtype), states,
                        *structure_of(W_ym), *structure_of(W_hm), *structure_of(W_mm))
    return states


def memory_backward(grads, states, W_ym, W_hm, W_mm, W_mh, W_hy, lengths, r, f, g,
                    keep_dq=True):
    B, T, S = states.shape
    M, H = W_mm.shape[0], W_mh.shape[0]
    dq, dz, do = (np.empty((B, T, n), dtype=states.dtype)
                  for n in (M if keep_dq else 0, H, S - M - H))
    carry = np.zeros((B, S), dtype=states.dtype)
    c = np.ascontiguousarray
    blocks = row_blocks(B, B * T * S * S)
    with kernel_threads(blocks):
        _memory_backward(c(grads), c(states), c(W_ym), c(W_hm), c(W_mm),
                         _stacked(W_ym, W_hm, W_mm), c(W_mh), c(W_hy), lengths, CODES[r],
                         CODES[f], CODES[g], blocks, gemm_address(states.dtype), dq, dz,
                         do, carry, *structure_of(W_ym), *structure_of(W_hm),
                         *structure_of(W_mm))
    return dq if keep_dq else None, dz, do, carry[:, :M], carry[:, M:M + H], carry[:, M + H:]


def _stacked(W_ym, W_hm, W_mm):
    """[W_mm | W_hm | W_ym] (M, M+H+O) when all three are dense, else an empty (0, M+H+O)."""
    if any(structure_of(W)[0] != DENSE for W in (W_ym, W_hm, W_mm)):
        return np.zeros((0, W_mm.shape[1] + W_hm.shape[1] + W_ym.shape[1]), dtype=W_mm.dtype)
    return np.ascontiguousarray(np.concatenate([W_mm, W_hm, W_ym], axis=1))
