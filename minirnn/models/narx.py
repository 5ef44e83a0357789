r"""NARX: nonlinear autoregressive network with exogenous inputs.

    h_t = f(W_xh [x_t, x_{t-1}, …, x_{t-L}] + W_yh [y_{t-1}, …, y_{t-K}] + b_h)
    y_t = g(W_hy h_t + b_y)

with L input delays and K output delays (values before t = 0 come from the state, zeros by
default). Shapes: W_xh (H, (L+1)·I), W_yh (H, K·O), b_h (H,), W_hy (O, H), b_y (O,).

Two ways to fill the past outputs y_{t-k}, as in system identification:

- ``mode="open"`` (series-parallel): the TRUE past outputs, given as ``model(x, y=y_true)``.
  Nothing is fed back, so there is no recurrence: two delay lines and an ordinary network,
  whose hidden layer is one fused op (``minirnn.kernels.window``) on the numpy and cpu engines.
- ``mode="closed"`` (parallel): the model's OWN past predictions are fed back, and training
  differentiates through that feedback exactly (BPTT). This is the explicit-memory recurrence
  (``minirnn.kernels.memory.reference``) with the memory m_t = [y_{t-1}, …, y_{t-K}] kept by
  constant matrices: W_ym = [I; 0] puts y_{t-1} in front, W_mm shifts the older ones back and
  drops the oldest, and W_mh = W_yh reads them.

``output_delays="all"`` is the seed article's "full" NARX: every past output has its own weight,
so K grows with the sequence (set by ``max_steps``): O(T) weights read per step, O(T²) work in
all, which shows why it is impractical. (The delay line runs in the general memory kernel as
a K·O × K·O shift matrix, which the cpu kernel recognises and applies in O(K) per step;
``minirnn bench --full-narx`` measures the cost curve.)

The state, in both modes, is the last L inputs and the last K outputs, in time order, packed as
one (B, L·I + K·O) array, so ``open_loop()`` / ``closed_loop()`` switch a trained model between
the modes and a state carries over: ``forecast`` feeds the known past in open loop, then
free-runs in closed loop.
"""
from __future__ import annotations

import copy

import numpy as np

from ..autograd import Tensor, ops
from ..kernels.fused import StateTaps
from ..kernels.linear import linear
from .base import activate_tensor, check_lengths, check_size, delay_line, outputs, window
from .memory import MemoryRecurrence

MODES = ("open", "closed")


