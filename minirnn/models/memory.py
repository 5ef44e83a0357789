r"""Models with an explicit memory fed by their own outputs: ExplicitMemory and Jordan.

Both are the recurrence of ``minirnn.kernels.memory.reference`` (its docstring derives the BPTT):

    m_t = r(W_ym y_{t-1} + W_hm h_{t-1} + W_mm m_{t-1} + b_m)
    h_t = f(W_xh x_t + W_mh m_t + b_h)
    y_t = g(W_hy h_t + b_y)

ExplicitMemory learns every matrix; Jordan fixes the memory to a running average of the past
outputs, m_t = μ m_{t-1} + (1-μ) y_{t-1}, i.e. W_ym = (1-μ) I, W_mm = μ I, W_hm = 0, r = identity.
Those structured matrices are built on the tape from μ, so with ``learn_mu=True`` the fused
kernel's gradients for W_ym and W_mm flow on to μ.

The state of these models is the triple (m_t, h_t, y_t), packed side by side as one (B, M+H+O)
array: ``y, state = model(x, return_state=True)`` and ``model(x_next, h=state.detach())``
continue a long series chunk by chunk.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, ops
from ..kernels.activations import CODES
from ..kernels.fused import StateTaps
from ..kernels.linear import linear
from ..kernels.memory import memory_recurrence
from .base import (SequenceModel, activate_tensor, check_activation, check_lengths, check_size,
                   outputs)
from .module import Parameter


class MemoryRecurrence(SequenceModel):
    """Shared forward of the output-feedback memory models.

    A subclass sets ``memory_size``, ``hidden_size``, ``output_size``, the activations, the
    input projection parameters ``W_xh``, ``b_h``, the output layer ``W_hy``, ``b_y``, and
    implements ``memory_weights()`` -> (W_ym, W_hm, W_mm, b_m, W_mh) as tensors.
    """

    @property
    def state_size(self) -> int:
        """The packed state's width: [m | h | y], M + H + O."""
        return self.memory_size + self.hidden_size + self.output_size

    def input_projection(self, x: Tensor) -> Tensor:
        """a_t = W_xh x_t + b_h for every step: one batched matmul outside the recurrence."""
        return linear(x, self.W_xh, self.b_h)

    def forward(self, x, h=None, return_state: bool = False, lengths=None,
                return_states: bool = False):
        """y (B, T, O) from x (B, T, I); ``h``: a packed initial state [m | h | y] (B, M+H+O),
        zeros by default; ``return_state``: also return the final packed state;
        ``return_states``: also return {"m", "h", "y"}: every step's states (B, T, ·) on the
        tape, with the total ∂L/∂state_t as their gradient (``base.py``: the states'
        protocol; states["y"] is y itself)."""
        x = self._input(x, self.input_size)
        B, T, _ = x.shape
        lengths = check_lengths(lengths, B, T)
        a = self.input_projection(x)
        if not return_state and not return_states:
            return self.run_memory(a, h, lengths, y_only=True)
        taps = StateTaps() if return_states else None
        packed = self.run_memory(a, h, lengths, taps=taps)
        return self.split(packed, return_state, taps)

    def split(self, packed: Tensor, return_state: bool, taps):
        """y, the final state and the named states (as ``outputs`` orders them) from the packed
        [m_t | h_t | y_t]: each a slice of it on the tape."""
        M, H = self.memory_size, self.hidden_size
        y = packed[:, :, M + H:]
        states, last = None, packed[:, -1] if return_state else None
        if taps is not None:
            states = {"m": taps.expose("m", packed[:, :, :M]),
                      "h": taps.expose("h", packed[:, :, M:M + H]), "y": taps.expose("y", y)}
            if return_state:  # read from the shown states, so that their gradients include it
                last = ops.concatenate([states[n][:, -1] for n in ("m", "h", "y")], axis=1)
        return outputs(y, last, states)

    def run_memory(self, a: Tensor, h, lengths: np.ndarray, y_only: bool = False,
                   taps=None) -> Tensor:
        """[m_t | h_t | y_t] (B, T, M+H+O), or y_t alone (B, T, O) with ``y_only``, from the
        input part a (B, T, H) of z_t and a packed initial state h (B, M+H+O), zeros when
        None."""
        M, H, O = self.memory_size, self.hidden_size, self.output_size
        zeros = self._constant_zeros(M + H + O)
        state = self._state(h, a.shape[0], M + H + O, zeros)
        return self.recur(a, (state[:, :M], state[:, M:M + H], state[:, M + H:]), lengths,
                          y_only, taps)

    def recur(self, a: Tensor, initial, lengths: np.ndarray, y_only: bool = False,
              taps=None) -> Tensor:
        """The recurrence from the initial states (m_{-1}, h_{-1}, y_{-1}), on this engine:
        the packed states, or the outputs alone with ``y_only`` (``memory_recurrence``);
        ``taps``: the states' protocol (``base.py``)."""
        weights = self.memory_weights()
        if self.backend == "tape":
            states = self._unrolled(a, weights, initial, lengths, taps)
            return states[:, :, self.memory_size + self.hidden_size:] if y_only else states
        W_ym, W_hm, W_mm, b_m, W_mh = weights
        activations = (self.memory_activation, self.activation, self.output_activation)
        return memory_recurrence(a, W_ym, W_hm, W_mm, b_m, W_mh, self.W_hy, self.b_y,
                                 *initial, activations, lengths, self.backend, y_only, taps)

    def _unrolled(self, a, weights, initial, lengths, taps=None):
        """The equations step by step with primitive tape ops (the oracle). With ``taps``, what
        the cell reads again of each state (m_t in h_t, h_t in y_t, all three at step t+1)
        goes through ``taps.carry``, so that its share of the gradient reaches the taps."""
        W_ym, W_hm, W_mm, b_m, W_mh = weights
        tap = (lambda part, v, t: v) if taps is None else taps.carry
        m, h, y = initial
        steps = []
        for t in range(a.shape[1]):
            m_new = activate_tensor(self.memory_activation,
                                    y @ W_ym.T + h @ W_hm.T + m @ W_mm.T + b_m)
            h_new = activate_tensor(self.activation, a[:, t] + tap("m", m_new, t) @ W_mh.T)
            y_new = activate_tensor(self.output_activation,
                                    tap("h", h_new, t) @ self.W_hy.T + self.b_y)
            if t >= lengths.min():  # some rows have ended: they keep their states
                active = (t < lengths)[:, None]
                m_new, h_new, y_new = (ops.where(active, new, old)
                                       for new, old in ((m_new, m), (h_new, h), (y_new, y)))
            m, h, y = m_new, h_new, y_new
            steps.append(ops.concatenate([m, h, y], axis=1))
            m, h, y = tap("m", m, t), tap("h", h, t), tap("y", y, t)
        return ops.stack(steps, axis=1)

    def _check_activations(self, memory_activation, activation, output_activation):
        self.memory_activation = check_activation(memory_activation)
        self.activation = check_activation(activation)
        # y is fed back through a scalar kernel function, so softmax is not available here
        self.output_activation = check_activation(output_activation, tuple(CODES))


