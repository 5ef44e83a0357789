"""Device functions shared by the CUDA kernels (imported only when the cuda backend runs)."""
from numba import cuda


@cuda.jit(device=True, inline=True)
def transposed_dot(W, v, b, t, i):
    """(W^T v[b, t])[i] = Σ_j W[j, i] v[b, t, j]: how BPTT sends a step's gradient back
    through W (row j of W reads unit j; column i collects what unit i is owed)."""
    c = W[0, i] * v[b, t, 0]
    for j in range(1, W.shape[0]):
        c += W[j, i] * v[b, t, j]
    return c
