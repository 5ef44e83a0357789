"""The fused delay line: one tape operation (equations in ``reference``).

    e = delay_embed(v, first, count, backend, start)  # (B, T - start, count·C) from v (B, T, C)
"""
from __future__ import annotations


from ...autograd import Tensor
from . import cpu, reference
from ..fused import fused_op

_THREADS = 128  # per block of the CUDA kernels (one thread per element, grid-stride)


def _host(kernels):
    """The numpy and cpu engines: the same calls, to ``reference`` or ``cpu``."""
    def run(v, first, count, start):
        C = v.shape[2]
        return (kernels.delay_forward(v, first, count, start),
                lambda de, needs: (kernels.delay_backward(de, first, count, start, C),))
    return run


def _cuda(v, first, count, start):
    from ..cuda_support import Placement
    from .cuda_kernels import delay_backward_kernel, delay_forward_kernel

    place = Placement(v)
    B, T, C = v.shape
    e = place.empty((B, T - start, count * C), v.dtype)
    blocks = max(1, min(1024, (max(e.size, B * T * C) + _THREADS - 1) // _THREADS))
    delay_forward_kernel[blocks, _THREADS](place.input(v), first, count, start, place.arg(e))

    def backward(de, needs):
        dv = place.empty((B, T, C), de.dtype)
        delay_backward_kernel[blocks, _THREADS](place.input(de), first, count, start,
                                                place.arg(dv))
        return (place.result(dv),)

    return place.result(e), backward


IMPLEMENTATIONS = {"numpy": _host(reference), "cpu": _host(cpu), "cuda": _cuda}


def delay_embed(v: Tensor, first: int, count: int, backend: str, start: int = 0) -> Tensor:
    """e_t = [v_{t-first}, …, v_{t-first-count+1}] (zeros before t = 0) for t = start … T-1:
    a model puts the known past in front of v and starts after it."""
    check_start(v, start)
    return fused_op("delay_embed", backend, IMPLEMENTATIONS, (v,), first, count, start)


def check_start(v: Tensor, start: int):
    """Raise ValueError unless ``start`` is a step of v (B, T, C): 0 <= start < T."""
    if not 0 <= start < v.shape[1]:
        raise ValueError(f"delay_embed: start must lie in [0, {v.shape[1]}), got {start}")
