"""From a series to what a model trains on: the chronological split, the scaling, the model's
inputs, the streams and chunks of truncated BPTT, and the metrics.

The task is one-step-ahead forecasting of the targets y_t:
- NARX reads the exogenous inputs u_t (a constant 0 column if there are none) and keeps its own
  delay lines of past outputs (true ones in open loop, its predictions in closed loop);
- every other model reads x_t = [u_t, y_{t-1}]: the inputs and the last known target (0 at t = 0).
The naive baseline predicts y_t = y_{t-1}: a model is only useful if it beats it. With a
seasonal period P the seasonal naive one, y_t = y_{t-P} (the same month last year), stands
beside it: on a seasonal series that is the bar to clear. Both, and the model, are scored on
the same rows: those from max(1, P, S) on (S: the rows differencing leaves without a value).

The targets reach the model through invertible steps (``transforms.TargetSteps``): a power
transform (log, Box-Cox) for swings that grow with the level, then differencing. With
``difference=True`` the model works on the changes Δy_t = y_t - y_{t-1} instead of the
levels (reading Δy_{t-1}, predicting Δy_t), and its forecast is y_{t-1} + Δŷ_t. For trending
series (prices) this keeps every value the model sees within the range it was trained on.
With ``seasonal_difference=True`` it works on y_t - y_{t-P} (both: on their combination,
Δy_t - Δy_{t-P}). Every prediction and score is undone to the data's own units.

Scaling (zero mean, unit variance per column) is fitted on the training part only, so nothing
about the validation and test parts leaks into training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import losses
from ..autograd import concatenate, no_grad
from .series import DataError, Panel, Series
from .transforms import TargetSteps


@dataclass
class Scaler:
    """v ↦ (v - mean) / scale, per column."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> "Scaler":
        """The mean and standard deviation of each column of ``values`` (the training rows);
        a constant column gets scale 1, so that it scales to zeros rather than NaN."""
        scale = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, values):
        """z = (v - mean) / scale, column by column."""
        return (values - self.mean) / self.scale

    def inverse(self, values):
        """v = z scale + mean: ``transform`` undone."""
        return values * self.scale + self.mean

    def to_dict(self):
        """{"mean": [...], "scale": [...]}, as a checkpoint stores it."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d):
        """``to_dict()``'s result read back."""
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["scale"], np.float64))


class StreamTraining:
    """Truncated BPTT over one long sequence cut into streams: how the series and text tasks
    train (``minirnn.train.fit`` asks a task for its chunks and how to run one)."""

    def splits(self):
        """Rows [0, train_end) train, [train_end, val_end) validation, the rest test."""
        return {"train": slice(0, self.train_end),
                "validation": slice(self.train_end, self.val_end),
                "test": slice(self.val_end, len(self.y))}

    def training_chunks(self, batch: int, bptt: int, dtype, epoch: int):
        """[(x, y)] chunks of ``bptt`` steps of ``batch`` streams, in time order."""
        xs = streams(self.x[:self.train_end], batch).astype(dtype)
        ys = streams(self.y[:self.train_end], batch)
        if ys.dtype.kind == "f":  # regression targets; class ids stay integers
            ys = ys.astype(dtype)
        return [(xs[:, s:s + bptt], ys[:, s:s + bptt]) for s in range(0, xs.shape[1], bptt)]

    def step(self, model, x, y, state):
        """(outputs, final state) of one chunk, starting from ``state``."""
        if self.autoregressive:
            return model(x, h=state, return_state=True)
        return model(x, y=y, h=state, return_state=True)  # NARX: the true outputs for open loop

    def multi_step(self, model, x, y, state, horizon: int):
        """(outputs, final state) of one chunk trained on free runs of ``horizon`` steps K
        (closed-loop BPTT), for a model that reads its last target (x_t = [u_t, y_{t-1}]):
        from origins o = 0, K, 2K, … of the chunk, the model starts from its state after
        reading the true rows before o, reads the true y_{o-1}, then its own outputs,

            ŷ_t = model(u_t, ŷ_{t-1}; h_{t-1}),   t = o+1 … o+K-1,

        and the outputs returned are these free runs' (the loss is the error of every step
        of every run). The gradient flows through the fed-back outputs and through each
        origin's state into the rows read before it, within the chunk. The state carried
        on is the one after reading the chunk's true rows, as in one-step training."""
        width = y.shape[-1]
        outputs = []
        for start in range(0, x.shape[1], horizon):
            stop = min(start + horizon, x.shape[1])
            h, previous = state, x[:, start:start + 1, -width:]  # the true y_{o-1}
            for t in range(start, stop):
                read = concatenate([x[:, t:t + 1, :-width], previous], axis=-1)
                previous, h = model(read, h=h, return_state=True)
                outputs.append(previous)
            _, state = model(x[:, start:stop], h=state, return_state=True)
        return concatenate(outputs, axis=1), state

    def predict(self, model) -> np.ndarray:
        """One-step predictions for every row (T, O) in the model's units, in one pass."""
        x = self.x[None].astype(model.dtype)
        with no_grad():
            if self.autoregressive or model.mode == "closed":
                out = model(x)
            else:  # open-loop NARX reads the true past outputs
                out = model(x, y=self.y[None].astype(model.dtype))
        return out.data[0].astype(np.float64)


