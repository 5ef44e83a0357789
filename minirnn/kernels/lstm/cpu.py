"""The LSTM layer as Numba CPU kernels, parallel over the batch.

Same function as ``reference`` (see its docstring for the equations and the BPTT derivation,
gate by gate), in the shape of ``elman.cpu``: each batch row is an independent recurrence, so
the batch is cut into one block of rows per thread (``row_blocks``) and time stays a sequential
loop inside each thread. Each block first projects its inputs, W_xh x_t for all its (b, t) rows
at once (one product into the gates array, outside the time loop); then each step reads its rows
with b_xh + b_hh added, and makes ONE small product over the block's rows, h_{t-1} W_hh^T for
the four gates at once (NumPy's BLAS called from the compiled code,
``minirnn.kernels.blas.gemm``; tiny products by its own loop), followed by the gates and the
cell, elementwise and branch-free (the vectorisable ``tanh_fast`` and ``gate_sigmoid``, float32
in float32), which overwrite the projection with the gate values. The running state [h | c]
lives in a small local array per block, not in a view of the output; nothing is allocated inside
the time loop.

The backward runs the BPTT the same way, one product per step (W_hh^T dp_t, the gradient h_{t-1}
owes), keeping dp (B, T, 4H) for the sums that follow: each block computes its share of
Σ dp_t h_{t-1}^T, Σ dp_t x_t^T and Σ dp_t as ONE product (or pass) over its (b, t) rows while
they are in its cache, reading h_{t-1} as the row before h_t in the states (the t = 0 rows of
dp are zeroed for that product and paired with h0 alone, so a gradient that is zero comes out
exactly zero, as in ``elman.cpu``), and dx_t = W_xh^T dp_t as one more; the wrapper adds the
blocks' shares, so no two threads write the same weight gradient. ``fastmath`` allows only
contraction into FMA and sign-of-zero freedom: no NaN/inf assumptions, so a diverging network
shows its NaN. Every constant is ``cast_like`` its operand, so float32 stays float32.
"""
import numba
import numpy as np

from ..activations import cast_like
from ..blas import (NOT_TRANSPOSED, TRANSPOSED, block_bounds, block_sum, cpu_jit, gemm,
                    gemm_address, kernel_threads, row_blocks)
from ..linalg_cpu import add_into, copy_into, sum_outer_previous_rows
from ..vector_math import gate_sigmoid, tanh_fast


@cpu_jit()
def _cells(p, state, gates, states, b0, t, lengths):
    """One step of the cell for every row i of a block, from its pre-activations p[i] =
    a_t + W_hh h_{t-1} (4H) and its state [h_{t-1} | c_{t-1}] (``state[i]``, 2H):

        [i | f | g | o] = [σ | σ | tanh | σ](p)       into gates[b0 + i, t]
        c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)     into states[b0 + i, t] = [h_t | c_t]

    then [h_t | c_t] is kept in ``state[i]`` for the next step or, past the row's end, the kept
    state is copied over it (a padded step keeps its state; its gates are never read). One loop
    over the units, each gate and each part of the state a view of its own: LLVM vectorises
    that behind a check that the views do not overlap, but not a loop indexing one row at
    offsets H, 2H, 3H it cannot compare (written so, this loop ran scalar)."""
    H = state.shape[1] // 2
    for r in range(p.shape[0]):
        b = b0 + r
        pr, gr, sr, out = p[r], gates[b, t], state[r], states[b, t]
        p_i, p_f, p_g, p_o = pr[:H], pr[H:2 * H], pr[2 * H:3 * H], pr[3 * H:]
        g_i, g_f, g_g, g_o = gr[:H], gr[H:2 * H], gr[2 * H:3 * H], gr[3 * H:]
        h_out, c_out, c_prev = out[:H], out[H:], sr[H:]
        for k in range(H):
            i = gate_sigmoid(p_i[k])
            f = gate_sigmoid(p_f[k])
            g = tanh_fast(p_g[k])
            o = gate_sigmoid(p_o[k])
            g_i[k] = i
            g_f[k] = f
            g_g[k] = g
            g_o[k] = o
            c = f * c_prev[k] + i * g
            c_out[k] = c
            h_out[k] = o * tanh_fast(c)
        if t < lengths[b]:
            copy_into(out, sr)
        else:  # after its end a row keeps its state
            copy_into(sr, out)


