r"""Gated recurrent cells: the LSTM and the GRU, with PyTorch's equations and weight layout.

The seed article's memory model keeps a state m_t = r(y_{t-1}, h_{t-1}, m_{t-1}) beside the hidden
layer; the gated cells make that memory learn *when* to write, keep and show itself. Elman's
gradient reaches back through the product W_hh^T diag(f'(z_t)) once per step and so vanishes (or
explodes) geometrically; the LSTM's cell state is carried by the forget gate alone,
c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, and the GRU's state by its update gate,
h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}, so where those gates stay near 1 the gradient passes back
through many steps unchanged.

LSTM (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000):

    [i_t | f_t | g_t | o_t] = [σ | σ | tanh | σ](W_xh x_t + b_xh + W_hh h_{t-1} + b_hh)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)
    y_t = g(W_hy h_t + b_y)

GRU (Cho et al., 2014):

    [r_t | z_t] = σ(W_x[rz] x_t + b_x[rz] + W_h[rz] h_{t-1} + b_h[rz])
    n_t = tanh(W_xn x_t + b_xn + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    y_t = g(W_hy h_t + b_y)

Shapes: x (B, T, I) → y (B, T, O). The gates' rows are stacked in PyTorch's order, so
``W_xh``, ``W_hh``, ``b_xh``, ``b_hh`` are ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0`` of ``torch.nn.LSTM`` (rows [i | f | g | o], 4H) or ``torch.nn.GRU`` (rows
[r | z | n], 3H) and copy across unchanged. The initial state is zero, or learned
(``learn_initial_state=True``: h0, and c0 for the LSTM). The LSTM's state is the pair
(h_t, c_t), carried between chunks side by side as one (B, 2H) array [h | c].

How it runs: with backend="tape" the equations below are unrolled with primitive ops and
differentiated by the tape (the oracle); with "numpy", "cpu" or "cuda" the input projection
and the recurrence are one fused operation whose backward is hand-written BPTT:
``minirnn.kernels.lstm`` and ``minirnn.kernels.gru``, whose ``reference.py`` derives it gate by
gate. In short, for the LSTM, with dp_t the gradient of the four pre-activations:

    dh_t = W_hy^T dy_t + W_hh^T dp_{t+1}
    dc_t = f_{t+1} ⊙ dc_{t+1} + dh_t ⊙ o_t ⊙ (1 - tanh²(c_t))
    dp_t = [dc_t g_t i_t(1-i_t) | dc_t c_{t-1} f_t(1-f_t) | dc_t i_t (1-g_t²)
            | dh_t tanh(c_t) o_t(1-o_t)]
    ∂L/∂W_hh = Σ_t dp_t h_{t-1}^T,  ∂L/∂W_xh = Σ_t dp_t x_t^T,  ∂L/∂b_xh = ∂L/∂b_hh = Σ_t dp_t.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, ops
from ..kernels.fused import StateTaps
from ..kernels.gru import gru_recurrence
from ..kernels.linear import linear
from ..kernels.lstm import lstm_recurrence
from .base import (OUTPUT_ACTIVATIONS, SequenceModel, activate_tensor, check_activation,
                   check_lengths, check_size, outputs)


def lstm_states(x: Tensor, W_xh: Tensor, b_xh: Tensor, W_hh: Tensor, b_hh: Tensor, s: Tensor,
                lengths: np.ndarray, backend: str, taps: StateTaps | None = None) -> Tensor:
    """Every state s_t = [h_t | c_t] (B, T, 2H) from s_{-1} = s (B, 2H), on the given engine:
    the fused op, or (backend="tape") the input projection as one linear op and the cell
    written step by step with primitive ops, the oracle. ``taps``: the states' protocol
    (``base.py``; parts "h" and "c"): on the tape, what reads h_t and c_t again (the next step;
    h_t = o_t tanh(c_t) within the step) goes through ``taps.carry``."""
    if backend != "tape":
        return lstm_recurrence(x, W_xh, b_xh, W_hh, b_hh, s, lengths, backend, taps)
    tap = (lambda part, v, t: v) if taps is None else taps.carry
    H = W_hh.shape[1]
    a = linear(x, W_xh, b_xh)  # every gate's input part, every step at once
    h, c = s[:, :H], s[:, H:]
    states = []
    for t in range(a.shape[1]):
        p = a[:, t] + h @ W_hh.T + b_hh
        i, f, g, o = (p[:, :H].sigmoid(), p[:, H:2 * H].sigmoid(), p[:, 2 * H:3 * H].tanh(),
                      p[:, 3 * H:].sigmoid())
        new_c = f * c + i * g
        if t >= lengths.min():  # some rows have ended: they keep their state
            active = (t < lengths)[:, None]
            new_c = ops.where(active, new_c, c)
            new_h = ops.where(active, o * tap("c", new_c, t).tanh(), h)
        else:
            new_h = o * tap("c", new_c, t).tanh()
        states.append(ops.concatenate([new_h, new_c], axis=1))
        h, c = tap("h", new_h, t), tap("c", new_c, t)
    return ops.stack(states, axis=1)


def gru_states(x: Tensor, W_xh: Tensor, b_xh: Tensor, W_hh: Tensor, b_hh: Tensor, h: Tensor,
               lengths: np.ndarray, backend: str, taps: StateTaps | None = None) -> Tensor:
    """Every state h_t (B, T, H) from h_{-1} = h (B, H), on the given engine: the fused op, or
    (backend="tape") the equations unrolled with primitive ops, the oracle. ``taps``: the
    states' protocol (``base.py``; part "h"): on the tape, what the next step reads of h_t
    goes through ``taps.carry``."""
    if backend != "tape":
        return gru_recurrence(x, W_xh, b_xh, W_hh, b_hh, h, lengths, backend, taps)
    H = W_hh.shape[1]
    a = linear(x, W_xh, b_xh)
    states = []
    for t in range(a.shape[1]):
        u = h @ W_hh.T + b_hh
        r = (a[:, t, :H] + u[:, :H]).sigmoid()
        z = (a[:, t, H:2 * H] + u[:, H:2 * H]).sigmoid()
        n = (a[:, t, 2 * H:] + r * u[:, 2 * H:]).tanh()
        new = (1 - z) * n + z * h
        h = ops.where((t < lengths)[:, None], new, h) if t >= lengths.min() else new
        states.append(h)
        if taps is not None:  # what the next step reads of h_t: its share reaches the taps
            h = taps.carry("h", h, t)
    return ops.stack(states, axis=1)


class _GatedModel(SequenceModel):
    """What the two cells share: the weights of ``gates`` stacked gates in PyTorch's layout,
    the output layer, the initial state, and the forward around ``_states``."""

    gates = 0            # 4 for the LSTM, 3 for the GRU
    state_parts = ()     # ("h", "c") or ("h",): the state, side by side

    def __init__(self, *, input_size: int, hidden_size: int, output_size: int,
                 activation: str = "tanh", output_activation: str = "identity",
                 learn_initial_state: bool = False, backend: str = "cpu", dtype="float64",
                 seed=0):
        super().__init__(backend, dtype, seed)
        name = type(self).__name__
        if activation != "tanh":
            raise ValueError(f"{name}'s activations are fixed (sigmoid gates, tanh candidate): "
                             f"activation must be 'tanh', got {activation!r}")
        self.activation = activation
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        self.output_size = check_size("output_size", output_size)
        self.output_activation = check_activation(output_activation, OUTPUT_ACTIVATIONS)
        self.learn_initial_state = bool(learn_initial_state)
        G = self.gates * H
        # PyTorch's initialisation, every weight and bias uniform in ±1/√H, in its order
        self.W_xh = self._uniform((G, self.input_size), H)
        self.W_hh = self._uniform((G, H), H)
        self.b_xh = self._uniform((G,), H)
        self.b_hh = self._uniform((G,), H)
        self.W_hy = self._uniform((self.output_size, H), H)
        self.b_y = self._zeros(self.output_size)
        for part in self.state_parts:
            if self.learn_initial_state:
                setattr(self, f"{part}0", self._zeros(H))
            else:  # a constant, not learned
                setattr(self, f"{part}0_fixed", Tensor(np.zeros(H, dtype=self.dtype)))

    @property
    def state_size(self) -> int:
        return len(self.state_parts) * self.hidden_size

    def initial_state(self) -> Tensor:
        suffix = "0" if self.learn_initial_state else "0_fixed"
        parts = [getattr(self, part + suffix) for part in self.state_parts]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=0)

    def _states(self, x, s, lengths, taps=None):
        raise NotImplementedError

    def forward(self, x, h=None, return_state: bool = False, lengths=None,
                return_states: bool = False):
        """y (B, T, O) from x (B, T, I).

        Args:
            h: initial state (B, state_size): [h | c] for the LSTM, h for the GRU; default
                the model's initial state for every row. Pass the previous chunk's final
                state (``.detach()``-ed) to run a long series in chunks (truncated BPTT).
            return_state: also return the final state (B, state_size).
            lengths: (B,) true lengths of a padded batch; a row's state stops changing after
                its end, so the final state is each row's own.
            return_states: also return {"h": hs} (and the LSTM's "c": cs), every step's
                state (B, T, H) on the tape, whose ``.grad`` after ``retain_grad()`` and
                ``backward()`` is ∂L/∂h_t (∂L/∂c_t) (``base.py``: the states' protocol).

        Returns y, then the final state with ``return_state``, then the states with
        ``return_states``.
        """
        x = self._input(x, self.input_size)
        B, T, _ = x.shape
        lengths = check_lengths(lengths, B, T)
        s = self._state(h, B, self.state_size, self.initial_state())
        taps = StateTaps() if return_states else None
        states = self._states(x, s, lengths, taps)
        H = self.hidden_size
        hs = states if len(self.state_parts) == 1 else states[:, :, :H]
        y = activate_tensor(self.output_activation, linear(hs, self.W_hy, self.b_y))
        shown, last = None, states[:, -1] if return_state else None
        if return_states:
            shown = {"h": taps.expose("h", hs)}
            if "c" in self.state_parts:
                shown["c"] = taps.expose("c", states[:, :, H:])
            if return_state:  # read from the shown states, so that their gradients include it
                last = ops.concatenate([shown[part][:, -1] for part in self.state_parts], axis=1)
        return outputs(y, last, shown)


class LSTM(_GatedModel):
    """Long short-term memory: [i|f|g|o] = [σ|σ|tanh|σ](W_xh x_t + b_xh + W_hh h_{t-1} + b_hh);
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t;  h_t = o_t ⊙ tanh(c_t);  y_t = g(W_hy h_t + b_y).

    Args (keyword-only, like every model's):
        input_size, hidden_size, output_size: I, H, O.
        activation: "tanh" only (the cell's activations are fixed); there so that one set
            of options builds every model.
        output_activation: g, identity by default.
        learn_initial_state: learn h_{-1} and c_{-1} (parameters ``h0`` and ``c0``) instead
            of starting from zeros.
        backend: "tape", "numpy", "cpu" (default) or "cuda"; dtype: float64 (default) or
            float32; seed: the weights' (uniform in ±1/√H, PyTorch's initialisation).

    ``model(x, h=None, return_state=False, lengths=None, return_states=False)``: y (B, T, O)
    from x (B, T, I); ``h`` and the final state (``return_state``) are (B, 2H), [h | c] side
    by side; ``lengths`` for a padded batch; ``return_states``: also {"h": hs, "c": cs},
    every step's states on the tape, whose ``.grad`` after ``retain_grad()`` and
    ``backward()`` is the total ∂L/∂h_t, ∂L/∂c_t.
    """

    gates = 4
    state_parts = ("h", "c")

    def _states(self, x, s, lengths, taps=None):
        return lstm_states(x, self.W_xh, self.b_xh, self.W_hh, self.b_hh, s, lengths,
                           self.backend, taps)


class GRU(_GatedModel):
    """Gated recurrent unit: [r|z] = σ(W_x x_t + b_x + W_h h_{t-1} + b_h);
    n_t = tanh(W_xn x_t + b_xn + r_t ⊙ (W_hn h_{t-1} + b_hn));
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1};  y_t = g(W_hy h_t + b_y).

    Args (keyword-only, like every model's):
        input_size, hidden_size, output_size: I, H, O.
        activation: "tanh" only (the cell's activations are fixed); there so that one set
            of options builds every model.
        output_activation: g, identity by default.
        learn_initial_state: learn h_{-1} (parameter ``h0``) instead of starting from zeros.
        backend: "tape", "numpy", "cpu" (default) or "cuda"; dtype: float64 (default) or
            float32; seed: the weights' (uniform in ±1/√H, PyTorch's initialisation).

    ``model(x, h=None, return_state=False, lengths=None, return_states=False)``: y (B, T, O)
    from x (B, T, I); ``h`` and the final state (``return_state``) are (B, H); ``lengths``
    for a padded batch; ``return_states``: also {"h": hs}, every step's state on the tape,
    whose ``.grad`` after ``retain_grad()`` and ``backward()`` is the total ∂L/∂h_t.
    """

    gates = 3
    state_parts = ("h",)

    def _states(self, x, s, lengths, taps=None):
        return gru_states(x, self.W_xh, self.b_xh, self.W_hh, self.b_hh, s, lengths,
                          self.backend, taps)