@dataclass
class ForecastTask(StreamTraining):
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
    lag_inputs: bool = False    # u holds u_{t-1} (forecasting), not u_t (system identification)
    next_input: np.ndarray | None = None  # lagged: the input the step after the last row reads
    period: int = 0             # the seasonal period P (0: none): the seasonal naive baseline
    steps: TargetSteps = field(default_factory=TargetSteps)  # y's transform and differencing

    #: what the task is; the validation metric that early stopping watches, and its direction
    kind, metric, lower_is_better = "series", "rmse", True
    least_squares = True  # its loss is the mean squared error of its residuals

    @property
    def output_size(self) -> int:
        """O: the target columns the model predicts."""
        return self.y.shape[1]

    def loss(self, prediction, target):
        """The training loss: mean squared error in the scaled units."""
        return losses.mse(prediction, target)

    @property
    def seasonal_difference(self) -> bool:
        """Whether y holds the seasonal changes y_t - y_{t-P} (of the changes, with both)."""
        return len(self.steps.lags) > int(self.difference)

    @property
    def first_scored(self) -> int:
        """The first row scored: the naive forecasts need a row before it (the seasonal
        naive one, P rows), the model its differenced inputs (``steps.span`` rows)."""
        return max(1, self.period, self.steps.span)

    def score(self, predicted: np.ndarray) -> dict:
        """RMSE and MAE per split, in the data's own units, for the model's one-step
        predictions (scaled, (T, O)), the naive forecast y_t = y_{t-1} and, with a seasonal
        period P, the seasonal naive forecast y_t = y_{t-P}."""
        return {split: {who: metrics(values, truth) for who, values in guesses.items()}
                for split, (guesses, truth) in self.split_values(predicted).items()}

    def split_values(self, predicted: np.ndarray) -> dict:
        """{split: ({"model": its one-step predictions, "naive": …, "seasonal_naive": … (with
        a period)}, the truth)} of its rows from ``first_scored`` on, in the data's units."""
        truth = self.series.targets
        guesses = {"model": self.to_levels(predicted),
                   "naive": np.concatenate([truth[:1], truth[:-1]], axis=0)}
        if self.period:
            guesses["seasonal_naive"] = seasonal_naive(truth, self.period)
        scored = {split: slice(max(rows.start, self.first_scored), rows.stop)
                  for split, rows in self.splits().items()}
        return {split: ({who: values[rows] for who, values in guesses.items()}, truth[rows])
                for split, rows in scored.items()}

    @property
    def model_input_size(self) -> int:
        """I: the columns the model reads at each step: the inputs, and y_{t-1} when the task
        is autoregressive (every model but NARX, which delays its own outputs)."""
        return self.x.shape[1]

    @property
    def x(self) -> np.ndarray:
        """The model's input for every row (T, ·)."""
        if not self.autoregressive:
            return self.u
        y_prev = np.concatenate([np.zeros((1, self.y.shape[1])), self.y[:-1]], axis=0)
        return np.concatenate([self.u, y_prev], axis=1)

    def predict(self, model) -> np.ndarray:
        """``StreamTraining.predict``; but a closed-loop NARX modelling differences simulates
        them from the first rows on, so its levels are those rows' true values with its own
        differences undone after them (``steps.ahead``): returned as the differences from the
        true past that take each row there (what ``to_levels`` undoes), so that its scores are
        those of its simulation."""
        out = super().predict(model)
        if not (self.steps.lags and not self.autoregressive and model.mode == "closed"):
            return out
        truth, span = self.series.targets, self.steps.span
        simulated = self.steps.ahead(self.target_scaler.inverse(out)[span:], truth[:span])
        levels = np.concatenate([truth[:span], simulated])
        v, true_v = self.steps.apply(levels), self.steps.apply(truth)
        changes = v - (true_v - self.steps.forward(truth))  # ŵ_t = v̂_t + Σ_{k>=1} c_k v_{t-k}
        changes[:span] = self.target_scaler.mean  # no simulation there: scaled 0
        return self.target_scaler.transform(changes)

    def to_levels(self, predicted: np.ndarray) -> np.ndarray:
        """One-step predictions (T, O) in the model's scaled units → the data's own units.
        Modelling differences, the first ``steps.span`` rows have no prediction (NaN): it
        would be the row's own value plus a difference from nothing."""
        return self.steps.one_step(self.target_scaler.inverse(predicted), self.series.targets)

    def forecast_levels(self, ahead: np.ndarray, origin: int | None = None) -> np.ndarray:
        """A free-run forecast (N, O) of rows origin … (default: past the last row) → the
        data's own units."""
        origin = len(self.y) if origin is None else origin
        return self.steps.ahead(self.target_scaler.inverse(ahead),
                                self.series.targets[:origin])


