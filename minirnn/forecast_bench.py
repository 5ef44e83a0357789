"""minirnn's forecasts against the classical models, on the data sets statsmodels ships:
``minirnn bench --forecast``.

For each data set (sunspots, co2 monthly, nile, elnino, macrodata inflation with
unemployment and the T-bill rate as inputs), written as a CSV file with a date column:

- minirnn's recommended command for it (``COMMANDS``: one fixed command per data set, no
  tuning per run), trained as ``minirnn train`` does (``app.training.train``: 70 / 15 / 15
  split in time), its test one-step, k-step and free-run RMSE read from its report;
- the classical reference on the same training rows: AR(p), ARIMA(p, d, q), or for a seasonal
  series SARIMA(p, d, q)(P, 1, Q)_s, the differencing d chosen by a KPSS test (as auto.arima
  does), the rest by AIC over a small grid (statsmodels' ``SARIMAX``; with the inputs as
  ``exog`` for macrodata, read at time t as minirnn reads them). Its parameters are then
  fixed and it is filtered over the validation and test rows: its one-step forecasts of the
  test rows, its k-step forecasts from the same origins as minirnn's
  (``forecast.forecast_origins``), and a free run over the test rows from the same start.

statsmodels is an optional extra (``pip install 'minirnn[forecast]'``).
"""
from __future__ import annotations

import csv
import tempfile
import warnings
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np

#: the data sets, in the table's order
DATA_SETS = ("sunspots", "co2", "nile", "elnino", "macrodata")


@dataclass
class BenchData:
    """One data set as a CSV file will hold it: dates (ISO), the target, the inputs."""

    name: str
    dates: list
    target: str
    values: np.ndarray                          # (T,)
    inputs: dict = field(default_factory=dict)  # name -> (T,)
    period: int = 0                             # the seasonal period of the dates

    def write(self, folder) -> Path:
        """The data as ``folder/<name>.csv``: date, target, inputs."""
        path = Path(folder) / f"{self.name}.csv"
        with open(path, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["date", self.target, *self.inputs])
            for i, date in enumerate(self.dates):
                out.writerow([date, repr(float(self.values[i])),
                              *(repr(float(v[i])) for v in self.inputs.values())])
        return path

    @property
    def exog(self) -> np.ndarray | None:
        """The inputs as columns (T, I), or None."""
        return np.column_stack(list(self.inputs.values())) if self.inputs else None


#: minirnn's recommended command per data set: ``minirnn train MODEL --data NAME.csv
#: --target T [--inputs …]`` and these options (``TrainOptions`` fields), the same on every
#: run. Each is the one of lowest validation one-step RMSE among six variants (BENCHMARKS.md,
#: 2026-12-07, lists them); the test rows played no part in the choice.
LINEAR = {"activation": "identity", "optimizer": "lbfgs"}
COMMANDS = {
    "sunspots": ("elman", LINEAR),
    "co2": ("sliding", {"difference": True, "seasonal_difference": True, "window": 25,
                        **LINEAR}),
    "nile": ("elman", LINEAR),
    "elnino": ("elman", {"optimizer": "lbfgs"}),
    "macrodata": ("elman", {}),
}


def _statsmodels():
    try:
        import statsmodels.api as sm
    except ImportError:
        raise ImportError("the forecast benchmark needs statsmodels: pip install "
                          "'minirnn[forecast]'") from None
    return sm


