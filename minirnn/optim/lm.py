r"""Levenberg-Marquardt for least-squares losses on small networks, as MATLAB's ``trainlm``.

The loss is a sum of squared residuals, E(θ) = Σ_i r_i(θ)² = ‖r‖² (for the mean squared error,
r = (ŷ - y)/√n). Near θ, r(θ + δ) ≈ r + J δ with the Jacobian J_ij = ∂r_i/∂θ_j (N × P: N
residuals, P weights), so E(θ + δ) ≈ ‖r + J δ‖², whose minimum is the Gauss-Newton step

    (J^T J) δ = -J^T r.

J^T J is the Hessian of E/2 without its second-order terms Σ r_i ∇²r_i, small near a good fit:
second-order convergence for the price of first derivatives. Far from the minimum (or where
J^T J is singular) that step can be too long or wrong, so Levenberg damps it:

    (J^T J + μ I) δ = -J^T r.

Large μ gives δ ≈ -J^T r / μ, a short gradient-descent step (J^T r is half of ∇E); small μ
gives Gauss-Newton. μ is adapted as ``trainlm`` does: start at μ = 10⁻³; each iteration tries
the step; if E decreases, the step is taken and μ ← μ · μ_dec (0.1, towards Gauss-Newton);
if not, μ ← μ · μ_inc (10) and the step is solved again, until E decreases or μ exceeds
μ_max (10¹⁰), where training stops. It also stops when ‖J^T r‖ falls below ``min_grad``
(10⁻⁷); the training loop adds ``trainlm``'s third stop, on the validation error.

**The Jacobian, from the tape: one reverse pass per residual.** Row i of J is the gradient of
r_i: ``r.backward(e_i, retain_graph=True)`` with the unit vector e_i, over the graph recorded
once. Reverse mode because the tape and every fused recurrence (with its BPTT kernel) are
reverse-mode only: a forward-mode pass (P Jacobian-vector products, P ≪ N for the networks
this is for) would need a tangent rule for every op and every kernel. The passes cannot be
batched over the batch rows either, since the kernels sum each weight's gradient over the
rows. N passes of the whole graph cost N times a backward pass: fine for the small networks
and the thousands of residuals ``trainlm`` is used on; for more, use L-BFGS (one gradient per
evaluation, no N × P matrix).

The state kept between ``step`` calls (and in a checkpoint, for an exact resume) is μ and the
iteration count; the Jacobian is recomputed at every iteration.
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..autograd.arrays import to_host
from .base import FlatParameters, Optimizer


class LevenbergMarquardt(Optimizer):
    """Levenberg-Marquardt (see the module docstring). ``step(residuals)``: ``residuals()``
    returns the residuals r as a tensor on the tape (any shape; E = Σ r²).

    Args:
        max_iter: iterations (each one Jacobian) per ``step`` call.
        mu: the initial damping μ.
        mu_dec: μ's factor after a step that lowered E.
        mu_inc: μ's factor after a step that did not.
        mu_max: stop when μ exceeds this.
        min_grad: stop when ‖J^T r‖ is below this.
    """

    full_batch = True

    def __init__(self, params, max_iter: int = 20, mu: float = 1e-3, mu_dec: float = 0.1,
                 mu_inc: float = 10.0, mu_max: float = 1e10, min_grad: float = 1e-7):
        super().__init__(params, lr=1.0)
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) \
                or max_iter < 1:
            raise ValueError(f"LevenbergMarquardt: max_iter must be a positive integer, got "
                             f"{max_iter!r}")
        if not (0 < mu <= mu_max and 0 < mu_dec < 1 < mu_inc):
            raise ValueError(f"LevenbergMarquardt: needs 0 < mu <= mu_max and mu_dec < 1 < "
                             f"mu_inc, got mu={mu}, mu_max={mu_max}, mu_dec={mu_dec}, "
                             f"mu_inc={mu_inc}")
        self.max_iter, self.mu, self.mu_dec, self.mu_inc = int(max_iter), mu, mu_dec, mu_inc
        self.mu_max, self.min_grad = mu_max, min_grad
        self.flat = FlatParameters(self.params)
        self.n_iter = 0
        self.grad_norm = float("nan")  # ‖J^T r‖ where the last step began

    def jacobian(self, residuals) -> tuple:
        """(r, J): the residuals (N,) and their Jacobian (N, P) at the present parameters, one
        reverse pass per residual over one recorded graph."""
        r = residuals()
        values = to_host(r.data).astype(np.float64).ravel()
        J = np.empty((values.size, self.flat.size))
        seed = np.zeros(r.shape, dtype=r.dtype)
        for i in range(values.size):
            self.zero_grad()
            seed.flat[i] = 1
            r.backward(seed, retain_graph=i < values.size - 1)
            seed.flat[i] = 0
            J[i] = self.flat.grad()
        self.zero_grad()
        return values, J

    def _error(self, residuals) -> float:
        with no_grad():
            r = to_host(residuals().data).astype(np.float64)
        return float(r.ravel() @ r.ravel())

    def step(self, residuals):
        """Up to ``max_iter`` iterations; returns E before them. ``converged`` says why it
        stopped early (the gradient or μ)."""
        self.converged = None
        theta = self.flat.values()
        first = None
        for _ in range(self.max_iter):
            if self.mu > self.mu_max:
                self.converged = f"μ exceeded {self.mu_max:g}"
                break
            r, J = self.jacobian(residuals)
            error = float(r @ r)
            first = error if first is None else first
            if not np.isfinite(error):
                break
            g = J.T @ r
            self.grad_norm = float(np.sqrt(g @ g))
            if self.grad_norm < self.min_grad:
                self.converged = f"the gradient norm is below {self.min_grad:g}"
                break
            self.n_iter += 1
            JtJ = J.T @ J
            while True:
                delta = -np.linalg.solve(JtJ + self.mu * np.eye(len(g)), g)
                self.flat.assign(theta + delta)
                trial = self._error(residuals)
                if trial < error:  # a NaN error is no decrease
                    theta = theta + delta
                    self.mu *= self.mu_dec
                    break
                self.mu *= self.mu_inc
                if self.mu > self.mu_max:
                    break
            if self.mu > self.mu_max:
                self.flat.assign(theta)
                self.converged = f"μ exceeded {self.mu_max:g}"
                break
        return self._error(residuals) if first is None else first

    def state_dict(self) -> dict:
        """μ (a scalar) and the iteration count: the Jacobian is recomputed each iteration."""
        return {"step": self.n_iter, "slots": {}, "scalars": {"mu": float(self.mu)}}

    def load_state_dict(self, state: dict):
        """Restore ``state_dict()``'s result: μ (positive) and the iteration count."""
        self._check_slots(state.get("slots", {}), ())
        mu = state.get("scalars", {}).get("mu")
        if mu is None or not 0 < mu:
            raise ValueError(f"LevenbergMarquardt state needs a positive mu, got {mu!r}")
        self.mu, self.n_iter = float(mu), int(state.get("step", 0))
