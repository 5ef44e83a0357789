"""Predict with a trained model, or with an ensemble of them, and write the rows as CSV.

``PredictOptions`` holds ``minirnn predict``'s options; ``predict_model`` gives one model's
one-step predictions of its data (or other data), a free run past the end (with the inputs'
known future values when given) and residual diagnostics; ``predict_ensemble`` the mean and
spread of several models'. Both give back a ``Prediction``: the table of rows the command
prints (``write_rows``, ``save_rows``) and the arrays behind it::

    from minirnn.app.prediction import PredictOptions, predict_model, save_rows

    prediction = predict_model("elman.npz", PredictOptions(steps=10))
    save_rows("predictions.csv", prediction.header, prediction.rows)

A model of several series predicts each (a row per series and time, the id first), or the one
``series`` names. Problems are ValueErrors (a DataError for the data), one line each, their
messages naming the command line's flags.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from minirnn.data.fingerprints import fingerprint
from minirnn.data.dates import comes_after, follows_on, next_dates
from minirnn.data.series import DataError, csv_columns
from minirnn.data.sources import BUILTIN
from minirnn.experiment import DataSpec, Experiment
from minirnn.sizing import BYTES_PER_FORECAST_STEP, check_bytes, check_memory

from .datafiles import check_series_id, data_for_model, stored_data
from .engines import choose_engine, tell
from .tasks import load_data, stored_task

Notes = Callable[[str], None] | None


@dataclass
class PredictOptions:
    """What to predict and how: ``minirnn predict``'s options (the same names, but ``series``
    for --series).

    ``one_series``: the caller needs one numeric series of a one-step model (a figure of it,
    as ``diagnostics`` do): an error otherwise."""

    data: str | None = None          # other data (default: the model's own training data)
    target: str | None = None        # if given, the model's target column(s)
    inputs: str | None = None        # if given, the model's input columns
    series_id: str | None = None     # if given, the model's series id column
    length: int | None = None        # rows of a built-in data set given as ``data``
    missing: str | None = None       # a CSV file given as ``data``: error, drop, interpolate
    steps: int = 0                   # a free run of this many steps past the end
    future_inputs: str | None = None  # a CSV file of the inputs' values after the last row
    backend: str | None = None       # engine; None: the model's, or cpu where unavailable
    series: str | None = None        # a model of several series: predict this one alone
    diagnostics: bool = False        # residual diagnostics (one model, one series)
    one_series: bool = False

    def check(self, models: int = 1):
        """The errors the options make alone, before any file is read: for ``models`` models
        (several: an ensemble)."""
        if self.future_inputs and not self.steps:
            raise ValueError("--future-inputs are for the --steps forecast past the end: give "
                             "--steps")
        if models > 1:
            if self.diagnostics:
                raise ValueError("--diagnostics are for one model's residuals; give one "
                                 "checkpoint")
            return
        if self.length is not None and (self.data is None or self.data not in BUILTIN):
            raise ValueError("--length is the size of a built-in data set given with --data; "
                             "without --data the model's own training rows are used, and a "
                             "CSV file has its own rows")
        if self.missing is not None and (self.data in BUILTIN or self.data is None):
            raise ValueError("--missing applies to a CSV file given with --data (without "
                             "--data, the model's training data are read as they were)")


@dataclass
class SeriesPrediction:
    """One series' predictions, in the data's units: one-step (or, for a closed-loop NARX, the
    simulation) for each row, and the free run past the end; for an ensemble the mean of its
    models, and the spread (standard deviation) between them."""

    series: object                          # the data (``Series``)
    one_step: np.ndarray                    # (T, O)
    ahead: np.ndarray | None = None         # (steps, O)
    spread: np.ndarray | None = None        # (T, O): an ensemble's
    ahead_spread: np.ndarray | None = None  # (steps, O): an ensemble's
    ahead_dates: list | None = None         # the future inputs' dates, when they have them
    splits: dict | None = None              # the training data's: where validation, test begin


@dataclass
class Prediction:
    """What ``predict`` prints: ``header`` and ``rows`` (missing values None), and, for
    numeric one-step models, each series' arrays (``series``); the residual ``diagnostics``
    when asked for; whether the predictions are a closed-loop simulation; the models
    averaged."""

    header: list
    rows: list
    series: list = field(default_factory=list)
    diagnostics: dict | None = None
    simulated: bool = False
    models: int = 1


def word_rows(task, predicted, generated):
    """(header, rows) of a text model: each word, the word that followed, the model's guess;
    then generated words."""
    vocab, tokens = task.series.vocabulary, task.series.tokens
    rows = [[t, vocab[tokens[t]], vocab[tokens[t + 1]], vocab[guess]]
            for t, guess in enumerate(predicted)]
    rows += [[len(predicted) + k, None, None, vocab[word]]
             for k, word in enumerate([] if generated is None else generated)]
    return ["t", "word", "next", "predicted"], rows


def prediction_rows(series, one_step, ahead, spread=None, ahead_spread=None,
                    ahead_dates=None):
    """(header, rows): t, the date (when the file has a date column), the targets and the
    predictions (with ``spread``: an ensemble's mean, then its spread); then the forecast past
    the end (no targets; the dates of the future inputs, ``ahead_dates``, or the data's carried
    on when they are evenly spaced). Missing values are None, and so are targets that were
    missing and interpolated (``Series.filled``): the output shows the data as observed."""
    names = series.target_names
    dates = getattr(series, "dates", None)
    if dates and ahead is not None:  # the future inputs' dates, or evenly spaced ones go on
        given = list(ahead_dates or [])[:len(ahead)]
        rest = len(ahead) - len(given)
        dates = dates + given + (next_dates(dates + given, rest) or [None] * rest)
    when = (lambda t: [dates[t] if t < len(dates) else None]) if dates else (lambda t: [])
    number = lambda v: None if np.isnan(v) else float(v)  # noqa: E731
    filled = getattr(series, "filled", None)
    observed = series.targets if filled is None else np.where(filled, np.nan, series.targets)

    def predicted(values, spreads, k):
        return [*map(number, values[k]), *([] if spreads is None else map(number, spreads[k]))]

    rows = [[t, *when(t), *map(number, observed[t]), *predicted(one_step, spread, t)]
            for t in range(len(series))]
    rows += [[len(series) + k, *when(len(series) + k), *([None] * len(names)),
              *predicted(ahead, ahead_spread if spread is not None else None, k)]
             for k in range(0 if ahead is None else len(ahead))]
    header = ["t", *([series.date_column] if dates else []), *names,
              *(f"{n}_predicted" for n in names),
              *([] if spread is None else (f"{n}_spread" for n in names))]
    return header, rows


def series_table(predictions: list, id_column: str | None):
    """(header, rows) of every series' ``SeriesPrediction``: with an ``id_column`` (a model of
    several series), a row per series and time, the series' name first."""
    header, rows = None, []
    for p in predictions:
        header, member_rows = prediction_rows(p.series, p.one_step, p.ahead, p.spread,
                                              p.ahead_spread, p.ahead_dates)
        rows += [[p.series.name, *row] for row in member_rows] if id_column else member_rows
    return ([id_column, *header] if id_column else header), rows


