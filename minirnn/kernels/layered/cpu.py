"""The layered recurrence as Numba CPU kernels, parallel over the batch (equations and BPTT in
``reference``). Each thread runs one block of batch rows (as ``elman.cpu`` does), every
product of a step over the whole block with NumPy's BLAS (``minirnn.kernels.blas.gemm``); layers in
order forward and in reverse order backward; weight gradients are left to one matmul each in
the wrapper.

As in ``memory.cpu``: the kernels work on the packed [S | y] (B, T, N+O) arrays of states and
of their gradients, indexed row first so that Numba sees contiguous vectors; the forward
activates straight into the output, never in place.
"""
import numba
import numpy as np

from ..blas import (NOT_TRANSPOSED, block_bounds, cpu_jit, gemm, gemm_address, kernel_threads,
                    row_blocks)
from ..activations import CODES
from ..linalg_cpu import activate_rows, copy_into, delta_rows, output_and_carry, output_delta


@cpu_jit(parallel=True)
def _layered_forward(a, b, Ut, Vt, Yt, W_hyT, b_y, S0, y0, offsets, lengths, f, g, blocks,
                     address, u_cols, v_cols, y_cols, output_feedback, states):
    """Fill states (B, T, N+O) = [S_t | y_t]; a (B, T, A) is the input of the first A units, b
    (N,) every unit's bias. Weights come transposed (contiguous): each
    product is then state rows times a matrix. Layer l's rows of U and V are read only over
    the columns the stack connects (u_cols[l], v_cols[l]: [first, end),
    ``layered.layered_recurrence``), W_hy over y_cols, and Y not at all without output
    feedback (Y = 0)."""
    B, T, A = a.shape
    N, O = b.size, b_y.size
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        state = np.empty((n, N + O), dtype=a.dtype)  # [S | y]_{t-1}
        for i in range(n):
            copy_into(S0[b0 + i], state[i, :N])
            copy_into(y0[b0 + i], state[i, N:])
        z = np.empty((n, N), dtype=a.dtype)  # pre-activations
        o = np.empty((n, O), dtype=a.dtype)
        for t in range(T):
            new = states[b0:b1, t]  # [S | y]_t, activated straight into the output
            for i in range(n):
                copy_into(b, z[i])
                for k in range(A):
                    z[i, k] += a[b0 + i, t, k]
            if output_feedback:
                # the output feedback Y y_{t-1}
                gemm(address, state[:, N:], Yt, z, NOT_TRANSPOSED, 1.0)
            for layer in range(offsets.size - 1):
                lo, hi = offsets[layer], offsets[layer + 1]
                c0, c1 = v_cols[layer, 0], v_cols[layer, 1]
                if c1 > c0:  # previous step: V S_{t-1}
                    gemm(address, state[:, c0:c1], Vt[c0:c1, lo:hi], z[:, lo:hi], NOT_TRANSPOSED,
                         1.0)
                c0, c1 = u_cols[layer, 0], u_cols[layer, 1]
                if c1 > c0:  # same step: U S_t over the layers below, already computed
                    gemm(address, new[:, c0:c1], Ut[c0:c1, lo:hi], z[:, lo:hi], NOT_TRANSPOSED,
                         1.0)
                activate_rows(f, z, states, b0, t, lo, hi, zero)
            for i in range(n):
                copy_into(b_y, o[i])
            c0, c1 = y_cols[0], y_cols[1]
            gemm(address, new[:, c0:c1], W_hyT[c0:c1], o, NOT_TRANSPOSED, 1.0)
            output_and_carry(g, o, states, N, lengths, b0, t, state)