class NARX(MemoryRecurrence):
    """h_t = f(W_xh [x_t … x_{t-L}] + W_yh [y_{t-1} … y_{t-K}] + b_h); y_t = g(W_hy h_t + b_y)."""

    def __init__(self, *, input_size: int, hidden_size: int, output_size: int,
                 input_delays: int = 2, output_delays=2, mode: str = "closed",
                 max_steps: int | None = None, activation: str = "tanh",
                 output_activation: str = "identity", backend: str = "cpu", dtype="float64",
                 seed=0):
        super().__init__(backend, dtype, seed)
        self.input_size = I = check_size("input_size", input_size)
        self.output_size = O = check_size("output_size", output_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        if isinstance(input_delays, bool) or not isinstance(input_delays, (int, np.integer)) \
                or input_delays < 0:
            raise ValueError(f"input_delays must be a non-negative integer, got {input_delays!r}")
        self.input_delays = L = int(input_delays)
        self.full = output_delays == "all"
        if self.full:
            if max_steps is None:
                raise ValueError("output_delays='all' needs max_steps (the longest sequence): "
                                 "every past output gets its own weight")
            output_delays = check_size("max_steps", max_steps)
        self.output_delays = K = check_size("output_delays", output_delays)
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose 'open' or 'closed'")
        self.mode = mode
        self._check_activations("identity", activation, output_activation)
        self.memory_size = K * O
        fan_in = (L + 1) * I + K * O
        self.W_xh = self._uniform((H, (L + 1) * I), fan_in)
        self.W_yh = self._uniform((H, K * O), fan_in)
        self.b_h = self._uniform((H,), fan_in)
        self.W_hy = self._uniform((O, H), H)
        self.b_y = self._zeros(O)
        # the delay line of past outputs as constant matrices (closed loop)
        shift = np.eye(K * O, k=-O, dtype=self.dtype)  # block k-1 → block k, the oldest drops
        self._W_ym = Tensor(np.eye(K * O, O, dtype=self.dtype))  # y_{t-1} into block 0
        self._W_mm = Tensor(shift)
        self._W_hm = Tensor(np.zeros((K * O, H), dtype=self.dtype))
        self._b_m = Tensor(np.zeros(K * O, dtype=self.dtype))

    @property
    def state_size(self) -> int:
        """The packed state's width: the L delayed inputs and the K delayed outputs."""
        return self.input_delays * self.input_size + self.output_delays * self.output_size

    def memory_weights(self):
        """The memory recurrence's (W_ym, W_hm, W_mm, b_m, W_mh) for a closed loop: the delay
        line of past outputs as fixed shift matrices (each moves one slot a step), read into
        h_t by the learned W_yh."""
        return self._W_ym, self._W_hm, self._W_mm, self._b_m, self.W_yh

    def open_loop(self) -> "NARX":
        """The same model (shared parameters) in series-parallel mode."""
        return self._with_mode("open")

    def closed_loop(self) -> "NARX":
        """The same model (shared parameters) in parallel mode, feeding back its predictions."""
        return self._with_mode("closed")

    def _with_mode(self, mode):
        twin = copy.copy(self)  # a shallow copy: the very same Parameter objects
        twin.mode = mode
        return twin

    def forward(self, x, y=None, h=None, return_state: bool = False, lengths=None,
                return_states: bool = False):
        """Predictions (B, T, O) from inputs x (B, T, I).

        Args:
            y: the true outputs (B, T, O); required in open loop, ignored in closed loop.
            h: the state (B, L·I + K·O): the L inputs and K outputs before x, oldest first;
                zeros by default.
            return_state: also return the state after the last step of each row.
            lengths: (B,) lengths of a padded batch.
            return_states: also return every step's states on the tape (``base.py``: the
                states' protocol): in closed loop {"m", "h", "y"}, m_t = [y_{t-1}, …,
                y_{t-K}] the delay line; in open loop {"h"}, where nothing is carried from
                step to step, so the gradient of h_t is the one through y_t alone.
        """
        x = self._input(x, self.input_size)
        B, T, _ = x.shape
        L, K, I, O = self.input_delays, self.output_delays, self.input_size, self.output_size
        if self.full and T > K:
            raise ValueError(f"a full NARX built with max_steps={K} cannot run {T} steps")
        lengths = check_lengths(lengths, B, T)
        state = self._state(h, B, self.state_size, self._constant_zeros(self.state_size))
        x_past = state[:, :L * I].reshape(B, L, I)
        y_past = state[:, L * I:].reshape(B, K, O)

        # The past goes in front of the sequence and the delay line starts after it. A zero
        # past (no h) is the delay line's own zeros before t = 0: no copy of the sequence.
        fresh = h is None
        x_lags = (x, (0, L + 1, 0)) if fresh else \
            (ops.concatenate([x_past, x], axis=1), (0, L + 1, L))
        if self.mode == "open":
            if y is None:
                raise ValueError("an open-loop NARX needs the true outputs: model(x, y=y_true)")
            y_true = self._input(y, O, name="y")
            if y_true.shape[:2] != (B, T):
                raise ValueError(f"y must have shape ({B}, {T}, {O}), got {y_true.shape}")
            y_lags = (y_true, (1, K, 0)) if fresh else \
                (ops.concatenate([y_past, y_true], axis=1), (1, K, K))
            hidden = window([(x_lags[0], self.W_xh), (y_lags[0], self.W_yh)],
                            [x_lags[1], y_lags[1]], self.b_h, self.activation, self.backend)
            out = activate_tensor(self.output_activation, linear(hidden, self.W_hy, self.b_y))
            states = {"h": hidden} if return_states else None
        else:
            regressors = delay_line(x_lags[0], 0, L + 1, self.backend, start=x_lags[1][2])
            a = linear(regressors, self.W_xh, self.b_h)
            # memory m_{-1} = [y_{-2}, …, y_{-K}, (dropped)], newest first; y_{-1} apart
            newest_first = y_past[:, ::-1].reshape(B, K * O)
            m0 = ops.concatenate([newest_first[:, O:], self._constant_zeros(B, O)],
                                 axis=1)
            h0 = self._constant_zeros(B, self.hidden_size)
            # the final state is read from the outputs (below): y_t alone is enough
            taps = StateTaps() if return_states else None
            out = self.recur(a, (m0, h0, newest_first[:, :O]), lengths,
                             y_only=not return_states, taps=taps)
            states = None
            if return_states:
                out, states = self.split(out, False, taps)
        if not return_state:
            return outputs(out, None, states)
        # the last L inputs and K outputs, read from the past and the sequence laid end to end
        x_all = ops.concatenate([x_past, x], axis=1)  # (B, L+T, I)
        y_all = ops.concatenate([y_past, y_true if self.mode == "open" else out], axis=1)
        rows = np.arange(B)[:, None]
        last_x = x_all[rows, lengths[:, None] + np.arange(L)[None, :]]  # x_{len-L} … x_{len-1}
        last_y = y_all[rows, lengths[:, None] + np.arange(K)[None, :]]
        return outputs(out, ops.concatenate([last_x.reshape(B, L * I), last_y.reshape(B, K * O)],
                                            axis=1), states)

    def forecast(self, x_past, y_past, x_future=None, steps: int | None = None) -> Tensor:
        """Multi-step forecast: read the known past in open loop (true outputs), then free-run
        in closed loop, feeding back its own predictions, over the future inputs x_future
        (B, N, I) if they are known, or over ``steps`` steps of zero input if not."""
        _, state = self.open_loop()(x_past, y=y_past, return_state=True)
        if x_future is None:
            if steps is None:
                raise ValueError("forecast needs x_future (the future inputs) or steps")
            x_future = np.zeros((state.shape[0], check_size("steps", steps), self.input_size),
                                dtype=self.dtype)
        return self.closed_loop()(x_future, h=state)
