"""The GRU layer as Numba CPU kernels, parallel over the batch.

Same function as ``reference`` (see its docstring for the equations and the BPTT derivation,
gate by gate), in the shape of ``elman.cpu``: each batch row is an independent recurrence, so
the batch is cut into one block of rows per thread (``row_blocks``) and time stays a sequential
loop inside each thread. Each block first projects its inputs for all its (b, t) rows at once
(one product, outside the time loop) into the array the forward saves for the BPTT, in the
places of r, z and n: [W_x[rz] x_t | · | W_xn x_t]. Each step makes, in a small local buffer, u
= [a^r + b^r | a^z + b^z | b_hn] from that row and the biases (the r and z gates' two biases
added together: they only ever meet as a sum; the candidate's recurrent bias b_hn where W_hn
h_{t-1} is added), adds h_{t-1} W_hh^T (ONE product over the block's rows for the three gates,
NumPy's BLAS called from the compiled code, ``minirnn.kernels.blas.gemm``; tiny products by its
own loop), and runs the gates elementwise and branch-free (the vectorisable ``tanh_fast`` and
``gate_sigmoid``, float32 in float32), overwriting the saved row with [r | z | n | u^n]. The
running state lives in a small local array per block; nothing is allocated inside the time loop.

The backward keeps, per (b, t), D = [dr | dz | dq ⊙ r | dq] (B, T, 4H): its first 3H columns are
du_t, the gradient of the recurrent parts u_t = W_hh h_{t-1} + b_hh in W_hh's row order, so the
step's one product W_hh^T du_t reads them as they are; da_t (the gradient of the input
projection) is [dr | dz | dq], its columns 0:2H and 3H:4H. After the loop each block sums its
share of every weight gradient over its (b, t) rows while they are in its cache: Σ du_t h_{t-1}^T
as one product (the t = 0 rows zeroed and paired with h0 alone, so a gradient that is zero comes
out exactly zero, as in ``elman.cpu``), Σ da_t x_t^T and dx_t = W_xh^T da_t as two products each
(the r, z rows and the n rows), Σ du_t and Σ da_t in one pass; the wrapper adds the blocks'
shares, so no two threads write the same weight gradient. ``fastmath`` allows only contraction
into FMA and sign-of-zero freedom: no NaN/inf assumptions, so a diverging network shows its NaN.
Every constant is ``cast_like`` its operand, so float32 stays float32.
"""
import numba
import numpy as np

from ..activations import cast_like
from ..blas import (NOT_TRANSPOSED, TRANSPOSED, block_bounds, block_sum, cpu_jit, gemm,
                    gemm_address, kernel_threads, row_blocks)
from ..linalg_cpu import add_into, copy_into, sum_outer_previous_rows
from ..vector_math import gate_sigmoid, tanh_fast


@cpu_jit()
def _cells(u, bias, h, saved, hs, b0, t, lengths):
    """One step of the cell for every row i of a block (b = b0 + i), from
    u[i] = [a^r + u^r | a^z + u^z | u^n] (u_t = W_hh h_{t-1} + b_hh, the r and z biases in),
    a^n = W_xn x_t (saved[b, t, 3H:]; b_xn = bias[3H:] added here) and h[i] = h_{t-1}:

        r_t = σ(a^r + u^r),  z_t = σ(a^z + u^z),  n_t = tanh(a^n + b_xn + r_t ⊙ u^n)
        h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    [r | z | n | u^n] into saved[b, t] (u^n over the a^n it has read), h_t into hs[b, t] and
    h[i]; past the row's end the kept state is copied over h_t (a padded step keeps its
    state). One loop over the units, each gate a view of its own: LLVM vectorises that behind
    a check that the views do not overlap, but not a loop indexing one row at offsets H, 2H,
    3H it cannot compare (written so, this loop ran scalar)."""
    H = h.shape[1]
    b_xn = bias[3 * H:]
    for r in range(u.shape[0]):
        b = b0 + r
        ur, hr, sv, out = u[r], h[r], saved[b, t], hs[b, t]
        one = cast_like(1, hr[0])
        u_r, u_z, u_n = ur[:H], ur[H:2 * H], ur[2 * H:]
        s_r, s_z, s_n, s_u = sv[:H], sv[H:2 * H], sv[2 * H:3 * H], sv[3 * H:]
        for k in range(H):
            rg = gate_sigmoid(u_r[k])
            z = gate_sigmoid(u_z[k])
            un = u_n[k]
            nc = tanh_fast(s_u[k] + b_xn[k] + rg * un)
            s_r[k] = rg
            s_z[k] = z
            s_n[k] = nc
            s_u[k] = un
            out[k] = (one - z) * nc + z * hr[k]
        if t < lengths[b]:
            copy_into(out, hr)
        else:  # after its end a row keeps its state
            copy_into(hr, out)


