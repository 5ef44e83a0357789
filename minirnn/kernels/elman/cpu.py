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
The network op (``op.elman_network``) hands the kernels its output layer too, y = g(W_out h_t
+ b_out): each block multiplies its (b, t) rows of hs by W_out^T once its recurrence is done,
and the backward starts with that layer's (dv = dy g'(v), dhs = dv W_out and the block's
shares of ∂L/∂W_out and ∂L/∂b_out, one product or pass each) before its BPTT; the layer op
passes an output of width 0. One body per direction (``_forward_rows``, ``_block_backward``)
runs in a loop over the blocks, compiled twice (``blas.RowBlockKernel``): in parallel, and
serially for a batch that is one block, where Numba's parallel launch (about 7 us) would cost
more than a tiny network's forward. The bodies and their parts (``_output_backward_rows``,
``_backward_rows``) are compiled into the kernel (``cpu_jit(inline=True)``): one function that
LLVM optimises once, where a call per part had it optimise the parts again at every level.
``fastmath`` allows only contraction into FMA and sign-of-zero freedom: no NaN/inf assumptions,
so a diverging network shows its NaN.
"""
import numba
import numpy as np

from ..blas import (NOT_TRANSPOSED, TRANSPOSED, block_bounds, block_sum, cpu_jit, gemm,
                    gemm_address, kernel_threads, row_blocks)
from ..activations import CODES, activate, derivative
from ..linalg_cpu import activate_rows, copy_into, delta_rows, sum_outer_previous_rows

IDENTITY = CODES["identity"]


@cpu_jit(inline=True)
def _forward_rows(b0, b1, x, Win_t, b_in, Wt, h0, lengths, code, address, hs, Wout_t, b_out,
                  out_code, y):
    """Fill hs[b0:b1] (n, T, H): h_t = f(a_t + W h_{t-1}) with a_t = W_in x_t + b_in, Win_t =
    W_in^T (I, H) and Wt = W_hh^T contiguous; then y[b0:b1] (n, T, O) = g(W_out h_t + b_out)
    (nothing when O = 0). The rows' projections go into hs first (one product over the
    block's (b, t) rows, outside the time loop), then step by step the states overwrite them:
    a_t is read before h_t is written."""
    T, H = hs.shape[1], hs.shape[2]
    I = x.shape[2]
    n = b1 - b0
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    rows = hs[b0:b1].reshape(n * T, H)
    gemm(address, x[b0:b1].reshape(n * T, I), Win_t, rows, NOT_TRANSPOSED, 0.0)
    for r in range(n * T):
        for j in range(H):
            rows[r, j] += b_in[j]
    h = h0[b0:b1].copy()
    z = np.empty((n, H), dtype=hs.dtype)
    for t in range(T):
        for r in range(n):
            copy_into(hs[b0 + r, t], z[r])
        gemm(address, h, Wt, z, NOT_TRANSPOSED, 1.0)  # z += h_{t-1} W_hh^T, every row of the block
        activate_rows(code, z, hs, b0, t, zero, H, zero)  # h_t = f(z_t), into the output
        for r in range(n):
            if t < lengths[b0 + r]:
                copy_into(hs[b0 + r, t], h[r])
            else:  # after its end a row keeps its state
                copy_into(h[r], hs[b0 + r, t])
    # the output layer, one product over the block's rows while hs is in the cache
    O = y.shape[2]
    y_rows = y[b0:b1].reshape(n * T, O)
    gemm(address, rows, Wout_t, y_rows, NOT_TRANSPOSED, 0.0)
    for r in range(n * T):
        for j in range(O):
            y_rows[r, j] = activate(out_code, y_rows[r, j] + b_out[j])


@cpu_jit(parallel=True)
def _elman_forward(blocks, x, Win_t, b_in, Wt, h0, lengths, code, address, hs, Wout_t, b_out,
                   out_code, y):
    """``_forward_rows`` on each of ``blocks`` blocks of batch rows, one per thread."""
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, hs.shape[0])
        _forward_rows(b0, b1, x, Win_t, b_in, Wt, h0, lengths, code, address, hs, Wout_t,
                      b_out, out_code, y)


@cpu_jit(inline=True)
def _output_backward_rows(block, b0, b1, address, dy, y, W_out, out_code, hs, dv, dhs,
                          dWout_blocks, dbout_blocks):
    """The output layer's backward over the block's (b, t) rows, one product each: dv = dy
    g'(v) (g' written with y = g(v)), dhs = dv W_out, the block's shares of ∂L/∂W_out = Σ dv
    h^T and ∂L/∂b_out = Σ dv."""
    T, H = hs.shape[1], hs.shape[2]
    O = y.shape[2]
    n = b1 - b0
    dy_rows = dy[b0:b1].reshape(n * T, O)
    y_rows = y[b0:b1].reshape(n * T, O)
    dv_rows = dv[b0:b1].reshape(n * T, O)
    db = dbout_blocks[block]
    for j in range(O):
        db[j] = 0
    if out_code == IDENTITY:  # dv = dy, read where it is (``dv`` is dy itself then)
        dv_rows = dy_rows
    else:
        for r in range(n * T):
            for j in range(O):
                dv_rows[r, j] = dy_rows[r, j] * derivative(out_code, y_rows[r, j])
    for r in range(n * T):
        for j in range(O):
            db[j] += dv_rows[r, j]
    gemm(address, dv_rows, W_out, dhs[b0:b1].reshape(n * T, H), NOT_TRANSPOSED, 0.0)
    gemm(address, dv_rows, hs[b0:b1].reshape(n * T, H), dWout_blocks[block], TRANSPOSED, 0.0)


@cpu_jit(inline=True)
def _backward_rows(block, b0, b1, dhs, hs, W, h0, lengths, code, address, x, W_in, dz, dh0,
                   dW_blocks, dWin_blocks, db_blocks, dx):
    """Fill dz[b0:b1], dh0[b0:b1], the block's shares of ∂L/∂W_hh, ∂L/∂W_in and ∂L/∂b_in, and
    dx[b0:b1] unless dx is empty: dh_t = g_t + W^T dz_{t+1}, dz_t = dh_t f'(z_t), ∂L/∂W_hh =
    Σ dz_t h_{t-1}^T, ∂L/∂W_in = Σ dz_t x_t^T, ∂L/∂b_in = Σ dz_t, dx_t = W_in^T dz_t."""
    T, H = hs.shape[1], hs.shape[2]
    I = x.shape[2]
    n = b1 - b0
    zero = np.int64(0)  # not a literal 0 (linalg_cpu: a type of its own)
    carry = np.zeros((n, H), dtype=hs.dtype)  # W^T dz_{t+1}: what h_t owes the future
    d = np.empty((n, H), dtype=hs.dtype)  # dz_t of the block
    back = np.empty((n, H), dtype=hs.dtype)
    for t in range(T - 1, -1, -1):
        # dz_t = (g_t + carry) f'(z_t); 0 on padding
        delta_rows(code, dhs, zero, np.bool_(True), d[0, :0], carry, hs, zero, H, lengths, b0,
                   t, d)
        for r in range(n):
            b = b0 + r
            if t >= lengths[b]:  # padding: h_t = h_{t-1}, the gradient passes through
                for i in range(H):
                    carry[r, i] += dhs[b, t, i]
            copy_into(d[r], dz[b, t])  # after reading g_t: dz may be dhs itself
        gemm(address, d, W, back, NOT_TRANSPOSED, 0.0)  # W_hh^T dz_t, every row
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
    gemm(address, dz_rows, x_rows, dWin_blocks[block], TRANSPOSED, 0.0)  # Σ dz_t x_t^T
    db = db_blocks[block]
    for j in range(H):
        db[j] = 0
    for r in range(n * T):
        for j in range(H):
            db[j] += dz_rows[r, j]
    if dx.shape[0] > 0:
        gemm(address, dz_rows, W_in, dx[b0:b1].reshape(n * T, I), NOT_TRANSPOSED, 0.0)


@cpu_jit(inline=True)
def _block_backward(block, blocks, dhs, hs, W, h0, lengths, code, address, x, W_in, dz, dh0,
                    dW_blocks, dWin_blocks, db_blocks, dx, dy, y, W_out, out_code, dv,
                    dWout_blocks, dbout_blocks):
    """One block's backward: the output layer's (when dy has columns: it fills dhs) and then
    the recurrence's (``_backward_rows``)."""
    b0, b1 = block_bounds(block, blocks, hs.shape[0])
    if dy.shape[2] > 0:
        _output_backward_rows(block, b0, b1, address, dy, y, W_out, out_code, hs, dv, dhs,
                              dWout_blocks, dbout_blocks)
    _backward_rows(block, b0, b1, dhs, hs, W, h0, lengths, code, address, x, W_in, dz, dh0,
                   dW_blocks, dWin_blocks, db_blocks, dx)


