r"""The LSTM recurrence in plain NumPy: the reference that teaches the maths.

Dimensions: B batch, T time steps, H hidden units; the four gates side by side make 4H rows.

Forward (PyTorch's ``nn.LSTM`` equations and weight layout: rows [i | f | g | o]). With the input
part of every gate's pre-activation computed for every step outside the loop (one batched
product, a_t = W_xh x_t + b_xh, (B, T, 4H): the op does it, ``op.py``), the sequential work is

    p_t = a_t + W_hh h_{t-1} + b_hh                 the four pre-activations, (B, 4H)
    i_t = σ(p_t^i)      input gate: how much of the candidate enters the cell
    f_t = σ(p_t^f)      forget gate: how much of the old cell is kept
    g_t = tanh(p_t^g)   the candidate
    o_t = σ(p_t^o)      output gate: how much of the cell is shown
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                 the cell state: the memory m_t of the article
    h_t = o_t ⊙ tanh(c_t)                           for t = 0 … T-1, (h_{-1}, c_{-1}) = (h0, c0)

The state is the pair (h_t, c_t), kept side by side as s_t = [h_t | c_t] (B, 2H): the op
returns every s_t, (B, T, 2H), so that a model reads h_t for its output and carries the last
s_t to the next chunk. A padded row (t >= its length) keeps its state: s_t = s_{t-1}.

Backward through time. Write dh_t = ∂L/∂h_t and dc_t = ∂L/∂c_t for the TOTAL derivatives (through
everything after step t), and gh_t, gc_t for the direct ones (the gradient that reaches s_t from
outside the recurrence: the outputs, a next chunk). From t = T-1 down to 0:

1. What h_t owes. h_t feeds the outputs directly and the four pre-activations p_{t+1}:

       dh_t = gh_t + W_hh^T dp_{t+1}                                  (dp_T = 0)

2. What c_t owes. c_t feeds h_t = o_t ⊙ tanh(c_t) and the next cell c_{t+1} = f_{t+1} ⊙ c_t + …:

       dc_t = gc_t + f_{t+1} ⊙ dc_{t+1} + dh_t ⊙ o_t ⊙ (1 - tanh²(c_t))     (f_T ⊙ dc_T = 0)

   The middle term is the cell-state carry: a product of forget gates, not of W_hh and
   tanh', so when f ≈ 1 the gradient passes back through many steps without shrinking. That
   is the whole point of the cell (compare ``elman.reference``: dh_{t-1} = W_hh^T (dh_t ⊙ f')).

3. The gates' local derivatives, from c_t = f_t c_{t-1} + i_t g_t and h_t = o_t tanh(c_t):

       ∂L/∂i_t = dc_t ⊙ g_t       ∂L/∂f_t = dc_t ⊙ c_{t-1}
       ∂L/∂g_t = dc_t ⊙ i_t       ∂L/∂o_t = dh_t ⊙ tanh(c_t)

   and through the activations, σ' = σ(1 - σ) and tanh' = 1 - tanh², written with the saved
   gate values so that no pre-activation is kept:

       dp_t = [∂L/∂i_t ⊙ i_t(1 - i_t) | ∂L/∂f_t ⊙ f_t(1 - f_t) | ∂L/∂g_t ⊙ (1 - g_t²)
               | ∂L/∂o_t ⊙ o_t(1 - o_t)]                                             (B, 4H)

4. The weights, as sums over every step (one product each, outside the loop):

       ∂L/∂a_t = dp_t   so ∂L/∂W_xh = Σ_t dp_t x_t^T,  ∂L/∂b_xh = Σ_t dp_t,  ∂L/∂x_t = W_xh^T dp_t
       ∂L/∂W_hh = Σ_t dp_t h_{t-1}^T,   ∂L/∂b_hh = Σ_t dp_t
       ∂L/∂h0 = W_hh^T dp_0,   ∂L/∂c0 = f_0 ⊙ dc_0.

A padded step passes both gradients straight through: dp_t = 0, dh_{t-1} gets dh_t and dc_{t-1}
gets dc_t. Only steps 1-3 are sequential; the reference computes dp (B, T, 4H) and the initial
state's gradient, and the op adds the weight gradients as products (``op.py``).

What the recurrence adds to each state's direct gradient, dh_t - gh_t = W_hh^T dp_{t+1} and
dc_t - gc_t = f_{t+1} ⊙ dc_{t+1} + dh_t ⊙ o_t ⊙ (1 - tanh²(c_t)), is the state's *inside share*
(``kernels.fused.StateTaps``): ``keep_inside=True`` returns it, [inside_h | inside_c] (B, T, 2H),
for a model that shows its states' total gradients (``return_states``).
"""
import numpy as np