def write_rows(handle, header, rows):
    """The rows as CSV to an open text file: floats as Python writes them, the shortest text
    that reads back as the same number (the data's values as the file had them; pandas'
    to_csv does the same); None as an empty cell; lines end in \\n."""
    writer = csv.writer(handle, lineterminator="\n")  # not the csv module's \r\n
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v
                         for v in row])


def save_rows(path, header, rows):
    """The rows as CSV in file ``path``, written whole or not at all
    (``checkpoint.atomic_write``); to a device or a pipe that exists (/dev/null, a FIFO),
    directly."""
    from minirnn.checkpoint import atomic_write

    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        with open(target, "w", newline="") as handle:
            write_rows(handle, header, rows)
        return
    with atomic_write(path, "w") as handle:
        write_rows(handle, header, rows)


def is_simulation(exp: Experiment, on_note: Notes = None, quiet: bool = False) -> bool:
    """Whether the model's predictions are a simulation (a closed-loop NARX), with a note
    saying so (what the rows are, what the diagnostics look at, where the forecast starts)
    unless ``quiet``."""
    simulated = exp.model == "narx" and exp.config.get("mode") == "closed"
    if simulated and not quiet:
        tell(on_note, "a closed-loop NARX predicts by simulation: each row's prediction comes "
                      "from its own outputs fed back from the data's first row, not from the "
                      "true past values (the residual diagnostics are of the simulation too); "
                      "the forecast past the end runs on from the last observed values")
    return simulated