def seasonal_naive(truth: np.ndarray, period: int) -> np.ndarray:
    """ŷ_t = y_{t-P} for every row (T, O); NaN in the first P rows, which have none."""
    guess = np.full(truth.shape, np.nan)
    guess[period:] = truth[:len(truth) - period]
    return guess


def seasonal_naive_ahead(truth: np.ndarray, origin: int, steps: int, period: int) -> np.ndarray:
    """The seasonal naive forecast (steps, O) of rows origin … from the rows before it: the
    last known value of the same season, y_{origin + (j mod P) - P} for the j-th (origin >= P)."""
    return truth[origin - period + np.arange(steps) % period]


def make_task(series: Series, autoregressive: bool, split=(0.7, 0.15), min_rows: int = 8,
              input_scaler=None, target_scaler=None, difference: bool = False,
              lag_inputs: bool = False, label: str | None = None, period: int = 0,
              seasonal_difference: bool = False, transform: str = "none",
              lambdas=None) -> ForecastTask:
    """Split in time, fit the scalers on the training rows (or reuse given ones), scale.

    The inputs of row t are u_t, known when y_t is forecast (a known input driving a plant:
    system identification); with ``lag_inputs`` they are u_{t-1} (0 at t = 0), for forecasting
    with inputs that are only known once their step has passed.

    The targets go through ``transform`` ("none", "log", "boxcox": its λ given as
    ``lambdas`` or fitted on the training rows) and differencing (``difference``: lag 1;
    ``seasonal_difference``: lag ``period``) before the scaling, which is fitted on the
    training rows that have a difference; the first rows, which have none, read 0 (scaled).

    With both scalers given (a trained model's) any number of rows will do: too few for the
    split, they are all "train" rows. ``label`` names the series in errors."""
    T = len(series)
    label = label or series.name
    train_end = int(round(T * split[0]))
    val_end = int(round(T * (split[0] + split[1])))
    too_few = train_end < min_rows or val_end - train_end < 1 or T - val_end < 1
    if too_few and input_scaler is not None and target_scaler is not None and T >= 1:
        train_end = val_end = T  # predicting with a trained model: nothing to split
    elif too_few:
        raise DataError(f"{label} has {T} row{'' if T == 1 else 's'}: too few "
                        f"for a train / validation / test split with at least {min_rows} "
                        f"training rows")
    if seasonal_difference and period < 2:
        raise DataError(f"{label}: seasonal differencing needs a seasonal period of 2 rows or "
                        f"more (given {period})")
    lags = (1,) * difference + (period,) * seasonal_difference
    if target_scaler is None and max(period, sum(lags)) + min_rows > train_end:
        raise DataError(f"{label} has {train_end} training rows: too few for a seasonal period "
                        f"of {period} rows (at least {max(period, sum(lags)) + min_rows})")
    u = series.inputs
    if not autoregressive and u.shape[1] == 0:
        u = np.zeros((T, 1))  # NARX needs an input: a constant zero (a pure NAR model)
    steps = TargetSteps.fit(series.targets, train_end, transform, lags, lambdas,
                            series.target_names, label)
    y = steps.forward(series.targets)
    input_scaler = input_scaler or Scaler.fit(u[:train_end])
    target_scaler = target_scaler or Scaler.fit(y[steps.span:train_end])
    scaled_y = target_scaler.transform(y)
    scaled_y[:steps.span] = 0  # no difference there: the training rows' mean
    scaled, next_input = input_scaler.transform(u), None
    if lag_inputs:
        scaled, next_input = np.concatenate([np.zeros_like(scaled[:1]), scaled[:-1]]), scaled[-1:]
    return ForecastTask(series, scaled, scaled_y, input_scaler, target_scaler,
                        train_end, val_end, autoregressive, difference, lag_inputs, next_input,
                        period, steps)


