"""CUDA kernels of the delay line (equations in ``delay_numpy``): one thread per output
element, in a grid-stride loop; the backward gathers, so threads never write the same element.
Imported only when the cuda backend runs (``cuda`` is the global the simulator swaps)."""
from numba import cuda


@cuda.jit(cache=True)
def delay_forward_kernel(v, first, count, e):
    B, T, C = v.shape
    width = count * C
    for k in range(cuda.grid(1), B * T * width, cuda.gridsize(1)):
        b, rest = k // (T * width), k % (T * width)
        t, col = rest // width, rest % width
        lag = first + col // C
        e[b, t, col] = v[b, t - lag, col % C] if t >= lag else 0


@cuda.jit(cache=True)
def delay_backward_kernel(de, first, count, dv):
    B, T, C = dv.shape
    for k in range(cuda.grid(1), B * T * C, cuda.gridsize(1)):
        b, rest = k // (T * C), k % (T * C)
        u, c = rest // C, rest % C
        # the gather of delay_cpu.fold, written out: Numba's CUDA simulator cannot pass its
        # arrays to a CPU-compiled function (scalar ones, like activate, are fine)
        total = de[b, u, 0] * 0
        for j in range(count):
            t = u + first + j
            if t < T:
                total += de[b, t, j * C + c]
        dv[b, u, c] = total
