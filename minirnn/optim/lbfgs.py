r"""L-BFGS: a quasi-Newton method with limited memory, full batch, with PyTorch's calling
convention (``torch.optim.LBFGS``)::

    opt = LBFGS(model.parameters(), lr=1, max_iter=20, history_size=100,
                line_search="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = mse(model(x), y)
        loss.backward()
        return loss

    opt.step(closure)   # up to max_iter iterations, each calling the closure one or more times

Newton's step is d = -H g, with H the inverse Hessian of the loss f at θ and g = ∇f(θ).
BFGS builds an approximation of H from what the iterations see: after a step
s_k = θ_{k+1} - θ_k the gradient changed by y_k = g_{k+1} - g_k, and the true inverse Hessian of
a quadratic maps y_k back to s_k (the secant condition H y_k = s_k). The BFGS update is the
smallest change of H (in a weighted norm) that satisfies it:

    H_{k+1} = V_k^T H_k V_k + ρ_k s_k s_k^T,   V_k = I - ρ_k y_k s_k^T,   ρ_k = 1 / (y_k^T s_k).

It stays positive definite as long as y_k^T s_k > 0 (the curvature condition, which the line
search below guarantees), so d = -H g is always a descent direction.

**The two-loop recursion.** L-BFGS never forms H (P × P for P weights): it keeps the last m
pairs (s_i, y_i) and applies the update m times to a scaled identity H⁰ = γ I,
γ = s_{k-1}^T y_{k-1} / y_{k-1}^T y_{k-1} (the inverse curvature along the last step). Unrolling
H_k = V_{k-1}^T H_{k-1} V_{k-1} + ρ_{k-1} s_{k-1} s_{k-1}^T down to H⁰ and multiplying by q = g:

    first loop, newest pair first (i = k-1, …, k-m):
        α_i = ρ_i s_i^T q;   q ← q - α_i y_i            (q is now V_{k-m}⋯V_{k-1} g)
    r = γ q                                             (H⁰ applied)
    second loop, oldest pair first (i = k-m, …, k-1):
        β_i = ρ_i y_i^T r;   r ← r + (α_i - β_i) s_i     (r is now H_k g)

The first loop applies the right-hand factors V_i and records the terms ρ_i s_i (s_i^T q) that
the rank-one parts add back; the second applies the left-hand factors V_i^T and adds those terms:
2m dot products and 2m vector updates, O(mP) work and memory instead of O(P²). A pair with
y^T s ≤ 10⁻¹⁰ is not stored (it would break positive definiteness).

**The line search: the strong Wolfe conditions.** Along d, φ(t) = f(θ + t d) with φ'(0) = g^T d
< 0. A step t is accepted when

    φ(t) ≤ φ(0) + c₁ t φ'(0)        (sufficient decrease, Armijo; c₁ = 10⁻⁴)
    |φ'(t)| ≤ c₂ |φ'(0)|            (strong curvature; c₂ = 0.9)

The first rules out steps that decrease f too little for their length; the second rules out
steps that are too short (the slope has not flattened enough), and gives y^T s = t (φ'(t) -
φ'(0)) ≥ t (1 - c₂) |φ'(0)| > 0: the curvature condition BFGS needs. The search (Nocedal &
Wright, Algorithm 3.5/3.6, as PyTorch implements it) tries t = lr first (on the very first
iteration, and the first after ``objective_changed``, min(1, 1/‖g‖₁)·lr), extrapolates until it
brackets an acceptable step, then zooms into the bracket by cubic interpolation of φ and φ' at
its two ends. A non-finite loss counts as a failed decrease, so the search steps back from a
step that blew the network up.

The state kept between ``step`` calls (and in a checkpoint, for an exact resume) is the pairs
(s_i, y_i), the last step t·d and the last gradient (the next call's first pair), and the
iteration count; ρ_i and γ are recomputed from the pairs. Parameters and gradients may be
float32; the method itself works in float64.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from .base import FlatParameters, Optimizer


class LBFGS(Optimizer):
    """L-BFGS with an optional strong Wolfe line search (see the module docstring).

    Args:
        lr: the first step length tried along each direction (1 is Newton's step; without a
            line search, the step taken).
        max_iter: iterations per ``step`` call.
        max_eval: closure evaluations per ``step`` call (default max_iter · 5/4).
        tolerance_grad: stop when max |g_i| is at most this.
        tolerance_change: stop when the loss or the step changes less than this.
        history_size: the pairs (s, y) kept, m.
        line_search: "strong_wolfe" or None (a fixed step lr).
        wolfe: (c₁, c₂) of the Wolfe conditions, 0 < c₁ < c₂ < 1; a tiny c₂ makes the line
            search (nearly) exact.
    """

    full_batch = True

    def __init__(self, params, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search: str | None = "strong_wolfe",
                 wolfe: tuple = (1e-4, 0.9), weight_decay: float = 0.0):
        super().__init__(params, lr)
        if line_search not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: unknown line search {line_search!r}; choose "
                             f"'strong_wolfe' or None")
        for name, value in (("max_iter", max_iter), ("history_size", history_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"LBFGS: {name} must be a positive integer, got {value!r}")
        if not 0 < wolfe[0] < wolfe[1] < 1:
            raise ValueError(f"LBFGS: the Wolfe constants need 0 < c1 < c2 < 1, got {wolfe}")
        if weight_decay:
            raise ValueError("LBFGS: weight decay is not supported; add a penalty to the loss")
        self.max_iter, self.history_size = int(max_iter), int(history_size)
        self.max_eval = max_eval if max_eval is not None else max_iter * 5 // 4
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.line_search, self.wolfe = line_search, tuple(wolfe)
        self.flat = FlatParameters(self.params)
        self.n_iter = 0            # iterations over every step call
        self.func_evals = 0
        self.s, self.y = [], []    # the pairs, oldest first
        self.rho = []              # 1 / y^T s of each pair
        self.last_step = None      # t·d of the last iteration
        self.last_grad = None      # the gradient where that iteration began

    # --- evaluating the objective -------------------------------------------------------
    def _evaluate(self, closure) -> tuple:
        """(loss, gradient) at the parameters' present values."""
        loss = closure()
        loss = float(loss.item() if hasattr(loss, "item") else loss)
        self.func_evals += 1
        return loss, self.flat.grad()

    def _at(self, closure, theta, t, *, d) -> tuple:
        """(loss, gradient) at θ + t d, leaving the parameters there."""
        self.flat.assign(theta + t * d)
        return self._evaluate(closure)

    # --- the step -------------------------------------------------------------------------
    def direction(self, g: np.ndarray) -> np.ndarray:
        """-H g by the two-loop recursion over the stored pairs (-g with none).

        The loops' vector updates are gathered into a few products with the pairs' dot
        products M_ij = s_i^T y_j, so that only scalars are left to Python: with q₀ = -g, the
        first loop's α_i = ρ_i (s_i^T q₀ - Σ_{j>i} α_j M_ij), newest first; with
        r₀ = γ (q₀ - Σ_j α_j y_j) the second's β_i = ρ_i (y_i^T r₀ + Σ_{j<i} (α_j - β_j) M_ji),
        oldest first; then r = r₀ + Σ_i (α_i - β_i) s_i."""
        q = -g
        if not self.s:
            return q
        S, Y, rho = np.array(self.s), np.array(self.y), self.rho
        M, m = S @ Y.T, len(rho)
        sq, alpha = S @ q, np.zeros(m)
        for i in range(m - 1, -1, -1):
            alpha[i] = rho[i] * (sq[i] - M[i, i + 1:] @ alpha[i + 1:])
        gamma = float(self.s[-1] @ self.y[-1]) / float(self.y[-1] @ self.y[-1])
        r = gamma * (q - alpha @ Y)
        yr, done = Y @ r, np.zeros(m)  # done: α_j - β_j
        for i in range(m):
            done[i] = alpha[i] - rho[i] * (yr[i] + M[:i, i] @ done[:i])
        return r + done @ S

    def _remember(self, g: np.ndarray):
        """Store the pair of the last iteration (s = t d, y = g - g_prev) if its curvature
        y^T s is positive enough, dropping the oldest beyond ``history_size``."""
        if self.last_grad is None or self.last_step is None:
            return
        y, s = g - self.last_grad, self.last_step
        if float(y @ s) > 1e-10:
            if len(self.s) == self.history_size:
                self.s.pop(0)
                self.y.pop(0)
                self.rho.pop(0)
            self.s.append(s)
            self.y.append(y)
            self.rho.append(1.0 / float(y @ s))

    def step(self, closure):
        """Up to ``max_iter`` iterations on the objective that ``closure`` computes (it zeroes
        the gradients, computes the loss, calls ``backward()`` and returns the loss); returns
        the loss before them (as PyTorch's). The call ends early, as PyTorch's does, when the
        gradient, the step or the change of the loss falls below its tolerance; ``converged``
        then says why if that is the end of the optimisation: the gradient is small, or this
        call's first iteration already made no progress (a later one ending a call only means
        the next call starts afresh from a new gradient)."""
        self.converged = None
        theta = self.flat.values()
        loss, g = self._evaluate(closure)
        first_loss, evals = loss, 1
        if not np.isfinite(loss):
            return first_loss
        if np.max(np.abs(g)) <= self.tolerance_grad:
            self.converged = (f"the largest gradient component is below {self.tolerance_grad:g}")
            return first_loss
        for n in range(1, self.max_iter + 1):
            self.n_iter += 1
            fresh = self.last_grad is None  # nothing known yet: a short first step
            self._remember(g)
            d = self.direction(g)
            self.last_grad = g
            previous = loss
            t = min(1.0, 1.0 / np.sum(np.abs(g))) * self.lr if fresh else self.lr
            gtd = float(g @ d)
            if gtd > -self.tolerance_change:  # not a descent direction any more
                self.last_step = None
                self.converged = (None if n > 1 else
                                  "the directional derivative is below the change tolerance")
                self.flat.assign(theta)
                break
            if self.line_search is None:
                loss, g = self._at(closure, theta, t, d=d)
                step_evals = 1
            else:
                loss, g, t, step_evals = strong_wolfe(
                    partial(self._at, closure, theta, d=d), t, d, previous,
                    self.last_grad, gtd, *self.wolfe, tolerance_change=self.tolerance_change)
            self.last_step = t * d
            theta = theta + self.last_step
            self.flat.assign(theta)
            evals += step_evals
            if not np.isfinite(loss) or n == self.max_iter or evals >= self.max_eval:
                break
            if np.max(np.abs(g)) <= self.tolerance_grad:
                self.converged = (f"the largest gradient component is below "
                                  f"{self.tolerance_grad:g}")
                break
            if np.max(np.abs(self.last_step)) <= self.tolerance_change:
                self.converged = None if n > 1 else "the step is below the change tolerance"
                break
            if abs(loss - previous) < self.tolerance_change:
                self.converged = (None if n > 1 else
                                  "the loss changes less than the change tolerance")
                break
        return first_loss

    def objective_changed(self):
        """Forget the curvature pairs: the loss is another function now (a closed-loop NARX
        whose loop was just closed), and its Hessian is not the old one's."""
        self.s, self.y, self.rho, self.last_step, self.last_grad = [], [], [], None, None

    # --- state ----------------------------------------------------------------------------
    def _slot_names(self, pairs: int, pending: bool) -> list:
        names = [f"{kind}{i:03d}" for i in range(pairs) for kind in ("s", "y")]
        return names + (["last_step", "last_grad"] if pending else [])

    def state_dict(self) -> dict:
        """The pairs, the last step and gradient as slots (cut per parameter, float64) and the
        iteration count as the step: all the next ``step`` reads."""
        pending = self.last_step is not None
        vectors = [v for pair in zip(self.s, self.y, strict=True) for v in pair]
        vectors += [self.last_step, self.last_grad] if pending else []
        names = self._slot_names(len(self.s), pending)
        return {"step": self.n_iter, "scalars": {"func_evals": float(self.func_evals)},
                "slots": {n: [a.copy() for a in self.flat.split(v)]
                          for n, v in zip(names, vectors, strict=True)}}

    def load_state_dict(self, state: dict):
        """Restore ``state_dict()``'s result: the (s, y) pairs and the pending step and
        gradient, each checked against the parameters' shapes first."""
        slots = state.get("slots", {})
        pairs = sum(1 for n in slots if n.startswith("s") and n[1:].isdigit())
        pending = "last_step" in slots
        self._check_slots(slots, self._slot_names(pairs, pending))
        vector = {n: self.flat.join(arrays) for n, arrays in slots.items()}
        self.s = [vector[f"s{i:03d}"] for i in range(pairs)]
        self.y = [vector[f"y{i:03d}"] for i in range(pairs)]
        self.rho = [1.0 / float(y @ s) for s, y in zip(self.s, self.y, strict=True)]
        self.last_step = vector.get("last_step")
        self.last_grad = vector.get("last_grad")
        self.n_iter = int(state.get("step", 0))
        self.func_evals = int(state.get("scalars", {}).get("func_evals", 0))


def cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to
    ``bounds`` (default: between x1 and x2); the bounds' midpoint where the cubic has none or
    a value is not finite (Nocedal & Wright, eq. 3.59)."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    if x1 == x2 or not all(np.isfinite(v) for v in (x1, f1, g1, x2, f2, g2)):
        return (low + high) / 2
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    square = d1 * d1 - g1 * g2
    if square < 0:
        return (low + high) / 2
    d2 = np.sqrt(square)
    if x1 <= x2:
        at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return float(min(max(at, low), high)) if np.isfinite(at) else (low + high) / 2


def strong_wolfe(phi, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t along d satisfying the strong Wolfe conditions (module docstring): bracket,
    then zoom by cubic interpolation. ``phi(t)`` gives (loss, gradient) at θ + t d; f, g, gtd
    are the loss, gradient and slope g^T d at t = 0. Returns (loss, gradient, t,
    evaluations)."""
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = phi(t)
    evals, gtd_new = 1, float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:  # bracketing: extrapolate until an acceptable step is inside
        if not np.isfinite(f_new) or f_new > f + c1 * t * gtd or (ls_iter > 1 and
                                                                   f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        t_next = cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = phi(t)
        evals, gtd_new, ls_iter = evals + 1, float(g_new @ d), ls_iter + 1
    if ls_iter == max_ls:
        bracket = [[0.0, f, g, gtd], [t, f_new, g_new, gtd_new]]
    if done:
        t, f_new, g_new, _ = bracket[0]
        return f_new, g_new, t, evals
    # zoom: shrink the bracket [low, high] (low: the lower loss) around an acceptable step
    low, high = (0, 1) if _le(bracket[0][1], bracket[1][1]) else (1, 0)
    insufficient = False
    while ls_iter < max_ls:
        a, b = bracket[0][0], bracket[1][0]
        if a == b or abs(b - a) * d_norm < tolerance_change:
            break
        t = cubic_minimum(a, bracket[0][1], bracket[0][3], b, bracket[1][1], bracket[1][3])
        top, bottom = max(a, b), min(a, b)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:  # too near an end: move it inwards
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = phi(t)
        evals, gtd_new, ls_iter = evals + 1, float(g_new @ d), ls_iter + 1
        if not np.isfinite(f_new) or f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if _le(bracket[0][1], bracket[1][1]) else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = list(bracket[low])
            bracket[low] = [t, f_new, g_new, gtd_new]
        if done:
            break
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


def _le(a: float, b: float) -> bool:
    """a ≤ b, a non-finite loss counting as the larger."""
    return not np.isfinite(b) or (np.isfinite(a) and a <= b)
