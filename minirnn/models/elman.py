r"""Elman network and the state-space RNN.

Elman (1990): the context units are a copy of the previous hidden state.

    h_t = f(W_xh x_t + W_hh h_{t-1} + b_h)        h_{-1} = 0
    y_t = g(W_hy h_t + b_y)

State-space RNN: the same single-hidden-layer recurrence, with the initial state h_{-1} = h0 a
learned parameter (the "state" of the seed article's state-space model).

Shapes: x (B, T, I) → y (B, T, O), with B batch, T time, I input, H hidden, O output sizes.
W_xh (H, I), W_hh (H, H), b_h (H,), W_hy (O, H), b_y (O,), h0 (H,).

How it runs: the input projection a_t = W_xh x_t + b_h for every t is one batched matmul, and so
is the output projection; only h_t = f(a_t + W_hh h_{t-1}) is sequential. With backend="tape"
that recurrence is unrolled with primitive ops and differentiated by the tape; with "numpy",
"cpu" or "cuda" the projection and the recurrence are one fused operation whose backward is
hand-written BPTT (``minirnn.kernels.elman``), and when only y is asked for (no
``return_state``, no ``return_states``) and g is identity or tanh, the output layer is inside
that operation too (``elman_network``): a small network's step is mostly the Python around each
tape entry, so the fewer entries the faster. Gradients:

    dh_t = W_hy^T dy_t + W_hh^T dz_{t+1},   dz_t = dh_t ⊙ f'(z_t),
    ∂L/∂W_hh = Σ_t dz_t h_{t-1}^T,   ∂L/∂W_xh = Σ_t dz_t x_t^T,   ∂L/∂b_h = Σ_t dz_t,
    ∂L/∂h0 = W_hh^T dz_0.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, ops
from ..kernels.elman import elman_recurrence
from ..kernels.elman.op import NETWORK_OUTPUTS, elman_network
from ..kernels.fused import StateTaps
from ..kernels.linear import linear
from .base import (OUTPUT_ACTIVATIONS, SequenceModel, activate_tensor, check_activation,
                   check_lengths, check_size, outputs)


def elman_states(x: Tensor, W_xh: Tensor, b_h: Tensor, W_hh: Tensor, h: Tensor, activation: str,
                 lengths: np.ndarray, backend: str, taps: StateTaps | None = None) -> Tensor:
    """hs (B, T, H): h_t = f(W_xh x_t + b_h + W_hh h_{t-1}) from h_{-1} = h, on the given
    engine: the fused op, or (backend="tape") the input projection as one linear op and the
    recurrence written step by step with primitive ops, the oracle. ``taps``: the states'
    protocol (``base.py``), part "h"."""
    if backend != "tape":
        return elman_recurrence(x, W_xh, b_h, W_hh, h, activation, lengths, backend, taps)
    a = linear(x, W_xh, b_h)  # the input projection of every step at once
    states = []
    for t in range(a.shape[1]):
        new = activate_tensor(activation, a[:, t] + h @ W_hh.T)
        h = ops.where((t < lengths)[:, None], new, h) if t >= lengths.min() else new
        states.append(h)
        if taps is not None:  # what the next step reads of h_t: its share reaches the taps
            h = taps.carry("h", h, t)
    return ops.stack(states, axis=1)


class Elman(SequenceModel):
    """Elman network: h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), h_{-1} = 0;
    y_t = g(W_hy h_t + b_y)."""

    learn_initial_state = False

    def __init__(self, *, input_size: int, hidden_size: int, output_size: int,
                 activation: str = "tanh", output_activation: str = "identity",
                 backend: str = "cpu", dtype="float64", seed=0):
        super().__init__(backend, dtype, seed)
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        self.output_size = check_size("output_size", output_size)
        self.activation = check_activation(activation)
        self.output_activation = check_activation(output_activation, OUTPUT_ACTIVATIONS)
        self.W_xh = self._uniform((H, self.input_size), H)
        self.W_hh = self._uniform((H, H), H)
        self.b_h = self._uniform((H,), H)
        self.W_hy = self._uniform((self.output_size, H), H)
        self.b_y = self._zeros(self.output_size)
        if self.learn_initial_state:
            self.h0 = self._zeros(H)
        else:
            self.h0_fixed = Tensor(np.zeros(H, dtype=self.dtype))  # a constant, not learned

    def _whole_network(self, return_state: bool, return_states: bool) -> bool:
        """Whether the forward is one fused op, recurrence and output layer together: on a
        kernel engine, when only y is asked for and g is one the op takes."""
        return (self.backend != "tape" and not return_state and not return_states
                and self.output_activation in NETWORK_OUTPUTS)

    @property
    def state_size(self) -> int:
        """The state's width: H."""
        return self.hidden_size

    def initial_state(self) -> Tensor:
        """h_{-1} (1, H): the learned h0 of a state-space RNN, zeros for an Elman network."""
        return self.h0 if self.learn_initial_state else self.h0_fixed

    def forward(self, x, h=None, return_state: bool = False, lengths=None,
                return_states: bool = False):
        """y (B, T, O) from x (B, T, I).

        Args:
            h: initial state (B, H); default h0 for every row. Pass the previous chunk's final
                state (``.detach()``-ed) to run a long series in chunks (truncated BPTT).
            return_state: also return the final state h_last (B, H).
            lengths: (B,) true lengths of a padded batch; a row's state stops changing after
                its end, so h_last is each row's own final state.
            return_states: also return {"h": hs}, every step's state (B, T, H) on the tape,
                whose ``.grad`` after ``retain_grad()`` and ``backward()`` is ∂L/∂h_t
                (``base.py``: the states' protocol).

        Returns y, then h_last with ``return_state``, then the states with ``return_states``.
        """
        x = self._input(x, self.input_size)
        B, T, _ = x.shape
        lengths = check_lengths(lengths, B, T)
        if self._whole_network(return_state, return_states):
            h_init = self.initial_state() if h is None else \
                self._state(h, B, self.hidden_size, None)
            return elman_network(x, self.W_xh, self.b_h, self.W_hh, h_init, self.W_hy, self.b_y,
                                 self.activation, self.output_activation, lengths, self.backend)
        h_init = self._state(h, B, self.hidden_size, self.initial_state())
        taps = StateTaps() if return_states else None
        hs = elman_states(x, self.W_xh, self.b_h, self.W_hh, h_init, self.activation, lengths,
                          self.backend, taps)
        y = activate_tensor(self.output_activation, linear(hs, self.W_hy, self.b_y))
        return outputs(y, hs[:, -1] if return_state else None,
                       {"h": taps.expose("h", hs)} if return_states else None)


class StateSpaceRNN(Elman):
    """State-space RNN: Elman's recurrence with a learned initial state h_{-1} = h0."""

    learn_initial_state = True