def chosen_series(task, spec: DataSpec, only: str | None) -> list:
    """The one-step tasks to predict: the series', or each of a panel's, or (``only``, the
    --series option) the one of a panel's so named."""
    if task.kind != "panel":
        if only is not None:
            raise DataError("--series chooses one series of a model trained on several "
                            "(--series-id); this model has one")
        return [task]
    if only is None:
        return task.tasks
    chosen = [one for one in task.tasks if one.series.name == only]
    if not chosen:
        raise DataError(f"--series {only!r} is not in the data; the series ({spec.series_id}) "
                        f"there: {', '.join(repr(one.series.name) for one in task.tasks)}")
    return chosen


def future_inputs(path, spec: DataSpec, members: list, steps: int, on_note: Notes = None,
                  quiet: bool = False) -> list:
    """For each of ``members`` (the one-step tasks of the series to forecast), the inputs after
    its last row, scaled as the model reads them, from the CSV file ``path`` (its columns by
    the names the model was trained on; for a model of several series, the id column too,
    unless one series is forecast); without the file, None, and a note that the inputs are
    held (a free run cannot know them). Each as (inputs, their dates or None). Dates in both
    files: the future rows must come after the data's last."""
    if not spec.inputs:
        if path:
            raise DataError("--future-inputs: the model has no input columns")
        return [(None, None)] * len(members)
    if path is None:
        if not quiet:
            tell(on_note, f"the inputs ({', '.join(spec.inputs)}) are held at their last value "
                          f"for the {steps} steps ahead; --future-inputs FILE.csv gives their "
                          f"known values")
        return [(None, None)] * len(members)
    by_id = spec.series_id is not None and (
        len(members) > 1 or spec.series_id in csv_columns(path))
    try:
        read = load_data(path, ",".join(spec.inputs), None, missing="error",
                         series_id=spec.series_id if by_id else None)
    except DataError as error:  # without the hints meant for training data
        raise DataError(f"--future-inputs: {error.message}"
                        + (": the future inputs must all be known"
                           if error.reason == "missing value" else "")) from None
    given = {m.name: m for m in read.members} if by_id else {members[0].series.name: read}
    absent = [one.series.name for one in members if one.series.name not in given]
    if absent:
        raise DataError(f"--future-inputs {path} has no rows for {spec.series_id} "
                        f"{', '.join(map(repr, absent))}")
    needed = steps - (1 if spec.lag_inputs else 0)
    scaled = []
    for one in members:
        future, where = given[one.series.name], f"--future-inputs {path}"
        if by_id:
            where += f", series {one.series.name!r},"
        if len(future) < needed:
            raise DataError(f"{where} has {len(future)} rows; {steps} steps ahead need "
                            f"{needed}")
        dates = one.series.dates
        if future.dates and dates and not comes_after(future.dates[0], dates[-1]):
            raise DataError(f"{where} starts at {future.dates[0]}, not after the data's last "
                            f"row ({dates[-1]}): its rows are the inputs of the steps ahead")
        if future.dates and dates and not follows_on(future.dates[0], dates):
            raise DataError(f"{where} starts at {future.dates[0]}, further after the data's "
                            f"last row ({dates[-1]}) than any row from the one before: its "
                            f"first row must be the inputs of the step right after the end")
        scaled.append((one.input_scaler.transform(future.targets[:needed]), future.dates))
    return scaled


