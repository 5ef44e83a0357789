"""CUDA kernels of the delay line (equations in ``reference``): one thread per output
element, in a grid-stride loop; the backward gathers, so threads never write the same element.
Imported only when the cuda backend runs (``cuda`` is the global the simulator swaps)."""
from numba import cuda


@cuda.jit(cache=True)
def delay_forward_kernel(v, first, count, start, e):
    B, steps, width = e.shape
    C = v.shape[2]
    for k in range(cuda.grid(1), B * steps * width, cuda.gridsize(1)):
        b, rest = k // (steps * width), k % (steps * width)
        s, col = rest // width, rest % width
        t, lag = s + start, first + col // C
        e[b, s, col] = v[b, t - lag, col % C] if t >= lag else 0


@cuda.jit(cache=True)
def delay_backward_kernel(de, first, count, start, dv):
    B, T, C = dv.shape
    for k in range(cuda.grid(1), B * T * C, cuda.gridsize(1)):
        b, rest = k // (T * C), k % (T * C)
        u, c = rest // C, rest % C
        # a gather (each thread sums the copies of its own element: no atomics needed)
        total = de[b, 0, 0] * 0  # zero of the array's type
        for j in range(count):
            t = u + first + j
            if start <= t < T:
                total += de[b, t - start, j * C + c]
        dv[b, u, c] = total
