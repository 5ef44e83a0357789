"""The CUDA kernels of ``cuda`` (design notes there; equations and BPTT in ``reference``).

A module of its own so that ``numba.cuda`` is imported only when the cuda backend is used, and so
that ``cuda`` is a module global: Numba's CUDA simulator swaps that global for its own.

Each kernel is written once, as a device function that takes the block's shared memory as an
argument; the ``_f32`` / ``_f64`` kernels only declare that memory with their dtype (Numba
cannot take a shared array's dtype from an argument) and call it. Thread i owns unit i (and
every unit i + k·blockDim): its three gates and its carry, so that only h_t (forward) and du_t
(backward, for W_hh^T du_t) are read across threads, after a ``syncthreads``.
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
def _gru_forward(a, Wt, b_hh, h0, lengths, hs, saved, shared):
    """For each row b and step t < lengths[b], thread i's unit i:

        u^k = b_hh[kH + i] + Σ_j Wt[j, kH + i] h_{t-1}[j]          (k = r, z, n)
        r_t = σ(a[b, t, i] + u^r),  z_t = σ(a[b, t, H + i] + u^z)
        n_t = tanh(a[b, t, 2H + i] + r_t u^n)
        h_t[i] = (1 - z_t) n_t + z_t h_{t-1}[i]

    hs[b, t] = h_t, saved[b, t] = [r | z | n | u^n]; h_{-1} = h0[b]. A padded step (t >=
    lengths[b]) keeps the state (its saved gates are not written: never read).

    shared: two buffers of h (h_{t-1} read, h_t written, swapped each step), then, when the
    launcher made room for it, Wt = W_hh^T (H × 3H) itself, loaded once and read T times per
    row."""
    B, T, G = a.shape
    H = G // 3
    on_chip = shared.size >= 2 * H + G * H
    Ws = shared[2 * H:]
    if on_chip:
        _load_on_chip(Wt, Ws, H, G)
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        prev = 0
        for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
            shared[i] = h0[b, i]
        cuda.syncthreads()  # h_{-1} (and W) on chip before anyone reads them
        for t in range(T):
            h_prev = shared[prev * H:prev * H + H]
            if t < lengths[b]:  # the same for the whole block: no divergent sync
                h_new = shared[(1 - prev) * H:(1 - prev) * H + H]
                for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    u_r, u_z, u_n = b_hh[i], b_hh[H + i], b_hh[2 * H + i]
                    if on_chip:  # neighbouring threads read neighbouring words: no conflicts
                        for j in range(H):
                            h = h_prev[j]
                            row = j * G
                            u_r += Ws[row + i] * h
                            u_z += Ws[row + H + i] * h
                            u_n += Ws[row + 2 * H + i] * h
                    else:
                        for j in range(H):
                            h = h_prev[j]
                            u_r += Wt[j, i] * h
                            u_z += Wt[j, H + i] * h
                            u_n += Wt[j, 2 * H + i] * h
                    r = activate(SIGMOID, a[b, t, i] + u_r)
                    z = activate(SIGMOID, a[b, t, H + i] + u_z)
                    n = activate(TANH, a[b, t, 2 * H + i] + r * u_n)
                    h = (cast_like(1, z) - z) * n + z * h_prev[i]
                    h_new[i] = h
                    hs[b, t, i] = h
                    saved[b, t, i] = r
                    saved[b, t, H + i] = z
                    saved[b, t, 2 * H + i] = n
                    saved[b, t, 3 * H + i] = u_n
                cuda.syncthreads()  # h_t complete before any thread reads it at t+1
                prev = 1 - prev
            else:  # after its end a row keeps its state
                for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    hs[b, t, i] = h_prev[i]
        cuda.syncthreads()  # this row's buffers are free before the next row's h0 goes in


@cuda.jit(device=True, inline=True)
def _gru_backward(dhs, hs, saved, h0, W, lengths, da, du, dh0, shared):
    """From t = T-1 down to 0, thread i's unit i, with gh_t = dhs[b, t]:

        dh = gh_t[i] + carry[i]
        dq = dh (1 - z_t)(1 - n_t²)
        dr = dq u^n_t r_t(1 - r_t),   dz = dh (h_{t-1}[i] - n_t) z_t(1 - z_t)
        da_t[kH + i] = [dr | dz | dq],   du_t[kH + i] = [dr | dz | dq r_t]
        carry[i] = z_t dh + Σ_m W[m, i] du_t[m]     (W_hh^T du_t, after a sync)

    and the carry ends as dh0[b]. A padded step passes the gradient through: da_t = du_t = 0,
    carry = dh.

    shared: the carry (H), du_t (3H), then W_hh (3H × H) when there is room for it."""
    B, T, H = hs.shape
    G = 3 * H
    on_chip = shared.size >= 4 * H + G * H
    carry, d, Ws = shared[:H], shared[H:4 * H], shared[4 * H:]
    if on_chip:
        _load_on_chip(W, Ws, G, H)
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
            carry[i] = 0
        for t in range(T - 1, -1, -1):
            active = t < lengths[b]  # the same for the whole block
            for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                dh = dhs[b, t, i] + carry[i]
                if active:
                    one = cast_like(1, dh)
                    r, z = saved[b, t, i], saved[b, t, H + i]
                    n, u_n = saved[b, t, 2 * H + i], saved[b, t, 3 * H + i]
                    h_prev = hs[b, t - 1, i] if t > 0 else h0[b, i]
                    dq = dh * (one - z) * (one - n * n)
                    dr = dq * u_n * r * (one - r)
                    dz = dh * (h_prev - n) * z * (one - z)
                    da[b, t, i] = dr
                    da[b, t, H + i] = dz
                    da[b, t, 2 * H + i] = dq
                    du[b, t, i] = dr
                    du[b, t, H + i] = dz
                    du[b, t, 2 * H + i] = dq * r
                    d[i] = dr
                    d[H + i] = dz
                    d[2 * H + i] = dq * r
                    carry[i] = dh * z  # the direct path; W_hh^T du_t is added below
                else:  # padding: the gradient passes straight through to h_{t-1}
                    for k in range(3):
                        da[b, t, k * H + i] = 0
                        du[b, t, k * H + i] = 0
                    carry[i] = dh
            cuda.syncthreads()  # all of du_t (and W) on chip before it is summed below
            if active:
                for j in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    acc = d[0] * (Ws[j] if on_chip else W[0, j])
                    if on_chip:  # neighbouring threads read neighbouring words
                        for m in range(1, G):
                            acc += Ws[m * H + j] * d[m]
                    else:
                        for m in range(1, G):
                            acc += W[m, j] * d[m]
                    carry[j] = carry[j] + acc  # only thread j reads or writes carry[j]
                cuda.syncthreads()  # every thread done reading d before it is overwritten
        for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
            dh0[b, i] = carry[i]
        cuda.syncthreads()


@cuda.jit(cache=True)
def gru_forward_f32(a, Wt, b_hh, h0, lengths, hs, saved):
    _gru_forward(a, Wt, b_hh, h0, lengths, hs, saved, cuda.shared.array(0, float32))


@cuda.jit(cache=True)
def gru_forward_f64(a, Wt, b_hh, h0, lengths, hs, saved):
    _gru_forward(a, Wt, b_hh, h0, lengths, hs, saved, cuda.shared.array(0, float64))


@cuda.jit(cache=True)
def gru_backward_f32(dhs, hs, saved, h0, W, lengths, da, du, dh0):
    _gru_backward(dhs, hs, saved, h0, W, lengths, da, du, dh0, cuda.shared.array(0, float32))


@cuda.jit(cache=True)
def gru_backward_f64(dhs, hs, saved, h0, W, lengths, da, du, dh0):
    _gru_backward(dhs, hs, saved, h0, W, lengths, da, du, dh0, cuda.shared.array(0, float64))


KERNELS = {"float32": (gru_forward_f32, gru_backward_f32),
           "float64": (gru_forward_f64, gru_backward_f64)}
