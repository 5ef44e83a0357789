"""Residual diagnostics, as system identification uses them to judge a model.

A model that has captured the dynamics leaves residuals e_t = y_t - ŷ_t that are white: not
correlated with their own past (autocorrelation r_ee(k) ≈ 0 for k ≥ 1) nor with the inputs
(cross-correlation r_ue(k) ≈ 0): at k ≥ 0, the input k steps before (dynamics the model
missed; k = 0, the input of the same step), and at k < 0, the input |k| steps after the
residual (feedback: the output driving the input, as in a closed control loop). For n
residuals of a white process these sample correlations fall within ±1.96/√n with 95%
probability: the confidence band.

    r_ee(k) = Σ_t (e_t - ē)(e_{t-k} - ē) / Σ_t (e_t - ē)²
    r_ue(k) = Σ_t (u_{t-k} - ū)(e_t - ē) / √(Σ (u - ū)² Σ (e - ē)²)
"""
from __future__ import annotations

import numpy as np


def autocorrelation(e: np.ndarray, lags) -> np.ndarray:
    e = e - e.mean()
    denominator = float(e @ e) or 1.0
    return np.array([float(e[k:] @ e[:len(e) - k]) / denominator for k in lags])


def cross_correlation(u: np.ndarray, e: np.ndarray, lags) -> np.ndarray:
    """r_ue(k) for each lag k: u_{t-k} against e_t (k < 0: the input after the residual)."""
    u, e = u - u.mean(), e - e.mean()
    n = len(e)
    denominator = float(np.sqrt((u @ u) * (e @ e))) or 1.0
    return np.array([float(u[:n - k] @ e[k:] if k >= 0 else u[-k:] @ e[:n + k]) / denominator
                     for k in lags])


def residual_diagnostics(series, predicted: np.ndarray, task, max_lag: int = 20,
                         every_row: bool = False) -> dict:
    """Correlations of the first target's residuals with the 95% band: on the test rows (the
    last 15%, which training never used), or with ``every_row`` on all the rows that have a
    prediction (data the model never saw: none of it was used); ``rows`` says which."""
    rows = slice(task.first_scored, len(series)) if every_row else task.splits()["test"]
    e = series.targets[rows, 0] - predicted[rows, 0]
    n = len(e)
    which = "rows" if every_row else "test rows (the last 15%)"
    if n < 8:
        raise ValueError(f"residual diagnostics look at the {which}; {series.name} has {n}, "
                         f"too few (at least 8)")
    lags = list(range(1, max(2, min(max_lag, n // 4) + 1)))
    cross_lags = list(range(-lags[-1], lags[-1] + 1))
    band = 1.96 / np.sqrt(n)
    acf = autocorrelation(e, lags)
    ccf = {name: cross_correlation(series.inputs[rows, j], e, cross_lags).tolist()
           for j, name in enumerate(series.input_names)}
    outside = int(np.sum(np.abs(acf) > band) + sum(np.sum(np.abs(v) > band)
                                                   for v in ccf.values()))
    total = len(acf) + sum(len(v) for v in ccf.values())
    verdict = (f"{outside} of {total} correlations lie outside the 95% band (about "
               f"{0.05 * total:.1f} expected by chance for white residuals)")
    return {"rows": "all" if every_row else "test", "n": n, "band": float(band), "lags": lags,
            "autocorrelation": acf.tolist(), "cross_lags": cross_lags, "cross_correlation": ccf,
            "outside": outside, "total": total, "verdict": verdict}
