r"""The Elman / state-space recurrence in plain NumPy: the reference that teaches the maths.

Dimensions: B batch, T time steps, H hidden units.

Forward. With the input part of the pre-activation computed for every step outside the loop
(one batched matmul, a_t = W_xh x_t + b_h: the op does it, ``op.py``), the only sequential work
is

    z_t = a_t + W_hh h_{t-1}
    h_t = f(z_t)                          for t = 0 … T-1, h_{-1} = h0

For padded batches, a row b with length L_b < T keeps its state after its end:
h_t = h_{t-1} for t >= L_b, so the last column of ``hs`` is always each row's final state.

Backward through time. Let dh_t = ∂L/∂h_t (total). h_t feeds the loss directly (the given
gradient g_t = ∂L/∂h_t through the outputs) and through z_{t+1}, so, from t = T-1 down to 0,

    dh_t = g_t + W_hh^T dz_{t+1}           (dz_T = 0)
    dz_t = dh_t ⊙ f'(z_t)                  (f' written with h_t: 1 - h_t² for tanh)

and then, as sums over every step (one matmul each, outside the loop),

    ∂L/∂a_t  = dz_t
    ∂L/∂W_hh = Σ_t dz_t h_{t-1}^T
    ∂L/∂h0   = W_hh^T dz_0.

A padded step passes the gradient straight through: dz_t = 0 and dh_{t-1} gets dh_t.
Only the first two lines are sequential; the reference and cuda kernels compute exactly those
(``dz`` and ``dh0``) and the op adds ∂L/∂W_hh as one matmul; the cpu kernel sums ∂L/∂W_hh
itself, one product per block of rows while the block's dz and hs are still in its cache
(``cpu``).
"""
import numpy as np

from ..activations import activate_array, derivative_array


def elman_forward(a, W_hh, h0, lengths, activation):
    """hs (B, T, H) from a (B, T, H), W_hh (H, H), h0 (B, H), lengths (B,) int."""
    B, T, H = a.shape
    hs = np.empty_like(a)
    h = h0.copy()
    for t in range(T):
        z = a[:, t] + h @ W_hh.T
        active = (t < lengths)[:, None]
        h = np.where(active, activate_array(activation, z), h)
        hs[:, t] = h
    return hs


def elman_backward(dhs, hs, W_hh, lengths, activation):
    """(dz (B, T, H), dh0 (B, H)) from dhs = ∂L/∂hs (B, T, H) and the saved hs."""
    B, T, H = hs.shape
    dz = np.zeros_like(hs)
    carry = np.zeros((B, H), dtype=hs.dtype)  # W_hh^T dz_{t+1}: what h_t owes to the future
    for t in range(T - 1, -1, -1):
        dh = dhs[:, t] + carry
        active = (t < lengths)[:, None]
        dz[:, t] = np.where(active, dh * derivative_array(activation, hs[:, t]), 0)
        carry = np.where(active, dz[:, t] @ W_hh, dh)
    return dz, carry
