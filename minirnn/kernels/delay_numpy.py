r"""The delay line (time-delay embedding) in plain NumPy: the reference.

A time-delay network, and NARX's regressors, read a window of past values at every step:

    e_t = [v_{t-s}, v_{t-s-1}, …, v_{t-s-n+1}]        (B, T, n·C) from v (B, T, C)

with s the first lag (0 for the inputs x_t, x_{t-1}, …; 1 for NARX's past outputs y_{t-1}, …)
and n the number of lags. Values before the start of the sequence are zero (zero padding: the
first outputs of a window model see a shorter past, documented in the models).

It is linear, so its backward is its transpose, a "fold" that sends each copy back:

    ∂L/∂v_u = Σ_j ∂L/∂e_{u+s+j}[block j]        (for u+s+j < T)
"""
import numpy as np


def delay_forward(v, first, count):
    B, T, C = v.shape
    e = np.zeros((B, T, count * C), dtype=v.dtype)
    for j in range(count):
        lag = first + j
        if lag < T:
            e[:, lag:, j * C:(j + 1) * C] = v[:, :T - lag]
    return e


def delay_backward(de, first, count, C):
    B, T, _ = de.shape
    dv = np.zeros((B, T, C), dtype=de.dtype)
    for j in range(count):
        lag = first + j
        if lag < T:
            dv[:, :T - lag] += de[:, lag:, j * C:(j + 1) * C]
    return dv