@cpu_jit(parallel=True)
def _gru_forward(x, Win_t, bias, Wt, h0, lengths, blocks, address, hs, saved):
    """Fill hs (B, T, H) and saved (B, T, 4H) = [r | z | n | u^n]:

        u_t = W_hh h_{t-1} + b_hh
        r_t = σ(a_t^r + u_t^r),  z_t = σ(a_t^z + u_t^z),  n_t = tanh(a_t^n + r_t ⊙ u_t^n)
        h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1},   a_t = W_xh x_t + b_xh,  h_{-1} = h0

    with Win_t = W_xh^T (I, 3H), Wt = W_hh^T (H, 3H) contiguous and bias = [b_xr + b_hr |
    b_xz + b_hz | b_hn | b_xn] (4H). Each block first writes its rows' W_xh x_t into saved as
    [a^r | a^z | · | a^n] (two products over the block's (b, t) rows, outside the time loop),
    then step by step copies the r and z parts out with the biases added, adds h_{t-1} W_hh^T
    (one product for the three gates of every row of the block) and overwrites the row with
    the gates."""
    B, T, H = hs.shape
    I = x.shape[2]
    G = 3 * H
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        rows = saved[b0:b1].reshape(n * T, 4 * H)
        x_rows = x[b0:b1].reshape(n * T, I)
        gemm(address, x_rows, Win_t[:, :2 * H], rows[:, :2 * H], NOT_TRANSPOSED, 0.0)  # W_x[rz] x_t
        gemm(address, x_rows, Win_t[:, 2 * H:], rows[:, 3 * H:], NOT_TRANSPOSED, 0.0)  # W_xn x_t
        h = np.empty((n, H), dtype=hs.dtype)
        for r in range(n):
            copy_into(h0[b0 + r], h[r])
        u = np.empty((n, G), dtype=hs.dtype)
        for t in range(T):
            for r in range(n):  # [a^r + b^r | a^z + b^z | b_hn], the biases added as it is read
                ur, ar = u[r], saved[b0 + r, t]
                for j in range(2 * H):
                    ur[j] = ar[j] + bias[j]
                for j in range(2 * H, G):
                    ur[j] = bias[j]
            gemm(address, h, Wt, u, NOT_TRANSPOSED, 1.0)  # u_t += h_{t-1} W_hh^T, every gate
            _cells(u, bias, h, saved, hs, b0, t, lengths)


