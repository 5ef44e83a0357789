"""The Elman / state-space recurrence as Numba CPU kernels, parallel over the batch.

Same function as ``reference`` (see its docstring for the equations and the BPTT derivation);
each batch row is an independent recurrence, so the batch is cut into one block of rows per
thread (``row_blocks``) and time stays a sequential loop inside each thread. Each step is then
a small matrix product over the block's rows, done by NumPy's BLAS called from the compiled
code (``minirnn.kernels.blas.gemm``), followed by the activation (branch-free, so it vectorises).
Kernels write into arrays that their wrappers allocate; nothing is allocated inside the time
loop; the running state lives in a small local array, not in a view of the output.

The weight gradient is summed inside the backward kernel too: each block computes its share
Σ_{b in block, t} dz_t h_{t-1}^T as ONE product over the block's (b, t) rows, reading h_{t-1}
as the row before h_t in memory (and correcting the t = 0 rows, whose h_{-1} is h0), so no
shifted copy of hs is made; the wrapper adds the blocks' shares.
``fastmath`` allows only contraction into FMA and sign-of-zero freedom: no NaN/inf assumptions,
so a diverging network shows its NaN.
"""
import numba
import numpy as np

from ..blas import block_bounds, cpu_jit, gemm, gemm_address, kernel_threads, row_blocks
from ..activations import CODES
from ..linalg_cpu import activate_rows, copy_into, delta_rows


@cpu_jit(parallel=True)
def _elman_forward(a, Wt, h0, lengths, code, blocks, address, hs):
    """Fill hs (B, T, H): h_t = f(a_t + W h_{t-1}); Wt = W_hh^T, contiguous."""
    B, T, H = a.shape
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        h = h0[b0:b1].copy()
        z = np.empty((b1 - b0, H), dtype=a.dtype)
        for t in range(T):
            for r in range(b1 - b0):
                copy_into(a[b0 + r, t], z[r])
            gemm(address, h, Wt, z, False, 1.0)  # z += h_{t-1} W_hh^T, every row of the block
            activate_rows(code, z, hs, b0, t, zero, H, zero)  # h_t = f(z_t), into the output
            for r in range(b1 - b0):
                if t < lengths[b0 + r]:
                    copy_into(hs[b0 + r, t], h[r])
                else:  # after its end a row keeps its state
                    copy_into(h[r], hs[b0 + r, t])


@cpu_jit(parallel=True)
def _elman_backward(dhs, hs, W, h0, lengths, code, blocks, address, dz, dh0, dW_blocks):
    """Fill dz (B, T, H), dh0 (B, H) and each block's share of ∂L/∂W_hh:
    dh_t = g_t + W^T dz_{t+1}, dz_t = dh_t f'(z_t), ∂L/∂W_hh = Σ dz_t h_{t-1}^T."""
    B, T, H = hs.shape
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        carry = np.zeros((n, H), dtype=hs.dtype)  # W^T dz_{t+1}: what h_t owes the future
        d = np.empty((n, H), dtype=hs.dtype)  # dz_t of the block
        back = np.empty((n, H), dtype=hs.dtype)
        for t in range(T - 1, -1, -1):
            # dz_t = (g_t + carry) f'(z_t); 0 on padding
            delta_rows(code, dhs, zero, np.bool_(True), d[0, :0], carry, hs, zero, H, lengths, b0,
                       t, d)
            for r in range(n):
                b = b0 + r
                copy_into(d[r], dz[b, t])
                if t >= lengths[b]:  # padding: h_t = h_{t-1}, the gradient passes through
                    for i in range(H):
                        carry[r, i] += dhs[b, t, i]
            gemm(address, d, W, back, False, 0.0)  # W_hh^T dz_t, every row
            for r in range(n):
                if t < lengths[b0 + r]:
                    copy_into(back[r], carry[r])
        # a row loop, not dh0[b0:b1] = carry: an array-to-array slice assignment makes Numba
        # compile its shape-error messages, 3 s of a cold start
        for r in range(n):
            copy_into(carry[r], dh0[b0 + r])
        # Σ dz_t h_{t-1}^T over the block's rows laid end to end: row (b, t) of dz pairs with
        # the row before it in hs, which is h_{t-1} except at t = 0 (there it is the previous
        # batch row's last state, or nothing for the first row): one product, then correct
        # those n rows to pair with h0 instead.
        dz_rows = dz[b0:b1].reshape(n * T, H)
        hs_rows = hs[b0:b1].reshape(n * T, H)
        dW = dW_blocks[block]
        gemm(address, dz_rows[1:], hs_rows[:-1], dW, True, 0.0)
        for r in range(n):
            b = b0 + r
            for i in range(H):
                g = dz[b, 0, i]
                for j in range(H):
                    dW[i, j] += g * h0[b, j]
                if r > 0:
                    for j in range(H):
                        dW[i, j] -= g * hs[b - 1, T - 1, j]


def elman_forward(a, W_hh, h0, lengths, activation):
    B, T, H = a.shape
    hs = np.empty_like(a)
    c = np.ascontiguousarray
    blocks = row_blocks(B, B * T * H * H)
    with kernel_threads(blocks):  # each thread calls BLAS on its own block
        _elman_forward(c(a), c(W_hh.T), c(h0), lengths, CODES[activation], blocks,
                       gemm_address(a.dtype), hs)
    return hs


def elman_backward(dhs, hs, W_hh, h0, lengths, activation):
    """(dz, ∂L/∂W_hh, dh0)."""
    B, T, H = hs.shape
    blocks = row_blocks(B, B * T * H * H)
    dz = np.empty_like(hs)
    dh0 = np.empty((B, H), dtype=hs.dtype)
    dW_blocks = np.empty((blocks, H, H), dtype=hs.dtype)
    with kernel_threads(blocks):
        _elman_backward(np.ascontiguousarray(dhs), hs, np.ascontiguousarray(W_hh),
                        np.ascontiguousarray(h0), lengths, CODES[activation], blocks,
                        gemm_address(hs.dtype), dz, dh0, dW_blocks)
    return dz, dW_blocks.sum(axis=0), dh0
