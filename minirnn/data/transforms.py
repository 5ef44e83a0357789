"""The invertible steps between a series' targets y and what a model learns: a power transform,
then differencing, then the scaling (``task.Scaler``, fitted on the training rows).

A power transform (Box & Cox, 1964) turns growing swings into even ones, for positive y:

    y^(λ) = (y^λ - 1) / λ        (λ ≠ 0)
    y^(0) = log y                (the log transform)
    y = (1 + λ z)^(1/λ)          the inverse (exp z at λ = 0); where 1 + λ z <= 0 the
                                 inverse is the transform's edge, 0 (λ > 0) or ∞ (λ < 0)

λ is fitted on the training rows by maximum likelihood, each target column on its own: the
transformed rows taken for normal with their own mean and variance σ²(λ), the profile
log-likelihood (the Jacobian of the transform included) is

    ℓ(λ) = -(n/2) log σ²(λ) + (λ - 1) Σ_t log y_t,

maximised over λ in [-2, 2] by a grid of steps of 0.05, then a golden-section search around
the best grid point.

Differencing with lags L_1, L_2, … (1: the changes; P: the seasonal changes of period P)
applies the operator Π_i (1 - B^{L_i}) (B: the backshift, B v_t = v_{t-1}) to v = y^(λ):

    w_t = Σ_{k=0}^{S} c_k v_{t-k},     c_0 = 1, S = Σ_i L_i (the span),

(with lags 1 and P: w_t = v_t - v_{t-1} - v_{t-P} + v_{t-P-1}); the first S rows have no w.
Undone one step ahead from the true past, v̂_t = ŵ_t - Σ_{k>=1} c_k v_{t-k}; undone for a free
run, the same sum with the values already forecast in place of the true ones after the origin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..catalog import TRANSFORMS
from ..errors import DataError

#: the range the Box-Cox λ is searched in
LAMBDA_RANGE = (-2.0, 2.0)


# --- the power transform ------------------------------------------------------------------------
def boxcox(y: np.ndarray, lam) -> np.ndarray:
    """y^(λ) per column (``lam``: a number or one per column); log y where λ = 0."""
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), np.shape(y)[-1:] or ())
    logs = np.log(y)
    safe = np.where(lam == 0, 1.0, lam)
    return np.where(lam == 0, logs, np.expm1(lam * logs) / safe)


def inverse_boxcox(z: np.ndarray, lam) -> np.ndarray:
    """y = (1 + λ z)^(1/λ) per column, exp z where λ = 0; the edge (0 or ∞) where 1 + λ z <= 0."""
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), np.shape(z)[-1:] or ())
    safe = np.where(lam == 0, 1.0, lam)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        powered = np.power(np.maximum(1.0 + lam * z, 0.0), 1.0 / safe)
        return np.where(lam == 0, np.exp(z), powered)


def boxcox_llf(y: np.ndarray, lam: float) -> float:
    """ℓ(λ) of one column of positive values (the module's docstring)."""
    z = boxcox(y, lam)
    return float(-0.5 * len(y) * np.log(z.var()) + (lam - 1) * np.log(y).sum())


def fit_boxcox_lambda(y: np.ndarray) -> float:
    """The λ in ``LAMBDA_RANGE`` that maximises ℓ(λ) for one column of positive values y (1
    for a constant column, which every λ fits alike)."""
    y = np.asarray(y, dtype=np.float64)
    if np.ptp(np.log(y)) == 0:
        return 1.0
    lo, hi = LAMBDA_RANGE
    grid = np.linspace(lo, hi, int(round((hi - lo) / 0.05)) + 1)
    best = grid[int(np.argmax([boxcox_llf(y, lam) for lam in grid]))]
    a, b = max(lo, best - 0.05), min(hi, best + 0.05)
    ratio = (np.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = boxcox_llf(y, c), boxcox_llf(y, d)
    while b - a > 1e-9:
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = boxcox_llf(y, c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = boxcox_llf(y, d)
    return float((a + b) / 2)


# --- differencing -------------------------------------------------------------------------------
def difference_coefficients(lags) -> np.ndarray:
    """c_0 … c_S of Π_i (1 - B^{L_i}): [1, -1] for lag 1; [1, -1, 0, …, -1, 1] for 1 and P."""
    c = np.ones(1)
    for lag in lags:
        longer = np.zeros(len(c) + lag)
        longer[:len(c)] += c
        longer[lag:] -= c
        c = longer
    return c


def difference(v: np.ndarray, lags) -> np.ndarray:
    """w_t = Σ_k c_k v_{t-k} for rows t >= S; NaN in the first S rows."""
    c = difference_coefficients(lags)
    span = len(c) - 1
    w = np.full(v.shape, np.nan)
    w[span:] = sum(c[k] * v[span - k:len(v) - k] for k in range(span + 1))
    return w


def undo_one_step(w: np.ndarray, v: np.ndarray, lags) -> np.ndarray:
    """v̂_t = ŵ_t - Σ_{k>=1} c_k v_{t-k} of the true past v (rows t >= S; NaN before)."""
    c = difference_coefficients(lags)
    span = len(c) - 1
    out = np.full(np.shape(w), np.nan)
    out[span:] = w[span:] - sum(c[k] * v[span - k:len(v) - k] for k in range(1, span + 1))
    return out


def undo_ahead(w: np.ndarray, v_before: np.ndarray, lags) -> np.ndarray:
    """A free run's v̂ (N, O) from its ŵ, after the known rows ``v_before`` (at least S of them):
    v̂_t = ŵ_t - Σ_{k>=1} c_k v_{t-k}, with v̂ in place of v once past the known rows."""
    c = difference_coefficients(lags)
    span = len(c) - 1
    if len(v_before) < span:
        return np.full(np.shape(w), np.nan)
    history = list(v_before[len(v_before) - span:]) if span else []
    out = []
    for step in w:
        value = step - sum(c[k] * history[-k] for k in range(1, span + 1))
        history.append(value)
        out.append(value)
    return np.asarray(out).reshape(np.shape(w))


# --- the steps together -------------------------------------------------------------------------
@dataclass
class TargetSteps:
    """The targets' way to the model and back: ``forward`` y ↦ w (transform, then difference);
    ``one_step`` and ``ahead`` w ↦ y (the module's docstring). ``lambdas``: one λ per target
    column (the log transform's are 0; none without a transform)."""

    transform: str = "none"
    lambdas: np.ndarray | None = None
    lags: tuple = ()

    @classmethod
    def fit(cls, targets: np.ndarray, train_end: int, transform: str = "none", lags=(),
            lambdas=None, names=(), label: str = "the series") -> "TargetSteps":
        """The steps for ``targets`` (T, O): λ as given (a trained model's) or fitted on the
        training rows [0, ``train_end``); a transform of values that are not all positive is a
        DataError (``names``: the target columns, ``label``: the data, for the message)."""
        if transform not in TRANSFORMS:
            raise DataError(f"unknown transform {transform!r}; choose one of "
                            f"{', '.join(TRANSFORMS)}")
        if transform != "none":
            bad = np.argwhere(targets <= 0)
            if len(bad):
                row, column = bad[0]
                name = names[column] if len(names) > column else str(column)
                what = {"log": "log", "boxcox": "Box-Cox"}[transform]
                raise DataError(f"{label}: the {what} transform needs positive values; "
                                f"column {name!r} has {targets[row, column]:g} at row {row}")
        if transform == "log":
            lambdas = np.zeros(targets.shape[1])
        elif transform == "boxcox" and lambdas is None:
            lambdas = np.array([fit_boxcox_lambda(column) for column in targets[:train_end].T])
        elif transform == "boxcox":
            lambdas = np.asarray(lambdas, dtype=np.float64)
        else:
            lambdas = None
        return cls(transform, lambdas, tuple(lags))

    @property
    def span(self) -> int:
        """S: the first rows, which have no differenced value."""
        return sum(self.lags)

    def apply(self, y: np.ndarray) -> np.ndarray:
        """v = y^(λ) (y itself without a transform)."""
        return y if self.lambdas is None else boxcox(y, self.lambdas)

    def restore(self, v: np.ndarray) -> np.ndarray:
        """y from v = y^(λ)."""
        return v if self.lambdas is None else inverse_boxcox(v, self.lambdas)

    def forward(self, y: np.ndarray) -> np.ndarray:
        """w (T, O): y transformed and differenced; NaN in the first ``span`` rows."""
        v = self.apply(y)
        return difference(v, self.lags) if self.lags else v

    def one_step(self, w: np.ndarray, y: np.ndarray) -> np.ndarray:
        """One-step predictions ŵ (T, O) → ŷ, each undone from the true rows before it."""
        v = undo_one_step(w, self.apply(y), self.lags) if self.lags else w
        return self.restore(v)

    def ahead(self, w: np.ndarray, y_before: np.ndarray) -> np.ndarray:
        """A free run's ŵ (N, O) → ŷ, after the true rows ``y_before``."""
        v = undo_ahead(w, self.apply(y_before), self.lags) if self.lags else w
        return self.restore(v)

    def to_dict(self) -> dict:
        """What a checkpoint keeps beside the target scaler: the fitted λ (Box-Cox alone)."""
        return {"lambda": self.lambdas.tolist()} if self.transform == "boxcox" else {}