@cpu_jit()
def _cells_backward(dhs, hs, saved, h0, lengths, b0, t, carry, D):
    """One BPTT step of the cell for every row i of a block (b = b0 + i), from the direct
    gradient gh_t = dhs[b, t] and carry = z_{t+1} ⊙ dh_{t+1} + W_hh^T du_{t+1}:

        dh_t = gh_t + carry
        dq_t = dh_t ⊙ (1 - z_t) ⊙ (1 - n_t²)
        dr_t = dq_t ⊙ u_t^n ⊙ r_t (1 - r_t),   dz_t = dh_t ⊙ (h_{t-1} - n_t) ⊙ z_t (1 - z_t)
        D[b, t] = [dr_t | dz_t | dq_t ⊙ r_t | dq_t]   (du_t = its first 3H, da_t the rest)
        carry = z_t ⊙ dh_t

    (W_hh^T du_t is added after the block's product). A padded row passes the gradient
    through: D = 0, carry += gh_t. Each gate a view of its own (``_cells`` says why)."""
    H = carry.shape[1]
    for r in range(carry.shape[0]):
        b = b0 + r
        g, cr, dr = dhs[b, t], carry[r], D[b, t]
        if t >= lengths[b]:
            for k in range(4 * H):
                dr[k] = 0
            for k in range(H):
                cr[k] += g[k]
            continue
        sv = saved[b, t]
        h_prev = hs[b, t - 1] if t > 0 else h0[b]
        one = cast_like(1, sv[0])
        s_r, s_z, s_n, s_u = sv[:H], sv[H:2 * H], sv[2 * H:3 * H], sv[3 * H:]
        d_r, d_z, d_qr, d_q = dr[:H], dr[H:2 * H], dr[2 * H:3 * H], dr[3 * H:]
        for k in range(H):
            rg, z, nc, un = s_r[k], s_z[k], s_n[k], s_u[k]
            dh = g[k] + cr[k]
            dq = dh * (one - z) * (one - nc * nc)
            d_r[k] = dq * un * rg * (one - rg)
            d_z[k] = dh * (h_prev[k] - nc) * z * (one - z)
            d_qr[k] = dq * rg
            d_q[k] = dq
            cr[k] = dh * z


@cpu_jit(parallel=True)
def _gru_backward(dhs, hs, saved, h0, W, lengths, blocks, address, x, W_in, D, dh0, dW_blocks,
                  dWin_blocks, db_blocks, dx):
    """Fill D (B, T, 4H) = [du_t | dq_t] (``_cells_backward``), dh0 (B, H), each block's share of
    ∂L/∂W_hh, ∂L/∂W_xh, and of ∂L/∂b_xh and ∂L/∂b_hh side by side (db_blocks (blocks, 6H)), and dx
    (B, T, I) unless it is empty:

        dh_t = gh_t + z_{t+1} ⊙ dh_{t+1} + W_hh^T du_{t+1},   dh0 = z_0 ⊙ dh_0 + W_hh^T du_0
        ∂L/∂W_hh = Σ du_t h_{t-1}^T,  ∂L/∂b_hh = Σ du_t
        ∂L/∂W_xh = Σ da_t x_t^T,  ∂L/∂b_xh = Σ da_t,  dx_t = W_xh^T da_t,  da_t = [dr | dz | dq]

    W = W_hh (3H, H) and W_in = W_xh (3H, I) as they are, contiguous."""
    B, T, H = hs.shape
    I = x.shape[2]
    G = 3 * H
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        carry = np.zeros((n, H), dtype=hs.dtype)  # what h_t owes the future
        back = np.empty((n, H), dtype=hs.dtype)
        for t in range(T - 1, -1, -1):
            _cells_backward(dhs, hs, saved, h0, lengths, b0, t, carry, D)
            gemm(address, D[b0:b1, t, :G], W, back, NOT_TRANSPOSED, 0.0)  # W_hh^T du_t, every row
            for r in range(n):
                if t < lengths[b0 + r]:
                    cr, br = carry[r], back[r]
                    for k in range(H):
                        cr[k] += br[k]
        for r in range(n):
            copy_into(carry[r], dh0[b0 + r])
        D_rows = D[b0:b1].reshape(n * T, 4 * H)
        sum_outer_previous_rows(address, D, D_rows, hs[b0:b1].reshape(n * T, H), h0, b0, G,
                                np.empty((n, 4 * H), dtype=hs.dtype), dW_blocks[block])
        # da_t = [dr | dz | dq]: columns 0:2H and 3H:4H of D, for the rows [r | z] and [n]
        x_rows = x[b0:b1].reshape(n * T, I)
        dWin = dWin_blocks[block]
        gemm(address, D_rows[:, :2 * H], x_rows, dWin[:2 * H], TRANSPOSED, 0.0)
        gemm(address, D_rows[:, 3 * H:], x_rows, dWin[2 * H:], TRANSPOSED, 0.0)
        # Σ D over the rows into sums[:4H] = [Σ du | Σ dq], then spread out as
        # [Σ du | Σ da] = [Σ dr | Σ dz | Σ dq r | Σ dr | Σ dz | Σ dq]: ∂L/∂b_hh, ∂L/∂b_xh
        sums = db_blocks[block]
        for j in range(4 * H):
            sums[j] = 0
        for r in range(n * T):
            add_into(D_rows[r], sums[:4 * H])
        for j in range(H):
            sums[5 * H + j] = sums[3 * H + j]
        for j in range(2 * H):
            sums[3 * H + j] = sums[j]
        if dx.shape[0] > 0:
            dx_rows = dx[b0:b1].reshape(n * T, I)
            gemm(address, D_rows[:, :2 * H], W_in[:2 * H], dx_rows, NOT_TRANSPOSED, 0.0)
            gemm(address, D_rows[:, 3 * H:], W_in[2 * H:], dx_rows, NOT_TRANSPOSED, 1.0)


