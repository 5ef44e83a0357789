"""The CUDA kernels of ``cuda`` (design notes there).

A module of its own so that ``numba.cuda`` is imported only when the cuda backend is used, and so
that ``cuda`` is a module global: Numba's CUDA simulator swaps that global for its own.

Each kernel is written once, as a device function that takes the block's shared memory as an
argument; the ``_f32`` / ``_f64`` kernels only declare that memory with their dtype (Numba
cannot take a shared array's dtype from an argument) and call it.
"""
from numba import cuda, float32, float64

from ..activations import activate, derivative


@cuda.jit(device=True, inline=True)
def _load_on_chip(W, shared, H):
    """shared[k·H + l] = W[k, l], the threads of the block together (once per launch)."""
    for n in range(cuda.threadIdx.x, H * H, cuda.blockDim.x):
        shared[n] = W[n // H, n % H]


@cuda.jit(device=True, inline=True)
def _elman_forward(a, Wt, h0, lengths, code, hs, shared):
    """hs[b, t, i] = f(a[b, t, i] + Σ_j Wt[j, i] h_{t-1}[j]); h_{-1} = h0[b].

    shared: two state buffers of H (h_{t-1} read, h_t written, swapped each step), then, when
    the launcher made room for it, Wt itself (H·H), loaded once and read T times per row."""
    B, T, H = a.shape
    on_chip = shared.size >= 2 * H + H * H
    Ws = shared[2 * H:]
    if on_chip:
        _load_on_chip(Wt, Ws, H)
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
                    z = a[b, t, i]
                    if on_chip:  # neighbouring threads read neighbouring words: no conflicts
                        for j in range(H):
                            z += Ws[j * H + i] * h_prev[j]
                    else:
                        for j in range(H):
                            z += Wt[j, i] * h_prev[j]
                    h = activate(code, z)
                    h_new[i] = h
                    hs[b, t, i] = h
                cuda.syncthreads()  # h_t complete before any thread reads it at t+1
                prev = 1 - prev
            else:  # after its end a row keeps its state
                for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    hs[b, t, i] = h_prev[i]
        cuda.syncthreads()  # this row's buffers are free before the next row's h0 goes in


@cuda.jit(device=True, inline=True)
def _elman_backward(dhs, hs, W, lengths, code, dz, dh0, shared):
    """dz_t = (g_t + carry) f'(h_t); carry = W^T dz_t, which ends as dh0[b].

    shared: the carry (H), dz_t (H), then W (H·H) when there is room for it."""
    B, T, H = hs.shape
    on_chip = shared.size >= 2 * H + H * H
    carry, d, Ws = shared[:H], shared[H:2 * H], shared[2 * H:]
    if on_chip:
        _load_on_chip(W, Ws, H)
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
            carry[i] = 0
        for t in range(T - 1, -1, -1):
            active = t < lengths[b]  # the same for the whole block
            for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                g = dhs[b, t, i] + carry[i]
                if active:
                    d[i] = g * derivative(code, hs[b, t, i])
                    dz[b, t, i] = d[i]
                else:  # padding: the gradient passes straight through to h_{t-1}
                    dz[b, t, i] = 0
                    carry[i] = g
            cuda.syncthreads()  # all of dz_t (and W) on chip before it is summed below
            if active:
                for j in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    c = d[0] * (Ws[j] if on_chip else W[0, j])
                    if on_chip:
                        for i in range(1, H):
                            c += Ws[i * H + j] * d[i]
                    else:
                        for i in range(1, H):
                            c += W[i, j] * d[i]
                    carry[j] = c  # (W_hh^T dz_t)[j]: only thread j reads it next
                cuda.syncthreads()  # every thread done reading d before it is overwritten
        for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
            dh0[b, i] = carry[i]
        cuda.syncthreads()


@cuda.jit(cache=True)
def elman_forward_f32(a, Wt, h0, lengths, code, hs):
    _elman_forward(a, Wt, h0, lengths, code, hs, cuda.shared.array(0, float32))


@cuda.jit(cache=True)
def elman_forward_f64(a, Wt, h0, lengths, code, hs):
    _elman_forward(a, Wt, h0, lengths, code, hs, cuda.shared.array(0, float64))


@cuda.jit(cache=True)
def elman_backward_f32(dhs, hs, W, lengths, code, dz, dh0):
    _elman_backward(dhs, hs, W, lengths, code, dz, dh0, cuda.shared.array(0, float32))


@cuda.jit(cache=True)
def elman_backward_f64(dhs, hs, W, lengths, code, dz, dh0):
    _elman_backward(dhs, hs, W, lengths, code, dz, dh0, cuda.shared.array(0, float64))


KERNELS = {"float32": (elman_forward_f32, elman_backward_f32),
           "float64": (elman_forward_f64, elman_backward_f64)}
