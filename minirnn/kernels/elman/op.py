"""The fused Elman layer: ONE operation on the tape, whatever the engine.

    hs = elman_recurrence(x, W_xh, b_h, W_hh, h0, activation, lengths, backend)

computes h_t = f(W_xh x_t + b_h + W_hh h_{t-1}) for every step (see ``reference`` for the
equations and the BPTT derivation). The input projection a_t = W_xh x_t + b_h of every step is
one batched product before the time loop, and its gradients (∂L/∂W_xh = Σ dz_t x_t^T, ∂L/∂b_h
= Σ dz_t, ∂L/∂x_t = W_xh^T dz_t) are one product each after the BPTT loop; only the recurrence
is sequential.

Engines: ``numpy`` (reference loops), ``cpu`` (Numba, parallel over the batch: the projection,
the recurrence and every gradient in one compiled call each way), ``cuda`` (Numba CUDA for the
recurrence, hs staying on the GPU for backward; the products by cuBLAS when the model is on the
GPU). The ``tape`` engine is not here: it is the model's own equations unrolled with primitive
ops, the oracle this op is tested against.
"""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from ...autograd.arrays import array_module
from . import cpu, cuda, reference
from .. import blas
from ..activations import CODES
from ..fused import StateTaps, fused_op, if_needed, inside_share, sum_outer_previous


def _share_of_the_states(taps, dhs, dz, W_hh, lengths):
    """h_t's gradient from inside the op, W_hh^T dz_{t+1}, to the states that asked for it
    (``fused.StateTaps``)."""
    if taps is not None and taps.wanted("h"):
        taps.deliver("h", inside_share(dhs, dz @ W_hh, lengths))


def _with_projection(recurrence):
    """An engine whose kernels run the recurrence alone (``recurrence(a, W_hh, h0, lengths,
    activation) -> (hs, backward)``, backward giving (dz, dh0)), with the input projection and
    every weight gradient as products around them."""
    def layer(x, W_xh, b_h, W_hh, h0, lengths, activation, taps):
        rows = x.reshape(-1, x.shape[2])
        a = blas.matmul(rows, W_xh.T, b_h).reshape(x.shape[:2] + (W_xh.shape[0],))
        hs, run_backward = recurrence(a, W_hh, h0, lengths, activation)

        def backward(dhs, needs):
            dz, dh0 = run_backward(dhs)
            _share_of_the_states(taps, dhs, dz, W_hh, lengths)
            dz_rows = dz.reshape(-1, dz.shape[2])
            return (if_needed(needs[0], lambda: blas.matmul(dz_rows, W_xh).reshape(x.shape)),
                    if_needed(needs[1], lambda: blas.matmul(dz_rows.T, rows)),
                    if_needed(needs[2], lambda: blas.column_sums(dz_rows)),
                    if_needed(needs[3], lambda: sum_outer_previous(dz, h0, hs)),
                    dh0)
        return hs, backward
    return layer


def _numpy(a, W_hh, h0, lengths, activation):
    hs = reference.elman_forward(a, W_hh, h0, lengths, activation)
    return hs, lambda g: reference.elman_backward(g, hs, W_hh, lengths, activation)


def _cuda(a, W_hh, h0, lengths, activation):
    device = cuda.DeviceElman(W_hh, lengths, CODES[activation])
    return device.forward(a, h0), device.backward


def _cpu(x, W_xh, b_h, W_hh, h0, lengths, activation, taps):
    """The cpu kernels project, recur and sum every gradient themselves."""
    hs = cpu.elman_forward(x, W_xh, b_h, W_hh, h0, lengths, activation)

    def backward(g, needs):
        if taps is None or not taps.wanted("h"):
            return cpu.elman_backward(g, hs, x, W_xh, W_hh, h0, lengths, activation, needs[0])
        *grads, dz = cpu.elman_backward(g, hs, x, W_xh, W_hh, h0, lengths, activation,
                                        needs[0], keep_dz=True)
        _share_of_the_states(taps, g, dz, W_hh, lengths)
        return tuple(grads)

    return hs, backward


IMPLEMENTATIONS = {"numpy": _with_projection(_numpy), "cpu": _cpu,
                   "cuda": _with_projection(_cuda)}

#: the output layers the network op takes inside it (an activation written in terms of y)
NETWORK_OUTPUTS = ("identity", "tanh")