def gru_forward(x, W_xh, b_xh, W_hh, b_hh, h0, lengths):
    """(hs (B, T, H), saved (B, T, 4H) = [r | z | n | u^n]) from x (B, T, I), W_xh (3H, I),
    b_xh (3H,), W_hh (3H, H), b_hh (3H,), h0 (B, H), lengths (B,)."""
    B, T, I = x.shape
    G, H = W_hh.shape
    hs = np.empty((B, T, H), dtype=x.dtype)
    saved = np.empty((B, T, 4 * H), dtype=x.dtype)
    bias = np.concatenate([b_xh[:2 * H] + b_hh[:2 * H], b_hh[2 * H:], b_xh[2 * H:]])
    c = np.ascontiguousarray
    blocks = row_blocks(B, B * T * G * (H + I))
    with kernel_threads(blocks):  # each thread calls BLAS on its own block
        _gru_forward(c(x), c(W_xh.T), bias, c(W_hh.T), c(h0), lengths, blocks,
                     gemm_address(x.dtype), hs, saved)
    return hs, saved


def gru_backward(dhs, hs, saved, x, W_xh, W_hh, h0, lengths, need_dx):
    """(dx or None, ∂L/∂W_xh, ∂L/∂b_xh, ∂L/∂W_hh, ∂L/∂b_hh, dh0) from dhs = ∂L/∂hs (B, T, H)
    and the forward's hs and saved gates."""
    B, T, H = hs.shape
    G = 3 * H
    I = x.shape[2]
    blocks = row_blocks(B, B * T * G * (H + I))
    dtype = hs.dtype
    D = np.empty((B, T, 4 * H), dtype=dtype)
    dh0 = np.empty((B, H), dtype=dtype)
    dW_blocks = np.empty((blocks, G, H), dtype=dtype)
    dWin_blocks = np.empty((blocks, G, I), dtype=dtype)
    db_blocks = np.empty((blocks, 2 * G), dtype=dtype)
    dx = np.empty((B, T, I) if need_dx else (0, 0, 0), dtype=dtype)
    c = np.ascontiguousarray
    with kernel_threads(blocks):
        _gru_backward(c(dhs), hs, saved, c(h0), c(W_hh), lengths, blocks, gemm_address(dtype),
                      c(x), c(W_xh), D, dh0, dW_blocks, dWin_blocks, db_blocks, dx)
    db = block_sum(db_blocks)
    return (dx if need_dx else None, block_sum(dWin_blocks), db[G:], block_sum(dW_blocks),
            db[:G], dh0)
