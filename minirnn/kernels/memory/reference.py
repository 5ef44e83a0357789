r"""The explicit-memory recurrence in plain NumPy: the reference that teaches the maths.

The seed article's "system definition memory": a memory m_t that remembers the past, read by
the hidden layer, whose output is fed back into the memory:

    q_t = W_ym y_{t-1} + W_hm h_{t-1} + W_mm m_{t-1} + b_m,   m_t = r(q_t)
    z_t = a_t + W_mh m_t,                                   h_t = f(z_t)
    o_t = W_hy h_t + b_y,                                   y_t = g(o_t)

with a_t = W_xh x_t + b_h computed for every step outside the loop, and initial states m_{-1},
h_{-1}, y_{-1}. Dimensions: B batch, T time, M memory, H hidden, O output.

It holds several models of the article as special cases, with structured matrices built from
the model's own parameters (so their gradients reach those parameters through the tape):
- Jordan: W_ym = (1-μ) I, W_mm = μ I, W_hm = 0, r = identity (a running average of outputs);
- closed-loop NARX with K output delays: m_t = [y_{t-1}, …, y_{t-K}], W_ym = [I; 0] and W_mm
  the shift that drops the oldest delay; W_mh = W_yh.

Backward through time. With the gradients that reach m_t, h_t, y_t directly (gm_t, gh_t, gy_t)
and the ones from step t+1 (through q_{t+1}), from t = T-1 down to 0:

    dy_t = gy_t + W_ym^T dq_{t+1}              do_t = dy_t ⊙ g'(o_t)
    dh_t = gh_t + W_hm^T dq_{t+1} + W_hy^T do_t   dz_t = dh_t ⊙ f'(z_t)
    dm_t = gm_t + W_mm^T dq_{t+1} + W_mh^T dz_t   dq_t = dm_t ⊙ r'(q_t)

then, as sums over (b, t), one matmul each:

    ∂L/∂W_ym = Σ dq_t y_{t-1}^T   ∂L/∂W_hm = Σ dq_t h_{t-1}^T   ∂L/∂W_mm = Σ dq_t m_{t-1}^T
    ∂L/∂b_m = Σ dq_t   ∂L/∂W_mh = Σ dz_t m_t^T   ∂L/∂a_t = dz_t   ∂L/∂W_hy = Σ do_t h_t^T
    ∂L/∂b_y = Σ do_t   and for the initial states W_ym^T dq_0, W_hm^T dq_0, W_mm^T dq_0.

A padded step (t >= the row's length) keeps all three states; its gradients pass straight
through to step t-1.
"""
import numpy as np

from ..activations import activate_array, derivative_array
from ..fused import packed_gradients


def memory_forward(a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0, lengths, r, f, g):
    """[m_t | h_t | y_t] packed side by side (B, T, M+H+O), from a (B, T, H), the weights and
    the initial states."""
    B, T, H = a.shape
    states = np.empty((B, T, b_m.size + H + b_y.size), dtype=a.dtype)
    ms, hs, ys = unpack(states, b_m.size, H)
    m, h, y = m0, h0, y0
    for t in range(T):
        m_new = activate_array(r, y @ W_ym.T + h @ W_hm.T + m @ W_mm.T + b_m)
        h_new = activate_array(f, a[:, t] + m_new @ W_mh.T)
        y_new = activate_array(g, h_new @ W_hy.T + b_y)
        active = (t < lengths)[:, None]
        m, h, y = (np.where(active, new, old) for new, old in ((m_new, m), (h_new, h), (y_new, y)))
        ms[:, t], hs[:, t], ys[:, t] = m, h, y
    return states


def unpack(states, M, H):
    """Views (ms, hs, ys) of the packed states (no copies)."""
    return states[:, :, :M], states[:, :, M:M + H], states[:, :, M + H:]


def memory_backward(grads, states, W_ym, W_hm, W_mm, W_mh, W_hy, lengths, r, f, g,
                    keep_dq=True):
    """(dq, dz, do, dm0, dh0, dy0) from the direct gradients [gm | gh | gy] of the saved
    states [m | h | y], both packed (B, T, M+H+O), or from gy alone (B, T, O) when nothing
    else reads m_t and h_t; dq is None unless ``keep_dq`` (no weight gradient needs it when
    the memory's weights are fixed)."""
    M, H = W_mm.shape[0], W_mh.shape[0]
    gm, gh, gy = unpack(packed_gradients(grads, states.shape[2]), M, H)
    ms, hs, ys = unpack(states, M, H)
    B, T, _ = hs.shape
    dq, dz, do = np.zeros_like(ms), np.zeros_like(hs), np.zeros_like(ys)
    cm = np.zeros((B, ms.shape[2]), dtype=ms.dtype)  # W_mm^T dq_{t+1}: what m_t owes the future
    ch = np.zeros((B, hs.shape[2]), dtype=hs.dtype)  # W_hm^T dq_{t+1}
    cy = np.zeros((B, ys.shape[2]), dtype=ys.dtype)  # W_ym^T dq_{t+1}
    for t in range(T - 1, -1, -1):
        active = (t < lengths)[:, None]
        dy = gy[:, t] + cy
        do_t = np.where(active, dy * derivative_array(g, ys[:, t]), 0)
        dh = gh[:, t] + ch + do_t @ W_hy
        dz_t = np.where(active, dh * derivative_array(f, hs[:, t]), 0)
        dm = gm[:, t] + cm + dz_t @ W_mh
        dq_t = np.where(active, dm * derivative_array(r, ms[:, t]), 0)
        do[:, t], dz[:, t], dq[:, t] = do_t, dz_t, dq_t
        cy = np.where(active, dq_t @ W_ym, dy)
        ch = np.where(active, dq_t @ W_hm, dh)
        cm = np.where(active, dq_t @ W_mm, dm)
    return dq if keep_dq else None, dz, do, cm, ch, cy
