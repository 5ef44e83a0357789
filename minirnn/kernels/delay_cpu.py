"""The delay line as Numba CPU kernels (equations in ``delay_numpy``), parallel over the batch.

The backward is written as a gather (each dv element sums the copies that came from it), so
no two threads ever add into the same element.
"""
import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def _delay_forward(v, first, count, e):
    B, T, C = v.shape
    for b in numba.prange(B):
        for t in range(T):
            for j in range(count):
                lag = first + j
                for c in range(C):
                    e[b, t, j * C + c] = v[b, t - lag, c] if t >= lag else 0


@numba.njit(cache=True)
def fold(de, first, count, b, u, c):
    """∂L/∂v[b, u, c] = Σ_j ∂L/∂e[b, u+first+j, j·C + c]: every copy of v_u sends its gradient
    back (a gather, so parallel rows never write the same element)."""
    T, C = de.shape[1], de.shape[2] // count
    total = de[b, u, 0] * 0
    for j in range(count):
        t = u + first + j
        if t < T:
            total += de[b, t, j * C + c]
    return total


@numba.njit(parallel=True, cache=True)
def _delay_backward(de, first, count, dv):
    B, T, C = dv.shape
    for b in numba.prange(B):
        for u in range(T):
            for c in range(C):
                dv[b, u, c] = fold(de, first, count, b, u, c)


def delay_forward(v, first, count):
    B, T, C = v.shape
    e = np.empty((B, T, count * C), dtype=v.dtype)
    _delay_forward(np.ascontiguousarray(v), first, count, e)
    return e


def delay_backward(de, first, count, C):
    B, T, _ = de.shape
    dv = np.empty((B, T, C), dtype=de.dtype)
    _delay_backward(np.ascontiguousarray(de), first, count, dv)
    return dv
