r"""The layered recurrence (multi-layer RNN with top-down or output feedback) in plain NumPy.

Layers l = 0 … L-1 with their states side by side in one vector S_t = [h^0_t, …, h^{L-1}_t]
(N = Σ H_l units; layer l holds units off[l] … off[l+1]-1). One step computes the layers in
order, each reading the layers below at the SAME step:

    z^l_t = a^l_t + b^l + U^l S_t[: off[l]] + V^l S_{t-1} + Y^l y_{t-1},    h^l_t = f(z^l_t)
    y_t   = g(W_hy S_t + b_y)

U (N, N) holds the same-step weights (only the blocks left of a layer's own are read), V (N, N)
the previous-step ones (own recurrence W_hh on the diagonal blocks, top-down feedback W_fb
right of them), Y (N, O) the output feedback. a_t (B, T, A) is the input of the first A units
(W_xh x_t for layer 0: A = H_0), computed for all t outside the loop, and 0 for the units above;
b (N,) every unit's bias. (The layers above read the input only through U, so their share of
a_t would be a (B, T, N - A) array of copies of their biases.) MultiLayerRNN builds U, V, Y
from its per-layer parameters on the tape, so their gradients reach those parameters.

Backward through time, from t = T-1 down to 0, with cS = V^T dz_{t+1} and cy = Y^T dz_{t+1}:

    dy_t = gy_t + cy,   do_t = dy_t ⊙ g'(o_t)
    dS_t = gS_t + cS + W_hy^T do_t
    for l = L-1 … 0:   dz^l_t = dS^l_t ⊙ f'(z^l_t);   dS_t[: off[l]] += (U^l)^T dz^l_t
    cS = V^T dz_t,  cy = Y^T dz_t

(top-down within the step: a layer's dz is known once every layer above it has sent its share),
then ∂L/∂U = Σ dz_t S_t^T (left-of-diagonal blocks), ∂L/∂V = Σ dz_t S_{t-1}^T,
∂L/∂Y = Σ dz_t y_{t-1}^T, ∂L/∂a_t = dz_t[: A], ∂L/∂b = Σ dz_t, ∂L/∂W_hy = Σ do_t S_t^T,
∂L/∂b_y = Σ do_t.
"""
from itertools import pairwise

import numpy as np

from ..activations import activate_array, derivative_array
from ..fused import packed_gradients


def layered_forward(a, b, U, V, Y, W_hy, b_y, S0, y0, offsets, reads, lengths, f, g):
    """[S_t | y_t] packed side by side (B, T, N+O). ``reads`` (the blocks the weights really
    have, which the cpu kernel restricts its products to) is not needed here: every block is
    multiplied."""
    B, T, A = a.shape
    N = b.size
    states = np.empty((B, T, N + b_y.size), dtype=a.dtype)
    S_all, ys = states[:, :, :N], states[:, :, N:]
    S, y = S0, y0
    for t in range(T):
        S_new = np.empty_like(S)
        inputs = np.concatenate([a[:, t], np.zeros((B, N - A), dtype=a.dtype)], axis=1) + b
        for lo, hi in pairwise(offsets):
            z = (inputs[:, lo:hi] + S_new[:, :lo] @ U[lo:hi, :lo].T + S @ V[lo:hi].T
                 + y @ Y[lo:hi].T)
            S_new[:, lo:hi] = activate_array(f, z)
        y_new = activate_array(g, S_new @ W_hy.T + b_y)
        active = (t < lengths)[:, None]
        S, y = np.where(active, S_new, S), np.where(active, y_new, y)
        S_all[:, t], ys[:, t] = S, y
    return states


def layered_backward(grads, states, U, V, Y, W_hy, offsets, reads, lengths, f, g):
    """(dz (B, T, N), do (B, T, O), dS0 (B, N), dy0 (B, O)) from the direct gradients
    [gS | gy] of the states [S | y], both packed (B, T, N+O), or from gy alone (B, T, O)
    when nothing else reads S_t."""
    N = U.shape[0]
    grads = packed_gradients(grads, states.shape[2])
    gS, gy = grads[:, :, :N], grads[:, :, N:]
    S_all, ys = states[:, :, :N], states[:, :, N:]
    B, T, _ = S_all.shape
    dz, do = np.zeros_like(S_all), np.zeros_like(ys)
    cS = np.zeros((B, N), dtype=S_all.dtype)
    cy = np.zeros((B, ys.shape[2]), dtype=ys.dtype)
    bounds = list(pairwise(offsets))
    for t in range(T - 1, -1, -1):
        active = (t < lengths)[:, None]
        dy = gy[:, t] + cy
        do_t = np.where(active, dy * derivative_array(g, ys[:, t]), 0)
        dS = gS[:, t] + cS + do_t @ W_hy
        dz_t = np.zeros_like(dS)
        for lo, hi in reversed(bounds):
            f_prime = derivative_array(f, S_all[:, t, lo:hi])
            dz_t[:, lo:hi] = np.where(active, dS[:, lo:hi] * f_prime, 0)
            dS[:, :lo] += dz_t[:, lo:hi] @ U[lo:hi, :lo]
        do[:, t], dz[:, t] = do_t, dz_t
        cS = np.where(active, dz_t @ V, dS)
        cy = np.where(active, dz_t @ Y, dy)
    return dz, do, cS, cy
