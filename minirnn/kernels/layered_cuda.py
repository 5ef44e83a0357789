"""The layered recurrence on the GPU: host side of ``layered_cuda_kernels``; the saved states
stay on the device between forward and backward."""
from __future__ import annotations

import numpy as np

from .cuda_support import cuda_module, launch_shape


class DeviceLayered:
    def __init__(self, U, V, Y, W_hy, offsets, lengths, f, g):
        cuda = cuda_module()
        c = np.ascontiguousarray
        weights = (U, V, Y, W_hy)
        self.weights = [cuda.to_device(c(w)) for w in weights]  # the backward's W[j, i]
        self.transposed = [cuda.to_device(c(w.T)) for w in weights]  # the forward's W^T[j, i]
        self.d_offsets = cuda.to_device(offsets)
        self.d_lengths = cuda.to_device(lengths)
        self.codes = (f, g)
        self.widest = int(np.diff(offsets).max())
        self.saved = None

    def forward(self, a, b, b_y, S0, y0):
        cuda = cuda_module()
        from .layered_cuda_kernels import layered_forward_kernel

        B, T, _ = a.shape
        N = b.size
        self.saved = [cuda.device_array((B, T, N), dtype=a.dtype),
                      cuda.device_array((B, T, b_y.size), dtype=a.dtype)]
        d_a, d_b, d_b_y, d_S0, d_y0 = [cuda.to_device(np.ascontiguousarray(v))
                                       for v in (a, b, b_y, S0, y0)]
        blocks, threads = launch_shape(B, max(self.widest, b_y.size))
        Ut, Vt, Yt, W_hyT = self.transposed
        layered_forward_kernel[blocks, threads](d_a, d_b, Ut, Vt, Yt, W_hyT, d_b_y, d_S0, d_y0,
                                                self.d_offsets, self.d_lengths, *self.codes,
                                                *self.saved)
        return tuple(s.copy_to_host() for s in self.saved)

    def backward(self, gS, gy):
        cuda = cuda_module()
        from .layered_cuda_kernels import layered_backward_kernel

        B, T, N = gS.shape
        O = gy.shape[2]
        d_gS, d_gy = (cuda.to_device(np.ascontiguousarray(v)) for v in (gS, gy))
        d_dz, d_do = cuda.device_array_like(self.saved[0]), cuda.device_array_like(self.saved[1])
        d_cS = cuda.to_device(np.zeros((B, N), dtype=gS.dtype))
        d_cy = cuda.to_device(np.zeros((B, O), dtype=gS.dtype))
        blocks, threads = launch_shape(B, max(self.widest, O))
        layered_backward_kernel[blocks, threads](d_gS, d_gy, *self.saved, *self.weights,
                                                 self.d_offsets, self.d_lengths, *self.codes,
                                                 d_dz, d_do, d_cS, d_cy)
        return tuple(v.copy_to_host() for v in (d_dz, d_do, d_cS, d_cy))
