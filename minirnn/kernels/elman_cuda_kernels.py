"""The CUDA kernels of ``elman_cuda`` (design notes there).

A module of its own so that ``numba.cuda`` is imported only when the cuda backend is used, and so
that ``cuda`` is a module global: Numba's CUDA simulator swaps that global for its own.
"""
from numba import cuda

from .activations import activate, derivative
from .cuda_device import transposed_dot


@cuda.jit(cache=True)
def elman_forward_kernel(a, Wt, h0, lengths, code, hs):
    """hs[b, t, i] = f(a[b, t, i] + Σ_j Wt[j, i] h_{t-1}[j]); h_{-1} = h0[b]."""
    B, T, H = a.shape
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for t in range(T):
            for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                if t < lengths[b]:
                    z = a[b, t, i]
                    for j in range(H):
                        prev = hs[b, t - 1, j] if t > 0 else h0[b, j]
                        z += Wt[j, i] * prev  # Wt[j, i]: neighbouring threads, neighbouring i
                    hs[b, t, i] = activate(code, z)
                else:
                    hs[b, t, i] = hs[b, t - 1, i] if t > 0 else h0[b, i]
            cuda.syncthreads()  # h_t complete before any thread reads it at t+1


@cuda.jit(cache=True)
def elman_backward_kernel(dhs, hs, W, lengths, code, dz, carry):
    """dz_t = (g_t + carry) f'(h_t); carry = W^T dz_t. ``carry`` (B, H), zero on entry,
    holds W_hh^T dz_{t+1} between steps and ends as dh0."""
    B, T, H = hs.shape
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for t in range(T - 1, -1, -1):
            active = t < lengths[b]  # the same for the whole block: no divergent sync
            for i in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                g = dhs[b, t, i] + carry[b, i]
                if active:
                    dz[b, t, i] = g * derivative(code, hs[b, t, i])
                else:
                    dz[b, t, i] = 0
                    carry[b, i] = g
            cuda.syncthreads()  # all of dz_t written before it is summed below
            if active:
                for j in range(cuda.threadIdx.x, H, cuda.blockDim.x):
                    carry[b, j] = transposed_dot(W, dz, b, t, j)  # W_hh^T dz_t
            # No second sync: the next step reads carry[b, i] only in the thread that wrote
            # it, and writes dz[b, t-1], which nobody is reading.