@cpu_jit(parallel=True)
def _elman_backward(blocks, dhs, hs, W, h0, lengths, code, address, x, W_in, dz, dh0, dW_blocks,
                    dWin_blocks, db_blocks, dx, dy, y, W_out, out_code, dv, dWout_blocks,
                    dbout_blocks):
    """``_block_backward`` on each of ``blocks`` blocks of batch rows, one per thread."""
    for block in numba.prange(blocks):
        _block_backward(block, blocks, dhs, hs, W, h0, lengths, code, address, x, W_in, dz, dh0,
                        dW_blocks, dWin_blocks, db_blocks, dx, dy, y, W_out, out_code, dv,
                        dWout_blocks, dbout_blocks)


def _output_arrays(output, hidden, dtype):
    """(W_out, b_out, g's code) of an output layer (``output`` = (W_out, b_out, g)), or empty
    ones (O = 0: none) for the layer alone."""
    if output is None:
        return np.empty((0, hidden), dtype=dtype), np.empty(0, dtype=dtype), CODES["identity"]
    W_out, b_out, activation = output
    return np.ascontiguousarray(W_out), np.ascontiguousarray(b_out), CODES[activation]


def elman_forward(x, W_in, b_in, W_hh, h0, lengths, activation, output=None):
    """hs (B, T, H) from x (B, T, I) through a_t = W_in x_t + b_in; with ``output`` = (W_out,
    b_out, g), the network's output y (B, T, O) = g(W_out h_t + b_out) too: (hs, y)."""
    B, T, I = x.shape
    H = W_hh.shape[0]
    W_out, b_out, out_code = _output_arrays(output, H, x.dtype)
    hs = np.empty((B, T, H), dtype=x.dtype)
    y = np.empty((B, T, W_out.shape[0]), dtype=x.dtype)
    c = np.ascontiguousarray
    blocks = row_blocks(B, B * T * H * (H + I + W_out.shape[0]))
    arrays = (c(x), c(W_in.T), c(b_in), c(W_hh.T), c(h0), lengths, CODES[activation],
              gemm_address(x.dtype), hs, c(W_out.T), b_out, out_code, y)
    with kernel_threads(blocks):  # each thread calls BLAS on its own block
        _elman_forward(blocks, *arrays)
    return hs if output is None else (hs, y)


