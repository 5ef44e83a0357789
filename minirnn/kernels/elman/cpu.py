"""The Elman / state-space layer as Numba CPU kernels, parallel over the batch.

Same function as ``reference`` (see its docstring for the equations and the BPTT derivation);
each batch row is an independent recurrence, so the batch is cut into one block of rows per
thread (``row_blocks``) and time stays a sequential loop inside each thread. Each block first
projects its inputs, a_t = W_xh x_t + b_h for all its (b, t) rows at once (one product, outside
the time loop); then each step is a small matrix product over the block's rows, done by NumPy's
BLAS called from the compiled code (``minirnn.kernels.blas.gemm``; tiny products by its own
loop), followed by the activation (branch-free, so it vectorises). Kernels write into arrays
that their wrappers allocate; nothing is allocated inside the time loop; the running state lives
in a small local array, not in a view of the output.

The weight gradients are summed inside the backward kernel too: each block computes its share
of Σ_{b in block, t} dz_t h_{t-1}^T, Σ dz_t x_t^T and Σ dz_t as ONE product (or pass) over the
block's (b, t) rows while its dz is still in its cache, reading h_{t-1} as the row before h_t
in memory (and correcting the t = 0 rows, whose h_{-1} is h0), so no shifted copy of hs is
made; the wrapper adds the blocks' shares. The input projection and its gradients inside the
one call, instead of a linear op on each side of it, took a quarter off a tiny network's
forward + backward, which is mostly Python around the arithmetic (BENCHMARKS.md).
``fastmath`` allows only contraction into FMA and sign-of-zero freedom: no NaN/inf assumptions,
so a diverging network shows its NaN.
"""
import numba
import numpy as np

from ..blas import (block_bounds, block_sum, cpu_jit, gemm, gemm_address, kernel_threads,
                    row_blocks)
from ..activations import CODES
from ..linalg_cpu import activate_rows, copy_into, delta_rows, sum_outer_previous_rows


@cpu_jit(parallel=True)
def _elman_forward(x, Win_t, b_in, Wt, h0, lengths, code, blocks, address, hs):
    """Fill hs (B, T, H): h_t = f(a_t + W h_{t-1}) with a_t = W_in x_t + b_in, Win_t = W_in^T
    (I, H) and Wt = W_hh^T contiguous. Each block first writes its rows' projections into hs
    (one product over the block's (b, t) rows, outside the time loop), then overwrites them
    step by step with the states: a_t is read before h_t is written."""
    B, T, H = hs.shape
    I = x.shape[2]
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        rows = hs[b0:b1].reshape(n * T, H)
        gemm(address, x[b0:b1].reshape(n * T, I), Win_t, rows, False, 0.0)
        for r in range(n * T):
            for j in range(H):
                rows[r, j] += b_in[j]
        h = h0[b0:b1].copy()
        z = np.empty((n, H), dtype=hs.dtype)
        for t in range(T):
            for r in range(n):
                copy_into(hs[b0 + r, t], z[r])
            gemm(address, h, Wt, z, False, 1.0)  # z += h_{t-1} W_hh^T, every row of the block
            activate_rows(code, z, hs, b0, t, zero, H, zero)  # h_t = f(z_t), into the output
            for r in range(n):
                if t < lengths[b0 + r]:
                    copy_into(hs[b0 + r, t], h[r])
                else:  # after its end a row keeps its state
                    copy_into(h[r], hs[b0 + r, t])


@cpu_jit(parallel=True)
def _elman_backward(dhs, hs, W, h0, lengths, code, blocks, address, x, W_in, dz, dh0,
                    dW_blocks, dWin_blocks, db_blocks, dx):
    """Fill dz (B, T, H), dh0 (B, H), each block's share of ∂L/∂W_hh, ∂L/∂W_in and ∂L/∂b_in,
    and dx (B, T, I) unless it is empty: dh_t = g_t + W^T dz_{t+1}, dz_t = dh_t f'(z_t),
    ∂L/∂W_hh = Σ dz_t h_{t-1}^T, ∂L/∂W_in = Σ dz_t x_t^T, ∂L/∂b_in = Σ dz_t, dx_t = W_in^T dz_t."""
    B, T, H = hs.shape
    I = x.shape[2]
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
        # the sums over the block's (b, t) rows, one product each while dz is in the cache
        dz_rows = dz[b0:b1].reshape(n * T, H)
        sum_outer_previous_rows(address, dz, dz_rows, hs[b0:b1].reshape(n * T, H), h0, b0, H,
                                back, dW_blocks[block])  # Σ dz_t h_{t-1}^T
        x_rows = x[b0:b1].reshape(n * T, I)
        gemm(address, dz_rows, x_rows, dWin_blocks[block], True, 0.0)  # Σ dz_t x_t^T
        db = db_blocks[block]
        for j in range(H):
            db[j] = 0
        for r in range(n * T):
            for j in range(H):
                db[j] += dz_rows[r, j]
        if dx.shape[0] > 0:
            gemm(address, dz_rows, W_in, dx[b0:b1].reshape(n * T, I), False, 0.0)


def elman_forward(x, W_in, b_in, W_hh, h0, lengths, activation):
    """hs (B, T, H) from x (B, T, I) through a_t = W_in x_t + b_in."""
    B, T, I = x.shape
    H = W_hh.shape[0]
    hs = np.empty((B, T, H), dtype=x.dtype)
    c = np.ascontiguousarray
    blocks = row_blocks(B, B * T * H * (H + I))
    with kernel_threads(blocks):  # each thread calls BLAS on its own block
        _elman_forward(c(x), c(W_in.T), c(b_in), c(W_hh.T), c(h0), lengths, CODES[activation],
                       blocks, gemm_address(x.dtype), hs)
    return hs


def elman_backward(dhs, hs, x, W_in, W_hh, h0, lengths, activation, need_dx, keep_dz=False):
    """(dx or None, ∂L/∂W_in, ∂L/∂b_in, ∂L/∂W_hh, dh0), and dz (B, T, H) last with
    ``keep_dz`` (for the states' gradients: ``fused.StateTaps``)."""
    B, T, H = hs.shape
    I = x.shape[2]
    blocks = row_blocks(B, B * T * H * (H + I))
    dtype = hs.dtype
    dz = np.empty_like(hs)
    dh0 = np.empty((B, H), dtype=dtype)
    dW_blocks = np.empty((blocks, H, H), dtype=dtype)
    dWin_blocks = np.empty((blocks, H, I), dtype=dtype)
    db_blocks = np.empty((blocks, H), dtype=dtype)
    dx = np.empty((B, T, I) if need_dx else (0, 0, 0), dtype=dtype)
    c = np.ascontiguousarray
    with kernel_threads(blocks):
        _elman_backward(c(dhs), hs, c(W_hh), c(h0), lengths, CODES[activation], blocks,
                        gemm_address(dtype), c(x), c(W_in), dz, dh0, dW_blocks, dWin_blocks,
                        db_blocks, dx)
    grads = (dx if need_dx else None, block_sum(dWin_blocks), block_sum(db_blocks),
             block_sum(dW_blocks), dh0)
    return (*grads, dz) if keep_dz else grads
