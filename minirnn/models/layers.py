r"""Layers to build a network of one's own on ``Module`` and ``Parameter``.

``Linear``: y = x W^T + b over the last axis of x, for x (..., in_features), W (out_features,
in_features), b (out_features,), as ONE tape op (``minirnn.kernels.linear``: the products the
models use). Its gradients, for the rows r of x laid end to end:

    ∂L/∂x = g W,   ∂L/∂W = Σ_r g_r^T x_r,   ∂L/∂b = Σ_r g_r        (g = ∂L/∂y)

A recurrent cell of one's own, h_t = tanh(W_xh x_t + b_h + W_hh h_{t-1}), is two of them::

    class Cell(Module):
        def __init__(self, inputs, hidden):
            self.input = Linear(in_features=inputs, out_features=hidden, seed=0)
            self.recurrent = Linear(in_features=hidden, out_features=hidden, bias=False,
                                    init=init.orthogonal, seed=1)
        def forward(self, x_t, h):
            return (self.input(x_t) + self.recurrent(h)).tanh()
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..kernels.linear import linear
from . import init as initialisers
from .base import check_dtype, check_size
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b; W (out_features, in_features) drawn by ``init`` (default U(±1/√in),
    PyTorch's), b (out_features,) from the same bound, or no bias with ``bias=False``."""

    def __init__(self, *, in_features: int, out_features: int, bias: bool = True,
                 dtype="float64", seed=0, init=initialisers.fan_in_uniform):
        self.in_features = check_size("in_features", in_features)
        self.out_features = check_size("out_features", out_features)
        self.dtype = check_dtype(dtype)
        rng = np.random.default_rng(seed)
        self.W = Parameter(init((self.out_features, self.in_features), rng, dtype=self.dtype))
        if bias:
            self.b = Parameter(initialisers.fan_in_uniform((self.out_features,), rng,
                                                           fan_in=self.in_features,
                                                           dtype=self.dtype))
        else:
            self.b = None

    def forward(self, x) -> Tensor:
        """y = x W^T + b over the last axis of x (…, in_features) → (…, out_features)."""
        if x.dtype != self.dtype:
            raise TypeError(f"Linear: input is {x.dtype} but the layer is {self.dtype} "
                            f"(convert with .astype('{self.dtype}'))")
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"Linear: input of shape {x.shape}, expected (..., "
                             f"{self.in_features})")
        return linear(x, self.W, self.b)

    def __repr__(self):
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.b is not None}, dtype={self.dtype})")
