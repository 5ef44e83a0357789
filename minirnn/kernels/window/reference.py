r"""The window layer in plain NumPy: the reference.

A time-delay network's hidden layer reads one or more delay lines (``kernels.delay``) of its
sources v^i (B, T_i, C_i) and applies an ordinary layer to them, the same weights at every step:

    e^i_t = [v^i_{t-s_i}, …, v^i_{t-s_i-n_i+1}]       (the delay line of source i)
    z_t   = Σ_i W_i e^i_t + b                           W_i (H, n_i·C_i), b (H,)
    h_t   = f(z_t)                                      (B, T, H)

(the sliding predictor: one source, the window of inputs; an open-loop NARX: two, the inputs
from lag 0 and the true outputs from lag 1). Nothing is carried from step to step, so every
(b, t) is a row of one product: with the delay lines laid side by side, e_t = [e^1_t, e^2_t, …]
(B, T, K) and W = [W_1, W_2, …] (H, K), z = e W^T + b.

Its backward, from the saved e and h (f' written in terms of h, ``activations``):

    dz    = ∂L/∂h ⊙ f'(h)
    ∂L/∂W = Σ_{b,t} dz_t e_t^T      ∂L/∂b = Σ_{b,t} dz_t
    ∂L/∂e = dz W                    ∂L/∂v^i: the delay line's fold of ∂L/∂e^i (``delay``)

One op instead of the delay line, the product, the bias and f on the tape, so the step's
arrays are each written once and the tape runs one closure instead of four.
"""
import numpy as np

from ..activations import activate_array, derivative_array
from ..delay import reference as delay


def embed(sources, lags):
    """e (B, T, K): the delay lines of the sources side by side (``lags``: (first, count,
    start) of each)."""
    B = sources[0].shape[0]
    T = sources[0].shape[1] - lags[0][2]
    width = sum(count * v.shape[2] for v, (_, count, _) in zip(sources, lags, strict=True))
    e = np.empty((B, T, width), dtype=sources[0].dtype)
    column = 0
    for v, (first, count, start) in zip(sources, lags, strict=True):
        C = v.shape[2]
        for j in range(count):  # each lag's block copied in place (no delay line array)
            lo, source, steps = delay.lag_span(first + j, start, v.shape[1])
            block = e[:, :, column + j * C:column + (j + 1) * C]
            block[:, :lo] = 0
            if lo < steps:
                block[:, lo:] = v[:, source:source + steps - lo]
        column += count * C
    return e


def fold(de, sources, lags, needs, delay_backward=delay.delay_backward):
    """∂L/∂v^i for each source that ``needs`` it (None for the others), from ∂L/∂e: each
    source's columns sent back by its delay line's ``delay_backward`` (this reference's, or
    the cpu kernel's)."""
    grads, column = [], 0
    for v, (first, count, start), need in zip(sources, lags, needs, strict=True):
        k = count * v.shape[2]
        grads.append(delay_backward(np.ascontiguousarray(de[:, :, column:column + k]),
                                    first, count, start, v.shape[2]) if need else None)
        column += k
    return grads


def window_forward(b, sources, weights, lags, activation):
    """h (B, T, H) and e (B, T, K): h_t = f(Σ_i W_i e^i_t + b)."""
    e = embed(sources, lags)
    W = np.concatenate(weights, axis=1)
    h = activate_array(activation, e @ W.T + b)
    return h, e


def window_backward(dh, h, e, weights, activation, need_e=True):
    """(∂L/∂b, [∂L/∂W_i], ∂L/∂e or None unless ``need_e``) from ∂L/∂h."""
    dz = dh * derivative_array(activation, h)
    rows_dz, rows_e = dz.reshape(-1, dz.shape[-1]), e.reshape(-1, e.shape[-1])
    dW = rows_dz.T @ rows_e
    splits = np.cumsum([W.shape[1] for W in weights])[:-1]
    W = np.concatenate(weights, axis=1)
    return rows_dz.sum(axis=0), np.split(dW, splits, axis=1), dz @ W if need_e else None