@cpu_jit(parallel=True)
def _lstm_forward(x, Win_t, bias, Wt, s0, lengths, blocks, address, states, gates):
    """Fill states (B, T, 2H) = [h_t | c_t] and gates (B, T, 4H) = [i | f | g | o]:

        p_t = W_xh x_t + (b_xh + b_hh) + W_hh h_{t-1}
        [i | f | g | o] = [σ | σ | tanh | σ](p_t)
        c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

    with Win_t = W_xh^T (I, 4H), bias = b_xh + b_hh, Wt = W_hh^T (H, 4H) contiguous and
    (h_{-1}, c_{-1}) = s0 = [h0 | c0]. Each block first writes its rows' W_xh x_t into gates
    (one product over the block's (b, t) rows, outside the time loop), then step by step
    copies it out with the biases added, adds h_{t-1} W_hh^T (one product for every gate and
    row of the block) and overwrites W_xh x_t with the gates."""
    B, T, G = gates.shape
    H = G // 4
    I = x.shape[2]
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        rows = gates[b0:b1].reshape(n * T, G)
        gemm(address, x[b0:b1].reshape(n * T, I), Win_t, rows, NOT_TRANSPOSED, 0.0)  # W_xh x_t
        state = np.empty((n, 2 * H), dtype=states.dtype)  # [h_{t-1} | c_{t-1}] of the block
        for r in range(n):
            copy_into(s0[b0 + r], state[r])
        p = np.empty((n, G), dtype=states.dtype)
        for t in range(T):
            for r in range(n):  # the biases added as the row is read, not in a pass of its own
                pr, ar = p[r], gates[b0 + r, t]
                for j in range(G):
                    pr[j] = ar[j] + bias[j]
            # p += h_{t-1} W_hh^T, every gate
            gemm(address, state[:, :H], Wt, p, NOT_TRANSPOSED, 1.0)
            _cells(p, state, gates, states, b0, t, lengths)


@cpu_jit()
def _cells_backward(dstates, states, gates, s0, lengths, b0, t, carry_h, carry_c, dp):
    """One BPTT step of the cell for every row i of a block (b = b0 + i), from the direct
    gradients [gh_t | gc_t] = dstates[b, t] and what the future owes, carry_h = W_hh^T dp_{t+1}
    and carry_c = f_{t+1} ⊙ dc_{t+1}:

        dh_t = gh_t + carry_h
        dc_t = gc_t + carry_c + dh_t ⊙ o_t ⊙ (1 - tanh²(c_t))
        dp_t = [dc_t g_t i_t(1-i_t) | dc_t c_{t-1} f_t(1-f_t) | dc_t i_t (1-g_t²)
                | dh_t tanh(c_t) o_t(1-o_t)]                      into dp[b, t]
        carry_c = f_t ⊙ dc_t

    (carry_h becomes W_hh^T dp_t after the block's product). A padded row (t >= its length)
    passes both gradients through: dp_t = 0, carry_h += gh_t, carry_c += gc_t. Two loops, each
    gate a view of its own (``_cells`` says why): the first makes dp_t's o part and dc_t (kept
    in carry_c), the second the other three parts from dc_t."""
    H = carry_h.shape[1]
    for r in range(carry_h.shape[0]):
        b = b0 + r
        ds, ch, cc, dr = dstates[b, t], carry_h[r], carry_c[r], dp[b, t]
        if t >= lengths[b]:
            for k in range(4 * H):
                dr[k] = 0
            for k in range(H):
                ch[k] += ds[k]
                cc[k] += ds[H + k]
            continue
        gr, c = gates[b, t], states[b, t, H:]
        c_prev = states[b, t - 1, H:] if t > 0 else s0[b, H:]
        one = cast_like(1, c[0])
        g_i, g_f, g_g, g_o = gr[:H], gr[H:2 * H], gr[2 * H:3 * H], gr[3 * H:]
        d_i, d_f, d_g, d_o = dr[:H], dr[H:2 * H], dr[2 * H:3 * H], dr[3 * H:]
        gh, gc = ds[:H], ds[H:]
        for k in range(H):
            tc = tanh_fast(c[k])
            dh = gh[k] + ch[k]
            o = g_o[k]
            d_o[k] = dh * tc * o * (one - o)
            cc[k] = gc[k] + cc[k] + dh * o * (one - tc * tc)  # dc_t
        for k in range(H):
            dc, i, f, g = cc[k], g_i[k], g_f[k], g_g[k]
            d_i[k] = dc * g * i * (one - i)
            d_f[k] = dc * c_prev[k] * f * (one - f)
            d_g[k] = dc * i * (one - g * g)
            cc[k] = dc * f


