"""The fused layered recurrence: one tape operation (equations in ``layered_numpy``).

    states = layered_recurrence(a, U, V, Y, W_hy, b_y, S0, y0, offsets, activations, lengths,
                                backend)

returns [S_t | y_t] (B, T, N + O): every layer's state side by side, then the output.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from . import layered_cpu, layered_numpy
from .activations import CODES
from .fused import fused_op, if_needed, previous_states, sum_outer, sum_rows


def same_step_mask(offsets, dtype) -> np.ndarray:
    """1 where U is read: row i of layer l, column j of a layer below (j < offsets[l])."""
    N = offsets[-1]
    mask = np.zeros((N, N), dtype=dtype)
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        mask[lo:hi, :lo] = 1
    return mask


def _with_gradients(states, initial, offsets, run_backward):
    S_all, ys = states
    S0, y0 = initial
    N = S_all.shape[2]
    mask = same_step_mask(offsets, S_all.dtype)

    def backward(dstates, needs):
        gS, gy = np.ascontiguousarray(dstates[:, :, :N]), dstates[:, :, N:]
        dz, do, dS0, dy0 = run_backward(gS, gy)
        return (dz,                                                                # a
                if_needed(needs[1], lambda: sum_outer(dz, S_all) * mask),  # U: the blocks read
                if_needed(needs[2], lambda: sum_outer(dz, previous_states(S0, S_all))),  # V
                if_needed(needs[3], lambda: sum_outer(dz, previous_states(y0, ys))),     # Y
                sum_outer(do, S_all),                                              # W_hy
                sum_rows(do),                                                      # b_y
                dS0, dy0)

    return np.concatenate(states, axis=2), backward


def _host(kernels):
    """The numpy and cpu engines: the same calls, to ``layered_numpy`` or ``layered_cpu``."""
    def run(a, U, V, Y, W_hy, b_y, S0, y0, offsets, lengths, activations):
        states = kernels.layered_forward(a, U, V, Y, W_hy, b_y, S0, y0, offsets, lengths,
                                         *activations)
        return _with_gradients(states, (S0, y0), offsets, lambda gS, gy: kernels.layered_backward(
            gS, gy, *states, U, V, Y, W_hy, offsets, lengths, *activations))
    return run


def _cuda(a, U, V, Y, W_hy, b_y, S0, y0, offsets, lengths, activations):
    from .layered_cuda import DeviceLayered

    device = DeviceLayered(U, V, Y, W_hy, offsets, lengths, *(CODES[n] for n in activations))
    states = device.forward(a, b_y, S0, y0)
    return _with_gradients(states, (S0, y0), offsets, device.backward)


IMPLEMENTATIONS = {"numpy": _host(layered_numpy), "cpu": _host(layered_cpu), "cuda": _cuda}


def layered_recurrence(a: Tensor, U: Tensor, V: Tensor, Y: Tensor, W_hy: Tensor, b_y: Tensor,
                       S0: Tensor, y0: Tensor, offsets: np.ndarray, activations, lengths,
                       backend: str) -> Tensor:
    """[S_t | y_t] (B, T, N + O) for every step; see ``layered_numpy``."""
    return fused_op("layered_recurrence", backend, IMPLEMENTATIONS,
                    (a, U, V, Y, W_hy, b_y, S0, y0), np.asarray(offsets, dtype=np.int64), lengths,
                    tuple(activations))
