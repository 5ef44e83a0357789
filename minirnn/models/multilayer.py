r"""Multi-layer recurrent networks, with the connectivities of the seed article's figures.

Layer l has H_l units, state h^l_t and its own learned initial state h^l_{-1} = h0:

    stacked          h^l_t = f(W_xh^l h^{l-1}_t + W_hh^l h^l_{t-1} + b_h^l)     (h^{-1}_t = x_t)
                     y_t = g(W_hy h^{L-1}_t + b_y)
    skip             as stacked, but the input also feeds every layer,
                     h^l_t = f(W_xh^l [x_t, h^{l-1}_t] + …), and every layer feeds the output,
                     y_t = g(W_hy [h^0_t, …, h^{L-1}_t] + b_y)
    feedback         as stacked, plus a top-down recurrence: + W_fb^l h^{l+1}_{t-1} (l < L-1)
    output_feedback  as stacked, plus the last output into the first layer: + W_yh y_{t-1} (l = 0)

Gated layers. With ``cell="lstm"`` or ``"gru"`` each layer is an LSTM or GRU cell
(``models.gated``) instead of h^l_t = f(…): the gates read h^{l-1}_t (and, with ``skip``,
x_t) where Elman's layer reads them, as PyTorch's ``nn.LSTM(num_layers=L)`` stacks them. Only
``stacked`` and ``skip`` are defined for them: the top-down and output feedback of the other
two connectivities belong to the article's Elman stacks.

How it runs. In ``stacked`` and ``skip`` each layer's recurrence only involves itself, so each
layer is one fused op (``minirnn.kernels.elman``, ``.lstm`` or ``.gru``) over the whole
sequence, and the layers run one after another. ``feedback`` and ``output_feedback`` tie the
layers together in time, so the whole stack is one fused layered recurrence
(``minirnn.kernels.layered``), whose block weight matrices are assembled on the tape from the
layers' parameters.

Parameter names: ``layer{l}.W_xh``, ``layer{l}.W_hh``, ``layer{l}.b_h``, ``layer{l}.h0``,
``layer{l}.W_fb``, ``layer0.W_yh``, and the output's ``W_hy``, ``b_y``; a gated layer has
``b_xh`` and ``b_hh`` (PyTorch's two biases) instead of ``b_h``, and an LSTM layer also ``c0``.
The state is every layer's state then the last output, packed as (B, ΣS_l + O), where S_l is
H_l, or 2H_l for an LSTM layer ([h | c]).
"""
from __future__ import annotations

from itertools import pairwise

import numpy as np

from ..autograd import Tensor, ops
from ..catalog import CELLS, CONNECTIVITIES
from ..kernels.activations import CODES
from ..kernels.fused import StateTaps
from ..kernels.layered import layered_recurrence
from ..kernels.linear import linear
from .base import (OUTPUT_ACTIVATIONS, SequenceModel, activate_tensor, check_activation,
                   check_lengths, check_size, outputs)
from .elman import elman_states
from .gated import gru_states, lstm_states
from .module import Module

#: rows of W_xh and W_hh per unit: one per gate
_GATES = {"elman": 1, "lstm": 4, "gru": 3}


class RecurrentLayer(Module):
    """The parameters of one layer (a plain container; MultiLayerRNN runs them)."""


