"""First-order optimisers: SGD, Adam, AdamW.

Each updates ``p.data`` in place from ``p.grad`` after every ``backward()`` (one mini-batch,
one step). On the GPU the moments live on the device beside the parameters. Parameters
without a gradient are skipped.
"""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class SGD(Optimizer):
    """v ← μ v + g;  θ ← θ - lr · v   (plain SGD when momentum μ = 0)."""

    slots = ("velocity",)

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def _update(self, i, p):
        g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
        if self.momentum:
            self.velocity[i] = self.momentum * self.velocity[i] + g
            g = self.velocity[i]
        p.data -= (self.lr * g).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015):
    m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;  θ ← θ - lr · m̂ / (√v̂ + ε),
    with the bias corrections m̂ = m / (1-β1^t), v̂ = v / (1-β2^t).
    ``weight_decay`` here is L2 added to the gradient; AdamW decouples it.
    """

    decoupled = False
    slots = ("m", "v")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def step(self):
        """One update of every parameter, t counted first (the bias corrections use it)."""
        self.t += 1
        super().step()

    def _update(self, i, p):
        g = p.grad
        if self.weight_decay and not self.decoupled:
            g = g + self.weight_decay * p.data
        self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
        self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g * g
        m_hat = self.m[i] / (1 - self.beta1 ** self.t)
        v_hat = self.v[i] / (1 - self.beta2 ** self.t)
        update = self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        if self.weight_decay and self.decoupled:
            update = update + self.lr * self.weight_decay * p.data
        p.data -= update.astype(p.dtype, copy=False)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): θ ← θ - lr · λ θ is applied
    directly, not through the gradient's moments."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01):
        super().__init__(params, lr, betas, eps, weight_decay)
