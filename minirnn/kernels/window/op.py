"""The fused window layer: one tape operation (equations in ``reference``).

    h = window_layer(b, [(v_1, W_1), …], [(first_1, count_1, start_1), …], activation, backend)

h_t = f(Σ_i W_i e^i_t + b), e^i the delay line of v^i (``kernels.delay``): the numpy engine
runs ``reference``, the cpu engine ``cpu``. The models build the same layer from the delay
line, ``linear`` and the activation on the tape and cuda engines (``models.base.window``).
"""
from __future__ import annotations

from ...autograd import Tensor
from ..delay import check_start
from ..fused import fused_op
from . import cpu, reference


def _host(kernels):
    """The numpy and cpu engines: the same calls, to ``reference`` or ``cpu``."""
    def run(b, *args):
        *pairs, lags, activation = args
        sources, weights = pairs[0::2], pairs[1::2]
        h, e = kernels.window_forward(b, sources, weights, lags, activation)

        def backward(dh, needs):
            need_sources = needs[1::2]
            db, dW, de = kernels.window_backward(dh, h, e, weights, activation,
                                                 need_e=any(need_sources))
            dv = kernels.fold(de, sources, lags, need_sources) if any(need_sources) else \
                [None] * len(sources)
            grads = [db if needs[0] else None]
            for i, (gv, gW) in enumerate(zip(dv, dW, strict=True)):
                grads += [gv, gW if needs[2 + 2 * i] else None]
            return tuple(grads)
        return h, backward
    return run


IMPLEMENTATIONS = {"numpy": _host(reference), "cpu": _host(cpu)}


def window_layer(b: Tensor, pairs, lags, activation: str, backend: str) -> Tensor:
    """h_t = f(Σ_i W_i e^i_t + b) (B, T, H) as ONE tape op, e^i_t = [v^i_{t-first_i}, …,
    v^i_{t-first_i-count_i+1}] for t = start_i … (zeros before 0): ``pairs`` the (v^i, W_i),
    ``lags`` the (first_i, count_i, start_i). Every source gives the same number of steps."""
    steps = {v.shape[1] - start for (v, _), (_, _, start) in zip(pairs, lags, strict=True)}
    for (v, _), (_, _, start) in zip(pairs, lags, strict=True):
        check_start(v, start)
    if len(steps) != 1:
        raise ValueError(f"window_layer: the sources give different numbers of steps {steps}")
    inputs = (b, *(t for pair in pairs for t in pair))
    return fused_op("window_layer", backend, IMPLEMENTATIONS, inputs,
                    tuple(tuple(lag) for lag in lags), activation)