@cpu_jit(parallel=True)
def _lstm_backward(dstates, states, gates, s0, W, lengths, blocks, address, x, W_in, dp, ds0,
                   dW_blocks, dWin_blocks, db_blocks, dx):
    """Fill dp (B, T, 4H), ds0 (B, 2H) = [dh0 | dc0], each block's share of ∂L/∂W_hh,
    ∂L/∂W_xh and ∂L/∂b (the same for b_xh and b_hh), and dx (B, T, I) unless it is empty:

        dh_t = gh_t + W_hh^T dp_{t+1},   dc_t = gc_t + f_{t+1} ⊙ dc_{t+1} + dh_t ⊙ o_t ⊙ tanh'(c_t)
        dp_t as in ``_cells_backward``;   dh0 = W_hh^T dp_0,   dc0 = f_0 ⊙ dc_0
        ∂L/∂W_hh = Σ dp_t h_{t-1}^T,  ∂L/∂W_xh = Σ dp_t x_t^T,  ∂L/∂b = Σ dp_t,  dx_t = W_xh^T dp_t

    W = W_hh (4H, H) and W_in = W_xh (4H, I) as they are, contiguous."""
    B, T, G = gates.shape
    H = G // 4
    I = x.shape[2]
    for block in numba.prange(blocks):
        b0, b1 = block_bounds(block, blocks, B)
        n = b1 - b0
        carry_h = np.zeros((n, H), dtype=states.dtype)  # W_hh^T dp_{t+1}: what h_t owes
        carry_c = np.zeros((n, H), dtype=states.dtype)  # f_{t+1} dc_{t+1}: what c_t owes
        back = np.empty((n, H), dtype=states.dtype)
        for t in range(T - 1, -1, -1):
            _cells_backward(dstates, states, gates, s0, lengths, b0, t, carry_h, carry_c, dp)
            gemm(address, dp[b0:b1, t], W, back, NOT_TRANSPOSED, 0.0)  # W_hh^T dp_t, every row
            for r in range(n):
                if t < lengths[b0 + r]:
                    copy_into(back[r], carry_h[r])
        for r in range(n):
            copy_into(carry_h[r], ds0[b0 + r, :H])
            copy_into(carry_c[r], ds0[b0 + r, H:])
        # the sums over the block's (b, t) rows, one product each while dp is in the cache
        dp_rows = dp[b0:b1].reshape(n * T, G)
        h_rows = states[b0:b1].reshape(n * T, 2 * H)[:, :H]
        sum_outer_previous_rows(address, dp, dp_rows, h_rows, s0, b0, G,
                                np.empty((n, G), dtype=states.dtype), dW_blocks[block])
        x_rows = x[b0:b1].reshape(n * T, I)
        gemm(address, dp_rows, x_rows, dWin_blocks[block], TRANSPOSED, 0.0)  # Σ dp_t x_t^T
        db = db_blocks[block]
        for j in range(G):
            db[j] = 0
        for r in range(n * T):
            add_into(dp_rows[r], db)
        if dx.shape[0] > 0:
            gemm(address, dp_rows, W_in, dx[b0:b1].reshape(n * T, I), NOT_TRANSPOSED, 0.0)


def lstm_forward(x, W_xh, b_xh, W_hh, b_hh, s0, lengths):
    """(states (B, T, 2H) = [h | c], gates (B, T, 4H) = [i | f | g | o]) from x (B, T, I),
    W_xh (4H, I), b_xh (4H,), W_hh (4H, H), b_hh (4H,), s0 (B, 2H) = [h0 | c0], lengths (B,)."""
    B, T, I = x.shape
    G, H = W_hh.shape
    states = np.empty((B, T, 2 * H), dtype=x.dtype)
    gates = np.empty((B, T, G), dtype=x.dtype)
    c = np.ascontiguousarray
    blocks = row_blocks(B, B * T * G * (H + I))
    with kernel_threads(blocks):  # each thread calls BLAS on its own block
        _lstm_forward(c(x), c(W_xh.T), b_xh + b_hh, c(W_hh.T), c(s0), lengths, blocks,
                      gemm_address(x.dtype), states, gates)
    return states, gates


def lstm_backward(dstates, states, gates, x, W_xh, W_hh, s0, lengths, need_dx):
    """(dx or None, ∂L/∂W_xh, ∂L/∂b_xh, ∂L/∂W_hh, ∂L/∂b_hh, ds0) from dstates = ∂L/∂states
    (B, T, 2H) and the forward's states and gates. ∂L/∂b_xh and ∂L/∂b_hh are the same array
    (both are Σ dp_t): a caller that hands both out copies one."""
    B, T, G = gates.shape
    H = G // 4
    I = x.shape[2]
    blocks = row_blocks(B, B * T * G * (H + I))
    dtype = states.dtype
    dp = np.empty_like(gates)
    ds0 = np.empty((B, 2 * H), dtype=dtype)
    dW_blocks = np.empty((blocks, G, H), dtype=dtype)
    dWin_blocks = np.empty((blocks, G, I), dtype=dtype)
    db_blocks = np.empty((blocks, G), dtype=dtype)
    dx = np.empty((B, T, I) if need_dx else (0, 0, 0), dtype=dtype)
    c = np.ascontiguousarray
    with kernel_threads(blocks):
        _lstm_backward(c(dstates), states, gates, c(s0), c(W_hh), lengths, blocks,
                       gemm_address(dtype), c(x), c(W_xh), dp, ds0, dW_blocks, dWin_blocks,
                       db_blocks, dx)
    db = block_sum(db_blocks)
    return (dx if need_dx else None, block_sum(dWin_blocks), db, block_sum(dW_blocks), db,
            ds0)
