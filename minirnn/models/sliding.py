r"""The sliding predictor (time-delay neural network): a finite-response model.

    e_t = [x_t, x_{t-1}, …, x_{t-N+1}]                (N = window; x_u = 0 for u < 0)
    y_t = g(W_hy f(W_xh e_t + b_h) + b_y)

The seed article's first answer to "use the past": a window of the last N inputs goes into an
ordinary one-hidden-layer network, the same weights at every step, i.e. a 1-D convolution over
time. Nothing is remembered beyond the window: that is what the recurrent models fix.

Early steps (t < N-1) see zeros in place of the inputs before the start (zero padding), so the
output has one value per input step, as for every other model; mask those steps out of the loss
when they should not count. The window is a delay-line kernel (``minirnn.kernels.delay``) on
every engine; the rest is two batched matmuls.

Shapes: x (B, T, I) → y (B, T, O); W_xh (H, N·I), b_h (H,), W_hy (O, H), b_y (O,).
"""
from __future__ import annotations

from ..kernels.activations import OUTPUT_ACTIVATIONS, activate_tensor, check_activation
from ..kernels.delay import delay_embed
from .base import SequenceModel, check_size


class SlidingPredictor(SequenceModel):
    """y_t = g(W_hy f(W_xh [x_t, …, x_{t-window+1}] + b_h) + b_y), zero padding before t = 0."""

    def __init__(self, input_size: int, window: int, hidden_size: int, output_size: int,
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

    def forward(self, x, lengths=None):
        """y (B, T, O) from x (B, T, I). ``lengths`` is accepted for a uniform API: a window
        only looks back, so padding after a row's end never reaches its valid steps."""
        x = self._input(x, self.input_size)
        e = delay_embed(x, 0, self.window, self.backend)
        h = activate_tensor(self.activation, e @ self.W_xh.T + self.b_h)
        return activate_tensor(self.output_activation, h @ self.W_hy.T + self.b_y)
