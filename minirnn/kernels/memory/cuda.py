"""The explicit-memory recurrence on the GPU: host side of ``cuda_kernels``.

The saved states (ms, hs, ys) stay on the device between forward and backward; when the model
is device-resident, everything else does too (``cuda_support.Placement``).
"""
from __future__ import annotations

from ..cuda_support import Placement, launch_shape


class DeviceMemory:
    def __init__(self, W_ym, W_hm, W_mm, W_mh, W_hy, lengths, r, f, g):
        self.place = place = Placement(W_hy)
        weights = (W_ym, W_hm, W_mm, W_mh, W_hy)
        self.weights = [place.input(w) for w in weights]  # the backward's W[j, i]
        self.transposed = [place.input(w.T) for w in weights]  # the forward's W^T[j, i]
        self.d_lengths = place.input(lengths)
        self.codes = (r, f, g)
        self.saved = None

    def forward(self, a, b_m, b_y, m0, h0, y0):
        from .cuda_kernels import memory_forward_kernel

        place = self.place
        B, T, H = a.shape
        M, O = b_m.size, y0.shape[1]
        saved = [place.empty((B, T, n), a.dtype) for n in (M, H, O)]
        self.saved = [place.arg(s) for s in saved]
        d_a, d_b_m, d_b_y, *d_init = [place.input(v) for v in (a, b_m, b_y, m0, h0, y0)]
        W_ymT, W_hmT, W_mmT, W_mhT, W_hyT = self.transposed
        blocks, threads = launch_shape(B, max(M, H, O))
        memory_forward_kernel[blocks, threads](d_a, W_ymT, W_hmT, W_mmT, d_b_m, W_mhT, W_hyT,
                                               d_b_y, *d_init, self.d_lengths, *self.codes,
                                               *self.saved)
        return tuple(place.result(s) for s in saved)

    def backward(self, gm, gh, gy):
        from .cuda_kernels import memory_backward_kernel

        place = self.place
        B, T, H = gh.shape
        d_grads = [place.input(v) for v in (gm, gh, gy)]
        outs = [place.empty(s.shape, gh.dtype) for s in self.saved]  # dq, dz, do
        carries = [place.zeros((B, s.shape[2]), gh.dtype) for s in self.saved]
        blocks, threads = launch_shape(B, max(s.shape[2] for s in self.saved))
        memory_backward_kernel[blocks, threads](*d_grads, *self.saved, *self.weights,
                                                self.d_lengths, *self.codes,
                                                *(place.arg(v) for v in outs + carries))
        return tuple(place.result(v) for v in outs + carries)