class ExplicitMemory(MemoryRecurrence):
    """m_t = r(W_ym y_{t-1} + W_hm h_{t-1} + W_mm m_{t-1} + b_m); h_t = f(W_xh x_t + W_mh m_t
    + b_h); y_t = g(W_hy h_t + b_y). Shapes: W_ym (M, O), W_hm (M, H), W_mm (M, M), b_m (M,),
    W_xh (H, I), W_mh (H, M), b_h (H,), W_hy (O, H), b_y (O,)."""

    def __init__(self, *, input_size: int, hidden_size: int, output_size: int,
                 memory_size: int | None = None, memory_activation: str = "tanh",
                 activation: str = "tanh", output_activation: str = "identity",
                 backend: str = "cpu", dtype="float64", seed=0):
        super().__init__(backend, dtype, seed)
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        self.output_size = O = check_size("output_size", output_size)
        self.memory_size = M = check_size("memory_size", hidden_size if memory_size is None
                                          else memory_size)
        self._check_activations(memory_activation, activation, output_activation)
        fan_m = O + H + M
        self.W_xh = self._uniform((H, self.input_size), H)
        self.b_h = self._uniform((H,), H)
        self.W_ym = self._uniform((M, O), fan_m)
        self.W_hm = self._uniform((M, H), fan_m)
        self.W_mm = self._uniform((M, M), fan_m)
        self.b_m = self._uniform((M,), fan_m)
        self.W_mh = self._uniform((H, M), M)
        self.W_hy = self._uniform((O, H), H)
        self.b_y = self._zeros(O)

    def memory_weights(self):
        """(W_ym, W_hm, W_mm, b_m, W_mh): the learned weights of m_t and of its read."""
        return self.W_ym, self.W_hm, self.W_mm, self.b_m, self.W_mh


class Jordan(MemoryRecurrence):
    """Jordan network (1986): the memory is a running average of the past outputs,
    m_t = μ m_{t-1} + (1-μ) y_{t-1}; h_t = f(W_xh x_t + W_mh m_t + b_h); y_t = g(W_hy h_t + b_y).
    Shapes: W_xh (H, I), W_mh (H, O), b_h (H,), W_hy (O, H), b_y (O,), mu () in [0, 1)."""

    def __init__(self, *, input_size: int, hidden_size: int, output_size: int, mu: float = 0.5,
                 learn_mu: bool = False, activation: str = "tanh",
                 output_activation: str = "identity", backend: str = "cpu", dtype="float64",
                 seed=0):
        super().__init__(backend, dtype, seed)
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        self.output_size = O = check_size("output_size", output_size)
        self.memory_size = O
        if not 0 <= mu < 1:
            raise ValueError(f"mu must lie in [0, 1), got {mu!r}")
        self._check_activations("identity", activation, output_activation)
        self.W_xh = self._uniform((H, self.input_size), H)
        self.b_h = self._uniform((H,), H)
        self.W_mh = self._uniform((H, O), O)
        self.W_hy = self._uniform((O, H), H)
        self.b_y = self._zeros(O)
        self.mu = Parameter(np.array(mu, dtype=self.dtype), requires_grad=learn_mu)
        self._eye = Tensor(np.eye(O, dtype=self.dtype))
        self._no_h = Tensor(np.zeros((O, H), dtype=self.dtype))
        self._no_bias = Tensor(np.zeros(O, dtype=self.dtype))

    def memory_weights(self):
        """(W_ym, W_hm, W_mm, b_m, W_mh) as the memory recurrence reads them: μ on the diagonals
        (W_ym = (1-μ) I, W_mm = μ I), no h → m path, no bias; W_mh learned."""
        W_ym = (1 - self.mu) * self._eye   # m_t = μ m_{t-1} + (1-μ) y_{t-1}
        W_mm = self.mu * self._eye
        return W_ym, self._no_h, W_mm, self._no_bias, self.W_mh
