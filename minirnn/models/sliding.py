r"""The sliding predictor (time-delay neural network): a finite-response model.

    e_t = [x_t, x_{t-1}, …, x_{t-N+1}]                (N = window; x_u = 0 for u < 0)
    y_t = g(W_hy f(W_xh e_t + b_h) + b_y)

The seed article's first answer to "use the past": a window of the last N inputs goes into an
ordinary one-hidden-layer network, the same weights at every step, i.e. a 1-D convolution over
time. Nothing is remembered beyond the window: that is what the recurrent models fix.

Early steps (t < N-1) see zeros in place of the inputs before the start (zero padding), so the
output has one value per input step, as for every other model; mask those steps out of the loss
when they should not count. The window and the hidden layer are one fused op on the numpy and
cpu engines (``minirnn.kernels.window``: the delay line, the product, the bias and f in one tape
entry), the delay-line kernel (``minirnn.kernels.delay``) and a batched matmul on the others;
the output layer is one more batched matmul.

Shapes: x (B, T, I) → y (B, T, O); W_xh (H, N·I), b_h (H,), W_hy (O, H), b_y (O,).
"""
from __future__ import annotations

import numpy as np

from ..autograd import ops
from ..kernels.linear import linear
from .base import (OUTPUT_ACTIVATIONS, SequenceModel, activate_tensor, check_activation,
                   check_lengths, check_size, window)


class SlidingPredictor(SequenceModel):
    """y_t = g(W_hy f(W_xh [x_t, …, x_{t-window+1}] + b_h) + b_y), zero padding before t = 0."""

    def __init__(self, *, input_size: int, hidden_size: int, output_size: int, window: int,
                 activation: str = "tanh", output_activation: str = "identity",
                 backend: str = "cpu", dtype="float64", seed=0):
        super().__init__(backend, dtype, seed)
        self.input_size = check_size("input_size", input_size)
        self.window = check_size("window", window)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        self.output_size = check_size("output_size", output_size)
        self.activation = check_activation(activation)
        self.output_activation = check_activation(output_activation, OUTPUT_ACTIVATIONS)
        self.W_xh = self._uniform((H, self.window * self.input_size), self.window * self.input_size)
        self.b_h = self._uniform((H,), self.window * self.input_size)
        self.W_hy = self._uniform((self.output_size, H), H)
        self.b_y = self._zeros(self.output_size)

    @property
    def state_size(self) -> int:
        """The packed state's width: the (window - 1) inputs before the current one."""
        return (self.window - 1) * self.input_size

    def forward(self, x, h=None, return_state: bool = False, lengths=None):
        """y (B, T, O) from x (B, T, I).

        Args:
            h: the window's state: the (window - 1) inputs before x, oldest first, packed as
                (B, (window-1)·I); zeros by default (zero padding).
            return_state: also return the state after each row's last step, to continue a long
                series chunk by chunk.
            lengths: (B,) lengths of a padded batch (a window only looks back, so padding
                after a row's end never reaches its valid steps).
        """
        x = self._input(x, self.input_size)
        B, T, I = x.shape
        lengths = check_lengths(lengths, B, T)
        past = self.window - 1
        state = self._state(h, B, self.state_size,
                            self._constant_zeros(self.state_size))
        # the past goes in front of the sequence and the window starts after it; a zero past
        # (no h) is the delay line's own zeros before t = 0: no copy of the sequence
        x_all = ops.concatenate([state.reshape(B, past, I), x], axis=1) \
            if h is not None or return_state else None  # (B, past+T, I)
        source, start = (x, 0) if h is None else (x_all, past)
        hidden = window([(source, self.W_xh)], [(0, self.window, start)], self.b_h,
                        self.activation, self.backend)
        y = activate_tensor(self.output_activation, linear(hidden, self.W_hy, self.b_y))
        if not return_state:
            return y
        last = x_all[np.arange(B)[:, None], lengths[:, None] + np.arange(past)[None, :]]
        return y, last.reshape(B, past * I)
