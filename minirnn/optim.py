"""Optimisers and gradient clipping.

Each optimiser updates ``p.data`` in place from ``p.grad`` (nothing recorded). The same lines
run on NumPy arrays and, for a model moved to the GPU, on CuPy arrays: the moments then live
on the device beside the parameters. Parameters without a gradient are skipped.
"""
from __future__ import annotations

import numpy as np

from . import catalog
from .autograd.arrays import array_module, to_host


class Optimizer:
    """Base of the optimisers: the parameters it updates (``params``), the learning rate
    ``lr``, ``zero_grad()`` to clear their gradients and ``step()`` to update them."""

    def __init__(self, params, lr: float):
        self.params = [p for p in params]
        if not self.params:
            raise ValueError(f"{type(self).__name__}: no parameters to optimise")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be positive, got {lr}")
        self.lr = lr

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is not None and p.requires_grad:
                self._update(i, p)

    def _update(self, i, p):
        raise NotImplementedError

    #: the per-parameter arrays the optimiser carries from step to step (e.g. Adam's m and v)
    slots: tuple = ()

    def state_dict(self) -> dict:
        """What the optimiser has learnt, to continue exactly where it stopped:
        {"step": t, "slots": {slot: [one array per parameter, copied to the host]}}."""
        return {"step": int(getattr(self, "t", 0)),
                "slots": {s: [np.array(to_host(a), copy=True) for a in getattr(self, s)]
                          for s in self.slots}}

    def load_state_dict(self, state: dict):
        """Restore ``state_dict()``'s result; every slot's count and shapes are checked first,
        so a bad state changes nothing."""
        slots = state.get("slots", {})
        if set(slots) != set(self.slots):
            raise ValueError(f"{type(self).__name__} state needs slot(s) "
                             f"{', '.join(self.slots) or 'none'}, got {', '.join(slots) or 'none'}")
        for name, arrays in slots.items():
            if len(arrays) != len(self.params):
                raise ValueError(f"optimiser slot {name!r} has {len(arrays)} arrays for "
                                 f"{len(self.params)} parameters")
            for a, p in zip(arrays, self.params):
                if np.shape(a) != p.shape:
                    raise ValueError(f"optimiser slot {name!r}: shape {np.shape(a)}, parameter "
                                     f"shape {p.shape}")
        for name, arrays in slots.items():
            setattr(self, name, [array_module(p.data).array(a, dtype=p.dtype)
                                 for a, p in zip(arrays, self.params)])
        if hasattr(self, "t"):
            self.t = int(state.get("step", 0))


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


def clip_grad_norm(params, max_norm: float) -> float:
    """Scale all gradients by min(1, max_norm / ‖g‖), ‖g‖ the global L2 norm over every
    parameter's gradient. Returns ‖g‖ before clipping (inf or NaN is returned as is, untouched)."""
    grads = [p.grad for p in params if p.grad is not None]
    # summed where the gradients live: on the GPU, one number comes back, not one per parameter
    total = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads)))
    if np.isfinite(total) and total > max_norm > 0:
        scale = max_norm / total
        for p in params:
            if p.grad is not None:
                p.grad = (p.grad * scale).astype(p.dtype, copy=False)
    return total


#: each optimiser's name (``minirnn.catalog.OPTIMIZERS``) and its class
OPTIMIZERS = dict(zip(catalog.OPTIMIZERS, (SGD, Adam, AdamW), strict=True))