@cpu_jit(parallel=True)
def _layered_backward(grads, states, U, V, Y, W_hy, offsets, lengths, f, g, blocks, address,
                      u_cols, v_cols, y_cols, output_feedback, dz, do, carry):
    """Fill dz, do (B, T, ·) and the carries [cS | cy] (B, N+O), zero on entry, which end as
    the initial states' gradients, from grads = [gS | gy] (B, T, N+O), or gy alone (B, T, O)
    when nothing else reads S_t. A padded step's d's are 0, so the products add nothing to
    that row's carries. The same column ranges as the forward."""
    B, T, N = dz.shape
    gy = grads.shape[2] - do.shape[2]  # the column of gy in grads: N, or 0 for gy alone
    direct = gy > 0  # gradients reach S_t directly
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        c = carry[b0:b1]
        d = np.empty((n, N + do.shape[2]), dtype=dz.dtype)  # [dz_t | do_t], the carries' columns
        none = np.zeros(N, dtype=dz.dtype)  # gS_t when grads is gy alone
        for t in range(T - 1, -1, -1):
            output_delta(g, grads, gy, states, N, lengths, b0, t, c, d)  # do_t
            for i in range(n):
                b = b0 + i
                copy_into(d[i, N:], do[b, t])
                if direct and t >= lengths[b]:  # padding: the direct gradient passes back
                    for k in range(N):
                        c[i, k] += grads[b, t, k]
            c0, c1 = y_cols[0], y_cols[1]
            gemm(address, d[:, N:], W_hy[:, c0:c1], c[:, c0:c1], NOT_TRANSPOSED, 1.0)  # + W_hy^T do
            for layer in range(offsets.size - 2, -1, -1):
                lo, hi = offsets[layer], offsets[layer + 1]
                # dz = (gS + carry + W_hy^T do + U^T dz_above) f'
                delta_rows(f, grads, zero, direct, none, c, states, lo, hi, lengths, b0, t, d)
                c0, c1 = u_cols[layer, 0], u_cols[layer, 1]
                if c1 > c0:  # the layers below read this one's dz through U
                    gemm(address, d[:, lo:hi], U[lo:hi, c0:c1], c[:, c0:c1], NOT_TRANSPOSED, 1.0)
            for i in range(n):
                copy_into(d[i, :N], dz[b0 + i, t])
                if t < lengths[b0 + i]:  # the carries to step t-1 start afresh from dz_t
                    c[i] = 0
            for layer in range(offsets.size - 1):
                lo, hi = offsets[layer], offsets[layer + 1]
                c0, c1 = v_cols[layer, 0], v_cols[layer, 1]
                if c1 > c0:
                    gemm(address, d[:, lo:hi], V[lo:hi, c0:c1], c[:, c0:c1], NOT_TRANSPOSED, 1.0)
            if output_feedback:
                gemm(address, d[:, :N], Y, c[:, N:], NOT_TRANSPOSED, 1.0)


def layered_forward(a, b, U, V, Y, W_hy, b_y, S0, y0, offsets, reads, lengths, f, g):
    B, T, _ = a.shape
    states = np.empty((B, T, b.size + b_y.size), dtype=a.dtype)
    c = np.ascontiguousarray
    blocks = row_blocks(B, B * T * states.shape[2] ** 2)
    with kernel_threads(blocks):  # each thread calls BLAS on its own block
        _layered_forward(c(a), c(b), c(U.T), c(V.T), c(Y.T), c(W_hy.T), c(b_y), c(S0), c(y0),
                         offsets, lengths, CODES[f], CODES[g], blocks,
                         gemm_address(a.dtype), *reads, bool(Y.any()), states)
    return states


def layered_backward(grads, states, U, V, Y, W_hy, offsets, reads, lengths, f, g):
    B, T, S = states.shape
    N = U.shape[0]
    dz = np.empty((B, T, N), dtype=states.dtype)
    do = np.empty((B, T, S - N), dtype=states.dtype)
    carry = np.zeros((B, S), dtype=states.dtype)
    c = np.ascontiguousarray
    blocks = row_blocks(B, B * T * S * S)
    with kernel_threads(blocks):
        _layered_backward(c(grads), c(states), c(U), c(V), c(Y), c(W_hy), offsets, lengths,
                          CODES[f], CODES[g], blocks, gemm_address(states.dtype),
                          *reads, bool(Y.any()), dz, do, carry)
    return dz, do, carry[:, :N], carry[:, N:]