@dataclass
class PanelTask:
    """One global model of several series (a ``Panel``, a long-format file): each series is a
    ``ForecastTask`` of its own (split in time and scaled on its own training rows, so series
    of different levels look alike to the model), and the model learns from all of them at
    once, each series giving streams of the batch.

    The streams: with S series and ``batch`` B, the shortest series' training rows (n_s of
    series s) are cut into k = max(1, B // S) streams of one length L = min_s ⌈n_s / k⌉, and
    every series into streams of that length: as many as waste the fewest rows, either
    ⌈n_s / L⌉ spread from its first training row to its last (neighbours overlapping by the
    few rows that do not divide evenly, which count twice in an epoch) or ⌊n_s / L⌋ of its
    latest rows (its oldest few left out), never more than L / 2 rows either way. Series of
    equal length give S k <= B streams, one batch row each; a longer series gives more. Every
    stream continues in time across the chunks of an epoch, as in ``StreamTraining``.

    ``score`` pools the rows of every series in a split: RMSE and MAE in the data's own units,
    and ``scaled_rmse``, the RMSE of the errors each divided by its series' target scale (the
    units the model trains in), which early stopping watches: in the data's units the series
    of the largest values would decide alone. ``score_each`` gives each series' own scores.
    """

    panel: Panel
    tasks: list                 # [ForecastTask], one per series, in the panel's order
    kind, metric, lower_is_better = "panel", "scaled_rmse", True
    least_squares = True  # its loss is the mean squared error of its residuals

    # what every series' task shares
    autoregressive = property(lambda self: self.tasks[0].autoregressive)
    difference = property(lambda self: self.tasks[0].difference)
    steps = property(lambda self: self.tasks[0].steps)
    period = property(lambda self: self.tasks[0].period)
    lag_inputs = property(lambda self: self.tasks[0].lag_inputs)
    model_input_size = property(lambda self: self.tasks[0].model_input_size)
    output_size = property(lambda self: self.tasks[0].output_size)

    @property
    def ids(self) -> list:
        return self.panel.ids

    def stream_length(self, batch: int) -> int:
        """L: the length of every stream (see the class docstring)."""
        parts = max(1, batch // len(self.tasks))
        return min(-(-t.train_end // parts) for t in self.tasks)  # ⌈n_s / k⌉

    def stream_starts(self, batch: int) -> list:
        """The first row of each stream, per series (see the class docstring)."""
        length = self.stream_length(batch)
        starts = []
        for task in self.tasks:
            n = task.train_end
            fewer, more = n // length, -(-n // length)
            if more * length - n <= n - fewer * length:  # overlapping by fewer rows than
                starts.append(np.linspace(0, n - length, more).round().astype(int)  # are
                              if more > 1 else np.zeros(1, dtype=int))  # left out otherwise
            else:  # the latest rows, end to end
                starts.append(n - fewer * length + length * np.arange(fewer))
        return starts

    def training_chunks(self, batch: int, bptt: int, dtype, epoch: int):
        """[(x, y)] chunks of ``bptt`` steps of every series' streams, in time order."""
        length = self.stream_length(batch)
        xs, ys = [], []
        for task, starts in zip(self.tasks, self.stream_starts(batch), strict=True):
            xs += [task.x[s:s + length] for s in starts]
            ys += [task.y[s:s + length] for s in starts]
        xs, ys = np.stack(xs).astype(dtype), np.stack(ys).astype(dtype)
        return [(xs[:, s:s + bptt], ys[:, s:s + bptt]) for s in range(0, length, bptt)]

    def step(self, model, x, y, state):
        return self.tasks[0].step(model, x, y, state)

    def multi_step(self, model, x, y, state, horizon: int):
        return self.tasks[0].multi_step(model, x, y, state, horizon)

    def loss(self, prediction, target):
        return self.tasks[0].loss(prediction, target)

    def predict(self, model) -> list:
        """Each series' one-step predictions, [(T_s, O)], in the model's units."""
        return [task.predict(model) for task in self.tasks]

    def score(self, predicted: list) -> dict:
        """Scaled RMSE, RMSE and MAE per split of every series' rows together, model and
        naive (and seasonal naive, with a period)."""
        parts = [task.split_values(p) for task, p in zip(self.tasks, predicted, strict=True)]
        scales = [task.target_scaler.scale for task in self.tasks]
        report = {}
        for split in parts[0]:
            truth = np.concatenate([part[split][1] for part in parts])
            report[split] = {}
            for who in parts[0][split][0]:
                values = np.concatenate([part[split][0][who] for part in parts])
                scaled = np.concatenate([(part[split][0][who] - part[split][1]) / scale
                                         for part, scale in zip(parts, scales, strict=True)])
                report[split][who] = {"scaled_rmse": float(np.sqrt(np.mean(scaled ** 2))),
                                      **metrics(values, truth)}
        return report

    def score_each(self, predicted: list) -> dict:
        """{series id: its own scores per split}."""
        return {task.series.name: task.score(p)
                for task, p in zip(self.tasks, predicted, strict=True)}


def make_panel_task(panel: Panel, autoregressive: bool, scalers=None, **options) -> PanelTask:
    """A ``PanelTask``: ``make_task`` for each series, with ``scalers(id)`` (the keyword
    arguments ``input_scaler`` and ``target_scaler`` a checkpoint stored for that series) or
    scalers fitted on its own training rows; ``options``: ``make_task``'s."""
    return PanelTask(panel, [make_task(member, autoregressive,
                                       **(scalers(member.name) if scalers else {}),
                                       label=f"{panel.name}, series {member.name!r},", **options)
                             for member in panel.members])


def streams(values: np.ndarray, batch: int) -> np.ndarray:
    """Cut one long series (T, C) into ``batch`` contiguous streams (B, T // B, C), row b
    continuing in time across chunks, so state can be carried (truncated BPTT)."""
    length = len(values) // batch
    if length < 1:
        raise DataError(f"{len(values)} training rows cannot make {batch} streams: lower --batch")
    return values[:batch * length].reshape(batch, length, -1)


def metrics(prediction: np.ndarray, truth: np.ndarray) -> dict:
    """{"rmse": root mean squared error, "mae": mean absolute error} of a prediction."""
    err = prediction - truth
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}


@dataclass
class WindowTask:
    """Multi-step forecasting with an encoder-decoder (``Seq2Seq(mode="delayed")``).

    Each sample is an origin o: the encoder reads the ``context`` rows before it (the model
    inputs x_t = [u_t, y_{t-1}] of the underlying one-step task), and the decoder emits the next
    ``horizon`` targets y_o … y_{o+N-1}, reading its previous output each step (the true one in
    training, teacher forcing; its own at evaluation). Scored by RMSE over every step of every
    window of a split, in the data's units, against the naive forecast that repeats the last
    known value y_{o-1}; ``rmse_by_step`` shows how the error grows with the horizon.
    """

    base: ForecastTask
    context: int
    horizon: int
    kind, metric, lower_is_better = "windows", "rmse", True
    least_squares = True  # its loss is the mean squared error of its residuals

    @property
    def model_input_size(self) -> int:
        return self.base.model_input_size

    @property
    def output_size(self) -> int:
        return self.base.output_size

    def origins(self, split: str) -> np.ndarray:
        """Origins whose context and targets both lie inside the split's rows."""
        rows = self.base.splits()[split]
        first = max(rows.start, self.context) if split == "train" else rows.start
        first = max(first, self.base.period)  # the seasonal naive forecast's season before
        last = rows.stop - self.horizon
        return np.arange(first, last + 1)

    def windows(self, origins):
        x = np.stack([self.base.x[o - self.context:o] for o in origins])
        y = np.stack([self.base.y[o:o + self.horizon] for o in origins])
        return x, y

    def training_chunks(self, batch: int, bptt: int, dtype, epoch: int):
        """Batches of windows, shuffled anew each epoch (seeded by the epoch: reproducible)."""
        origins = np.random.default_rng(epoch).permutation(self.origins("train"))
        chunks = []
        for start in range(0, len(origins), batch):
            x, y = self.windows(origins[start:start + batch])
            chunks.append((x.astype(dtype), y.astype(dtype)))
        return chunks

    def step(self, model, x, y, state):
        return model(x, y), None  # teacher forcing; windows are independent: no state

    def loss(self, prediction, target):
        return losses.mse(prediction, target)

    def predict(self, model) -> dict:
        """Greedy multi-step forecasts per split: {split: (windows, horizon, O)}."""
        forecasts = {}
        for split in ("train", "validation", "test"):
            x, _ = self.windows(self.origins(split))
            forecasts[split] = model.generate(x.astype(model.dtype), self.horizon)
        return forecasts

    def score(self, forecasts: dict) -> dict:
        """RMSE and MAE of every step of every window per split, in the data's units; the
        naive forecast holds the last known value y_{o-1}, the seasonal naive one (with a
        period P) repeats the last known season, y_{o+j-P} for the j-th step (j < P)."""
        truth_all, period = self.base.series.targets, self.base.period
        report = {}
        for split, predicted in forecasts.items():
            origins = self.origins(split)
            truth = np.stack([truth_all[o:o + self.horizon] for o in origins])
            naive = np.repeat(truth_all[origins - 1][:, None], self.horizon, axis=1)
            levels = self.base.steps.restore(self.base.target_scaler.inverse(predicted))
            report[split] = {
                "model": {**metrics(levels, truth),
                          "rmse_by_step": np.sqrt(np.mean((levels - truth) ** 2,
                                                          axis=(0, 2))).tolist()},
                "naive": metrics(naive, truth)}
            if period:
                seasonal = np.stack([seasonal_naive_ahead(truth_all, o, self.horizon, period)
                                     for o in origins])
                report[split]["seasonal_naive"] = metrics(seasonal, truth)
        return report

    def forecast_after_end(self, model) -> np.ndarray:
        """The next ``horizon`` values after the last row, in the data's units (N, O)."""
        x = self.base.x[None, -self.context:].astype(model.dtype)
        return self.base.steps.restore(
            self.base.target_scaler.inverse(model.generate(x, self.horizon)[0]))