def _with_output(layer):
    """An engine's layer (``layer(x, W_xh, b_h, W_hh, h0, lengths, activation, taps) -> (hs,
    backward)``) and the output layer y_t = g(W_hy h_t + b_y) after it, in one entry: forward
    one product over every (b, t) row; backward dv = dy ⊙ g'(v) (1 - y² for tanh), dhs = dv
    W_hy, the layer's BPTT from dhs, ∂L/∂W_hy = Σ dv h^T and ∂L/∂b_y = Σ dv. A shared initial
    state h0 (H,) is every row's, and its gradient the sum of the rows'."""
    def network(x, W_xh, b_h, W_hh, h0, W_hy, b_y, lengths, activation, output_activation):
        B, T = x.shape[:2]
        h0_rows = h0 if h0.ndim == 2 else array_module(h0).repeat(h0[None], B, axis=0)
        hs, layer_backward = layer(x, W_xh, b_h, W_hh, h0_rows, lengths, activation, None)
        rows = hs.reshape(B * T, hs.shape[2])
        y = blas.matmul(rows, W_hy.T, b_y)
        if output_activation == "tanh":
            y = array_module(y).tanh(y, out=y)

        def backward(dy, needs):
            dv = dy.reshape(y.shape)
            if output_activation == "tanh":
                dv = dv * (1 - y * y)
            dx, dW_xh, db_h, dW_hh, dh0 = layer_backward(
                blas.matmul(dv, W_hy).reshape(hs.shape), needs[:4] + (True,))
            return (dx, dW_xh, db_h, dW_hh,
                    if_needed(needs[4], lambda: dh0 if h0.ndim == 2 else blas.column_sums(dh0)),
                    if_needed(needs[5], lambda: blas.matmul(dv.T, rows)),
                    if_needed(needs[6], lambda: blas.column_sums(dv)))
        return y.reshape(B, T, W_hy.shape[0]), backward
    return network


def _cpu_network(x, W_xh, b_h, W_hh, h0, W_hy, b_y, lengths, activation, output_activation):
    """The cpu kernels run the output layer too, in the same compiled call each way: its
    product right after each block's recurrence, its backward (dhs, ∂L/∂W_hy, ∂L/∂b_y)
    right before the BPTT."""
    h0_rows = h0 if h0.ndim == 2 else np.repeat(h0[None], x.shape[0], axis=0)
    hs, y = cpu.elman_forward(x, W_xh, b_h, W_hh, h0_rows, lengths, activation,
                              output=(W_hy, b_y, output_activation))
    kept_y = y if output_activation != "identity" else None  # g' of tanh reads y, 1 - y²

    def backward(dy, needs):
        dx, dW_xh, db_h, dW_hh, dh0, dW_hy, db_y = cpu.elman_backward(
            None, hs, x, W_xh, W_hh, h0_rows, lengths, activation, needs[0],
            output=(dy, kept_y, W_hy, output_activation))
        return (dx, dW_xh, db_h, dW_hh,
                if_needed(needs[4], lambda: dh0 if h0.ndim == 2 else blas.column_sums(dh0)),
                dW_hy, db_y)
    return y, backward


NETWORK_IMPLEMENTATIONS = {"numpy": _with_output(IMPLEMENTATIONS["numpy"]), "cpu": _cpu_network,
                           "cuda": _with_output(IMPLEMENTATIONS["cuda"])}


def elman_recurrence(x: Tensor, W_xh: Tensor, b_h: Tensor, W_hh: Tensor, h0: Tensor,
                     activation: str, lengths: np.ndarray, backend: str,
                     taps: StateTaps | None = None) -> Tensor:
    """All hidden states hs (B, T, H) from x (B, T, I), W_xh (H, I), b_h (H,), W_hh (H, H),
    h0 (B, H), lengths (B,). ``taps``: where the BPTT hands the share of ∂L/∂h_t that flows
    through the later steps, W_hh^T dz_{t+1}, to the states a model returned (part "h")."""
    return fused_op("elman_recurrence", backend, IMPLEMENTATIONS, (x, W_xh, b_h, W_hh, h0),
                    lengths, activation, taps)


def elman_network(x: Tensor, W_xh: Tensor, b_h: Tensor, W_hh: Tensor, h0: Tensor, W_hy: Tensor,
                  b_y: Tensor, activation: str, output_activation: str, lengths: np.ndarray,
                  backend: str) -> Tensor:
    """A whole Elman network as ONE tape entry: y (B, T, O) = g(W_hy h_t + b_y) with h_t =
    f(W_xh x_t + b_h + W_hh h_{t-1}), from h0 (B, H), or (H,) for every row; g one of
    ``NETWORK_OUTPUTS``. What a small model costs is mostly the Python around each entry (its
    recording, its backward's call, the products' calls), so a model whose states nobody
    reads runs this rather than the layer op and a linear op."""
    if output_activation not in NETWORK_OUTPUTS:
        raise ValueError(f"elman_network: output activation {output_activation!r} is not one of "
                         f"{', '.join(NETWORK_OUTPUTS)}")
    return fused_op("elman_network", backend, NETWORK_IMPLEMENTATIONS,
                    (x, W_xh, b_h, W_hh, h0, W_hy, b_y), lengths, activation, output_activation)