def load(name: str) -> BenchData:
    """One of ``DATA_SETS`` from statsmodels' copy: yearly sunspots and Nile flows, weekly
    co2 as monthly means (the months without a reading interpolated), elnino's year-by-month
    table as one monthly series, macrodata's quarterly inflation with unemployment and the
    T-bill rate."""
    sets = _statsmodels().datasets
    if name not in DATA_SETS:
        raise ValueError(f"unknown data set {name!r}: choose from {', '.join(DATA_SETS)}")
    frame = getattr(sets, name).load_pandas().data
    if name in ("sunspots", "nile"):
        year, column = ("YEAR", "SUNACTIVITY") if name == "sunspots" else ("year", "volume")
        return BenchData(name, [f"{int(y)}-01-01" for y in frame[year]], column.lower(),
                         frame[column].to_numpy(float))
    if name == "co2":
        monthly = frame["co2"].resample("MS").mean().interpolate()
        return BenchData(name, [d.strftime("%Y-%m-01") for d in monthly.index], "co2",
                         monthly.to_numpy(float), period=12)
    if name == "elnino":
        months = frame.columns[1:]
        return BenchData(name, [f"{int(y)}-{m:02d}-01" for y in frame["YEAR"]
                                for m in range(1, 13)], "temperature",
                         frame[months].to_numpy(float).ravel(), period=12)
    dates = [f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(frame["year"],
                                                                    frame["quarter"], strict=True)]
    return BenchData(name, dates, "infl", frame["infl"].to_numpy(float),
                     {c: frame[c].to_numpy(float) for c in ("unemp", "tbilrate")})


def command_line(data: BenchData) -> str:
    """The recommended command for ``data``, as a user types it."""
    model, options = COMMANDS[data.name]
    words = ["minirnn train", model, f"--data {data.name}.csv", f"--target {data.target}"]
    if data.inputs:
        words.append(f"--inputs {','.join(data.inputs)}")
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        words.append(flag if value is True else f"{flag} {value}")
    return " ".join(words)


def minirnn_scores(data: BenchData, folder, epochs: int | None = None) -> dict:
    """The recommended command trained on ``data`` (written into ``folder``): its test
    one-step, k-step and free-run RMSE, and the rows it split the series at."""
    from minirnn.app.training import TrainOptions, train

    model, options = COMMANDS[data.name]
    path = data.write(folder)
    settings = dict(options, **({"epochs": epochs} if epochs else {}))
    report = train(TrainOptions(model=model, data=str(path), target=data.target,
                                inputs=",".join(data.inputs) or None, **settings),
                   on_note=lambda _: None)
    task, summary = report.run.task, report.summary
    further = summary["further_ahead"]
    return {"one_step": summary["metrics"]["test"]["model"]["rmse"],
            "naive_one_step": summary["metrics"]["test"]["naive"]["rmse"],
            "naive_k_step": further["k_step"]["naive"],
            "naive_free_run": further["free_run"]["naive"],
            "k_step": further["k_step"]["model"], "free_run": further["free_run"]["model"],
            "k": further["k"], "train_end": task.train_end, "val_end": task.val_end,
            "first_scored": max(task.val_end, task.first_scored)}


def differences(values: np.ndarray, period: int = 0) -> int:
    """d: 1 when a KPSS test (5%) rejects level stationarity of the training values (after
    the seasonal difference, for a seasonal series), else 0."""
    from statsmodels.tsa.stattools import kpss

    if period:
        values = values[period:] - values[:-period]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "p-value outside the table": it is then 0.01 or 0.1
        p_value = kpss(values, regression="c", nlags="auto")[1]
    return int(p_value < 0.05)


def candidates(d: int, period: int) -> list:
    """The (order, seasonal order) grid the reference is chosen from by AIC: AR(1…8) and
    ARMA(p ≤ 3, 1 ≤ q ≤ 2) on the d-th differences; for a seasonal series, SARIMA with p ≤ 2,
    q ≤ 1 and (P, Q) one of (0, 1), (1, 0), (1, 1), seasonally differenced once."""
    if period:
        return [((p, d, q), (P, 1, Q, period)) for p, q in product(range(3), range(2))
                for P, Q in ((0, 1), (1, 0), (1, 1))]
    ar = [((p, d, 0), (0, 0, 0, 0)) for p in range(1, 9)]
    return ar + [((p, d, q), (0, 0, 0, 0)) for p, q in product(range(4), range(1, 3))]


def _model(values, exog, order, seasonal):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    trend = "c" if order[1] + seasonal[1] == 0 else "n"  # a mean, unless differenced
    return SARIMAX(values, exog=exog, order=order, seasonal_order=seasonal, trend=trend)


