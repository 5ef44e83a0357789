"""The layered recurrence on the GPU: host side of ``cuda_kernels``; the saved states
stay on the device between forward and backward, and everything else does too when the model
is device-resident (``cuda_support.Placement``)."""
from __future__ import annotations

import numpy as np

from ..cuda_support import Placement, launch_shape


class DeviceLayered:
    def __init__(self, U, V, Y, W_hy, offsets, lengths, f, g):
        self.place = place = Placement(W_hy)
        weights = (U, V, Y, W_hy)
        self.weights = [place.input(w) for w in weights]  # the backward's W[j, i]
        self.transposed = [place.input(w.T) for w in weights]  # the forward's W^T[j, i]
        self.d_offsets = place.input(offsets)
        self.d_lengths = place.input(lengths)
        self.codes = (f, g)
        self.widest = int(np.diff(offsets).max())
        self.saved = None

    def forward(self, a, b, b_y, S0, y0):
        from .cuda_kernels import layered_forward_kernel

        place = self.place
        B, T, _ = a.shape
        N = b.size
        saved = [place.empty((B, T, N), a.dtype), place.empty((B, T, b_y.size), a.dtype)]
        self.saved = [place.arg(s) for s in saved]
        d_a, d_b, d_b_y, d_S0, d_y0 = [place.input(v) for v in (a, b, b_y, S0, y0)]
        blocks, threads = launch_shape(B, max(self.widest, b_y.size))
        Ut, Vt, Yt, W_hyT = self.transposed
        layered_forward_kernel[blocks, threads](d_a, d_b, Ut, Vt, Yt, W_hyT, d_b_y, d_S0, d_y0,
                                                self.d_offsets, self.d_lengths, *self.codes,
                                                *self.saved)
        return tuple(place.result(s) for s in saved)

    def backward(self, gS, gy):
        from .cuda_kernels import layered_backward_kernel

        place = self.place
        B, T, N = gS.shape
        O = gy.shape[2]
        d_gS, d_gy = (place.input(v) for v in (gS, gy))
        outs = [place.empty(self.saved[0].shape, gS.dtype),
                place.empty(self.saved[1].shape, gS.dtype),
                place.zeros((B, N), gS.dtype), place.zeros((B, O), gS.dtype)]  # dz, do, cS, cy
        blocks, threads = launch_shape(B, max(self.widest, O))
        layered_backward_kernel[blocks, threads](d_gS, d_gy, *self.saved, *self.weights,
                                                 self.d_offsets, self.d_lengths, *self.codes,
                                                 *(place.arg(v) for v in outs))
        return tuple(place.result(v) for v in outs)