def _data(exp: Experiment, options: PredictOptions, where):
    """The rows to predict: ``options.data`` read as the model reads its own, or its own."""
    spec = exp.data
    if options.data is None:
        return stored_data(spec, where)
    return data_for_model(spec, options.data, options.length, options.missing or spec.missing)


def _forecast(net, members: list, futures, steps: int) -> list:
    """Each member's free run of ``steps`` past its end, in the data's units (or Nones)."""
    from minirnn.forecast import free_run

    if not steps:
        return [None] * len(members)
    return [one.forecast_levels(free_run(net, one, steps, future_inputs=future))
            for one, (future, _) in zip(members, futures, strict=True)]


def _other_kinds(task, net, series, options: PredictOptions, on_note: Notes):
    """The prediction of a seq2seq model (its forecast after the last row) or a text model
    (the next words, and words generated after)."""
    from minirnn.forecast import free_run

    o = options
    if o.future_inputs:
        raise ValueError("--future-inputs are for the free run of a one-step model, not "
                         f"{'text' if task.kind == 'text' else 'seq2seq'}")
    if task.kind == "windows":
        if o.diagnostics or o.one_series:
            raise ValueError("--diagnostics and --plot are for one-step models, not seq2seq")
        if o.steps and o.steps != task.horizon:
            tell(on_note, f"a seq2seq model forecasts its horizon, {task.horizon} values after "
                          f"the last row; --steps {o.steps} does not change it")
        ahead = task.forecast_after_end(net)
        return Prediction(*prediction_rows(series, np.full_like(series.targets, np.nan), ahead))
    if o.diagnostics or o.one_series:
        raise ValueError("--diagnostics and --plot are for numeric series, not text")
    if net.input_size != task.vocabulary_size:  # a checkpoint of an older built-in corpus
        raise ValueError(f"the model reads a vocabulary of {net.input_size} words and "
                         f"{series.name} has {task.vocabulary_size}: it was trained on another "
                         f"corpus (or an older built-in one); train it again on this one")
    generated = free_run(net, task, o.steps) if o.steps else None
    return Prediction(*word_rows(task, task.predict(net).argmax(-1), generated))


