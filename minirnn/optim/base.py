"""The optimisers' base: the parameters, the learning rate, the state to resume from; and
gradient clipping.

An optimiser updates ``p.data`` in place from ``p.grad`` (nothing recorded). The same lines
run on NumPy arrays and, for a model moved to the GPU, on CuPy arrays. Its state
(``state_dict``) is what a checkpoint keeps: a step count, arrays shaped as the parameters
("slots": one array per parameter each) and a few numbers ("scalars").
"""
from __future__ import annotations

import numpy as np

from ..autograd.arrays import array_module, to_host


class Optimizer:
    """Base of the optimisers: the parameters it updates (``params``), the learning rate
    ``lr``, ``zero_grad()`` to clear their gradients and ``step()`` to update them.

    A first-order optimiser steps once per mini-batch from the gradients already computed. A
    second-order one (``full_batch = True``: L-BFGS, Levenberg-Marquardt) is given the whole
    objective instead, ``step(closure)``, which it evaluates as often as it needs; it says in
    ``converged`` (a reason, or None) when it can go no further.
    """

    #: True for an optimiser whose ``step(closure)`` evaluates the whole training set itself
    full_batch = False
    #: why the optimiser stopped making progress (set by ``step``), or None
    converged: str | None = None

    def __init__(self, params, lr: float):
        self.params = [p for p in params]
        if not self.params:
            raise ValueError(f"{type(self).__name__}: no parameters to optimise")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be positive, got {lr}")
        self.lr = lr

    def zero_grad(self):
        """Clear every parameter's gradient (the next backward() writes it afresh)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """One update of every parameter that has a gradient, from ``p.grad``."""
        for i, p in enumerate(self.params):
            if p.grad is not None and p.requires_grad:
                self._update(i, p)

    def _update(self, i, p):
        raise NotImplementedError

    def objective_changed(self):
        """The function being minimised is another from now on (a NARX's loop closed): forget
        what was learnt about the old one's curvature. Nothing to forget for a first-order
        optimiser, whose moments follow the gradients anyway."""

    #: the per-parameter arrays the optimiser carries from step to step (e.g. Adam's m and v)
    slots: tuple = ()

    def state_dict(self) -> dict:
        """What the optimiser has learnt, to continue exactly where it stopped:
        {"step": t, "slots": {slot: [one array per parameter, copied to the host]},
        "scalars": {name: float}}."""
        return {"step": int(getattr(self, "t", 0)),
                "slots": {s: [np.array(to_host(a), copy=True) for a in getattr(self, s)]
                          for s in self.slots},
                "scalars": {}}

    def load_state_dict(self, state: dict):
        """Restore ``state_dict()``'s result; every slot's count and shapes are checked first,
        so a bad state changes nothing."""
        slots = self._check_slots(state.get("slots", {}), self.slots)
        for name, arrays in slots.items():
            setattr(self, name, [array_module(p.data).array(a, dtype=p.dtype)
                                 for a, p in zip(arrays, self.params, strict=True)])
        if hasattr(self, "t"):
            self.t = int(state.get("step", 0))

    def _check_slots(self, slots: dict, expected) -> dict:
        """``slots`` if it holds exactly the slots ``expected``, each one array shaped as its
        parameter; a ValueError otherwise."""
        if set(slots) != set(expected):
            raise ValueError(f"{type(self).__name__} state needs slot(s) "
                             f"{', '.join(expected) or 'none'}, got {', '.join(slots) or 'none'}")
        for name, arrays in slots.items():
            if len(arrays) != len(self.params):
                raise ValueError(f"optimiser slot {name!r} has {len(arrays)} arrays for "
                                 f"{len(self.params)} parameters")
            for a, p in zip(arrays, self.params, strict=True):
                if np.shape(a) != p.shape:
                    raise ValueError(f"optimiser slot {name!r}: shape {np.shape(a)}, parameter "
                                     f"shape {p.shape}")
        return slots


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


class FlatParameters:
    """The parameters seen as one float64 vector θ, as a second-order method sees them:
    read θ and the gradient, write θ back, and cut a vector into one array per parameter
    (how its state goes into a checkpoint's slots). A parameter without a gradient has a
    zero one, so it never moves."""

    def __init__(self, params):
        self.params = params
        self.shapes = [p.shape for p in params]
        self.ends = np.cumsum([int(np.prod(s)) for s in self.shapes])
        self.slices = [slice(end - int(np.prod(s)), end) for s, end in zip(self.shapes, self.ends,
                                                                           strict=True)]

    @property
    def size(self) -> int:
        """n: the parameters' elements in all."""
        return int(self.ends[-1])

    def values(self) -> np.ndarray:
        """θ: every parameter's values in one float64 vector (n,), on the host."""
        return np.concatenate([to_host(p.data).ravel().astype(np.float64) for p in self.params])

    def grad(self) -> np.ndarray:
        """g: every parameter's gradient in one float64 vector (n,), zeros where a parameter
        has none."""
        return np.concatenate([np.zeros(int(np.prod(p.shape))) if p.grad is None else
                               to_host(p.grad).ravel().astype(np.float64)
                               for p in self.params])

    def assign(self, theta: np.ndarray):
        """θ written into the parameters, in place, in each one's type."""
        for p, part in zip(self.params, self.split(theta), strict=True):
            p.data[...] = array_module(p.data).asarray(part.astype(p.dtype))

    def split(self, vector: np.ndarray) -> list:
        """One array per parameter, shaped as it."""
        return [vector[part].reshape(shape) for part, shape in
                zip(self.slices, self.shapes, strict=True)]

    def join(self, arrays) -> np.ndarray:
        """``split``'s inverse, in float64."""
        return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
