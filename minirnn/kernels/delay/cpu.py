"""The delay line as Numba CPU kernels (equations in ``reference``), parallel over the batch.

Both run in parallel over the batch rows, which never share memory. Below ``SPLIT_WORK``
copied elements the wrappers call the NumPy reference instead: its slice copies are the same
function and faster on one thread, where the compiled call's own cost dominates.
"""
import numba
import numpy as np

from .. import blas
from ..blas import cpu_jit, kernel_threads, row_blocks
from . import reference


@cpu_jit(parallel=True)
def _delay_forward(v, first, count, start, e):
    B, steps, _ = e.shape
    C = v.shape[2]
    for b in numba.prange(B):
        for s in range(steps):
            t = s + start
            for j in range(count):
                lag = first + j
                for c in range(C):
                    e[b, s, j * C + c] = v[b, t - lag, c] if t >= lag else 0


@cpu_jit(parallel=True)
def _delay_backward(de, first, count, start, dv):
    """∂L/∂v_u = Σ_j ∂L/∂e_{u+first+j}[block j]: each row's copies are sent back by the one
    thread that owns the row (so no two threads add into the same element), a contiguous
    block of C values at a time."""
    B, steps, _ = de.shape
    C = dv.shape[2]
    for b in numba.prange(B):
        dv[b] = 0
        for s in range(steps):
            t = s + start
            for j in range(count):
                lag = first + j
                if t >= lag:
                    for c in range(C):
                        dv[b, t - lag, c] += de[b, s, j * C + c]


def delay_forward(v, first, count, start):
    B, T, C = v.shape
    if B * (T - start) * count * C < blas.SPLIT_WORK:
        return reference.delay_forward(v, first, count, start)
    e = np.empty((B, T - start, count * C), dtype=v.dtype)
    with kernel_threads(row_blocks(B)):
        _delay_forward(np.ascontiguousarray(v), first, count, start, e)
    return e


def delay_backward(de, first, count, start, C):
    B, steps, _ = de.shape
    if de.size < blas.SPLIT_WORK:
        return reference.delay_backward(de, first, count, start, C)
    dv = np.empty((B, steps + start, C), dtype=de.dtype)
    with kernel_threads(row_blocks(B)):
        _delay_backward(np.ascontiguousarray(de), first, count, start, dv)
    return dv