def predict_model(path, options: PredictOptions | None = None, on_note: Notes = None,
                  experiment: Experiment | None = None) -> Prediction:
    """One model's predictions (checkpoint ``path``; ``experiment``: the checkpoint already
    loaded): of the data it was trained on or ``options.data``, read by the model's column
    names and scaled with its training rows' scalers. A one-step model gives each row's
    prediction, the free run of ``options.steps`` past the end, and residual diagnostics when
    asked for; seq2seq its forecast after the last row; a text model the next words."""
    from minirnn.diagnostics import residual_diagnostics

    o = options or PredictOptions()
    o.check()
    exp = experiment if experiment is not None else Experiment.load(path)
    spec = exp.data
    spec.check_columns(o.target, o.inputs)
    check_series_id(spec, o.series_id)
    series = _data(exp, o, path)
    check_memory(exp.model, exp.config, len(series))
    check_bytes(BYTES_PER_FORECAST_STEP * o.steps, f"--steps {o.steps:,}")
    task = stored_task(series, exp.model, spec, exp.scalers)
    net = exp.build_model(choose_engine(o.backend, exp.config["backend"], on_note))
    if task.kind in ("windows", "text"):
        return _other_kinds(task, net, series, o, on_note)
    members = chosen_series(task, spec, o.series)
    short = [one.series.name for one in members if len(one.series) < exp.train.bptt]
    if o.data is not None and short:
        which = "the data have" if not spec.series_id else \
            f"{spec.series_id} {', '.join(map(str, short))}:"
        tell(on_note, f"the model reads only the rows given, from its initial state: {which} "
                      f"fewer rows than a training chunk ({exp.train.bptt}), so the first "
                      f"predictions know little history; give the rows before them too")
    if (o.diagnostics or o.one_series) and len(members) > 1:
        raise ValueError(f"--diagnostics and --plot take one series; the data have "
                         f"{len(members)} ({spec.series_id}): choose one with --series NAME")
    simulated = is_simulation(exp, on_note)
    futures = future_inputs(o.future_inputs, spec, members, o.steps, on_note) if o.steps \
        else [(None, None)] * len(members)
    own = fingerprint(series) == spec.fingerprint  # the rows it was trained on
    with np.errstate(all="ignore"):  # an overflow is an error below, not a warning
        aheads = _forecast(net, members, futures, o.steps)
        predictions = [SeriesPrediction(one.series, one.to_levels(one.predict(net)), ahead,
                                        ahead_dates=dates,
                                        splits=split_starts(one) if own else None)
                       for one, ahead, (_, dates) in zip(members, aheads, futures,
                                                         strict=True)]
    check_finite(path, exp, [observed(one, p.one_step)
                             for one, p in zip(members, predictions, strict=True)], aheads)
    header, rows = series_table(predictions, spec.series_id)
    report = None
    if o.diagnostics:  # of the one series (more are refused above)
        unseen = o.data is not None and not own
        if unseen:
            tell(on_note, "the diagnostics look at every row: the model was not trained on "
                          "these data, so none of them is a training row")
        report = residual_diagnostics(members[0].series, predictions[0].one_step, members[0],
                                      every_row=unseen)
    return Prediction(header, rows, predictions, report, simulated)


def observed(one, levels):
    """The one-step predictions that exist (modelling changes, the first ``steps.span`` rows
    have none: 1 for the changes, P for the seasonal ones, P + 1 for both)."""
    return levels[one.steps.span:]


def check_finite(path, exp: Experiment, one_steps: list, aheads: list):
    """Predictions and forecasts that are not all finite are an error naming the cause, never
    rows of NaN: the data and the scalers are checked where they are read, so it is the
    weights, whose products overflow the model's floating-point type."""
    rows = [np.isfinite(values).all(axis=-1) for values in [*one_steps, *aheads]
            if values is not None]
    bad = sum(int((~finite).sum()) for finite in rows)
    if not bad:
        return
    name, weight = max(((n, float(np.max(np.abs(w)))) for n, w in exp.run.best_state.items()
                        if w.size), key=lambda item: item[1])
    raise ValueError(f"{path}: the model's predictions overflow its {exp.config['dtype']} "
                     f"range ({bad:,} of {sum(len(r) for r in rows):,} rows not finite): its "
                     f"weights are too large for these data (the largest, in {name}: "
                     f"{weight:.3g})")


def split_starts(task) -> dict:
    """{"validation": its first row, "test": its first row} of a one-step task."""
    splits = task.splits()
    return {name: splits[name].start for name in ("validation", "test")}


def mean_and_spread(values: list):
    """The mean of several models' predictions (arrays of one shape) and the spread between
    them (their standard deviation), element by element."""
    return np.mean(values, axis=0), np.std(values, axis=0)


def _by_series(id_column) -> str:
    return f" of each series by {id_column!r}" if id_column else ""