class MultiLayerRNN(SequenceModel):
    """A stack of recurrent layers; ``connectivity`` is stacked, skip, feedback or
    output_feedback (equations in the module docstring)."""

    def __init__(self, *, input_size: int, hidden_size: int | None = None, output_size: int,
                 hidden_sizes=None, num_layers: int = 2, connectivity: str = "stacked",
                 activation: str = "tanh", output_activation: str = "identity",
                 cell: str = "elman", backend: str = "cpu", dtype="float64", seed=0):
        super().__init__(backend, dtype, seed)
        if hidden_sizes is None:  # the same size for every layer
            hidden_sizes = [check_size("hidden_size", hidden_size if hidden_size else 0)] * \
                check_size("num_layers", num_layers)
        if not isinstance(hidden_sizes, (list, tuple)) or not hidden_sizes:
            raise ValueError(f"hidden_sizes must be a non-empty list, got {hidden_sizes!r}")
        self.hidden_sizes = [check_size("hidden size", h) for h in hidden_sizes]
        self.input_size = I = check_size("input_size", input_size)
        self.output_size = O = check_size("output_size", output_size)
        if connectivity not in CONNECTIVITIES:
            raise ValueError(f"unknown connectivity {connectivity!r}; choose one of "
                             f"{', '.join(CONNECTIVITIES)}")
        self.connectivity = connectivity
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
        if cell != "elman" and connectivity not in ("stacked", "skip"):
            raise ValueError(f"connectivity {connectivity!r} is defined for Elman layers only; "
                             f"{cell} layers stack with 'stacked' or 'skip'")
        if cell != "elman" and activation != "tanh":
            raise ValueError(f"{cell} layers' activations are fixed (sigmoid gates, tanh "
                             f"candidate): activation must be 'tanh', got {activation!r}")
        self.cell = cell
        self.activation = check_activation(activation)
        fused_stack = connectivity in ("feedback", "output_feedback")
        self.output_activation = check_activation(
            output_activation, tuple(CODES) if fused_stack else OUTPUT_ACTIVATIONS)
        sizes = self.hidden_sizes
        state_sizes = [2 * H if cell == "lstm" else H for H in sizes]
        self.offsets = np.concatenate([[0], np.cumsum(state_sizes)]).astype(np.int64)
        G = _GATES[cell]
        self.layer = []
        for l, H in enumerate(sizes):
            layer = RecurrentLayer()
            fan_in = I if l == 0 else sizes[l - 1] + (I if connectivity == "skip" else 0)
            layer.W_xh = self._uniform((G * H, fan_in), H)
            layer.W_hh = self._uniform((G * H, H), H)
            if connectivity == "feedback" and l < len(sizes) - 1:
                layer.W_fb = self._uniform((H, sizes[l + 1]), H)
            if connectivity == "output_feedback" and l == 0:
                layer.W_yh = self._uniform((H, O), H)
            if cell == "elman":
                layer.b_h = self._uniform((H,), H)
            else:  # PyTorch's two biases, in its order
                layer.b_xh = self._uniform((G * H,), H)
                layer.b_hh = self._uniform((G * H,), H)
            layer.h0 = self._zeros(H)
            if cell == "lstm":
                layer.c0 = self._zeros(H)
            self.layer.append(layer)
        top = sum(sizes) if connectivity == "skip" else sizes[-1]
        self.W_hy = self._uniform((O, top), top)
        self.b_y = self._zeros(O)

    @property
    def state_size(self) -> int:
        """The packed state's width: every layer's state side by side, then the output."""
        return int(self.offsets[-1]) + self.output_size

    def forward(self, x, h=None, return_state: bool = False, lengths=None,
                return_states: bool = False):
        """y (B, T, O) from x (B, T, I); ``h``: the packed state (B, ΣH + O), by default each
        layer's h0 and a zero output; ``return_state``: also return the final packed state;
        ``return_states``: also return every step's state of each layer, {"layer0.h", …}
        (and "y", fed back, with output feedback) on the tape, their gradient the total
        ∂L/∂h^l_t (``base.py``: the states' protocol; Elman cells)."""
        x = self._input(x, self.input_size)
        B, T, _ = x.shape
        lengths = check_lengths(lengths, B, T)
        N = int(self.offsets[-1])
        initial = [p for layer in self.layer for p in (layer.h0, getattr(layer, "c0", None))
                   if p is not None]
        default = ops.concatenate(initial + [self._constant_zeros(self.output_size)], axis=0)
        state = self._state(h, B, self.state_size, default)
        named = None
        if self.connectivity in ("stacked", "skip"):
            layers, y, named = self._layer_by_layer(x, state, lengths, return_states)
            if named is not None:  # the final state read from the shown states, so that their
                layers = list(named.values())  # gradients include it (layer l's h, then c)
            last = (ops.concatenate([h[:, -1] for h in layers] + [y[:, -1]], axis=1)
                    if return_state else None)
        elif not return_state and not return_states:
            y, last = self._fused_stack(x, state, lengths, y_only=True), None
        else:
            taps = StateTaps() if return_states else None
            out = self._fused_stack(x, state, lengths, taps=taps)  # [S | y] packed
            y, last = out[:, :, N:], out[:, -1] if return_state else None
            if return_states:
                named = {f"layer{l}.h": taps.expose("S", out[:, :, lo:hi], columns=(lo, hi))
                         for l, (lo, hi) in enumerate(pairwise(self.offsets))}
                if self.connectivity == "output_feedback":
                    named["y"] = taps.expose("y", y)
                if return_state:  # from the shown states, so that their gradients include it
                    last = ops.concatenate([v[:, -1] for v in named.values()] +
                                           ([] if "y" in named else [y[:, -1]]), axis=1)
        return outputs(y, last, named)

    def _layer_by_layer(self, x, state, lengths, return_states: bool = False):
        """stacked / skip: one recurrence per layer (Elman, LSTM or GRU), bottom to top; returns
        every layer's states (a list; an LSTM layer's are [h | c]), y, and with
        ``return_states`` the named states of the protocol (None without)."""
        below, all_states, all_h, named = x, [], [], {} if return_states else None
        for l, layer in enumerate(self.layer):
            lo, hi = self.offsets[l], self.offsets[l + 1]
            inputs = ops.concatenate([x, below], axis=2) if (self.connectivity == "skip" and
                                                              l > 0) else below
            s0 = state[:, lo:hi]
            taps = StateTaps() if return_states else None
            if self.cell == "elman":
                states = elman_states(inputs, layer.W_xh, layer.b_h, layer.W_hh, s0,
                                      self.activation, lengths, self.backend, taps)
            else:
                run = lstm_states if self.cell == "lstm" else gru_states
                states = run(inputs, layer.W_xh, layer.b_xh, layer.W_hh, layer.b_hh, s0,
                             lengths, self.backend, taps)
            H = self.hidden_sizes[l]
            below = states[:, :, :H] if self.cell == "lstm" else states
            if return_states:
                named[f"layer{l}.h"] = taps.expose("h", below)
                if self.cell == "lstm":
                    named[f"layer{l}.c"] = taps.expose("c", states[:, :, H:])
            all_states.append(states)
            all_h.append(below)
        top = ops.concatenate(all_h, axis=2) if self.connectivity == "skip" else below
        return all_states, activate_tensor(self.output_activation,
                                           linear(top, self.W_hy, self.b_y)), named

    def _fused_stack(self, x, state, lengths, y_only: bool = False, taps=None):
        """feedback / output_feedback: the whole stack as one layered recurrence, [S | y]
        packed or, with ``y_only``, y alone; ``taps``: the states' protocol (parts "S", "y")."""
        N = int(self.offsets[-1])
        first = self.layer[0]
        if self.backend == "tape":
            states = self._unrolled(linear(x, first.W_xh, first.b_h), state, lengths, taps)
            return states[:, :, N:] if y_only else states
        biases = ops.concatenate([layer.b_h for layer in self.layer], axis=0)  # (N,)
        U, V, Y, W_hy, reads = self._block_weights()
        return layered_recurrence(linear(x, first.W_xh), biases, U, V, Y, W_hy, self.b_y,
                                  state[:, :N], state[:, N:], self.offsets,
                                  (self.activation, self.output_activation), lengths,
                                  self.backend, reads, y_only, taps)

    def _block_weights(self):
        """U, V (N, N), Y (N, O) and the output weights (O, N) from the layers' parameters,
        and which columns each layer's rows of U and V, and the output, read (the blocks the
        connectivity has: ``layered_recurrence``'s ``reads``)."""
        sizes, L = self.hidden_sizes, len(self.hidden_sizes)
        same_step, previous = {}, {}
        for l, layer in enumerate(self.layer):
            if l > 0:
                same_step[l, l - 1] = layer.W_xh
            previous[l, l] = layer.W_hh
            if hasattr(layer, "W_fb"):
                previous[l, l + 1] = layer.W_fb
        Y = {(0, 0): self.layer[0].W_yh} if hasattr(self.layer[0], "W_yh") else {}
        output = {(0, L - 1): self.W_hy}
        reads = (self._columns_read(L, same_step), self._columns_read(L, previous),
                 self._columns_read(1, output)[0])
        return (self._blocks(sizes, sizes, same_step), self._blocks(sizes, sizes, previous),
                self._blocks(sizes, [self.output_size], Y),
                self._blocks([self.output_size], sizes, output), reads)

    def _columns_read(self, rows, blocks) -> np.ndarray:
        """[first, end) of the state columns that block row i reads, for each i."""
        columns = np.zeros((rows, 2), dtype=np.int64)
        for i in range(rows):
            read = [j for (r, j) in blocks if r == i]
            if read:
                columns[i] = self.offsets[min(read)], self.offsets[max(read) + 1]
        return columns

    def _blocks(self, row_sizes, column_sizes, blocks) -> Tensor:
        """A block matrix on the tape: the given blocks, zeros elsewhere."""
        if not blocks:  # a constant: no output feedback
            return self._constant_zeros(sum(row_sizes), sum(column_sizes))
        return ops.block_matrix(blocks, row_sizes, column_sizes)

    def _unrolled(self, a0, state, lengths, taps=None):
        """feedback / output_feedback step by step with primitive ops (the oracle). With
        ``taps``, what the stack reads again of each state (the layer above and the output at
        the same step, every layer at the next) goes through ``taps.carry``."""
        N = int(self.offsets[-1])
        bounds = list(pairwise(self.offsets))
        tap = (lambda part, v, t, columns=None: v) if taps is None else taps.carry
        hs = [state[:, lo:hi] for lo, hi in bounds]
        y = state[:, N:]
        steps = []
        for t in range(a0.shape[1]):
            new = []
            for l, layer in enumerate(self.layer):
                z = (a0[:, t] if l == 0 else
                     tap("S", new[l - 1], t, bounds[l - 1]) @ layer.W_xh.T + layer.b_h)
                z = z + hs[l] @ layer.W_hh.T
                if hasattr(layer, "W_fb"):
                    z = z + hs[l + 1] @ layer.W_fb.T
                if hasattr(layer, "W_yh"):
                    z = z + y @ layer.W_yh.T
                new.append(activate_tensor(self.activation, z))
            y_new = activate_tensor(self.output_activation,
                                    tap("S", new[-1], t, bounds[-1]) @ self.W_hy.T + self.b_y)
            if t >= lengths.min():
                active = (t < lengths)[:, None]
                new = [ops.where(active, n, o) for n, o in zip(new, hs, strict=True)]
                y_new = ops.where(active, y_new, y)
            hs, y = new, y_new
            steps.append(ops.concatenate(hs + [y], axis=1))
            hs = [tap("S", h, t, b) for h, b in zip(hs, bounds, strict=True)]
            y = tap("y", y, t)
        return ops.stack(steps, axis=1)
