r"""The delay line (time-delay embedding) in plain NumPy: the reference.

A time-delay network, and NARX's regressors, read a window of past values at every step:

    e_t = [v_{t-s}, v_{t-s-1}, …, v_{t-s-n+1}]        for t = t0 … T-1: (B, T - t0, n·C)

from v (B, T, C), with s the first lag (0 for the inputs x_t, x_{t-1}, …; 1 for NARX's past
outputs y_{t-1}, …) and n the number of lags. Values before the start of the sequence are zero.
The models put the known past (the state) in front of the sequence and start the window at
t0 = the length of that past, so the first window of a sequence is already full.

It is linear, so its backward is its transpose, a "fold" that sends each copy back:

    ∂L/∂v_u = Σ_j ∂L/∂e_{u+s+j}[block j]        (for t0 <= u+s+j < T)
"""
import numpy as np


def lag_span(lag, start, T):
    """(lo, source, steps): output steps [lo, steps) of lag ``lag`` read v[source …], with
    steps = T - start (none when lo >= steps)."""
    lo = max(0, lag - start)
    return lo, lo + start - lag, T - start


def delay_forward(v, first, count, start):
    B, T, C = v.shape
    e = np.zeros((B, T - start, count * C), dtype=v.dtype)
    for j in range(count):
        lo, source, steps = lag_span(first + j, start, T)
        if lo < steps:
            e[:, lo:, j * C:(j + 1) * C] = v[:, source:source + steps - lo]
    return e


def delay_backward(de, first, count, start, C):
    B, steps, _ = de.shape
    dv = np.zeros((B, steps + start, C), dtype=de.dtype)
    for j in range(count):
        lo, source, _ = lag_span(first + j, start, steps + start)
        if lo < steps:
            dv[:, source:source + steps - lo] += de[:, lo:, j * C:(j + 1) * C]
    return dv