class _Ensemble:
    """The models of an ensemble read one by one, each checked against the first: the same
    columns and series id column, and without other data the same rows."""

    def __init__(self, options: PredictOptions, on_note: Notes):
        self.options, self.on_note = options, on_note
        self.first = self.series = self.members = None
        self.one_steps, self.aheads, self.dates, self.simulated = [], [], None, False

    def add(self, path):
        o = self.options
        exp = Experiment.load(path)
        spec = exp.data
        spec.check_columns(o.target, o.inputs)
        check_series_id(spec, o.series_id)
        if self.first is None:  # the rows: the first model's data, or --data, for every one
            self.first, self.spec = path, spec
            self.series = _data(exp, o, path)
            check_memory(exp.model, exp.config, len(self.series))
            check_bytes(BYTES_PER_FORECAST_STEP * o.steps, f"--steps {o.steps:,}")
        elif spec.columns() != self.spec.columns() or spec.series_id != self.spec.series_id:
            raise DataError(f"{path} was trained on {spec.columns()}"
                            f"{_by_series(spec.series_id)}, {self.first} on "
                            f"{self.spec.columns()}{_by_series(self.spec.series_id)}: an "
                            f"ensemble predicts one data set")
        elif o.data is None and spec.fingerprint != self.spec.fingerprint:
            raise DataError(f"{path} was trained on other rows than {self.first}: give --data "
                            f"to predict the same rows with every model")
        task = stored_task(self.series, exp.model, spec, exp.scalers)
        if task.kind not in ("series", "panel"):
            raise DataError(f"{path}: an ensemble is of one-step models of a numeric series, "
                            f"not of {exp.model} ({task.kind})")
        members = chosen_series(task, spec, o.series)
        quiet = path != self.first
        simulated = is_simulation(exp, self.on_note, quiet=quiet)
        if quiet and simulated != self.simulated:
            how = {True: "by closed-loop simulation", False: "one step ahead"}
            raise DataError(f"{path} predicts {how[simulated]}, {self.first} "
                            f"{how[self.simulated]}: an ensemble averages predictions of one "
                            f"kind; predict with each apart")
        self.simulated = simulated
        if o.one_series and len(members) > 1:
            raise ValueError(f"--plot takes one series; the data have {len(members)} "
                             f"({self.spec.series_id}): choose one with --series NAME")
        net = exp.build_model(choose_engine(o.backend, exp.config["backend"], self.on_note))
        self.members = members
        futures = future_inputs(o.future_inputs, spec, members, o.steps, self.on_note,
                                quiet=quiet) if o.steps else [(None, None)] * len(members)
        with np.errstate(all="ignore"):  # an overflow is an error below, not a warning
            one_steps = [one.to_levels(one.predict(net)) for one in members]
            aheads = _forecast(net, members, futures, o.steps)
        check_finite(path, exp, [observed(one, v)
                                 for one, v in zip(members, one_steps, strict=True)], aheads)
        self.one_steps.append(one_steps)
        if o.steps:
            self.dates = [dates for _, dates in futures]
            self.aheads.append(aheads)

    def prediction(self) -> Prediction:
        predictions = []
        for k, one in enumerate(self.members):
            mean, spread = mean_and_spread([run[k] for run in self.one_steps])
            own = self.options.data is None  # every model's training rows (checked)
            p = SeriesPrediction(one.series, mean, spread=spread,
                                 splits=split_starts(one) if own else None)
            if self.options.steps:
                p.ahead, p.ahead_spread = mean_and_spread([run[k] for run in self.aheads])
                p.ahead_dates = self.dates[k]
            predictions.append(p)
        header, rows = series_table(predictions, self.spec.series_id)
        return Prediction(header, rows, predictions, None, self.simulated,
                          len(self.one_steps))


def predict_ensemble(paths: list, options: PredictOptions | None = None,
                     on_note: Notes = None) -> Prediction:
    """The mean and spread of several models' one-step predictions and free runs (checkpoints
    ``paths``), on the rows they were all trained on (or ``options.data``): the models must
    have been trained on the same columns (and series id column), and without other data on
    the same rows. Models of several series give a row per series and time, as one model
    does."""
    o = options or PredictOptions()
    o.check(len(paths))
    ensemble = _Ensemble(o, on_note)
    for path in paths:
        ensemble.add(path)
    return ensemble.prediction()
