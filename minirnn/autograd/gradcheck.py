"""Check analytic gradients against central finite differences, in float64.

For a scalar function L(θ) and each tensor θ it compares the gradient that ``backward()`` leaves
in ``θ.grad`` with the central difference

    dL/dθ_i ≈ (L(θ + ε e_i) - L(θ - ε e_i)) / 2ε          (mode="full": every element i)

or, for tensors too large for that, with directional derivatives along random unit directions v

    <dL/dθ, v> ≈ (L(θ + ε v) - L(θ - ε v)) / 2ε             (mode="fast", as HIPS autograd does).

The truncation error of a central difference is O(ε²) and its rounding error O(u/ε) for float64
unit roundoff u ≈ 1.1e-16; ε = 1e-6 balances them near 1e-10 relative. An element passes when

    |analytic - numeric| <= atol + rtol * |numeric|          (rtol = 1e-6, atol = 1e-8 by default)

The report gives, per tensor, the largest absolute error and the largest relative error
|analytic - numeric| / max(|numeric|, |analytic|, tiny).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


DEFAULT_EPS = 1e-6
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-8


@dataclass
class TensorCheck:
    """The comparison for one tensor."""

    name: str
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    passed: bool


@dataclass
class GradcheckReport:
    """Per-tensor results; ``passed`` is True when every tensor passed."""

    checks: list = field(default_factory=list)
    mode: str = "full"
    eps: float = DEFAULT_EPS
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    def __bool__(self):
        return self.passed

    def __getitem__(self, name) -> TensorCheck:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def __str__(self):
        lines = [f"gradcheck ({self.mode}, eps={self.eps:g}, rtol={self.rtol:g}, "
                 f"atol={self.atol:g}): {'PASS' if self.passed else 'FAIL'}"]
        for c in self.checks:
            lines.append(f"  {c.name:<12} {str(c.shape):<14} abs {c.max_abs_error:.2e}  "
                         f"rel {c.max_rel_error:.2e}  {'ok' if c.passed else 'FAIL'}")
        return "\n".join(lines)


def check_gradients(loss_fn, tensors: dict, mode: str = "full", eps: float = DEFAULT_EPS,
                    rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
                    directions: int = 8, seed: int = 0) -> GradcheckReport:
    """Compare the tape's gradients of ``loss_fn()`` with finite differences.

    Args:
        loss_fn: a function of no arguments returning a single-element Tensor; it must read the
            tensors in ``tensors`` (their ``.data`` is perturbed in place and restored).
        tensors: name -> Tensor (float64, requires_grad) to check.
        mode: "full" (every element) or "fast" (``directions`` random directions per tensor).
    """
    if mode not in ("full", "fast"):
        raise ValueError(f"gradcheck mode must be 'full' or 'fast', got {mode!r}")
    for name, t in tensors.items():
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 tensors, {name} is {t.dtype} "
                            f"(build the model with dtype='float64')")
        if not t.requires_grad:
            raise ValueError(f"gradcheck: {name} does not require grad")
        t.grad = None

    loss = loss_fn()
    if loss.size != 1:
        raise ValueError(f"gradcheck: the loss must have one element, got shape {loss.shape}")
    loss.backward()
    analytic = {name: (np.zeros_like(t.data) if t.grad is None else t.grad.copy())
                for name, t in tensors.items()}

    def value() -> float:
        return float(loss_fn().data)

    rng = np.random.default_rng(seed)
    report = GradcheckReport(mode=mode, eps=eps, rtol=rtol, atol=atol)
    for name, t in tensors.items():
        flat = t.data.reshape(-1)  # a view: writing it perturbs the tensor
        if mode == "full":
            numeric = np.empty(flat.size)
            for i in range(flat.size):
                numeric[i] = _central_difference(value, flat, eps, index=i)
            predicted = analytic[name].reshape(-1)
        else:
            vs = rng.standard_normal((directions, flat.size))
            vs /= np.linalg.norm(vs, axis=1, keepdims=True)
            numeric = np.array([_central_difference(value, flat, eps, direction=v) for v in vs])
            predicted = vs @ analytic[name].reshape(-1)
        report.checks.append(_compare(name, t.shape, predicted, numeric, rtol, atol))
    return report


def _central_difference(value, flat, eps, index=None, direction=None) -> float:
    saved = flat.copy()
    step = np.zeros_like(flat)
    if index is not None:
        step[index] = eps
    else:
        step = direction * eps
    try:
        flat += step
        plus = value()
        flat[:] = saved - step
        minus = value()
    finally:
        flat[:] = saved
    return (plus - minus) / (2 * eps)


def _compare(name, shape, analytic, numeric, rtol, atol) -> TensorCheck:
    diff = np.abs(analytic - numeric)
    scale = np.maximum(np.maximum(np.abs(numeric), np.abs(analytic)), 1e-300)
    return TensorCheck(
        name=name, shape=tuple(shape),
        max_abs_error=float(diff.max(initial=0.0)),
        max_rel_error=float((diff / scale).max(initial=0.0)),
        passed=bool(np.all(diff <= atol + rtol * np.abs(numeric))),
    )
