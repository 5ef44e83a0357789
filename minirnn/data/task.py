"""From a series to what a model trains on: the chronological split, the scaling, the model's
inputs, the streams and chunks of truncated BPTT, and the metrics.

The task is one-step-ahead forecasting of the targets y_t:
- NARX reads the exogenous inputs u_t (a constant 0 column if there are none) and keeps its own
  delay lines of past outputs (true ones in open loop, its predictions in closed loop);
- every other model reads x_t = [u_t, y_{t-1}]: the inputs and the last known target (0 at t = 0).
The naive baseline predicts y_t = y_{t-1}: a model is only useful if it beats it.

With ``difference=True`` the model works on the changes Δy_t = y_t - y_{t-1} instead of the
levels (reading Δy_{t-1}, predicting Δy_t), and its forecast is y_{t-1} + Δŷ_t. For trending
series (prices) this keeps every value the model sees within the range it was trained on.

Scaling (zero mean, unit variance per column) is fitted on the training part only, so nothing
about the validation and test parts leaks into training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import losses
from .series import DataError, Series


@dataclass
class Scaler:
    """v ↦ (v - mean) / scale, per column."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> "Scaler":
        scale = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, values):
        return (values - self.mean) / self.scale

    def inverse(self, values):
        return values * self.scale + self.mean

    def to_dict(self):
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d):
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["scale"], np.float64))


@dataclass
class ForecastTask:
    """A scaled series, split in time: rows [0, train_end) train, [train_end, val_end)
    validation, [val_end, T) test."""

    series: Series
    u: np.ndarray               # (T, I') scaled exogenous inputs (I' >= 1 for NARX)
    y: np.ndarray               # (T, O) scaled targets
    input_scaler: Scaler
    target_scaler: Scaler
    train_end: int
    val_end: int
    autoregressive: bool        # x_t = [u_t, y_{t-1}] (every model but NARX)
    difference: bool = False    # y holds the scaled changes Δy_t, not the levels

    #: the validation metric that early stopping watches, and whether lower is better
    metric, lower_is_better = "rmse", True

    @property
    def output_size(self) -> int:
        return self.y.shape[1]

    def loss(self, prediction, target):
        """The training loss: mean squared error in the scaled units."""
        return losses.mse(prediction, target)

    def score(self, predicted: np.ndarray) -> dict:
        """RMSE and MAE per split, in the data's own units, for the model's one-step
        predictions (scaled, (T, O)) and for the naive forecast y_t = y_{t-1}."""
        levels = self.to_levels(predicted)
        truth = self.series.targets
        naive = np.concatenate([truth[:1], truth[:-1]], axis=0)
        return {split: {"model": metrics(levels[rows], truth[rows]),
                        "naive": metrics(naive[rows], truth[rows])}
                for split, rows in self.splits().items()}

    @property
    def model_input_size(self) -> int:
        return self.x.shape[1]

    @property
    def x(self) -> np.ndarray:
        """The model's input for every row (T, ·)."""
        if not self.autoregressive:
            return self.u
        y_prev = np.concatenate([np.zeros((1, self.y.shape[1])), self.y[:-1]], axis=0)
        return np.concatenate([self.u, y_prev], axis=1)

    def to_levels(self, predicted: np.ndarray) -> np.ndarray:
        """One-step predictions (T, O) in the model's scaled units → the data's own units."""
        values = self.target_scaler.inverse(predicted)
        if not self.difference:
            return values
        truth = self.series.targets
        return np.concatenate([truth[:1], truth[:-1]], axis=0) + values

    def forecast_levels(self, ahead: np.ndarray, origin: int | None = None) -> np.ndarray:
        """A free-run forecast (N, O) of rows origin … (default: past the last row) → the
        data's own units."""
        values = self.target_scaler.inverse(ahead)
        if not self.difference:
            return values
        anchor = self.series.targets[(len(self.y) if origin is None else origin) - 1]
        return anchor + np.cumsum(values, axis=0)

    def splits(self):
        return {"train": slice(0, self.train_end),
                "validation": slice(self.train_end, self.val_end),
                "test": slice(self.val_end, len(self.y))}


def make_task(series: Series, autoregressive: bool, split=(0.7, 0.15), min_rows: int = 8,
              input_scaler=None, target_scaler=None, difference: bool = False) -> ForecastTask:
    """Split in time, fit the scalers on the training rows (or reuse given ones), scale."""
    T = len(series)
    train_end = int(round(T * split[0]))
    val_end = int(round(T * (split[0] + split[1])))
    if train_end < min_rows or val_end - train_end < 1 or T - val_end < 1:
        raise DataError(f"{series.name} has {T} rows: too few for a train / validation / test "
                        f"split with at least {min_rows} training rows")
    u = series.inputs
    if not autoregressive and u.shape[1] == 0:
        u = np.zeros((T, 1))  # NARX needs an input: a constant zero (a pure NAR model)
    y = series.targets
    if difference:
        y = np.concatenate([np.zeros((1, y.shape[1])), np.diff(y, axis=0)], axis=0)
    input_scaler = input_scaler or Scaler.fit(u[:train_end])
    target_scaler = target_scaler or Scaler.fit(y[:train_end])
    return ForecastTask(series, input_scaler.transform(u), target_scaler.transform(y),
                        input_scaler, target_scaler, train_end, val_end, autoregressive,
                        difference)


def streams(values: np.ndarray, batch: int) -> np.ndarray:
    """Cut one long series (T, C) into ``batch`` contiguous streams (B, T // B, C), row b
    continuing in time across chunks, so state can be carried (truncated BPTT)."""
    length = len(values) // batch
    if length < 1:
        raise DataError(f"{len(values)} training rows cannot make {batch} streams: lower --batch")
    return values[:batch * length].reshape(batch, length, -1)


def metrics(prediction: np.ndarray, truth: np.ndarray) -> dict:
    err = prediction - truth
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}


def build_task(series, model_name: str, difference: bool = False, scalers: dict | None = None):
    """The task for ``series`` and model: next-word prediction for a text, one-step forecasting
    for a numeric series (with the given scalers, e.g. a checkpoint's, or fitted anew)."""
    from .text import TextSeries, make_text_task

    if isinstance(series, TextSeries):
        if model_name == "narx":
            raise DataError("narx models numeric series; for text choose another model")
        if difference:
            raise DataError("--difference is for numeric series, not text")
        return make_text_task(series)
    scalers = scalers or {}
    return make_task(series, autoregressive=model_name != "narx", difference=difference,
                     input_scaler=Scaler.from_dict(scalers["inputs"]) if scalers else None,
                     target_scaler=Scaler.from_dict(scalers["targets"]) if scalers else None)


def task_scalers(task) -> dict:
    """What a checkpoint must keep to rebuild the task's scaling ({} for text)."""
    if not isinstance(task, ForecastTask):
        return {}
    return {"inputs": task.input_scaler.to_dict(), "targets": task.target_scaler.to_dict()}
