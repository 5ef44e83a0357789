"""The CUDA kernels of ``cuda`` (design notes there; equations and BPTT in ``reference``).

A module of its own so that ``numba.cuda`` is imported only when the cuda backend is used, and so
that ``cuda`` is a module global: Numba's CUDA simulator swaps that global for its own.

Each kernel is written once, as a device function that takes the block's shared memory as an
argument; the ``_f32`` / ``_f64`` kernels only declare that memory with their dtype (Numba
cannot take a shared array's dtype from an argument) and call it. Thread i owns unit i (and
every unit i + k·blockDim): its four gates, its cell c_t[i] and its carries, so that only h_t
(forward) and dp_t (backward) are read across threads, after a ``syncthreads``.
"""
from numba import cuda, float32, float64

from ..activations import CODES, activate, cast_like

SIGMOID, TANH = CODES["sigmoid"], CODES["tanh"]


@cuda.jit(device=True, inline=True)
def _load_on_chip(W, shared, rows, columns):
    """shared[k·columns + l] = W[k, l], the threads of the block together (once per launch)."""
    for n in range(cuda.threadIdx.x, rows * columns, cuda.blockDim.x):
        shared[n] = W[n // columns, n % columns]


@cuda.jit(device=True, inline=True)
def _lstm_forward(a, Wt, b_hh, s0, lengths, states, gates, shared):
    """For each row b and step t < lengths[b], thread i's unit i:

        p^k = a[b, t, kH + i] + b_hh[kH + i] + Σ_j Wt[j, kH + i] h_{t-1}[j]   (k = i, f, g, o)
        i_t, f_t, g_t, o_t = σ(p^i), σ(p^f), tanh(p^g), σ(p^o)
        c_t[i] = f_t c_{t-1}[i] + i_t g_t
        h_t[i] = o_t tanh(c_t[i])

    states[b, t] = [h_t | c_t], gates[b, t] = [i | f | g | o]; (h_{-1}, c_{-1}) = s0[b]. A
    padded step (t >= lengths[b]) keeps the state (its gates are not written: never read).

    shared: two buffers of h (h_{t-1} read, h_t written, swapped each step), c (read and written
    by its own thread only), then, when the launcher made room for it, Wt = W_hh^T (H × 4H)
    itself, loaded once and read T times per row."""
    B, T, G = a.shape
    H = G // 4
    on_chip = shared.size >= 3 * H + G * H
    c, Ws = shared[2 * H:3 * H], shared[3 * H:]
    if on_chip:
        _load_on_chip(Wt, Ws, H, G)
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        prev = 0
        for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
            shared[i] = s0[b, i]
            c[i] = s0[b, H + i]
        cuda.syncthreads()  # h_{-1} (and W) on chip before anyone reads them
        for t in range(T):
            h_prev = shared[prev * H:prev * H + H]
            if t < lengths[b]:  # the same for the whole block: no divergent sync
                h_new = shared[(1 - prev) * H:(1 - prev) * H + H]
                for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    p_i = a[b, t, i] + b_hh[i]
                    p_f = a[b, t, H + i] + b_hh[H + i]
                    p_g = a[b, t, 2 * H + i] + b_hh[2 * H + i]
                    p_o = a[b, t, 3 * H + i] + b_hh[3 * H + i]
                    if on_chip:  # neighbouring threads read neighbouring words: no conflicts
                        for j in range(H):
                            h = h_prev[j]
                            row = j * G
                            p_i += Ws[row + i] * h
                            p_f += Ws[row + H + i] * h
                            p_g += Ws[row + 2 * H + i] * h
                            p_o += Ws[row + 3 * H + i] * h
                    else:
                        for j in range(H):
                            h = h_prev[j]
                            p_i += Wt[j, i] * h
                            p_f += Wt[j, H + i] * h
                            p_g += Wt[j, 2 * H + i] * h
                            p_o += Wt[j, 3 * H + i] * h
                    ig, fg = activate(SIGMOID, p_i), activate(SIGMOID, p_f)
                    gg, og = activate(TANH, p_g), activate(SIGMOID, p_o)
                    cell = fg * c[i] + ig * gg
                    h = og * activate(TANH, cell)
                    c[i] = cell
                    h_new[i] = h
                    states[b, t, i] = h
                    states[b, t, H + i] = cell
                    gates[b, t, i] = ig
                    gates[b, t, H + i] = fg
                    gates[b, t, 2 * H + i] = gg
                    gates[b, t, 3 * H + i] = og
                cuda.syncthreads()  # h_t complete before any thread reads it at t+1
                prev = 1 - prev
            else:  # after its end a row keeps its state
                for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    states[b, t, i] = h_prev[i]
                    states[b, t, H + i] = c[i]
        cuda.syncthreads()  # this row's buffers are free before the next row's s0 goes in


@cuda.jit(device=True, inline=True)
def _lstm_backward(dstates, states, gates, s0, W, lengths, dp, ds0, shared):
    """From t = T-1 down to 0, thread i's unit i, with [gh_t | gc_t] = dstates[b, t]:

        dh = gh_t[i] + carry_h[i]
        dc = gc_t[i] + carry_c[i] + dh o_t (1 - tanh²(c_t[i]))
        dp_t[kH + i] = [dc g_t i_t(1 - i_t) | dc c_{t-1}[i] f_t(1 - f_t) | dc i_t (1 - g_t²)
                        | dh tanh(c_t[i]) o_t(1 - o_t)]
        carry_c[i] = f_t dc,   carry_h[i] = Σ_m W[m, i] dp_t[m]   (W_hh^T dp_t, after a sync)

    and the carries end as ds0[b] = [∂L/∂h0 | ∂L/∂c0]. A padded step passes both gradients
    through: dp_t = 0, carry_h = dh, carry_c = gc_t + carry_c.

    shared: carry_h (H), carry_c (H), dp_t (4H), then W_hh (4H × H) when there is room."""
    B, T, H2 = states.shape
    H = H2 // 2
    G = 4 * H
    on_chip = shared.size >= 6 * H + G * H
    carry_h, carry_c = shared[:H], shared[H:2 * H]
    d, Ws = shared[2 * H:6 * H], shared[6 * H:]
    if on_chip:
        _load_on_chip(W, Ws, G, H)
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
            carry_h[i] = 0
            carry_c[i] = 0
        for t in range(T - 1, -1, -1):
            active = t < lengths[b]  # the same for the whole block
            for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                dh = dstates[b, t, i] + carry_h[i]
                gc = dstates[b, t, H + i] + carry_c[i]
                if active:
                    one = cast_like(1, dh)
                    ig, fg = gates[b, t, i], gates[b, t, H + i]
                    gg, og = gates[b, t, 2 * H + i], gates[b, t, 3 * H + i]
                    c_prev = states[b, t - 1, H + i] if t > 0 else s0[b, H + i]
                    tanh_c = activate(TANH, states[b, t, H + i])
                    dc = gc + dh * og * (one - tanh_c * tanh_c)
                    d_i = dc * gg * ig * (one - ig)
                    d_f = dc * c_prev * fg * (one - fg)
                    d_g = dc * ig * (one - gg * gg)
                    d_o = dh * tanh_c * og * (one - og)
                    d[i] = d_i
                    d[H + i] = d_f
                    d[2 * H + i] = d_g
                    d[3 * H + i] = d_o
                    dp[b, t, i] = d_i
                    dp[b, t, H + i] = d_f
                    dp[b, t, 2 * H + i] = d_g
                    dp[b, t, 3 * H + i] = d_o
                    carry_c[i] = dc * fg
                else:  # padding: both gradients pass straight through to s_{t-1}
                    for k in range(4):
                        dp[b, t, k * H + i] = 0
                    carry_h[i] = dh
                    carry_c[i] = gc
            cuda.syncthreads()  # all of dp_t (and W) on chip before it is summed below
            if active:
                for j in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    acc = d[0] * (Ws[j] if on_chip else W[0, j])
                    if on_chip:  # neighbouring threads read neighbouring words
                        for m in range(1, G):
                            acc += Ws[m * H + j] * d[m]
                    else:
                        for m in range(1, G):
                            acc += W[m, j] * d[m]
                    carry_h[j] = acc  # (W_hh^T dp_t)[j]: only thread j reads it next
                cuda.syncthreads()  # every thread done reading d before it is overwritten
        for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
            ds0[b, i] = carry_h[i]
            ds0[b, H + i] = carry_c[i]
        cuda.syncthreads()


@cuda.jit(cache=True)
def lstm_forward_f32(a, Wt, b_hh, s0, lengths, states, gates):
    _lstm_forward(a, Wt, b_hh, s0, lengths, states, gates, cuda.shared.array(0, float32))


@cuda.jit(cache=True)
def lstm_forward_f64(a, Wt, b_hh, s0, lengths, states, gates):
    _lstm_forward(a, Wt, b_hh, s0, lengths, states, gates, cuda.shared.array(0, float64))


@cuda.jit(cache=True)
def lstm_backward_f32(dstates, states, gates, s0, W, lengths, dp, ds0):
    _lstm_backward(dstates, states, gates, s0, W, lengths, dp, ds0,
                   cuda.shared.array(0, float32))


@cuda.jit(cache=True)
def lstm_backward_f64(dstates, states, gates, s0, W, lengths, dp, ds0):
    _lstm_backward(dstates, states, gates, s0, W, lengths, dp, ds0,
                   cuda.shared.array(0, float64))


KERNELS = {"float32": (lstm_forward_f32, lstm_backward_f32),
           "float64": (lstm_forward_f64, lstm_backward_f64)}
