"""CUDA kernels of the layered recurrence (equations in ``reference``): one block per batch
row, threads striding over the units of one layer at a time, a ``syncthreads`` after each layer
(the next layer reads all of it) and after the output. Imported only when the cuda backend runs.
The forward takes its weights transposed, so that thread i's reads Wt[j, i] coalesce across a
warp (as in ``memory.cuda_kernels``)."""
from numba import cuda

from ..activations import activate, derivative
from ..cuda_device import transposed_dot


@cuda.jit(cache=True)
def layered_forward_kernel(a, bias, Ut, Vt, Yt, W_hyT, b_y, S0, y0, offsets, lengths, f, g,
                           S_all, ys):
    B, T, A = a.shape
    N, O = bias.size, b_y.size
    first, stride = cuda.threadIdx.x, cuda.blockDim.x
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for t in range(T):
            active = t < lengths[b]  # the same for the whole block
            for layer in range(offsets.size - 1):
                lo, hi = offsets[layer], offsets[layer + 1]
                for i in range(lo + first, hi, stride):
                    if active:
                        z = bias[i] + (a[b, t, i] if i < A else 0)
                        for j in range(lo):
                            z += Ut[j, i] * S_all[b, t, j]
                        for j in range(N):
                            z += Vt[j, i] * (S_all[b, t - 1, j] if t > 0 else S0[b, j])
                        for k in range(O):
                            z += Yt[k, i] * (ys[b, t - 1, k] if t > 0 else y0[b, k])
                        S_all[b, t, i] = activate(f, z)
                    else:
                        S_all[b, t, i] = S_all[b, t - 1, i] if t > 0 else S0[b, i]
                cuda.syncthreads()  # layer complete before the next one reads it
            for k in range(first, O, stride):
                if active:
                    o = b_y[k]
                    for j in range(N):
                        o += W_hyT[j, k] * S_all[b, t, j]
                    ys[b, t, k] = activate(g, o)
                else:
                    ys[b, t, k] = ys[b, t - 1, k] if t > 0 else y0[b, k]
            cuda.syncthreads()


@cuda.jit(cache=True)
def layered_backward_kernel(gS, gy, S_all, ys, U, V, Y, W_hy, offsets, lengths, f, g,
                            dz, do, cS, cy):
    """dz of a layer needs the shares of every layer above it at the same step: layers go
    top-down, and a unit's dS sums those shares as a gather over the rows above."""
    B, T, N = S_all.shape
    O = ys.shape[2]
    L = offsets.size - 1
    first, stride = cuda.threadIdx.x, cuda.blockDim.x
    for b in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        for t in range(T - 1, -1, -1):
            active = t < lengths[b]
            for k in range(first, O, stride):
                dy = gy[b, t, k] + cy[b, k]
                if active:
                    do[b, t, k] = dy * derivative(g, ys[b, t, k])
                else:
                    do[b, t, k] = 0
                    cy[b, k] = dy
            cuda.syncthreads()
            for layer in range(L - 1, -1, -1):
                lo, hi = offsets[layer], offsets[layer + 1]
                for i in range(lo + first, hi, stride):
                    dS = gS[b, t, i] + cS[b, i]
                    if active:
                        dS += transposed_dot(W_hy, do, b, t, i)
                        for r in range(hi, N):  # same-step shares from the layers above
                            dS += U[r, i] * dz[b, t, r]
                        dz[b, t, i] = dS * derivative(f, S_all[b, t, i])
                    else:
                        dz[b, t, i] = 0
                        cS[b, i] = dS
                cuda.syncthreads()  # this layer's dz complete before the layers below read it
            if active:
                for j in range(first, N, stride):
                    cS[b, j] = transposed_dot(V, dz, b, t, j)
                for k in range(first, O, stride):
                    cy[b, k] = transposed_dot(Y, dz, b, t, k)
            cuda.syncthreads()