def fit_reference(data: BenchData, train_end: int):
    """(statsmodels results, order, seasonal order) of the grid's model of lowest AIC,
    fitted on the first ``train_end`` rows."""
    values = data.values[:train_end]
    exog = None if data.exog is None else data.exog[:train_end]
    d = differences(values, data.period)
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and start-parameter warnings
        for order, seasonal in candidates(d, data.period):
            try:
                fitted = _model(values, exog, order, seasonal).fit(disp=False)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(fitted.aic) and (best is None or fitted.aic < best[0].aic):
                best = (fitted, order, seasonal)
    if best is None:
        raise ValueError(f"{data.name}: no model of the grid could be fitted")
    return best


def describe(order, seasonal) -> str:
    """AR(p), ARIMA(p,d,q), or SARIMA(p,d,q)(P,D,Q)s."""
    p, d, q = order
    if seasonal[3]:
        return f"SARIMA({p},{d},{q})({seasonal[0]},{seasonal[1]},{seasonal[2]}){seasonal[3]}"
    return f"AR({p})" if d == q == 0 else f"ARIMA({p},{d},{q})"


def one_step_rmse(fitted, data: BenchData, train_end: int, first: int) -> float:
    """The fitted model's one-step RMSE over rows [first, T): its parameters fixed, the
    state filtered through every row before each one forecast."""
    full = whole_series(fitted, data, train_end)
    predicted = full.get_prediction(start=first, end=len(data.values) - 1).predicted_mean
    return _rmse(predicted, data.values[first:])


def whole_series(fitted, data: BenchData, train_end: int):
    """The fitted model over every row, its parameters fixed (no refit)."""
    exog = None if data.exog is None else data.exog[train_end:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fitted.append(data.values[train_end:], exog=exog, refit=False)


def reference_scores(data: BenchData, split: dict) -> dict:
    """The classical reference on ``data`` at minirnn's ``split`` (``minirnn_scores``' rows):
    fitted on the training rows, then its test one-step, k-step (from the same origins) and
    free-run RMSE."""
    from minirnn.forecast import forecast_origins

    T, k, val_end = len(data.values), split["k"], split["val_end"]
    fitted, order, seasonal = fit_reference(data, split["train_end"])
    full = whole_series(fitted, data, split["train_end"])
    origins = forecast_origins(slice(val_end, T), k)
    kth = [full.get_prediction(start=o, end=o + k - 1, dynamic=True).predicted_mean[-1]
           for o in origins]
    run = full.get_prediction(start=val_end, end=T - 1, dynamic=True).predicted_mean
    return {"one_step": one_step_rmse(fitted, data, split["train_end"], split["first_scored"]),
            "k_step": _rmse(kth, data.values[origins + k - 1]),
            "free_run": _rmse(run, data.values[val_end:]), "order": list(order),
            "seasonal_order": list(seasonal),
            "reference": describe(order, seasonal) + (" with inputs" if data.inputs else ""),
            "aic": float(fitted.aic)}


def forecast_table(names=DATA_SETS, epochs: int | None = None, on_row=None) -> list:
    """One row per data set: minirnn's recommended command and the classical reference,
    their test one-step, k-step and free-run RMSE, and the naive forecast's (the last known
    value held; ``epochs``: fewer for a quick check; ``on_row(row)`` after each)."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            data = load(name)
            ours = minirnn_scores(data, folder, epochs)
            theirs = reference_scores(data, ours)
            row = {"data": name, "command": command_line(data), "rows": len(data.values),
                   "train_rows": ours["train_end"], "test_first": ours["first_scored"],
                   "k": ours["k"], "reference": theirs["reference"],
                   "order": theirs["order"], "seasonal_order": theirs["seasonal_order"],
                   "reference_aic": theirs["aic"]}
            for what in ("one_step", "k_step", "free_run"):
                row[f"minirnn_{what}"] = ours[what]
                row[f"reference_{what}"] = theirs[what]
                row[f"naive_{what}"] = ours[f"naive_{what}"]
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def _rmse(prediction, truth) -> float:
    return float(np.sqrt(np.mean((np.asarray(prediction, float) - np.asarray(truth)) ** 2)))