def elman_backward(dhs, hs, x, W_in, W_hh, h0, lengths, activation, need_dx, keep_dz=False,
                   output=None):
    """(dx or None, ∂L/∂W_in, ∂L/∂b_in, ∂L/∂W_hh, dh0), and dz (B, T, H) last with
    ``keep_dz`` (for the states' gradients: ``fused.StateTaps``). With ``output`` = (dy, y,
    W_out, g), the network's: dhs is None and comes from dy through the output layer, whose
    ∂L/∂W_out and ∂L/∂b_out follow dh0."""
    B, T, H = hs.shape
    I = x.shape[2]
    dtype = hs.dtype
    dy, y, W_out, out_code = (np.empty((B, T, 0), dtype), None, np.empty((0, H), dtype),
                              IDENTITY) if output is None \
        else (np.ascontiguousarray(output[0]), output[1], np.ascontiguousarray(output[2]),
              CODES[output[3]])
    if y is None:  # g = identity needs no y (nor a dv apart from dy)
        y = dy
    O = dy.shape[2]
    blocks = row_blocks(B, B * T * H * (H + I + O))
    # the network's dhs is its own, so each dz_t can take the place of dh_t, one array less
    dhs = np.empty_like(hs) if output is not None else np.ascontiguousarray(dhs)
    dz = dhs if output is not None and not keep_dz else np.empty_like(hs)
    dh0 = np.empty((B, H), dtype=dtype)
    grads = [np.empty(shape, dtype=dtype) for shape in ((blocks, H, H), (blocks, H, I),
                                                        (blocks, H), (blocks, O, H), (blocks, O))]
    dx = np.empty((B, T, I) if need_dx else (0, 0, 0), dtype=dtype)
    c = np.ascontiguousarray
    arrays = (dhs, hs, c(W_hh), c(h0), lengths, CODES[activation], gemm_address(dtype), c(x),
              c(W_in), dz, dh0,
              *grads[:3], dx, dy, y, W_out, out_code,
              dy if out_code == IDENTITY else np.empty_like(dy), *grads[3:])
    with kernel_threads(blocks):
        _elman_backward(blocks, *arrays)
    dW, dWin, db, dWout, dbout = (block_sum(g) for g in grads)
    result = (dx if need_dx else None, dWin, db, dW, dh0) + \
        ((dWout, dbout) if output is not None else ())
    return (*result, dz) if keep_dz else result
