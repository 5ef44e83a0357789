"""CUDA kernels of the explicit-memory recurrence (equations in ``reference``).

Same design as the Elman kernels (``elman.cuda``): one block per batch row, the block's threads
striding over units, the whole sequence in one launch. Each step has three dependent phases
(memory, hidden, output), each reading ALL of the previous phase's units, so a
``cuda.syncthreads()`` separates them. States of step t-1 are read back from the output arrays.
The forward takes its weights transposed (W^T, row-major), as the backward's ``transposed_dot``
reads them: thread i then reads Wt[j, i], neighbouring threads neighbouring words, so a warp's
reads coalesce into one transaction (with W[i, j] each thread would read its own row).
Imported only when the cuda backend runs, so ``cuda`` is the module global the simulator swaps.
"""
from numba import cuda

from ..activations import activate, derivative
from ..cuda_device import transposed_dot


@cuda.jit(device=True, inline=True)
def _prev(states, init, b, t, i):
    """s_{t-1}[i] of row b: from the outputs, or the initial state at t = 0."""
    return states[b, t - 1, i] if t > 0 else init[b, i]


@cuda.jit(cache=True)
def memory_forward_kernel(a, W_ymT, W_hmT, W_mmT, b_m, W_mhT, W_hyT, b_y, m0, h0, y0, lengths,
                          r, f, g, ms, hs, ys):
    B, T, H = a.shape
    M, O = b_m.size, b_y.size
    first, stride = cuda.threadIdx.x, cuda.blockDim.x
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for t in range(T):
            active = t < lengths[b]  # the same for the whole block: no divergent sync
            for i in range(first, M, stride):
                if active:
                    q = b_m[i]
                    for j in range(O):
                        q += W_ymT[j, i] * _prev(ys, y0, b, t, j)
                    for j in range(H):
                        q += W_hmT[j, i] * _prev(hs, h0, b, t, j)
                    for j in range(M):
                        q += W_mmT[j, i] * _prev(ms, m0, b, t, j)
                    ms[b, t, i] = activate(r, q)
                else:
                    ms[b, t, i] = _prev(ms, m0, b, t, i)
            cuda.syncthreads()  # m_t complete
            for i in range(first, H, stride):
                if active:
                    z = a[b, t, i]
                    for j in range(M):
                        z += W_mhT[j, i] * ms[b, t, j]
                    hs[b, t, i] = activate(f, z)
                else:
                    hs[b, t, i] = _prev(hs, h0, b, t, i)
            cuda.syncthreads()  # h_t complete
            for i in range(first, O, stride):
                if active:
                    o = b_y[i]
                    for j in range(H):
                        o += W_hyT[j, i] * hs[b, t, j]
                    ys[b, t, i] = activate(g, o)
                else:
                    ys[b, t, i] = _prev(ys, y0, b, t, i)
            cuda.syncthreads()  # y_t complete before step t+1 reads m_t, h_t, y_t


@cuda.jit(cache=True)
def memory_backward_kernel(gm, gh, gy, ms, hs, ys, W_ym, W_hm, W_mm, W_mh, W_hy, lengths,
                           r, f, g, dq, dz, do, cm, ch, cy):
    """cm, ch, cy (B, ·), zero on entry, carry W^T dq_{t+1} between steps and end as the
    initial states' gradients. A thread reads and writes only its own units of them."""
    B, T, H = hs.shape
    M, O = ms.shape[2], ys.shape[2]
    first, stride = cuda.threadIdx.x, cuda.blockDim.x
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for t in range(T - 1, -1, -1):
            active = t < lengths[b]
            for i in range(first, O, stride):
                dy = gy[b, t, i] + cy[b, i]
                if active:
                    do[b, t, i] = dy * derivative(g, ys[b, t, i])
                else:
                    do[b, t, i] = 0
                    cy[b, i] = dy
            cuda.syncthreads()  # do_t complete
            for i in range(first, H, stride):
                dh = gh[b, t, i] + ch[b, i]
                if active:
                    dh += transposed_dot(W_hy, do, b, t, i)
                    dz[b, t, i] = dh * derivative(f, hs[b, t, i])
                else:
                    dz[b, t, i] = 0
                    ch[b, i] = dh
            cuda.syncthreads()  # dz_t complete
            for i in range(first, M, stride):
                dm = gm[b, t, i] + cm[b, i]
                if active:
                    dm += transposed_dot(W_mh, dz, b, t, i)
                    dq[b, t, i] = dm * derivative(r, ms[b, t, i])
                else:
                    dq[b, t, i] = 0
                    cm[b, i] = dm
            cuda.syncthreads()  # dq_t complete
            if active:  # the carries for step t-1: W^T dq_t
                for i in range(first, O, stride):
                    cy[b, i] = transposed_dot(W_ym, dq, b, t, i)
                for i in range(first, H, stride):
                    ch[b, i] = transposed_dot(W_hm, dq, b, t, i)
                for i in range(first, M, stride):
                    cm[b, i] = transposed_dot(W_mm, dq, b, t, i)
            cuda.syncthreads()