from ..activations import activate_array


def lstm_forward(a, W_hh, b_hh, s0, lengths):
    """(states (B, T, 2H) = [h_t | c_t], gates (B, T, 4H) = [i | f | g | o]) from a (B, T, 4H),
    W_hh (4H, H), b_hh (4H,), s0 (B, 2H) = [h0 | c0], lengths (B,) int. A padded step's gates
    are left as computed (its dp is zero, so they are never read)."""
    B, T, G = a.shape
    H = G // 4
    states = np.empty((B, T, 2 * H), dtype=a.dtype)
    gates = np.empty_like(a)
    h, c = s0[:, :H].copy(), s0[:, H:].copy()
    for t in range(T):
        p = a[:, t] + h @ W_hh.T + b_hh
        i = activate_array("sigmoid", p[:, :H])
        f = activate_array("sigmoid", p[:, H:2 * H])
        g = np.tanh(p[:, 2 * H:3 * H])
        o = activate_array("sigmoid", p[:, 3 * H:])
        active = (t < lengths)[:, None]
        c = np.where(active, f * c + i * g, c)
        h = np.where(active, o * np.tanh(c), h)
        states[:, t, :H], states[:, t, H:] = h, c
        gates[:, t] = np.concatenate([i, f, g, o], axis=1)
    return states, gates


def lstm_backward(dstates, states, gates, s0, W_hh, lengths, keep_inside=False):
    """(dp (B, T, 4H), ds0 (B, 2H)) from dstates = ∂L/∂states (B, T, 2H), the direct gradients
    [gh_t | gc_t], and the forward's states and gates; and, with ``keep_inside``, the states'
    inside shares (B, T, 2H) third."""
    B, T, H2 = states.shape
    H = H2 // 2
    dp = np.zeros_like(gates)
    carry_h = np.zeros((B, H), dtype=states.dtype)  # W_hh^T dp_{t+1}: what h_t owes the future
    carry_c = np.zeros((B, H), dtype=states.dtype)  # f_{t+1} ⊙ dc_{t+1}: what c_t owes it
    inside = np.zeros_like(states) if keep_inside else None
    for t in range(T - 1, -1, -1):
        i, f, g, o = (gates[:, t, k * H:(k + 1) * H] for k in range(4))
        c = states[:, t, H:]
        c_prev = states[:, t - 1, H:] if t > 0 else s0[:, H:]
        tanh_c = np.tanh(c)
        dh = dstates[:, t, :H] + carry_h                                  # step 1
        dc = dstates[:, t, H:] + carry_c + dh * o * (1 - tanh_c * tanh_c)  # step 2
        dp_t = np.concatenate([dc * g * i * (1 - i),                       # step 3
                               dc * c_prev * f * (1 - f),
                               dc * i * (1 - g * g),
                               dh * tanh_c * o * (1 - o)], axis=1)
        active = (t < lengths)[:, None]
        if keep_inside:  # dh_t and dc_t less their direct parts (a padded c_t: the carry alone)
            inside[:, t, :H] = carry_h
            inside[:, t, H:] = np.where(active, dc - dstates[:, t, H:], carry_c)
        dp[:, t] = np.where(active, dp_t, 0)
        carry_h = np.where(active, dp[:, t] @ W_hh, dh)
        carry_c = np.where(active, dc * f, dstates[:, t, H:] + carry_c)
    ds0 = np.concatenate([carry_h, carry_c], axis=1)
    return (dp, ds0, inside) if keep_inside else (dp, ds0)
