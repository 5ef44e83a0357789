r"""The GRU recurrence in plain NumPy: the reference that teaches the maths.

Dimensions: B batch, T time steps, H hidden units; the three gates side by side make 3H rows.

Forward (PyTorch's ``nn.GRU`` equations and weight layout: rows [r | z | n]). With the input part
of every gate computed for every step outside the loop (one batched product, a_t = W_xh x_t +
b_xh, (B, T, 3H): the op does it, ``op.py``), the sequential work is

    u_t = W_hh h_{t-1} + b_hh                       the recurrent parts, (B, 3H)
    r_t = σ(a_t^r + u_t^r)              reset gate: how much of the past the candidate sees
    z_t = σ(a_t^z + u_t^z)              update gate: how much of the old state is kept
    n_t = tanh(a_t^n + r_t ⊙ u_t^n)     the candidate
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}           for t = 0 … T-1, h_{-1} = h0

(the reset gate multiplies W_hn h_{t-1} + b_hn, after the product: PyTorch's and cuDNN's form).
A padded row (t >= its length) keeps its state: h_t = h_{t-1}.

Backward through time. Write dh_t = ∂L/∂h_t for the TOTAL derivative and gh_t for the direct one
(through the outputs, or from a next chunk). From t = T-1 down to 0:

1. What h_t owes. h_t feeds the outputs, the three recurrent parts u_{t+1} and, directly, the
   next state through its update gate:

       dh_t = gh_t + z_{t+1} ⊙ dh_{t+1} + W_hh^T du_{t+1}                 (the t+1 terms are 0 at T)

   The middle term is the GRU's carry: where z ≈ 1 the gradient passes back unchanged, as
   the LSTM's passes through its forget gates (``lstm.reference``).

2. The local derivatives, from h_t = (1 - z_t) n_t + z_t h_{t-1}:

       ∂L/∂n_t = dh_t ⊙ (1 - z_t)          ∂L/∂z_t = dh_t ⊙ (h_{t-1} - n_t)

   through n_t = tanh(q_t) with q_t = a_t^n + r_t ⊙ u_t^n:

       dq_t = ∂L/∂n_t ⊙ (1 - n_t²)
       ∂L/∂r_t = dq_t ⊙ u_t^n              ∂L/∂u_t^n = dq_t ⊙ r_t

   and through the sigmoids, σ' = σ(1 - σ), written with the saved gate values:

       da_t = [∂L/∂r_t ⊙ r_t(1 - r_t) | ∂L/∂z_t ⊙ z_t(1 - z_t) | dq_t]             (B, 3H)
       du_t = [∂L/∂r_t ⊙ r_t(1 - r_t) | ∂L/∂z_t ⊙ z_t(1 - z_t) | dq_t ⊙ r_t]

   (the r and z gates see a_t and u_t added, so their two gradients are equal; the candidate
   sees u_t^n through the reset gate, so its du is da scaled by r_t).

3. The weights, as sums over every step (one product each, outside the loop):

       ∂L/∂W_xh = Σ_t da_t x_t^T,  ∂L/∂b_xh = Σ_t da_t,  ∂L/∂x_t = W_xh^T da_t
       ∂L/∂W_hh = Σ_t du_t h_{t-1}^T,  ∂L/∂b_hh = Σ_t du_t
       ∂L/∂h0 = z_0 ⊙ dh_0 + W_hh^T du_0.

The forward saves [r_t | z_t | n_t | u_t^n] (B, T, 4H), all that step 2 reads. A padded step
passes the gradient straight through: da_t = du_t = 0 and dh_{t-1} gets dh_t. Only steps 1-2
are sequential; the reference computes da and du (B, T, 3H) and the initial state's gradient,
and the op adds the weight gradients as products (``op.py``).

What the recurrence adds to h_t's direct gradient, dh_t - gh_t = z_{t+1} ⊙ dh_{t+1} + W_hh^T
du_{t+1}, is its *inside share* (``kernels.fused.StateTaps``): ``keep_inside=True`` returns it
(B, T, H), for a model that shows its states' total gradients (``return_states``).
"""
import numpy as np

from ..activations import activate_array


def gru_forward(a, W_hh, b_hh, h0, lengths):
    """(hs (B, T, H), saved (B, T, 4H) = [r | z | n | u^n]) from a (B, T, 3H), W_hh (3H, H),
    b_hh (3H,), h0 (B, H), lengths (B,) int."""
    B, T, G = a.shape
    H = G // 3
    hs = np.empty((B, T, H), dtype=a.dtype)
    saved = np.empty((B, T, 4 * H), dtype=a.dtype)
    h = h0.copy()
    for t in range(T):
        u = h @ W_hh.T + b_hh
        r = activate_array("sigmoid", a[:, t, :H] + u[:, :H])
        z = activate_array("sigmoid", a[:, t, H:2 * H] + u[:, H:2 * H])
        n = np.tanh(a[:, t, 2 * H:] + r * u[:, 2 * H:])
        active = (t < lengths)[:, None]
        h = np.where(active, (1 - z) * n + z * h, h)
        hs[:, t] = h
        saved[:, t] = np.concatenate([r, z, n, u[:, 2 * H:]], axis=1)
    return hs, saved


def gru_backward(dhs, hs, saved, h0, W_hh, lengths, keep_inside=False):
    """(da (B, T, 3H), du (B, T, 3H), dh0 (B, H)) from dhs = ∂L/∂hs (B, T, H), the direct
    gradients, and the forward's hs and saved gates; and, with ``keep_inside``, h_t's inside
    share (B, T, H) fourth."""
    B, T, H = hs.shape
    da = np.zeros((B, T, 3 * H), dtype=hs.dtype)
    du = np.zeros_like(da)
    carry = np.zeros((B, H), dtype=hs.dtype)  # z_{t+1} dh_{t+1} + W_hh^T du_{t+1}
    inside = np.zeros_like(hs) if keep_inside else None
    for t in range(T - 1, -1, -1):
        if keep_inside:
            inside[:, t] = carry
        r, z, n, un = (saved[:, t, k * H:(k + 1) * H] for k in range(4))
        h_prev = hs[:, t - 1] if t > 0 else h0
        dh = dhs[:, t] + carry                                            # step 1
        dq = dh * (1 - z) * (1 - n * n)                                   # step 2
        dr = dq * un * r * (1 - r)
        dz = dh * (h_prev - n) * z * (1 - z)
        active = (t < lengths)[:, None]
        da[:, t] = np.where(active, np.concatenate([dr, dz, dq], axis=1), 0)
        du[:, t] = np.where(active, np.concatenate([dr, dz, dq * r], axis=1), 0)
        carry = np.where(active, dh * z + du[:, t] @ W_hh, dh)
    return (da, du, carry, inside) if keep_inside else (da, du, carry)
