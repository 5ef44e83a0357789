"""Choosing the task: the data read from a built-in set or a CSV file, and the task a model
trains on made of them, with its scalers (fitted, or a checkpoint's reused).

The task protocol. A task (``data.task.ForecastTask``, ``WindowTask``, ``data.text.TextTask``)
is what ``train.fit`` trains on; it has ``kind`` ("series", "windows", "text"), ``metric`` and
``lower_is_better`` (what early stopping watches), ``model_input_size`` and ``output_size``,
``training_chunks(batch, bptt, dtype, epoch)``, ``step(model, x, y, state)``,
``loss(prediction, target)``, ``predict(model)`` and ``score(predictions)``. ``build_task`` is
the one place that chooses a task for a model.
"""
from __future__ import annotations

from minirnn.data.series import DataError, Panel
from minirnn.data.sources import BUILTIN, load_series
from minirnn.data.task import PanelTask, Scaler, WindowTask, make_panel_task, make_task
from minirnn.data.text import TextSeries, make_text_task


def training_rows(task) -> int | list:
    """The training rows: their count, or a panel's count per series."""
    if isinstance(task, PanelTask):
        return [t.train_end for t in task.tasks]
    return getattr(task, "base", task).train_end


def load_data(source, target=None, inputs=None, length: int | None = None, seed: int = 0,
              missing: str = "error", series_id: str | None = None):
    """A Series (or TextSeries, or Panel of a long-format file's series) from a built-in set or
    a CSV file; column names are checked (a built-in set has fixed columns: naming others is
    an error)."""
    series = load_series(source, target, inputs, steps=length, seed=seed, missing=missing,
                         series_id=series_id)
    if source in BUILTIN and not isinstance(series, TextSeries):
        for what, given, names in (("--target", target, series.target_names),
                                   ("--inputs", inputs, series.input_names)):
            if given is not None and [c.strip() for c in given.split(",") if c.strip()] \
                    != list(names):
                raise DataError(f"the built-in data set {source!r} has {what[2:]} "
                                f"{', '.join(names) or 'none'}; {what} cannot choose others")
    elif isinstance(series, TextSeries) and (target or inputs):
        raise DataError("the text corpus has no columns: --target and --inputs do not apply")
    return series


def build_task(series, model_name: str, difference: bool = False, scalers: dict | None = None,
               context: int = 20, horizon: int = 5, lag_inputs: bool = False,
               period: int = 0, seasonal_difference: bool = False, transform: str = "none"):
    """The task for ``series`` and model: next-word prediction for a text; windows of
    ``context`` rows → ``horizon`` values for seq2seq; one-step forecasting otherwise (NARX
    reads the inputs and keeps its own past outputs; every other model reads the last target).
    ``scalers`` (a checkpoint's, by column name, with a Box-Cox λ) are reused; without them
    they are fitted. ``lag_inputs``: the model reads the inputs one step late; ``period``,
    ``seasonal_difference``, ``transform``: the seasonal period and the targets' steps
    (``data.task.make_task``)."""
    if lag_inputs and not getattr(series, "input_names", None):
        raise DataError("--lag-inputs needs input columns (--inputs): the data have none")
    if isinstance(series, TextSeries):
        if model_name in ("narx", "seq2seq"):
            raise DataError(f"{model_name} models numeric series; for text choose another model")
        if difference:
            raise DataError("--difference is for numeric series, not text")
        if period or seasonal_difference or transform != "none":
            raise DataError("seasons and transforms are for numeric series, not text")
        return make_text_task(series)
    if model_name == "seq2seq" and difference:
        raise DataError("--difference is not available for seq2seq windows")
    if model_name == "seq2seq" and seasonal_difference:
        raise DataError("seasonal differencing is not available for seq2seq windows")
    autoregressive = model_name != "narx"
    options = dict(difference=difference, lag_inputs=lag_inputs, period=period,
                   seasonal_difference=seasonal_difference, transform=transform)
    if isinstance(series, Panel):
        if model_name == "seq2seq":
            raise DataError("seq2seq reads windows of one series; several series (--series-id) "
                            "train the one-step models")
        by_id = None
        if scalers:
            def by_id(name):
                return _stored_scalers(scalers["series"], name, series.members, autoregressive)
        return make_panel_task(series, autoregressive, by_id, **options)
    given = {}
    if scalers:
        given = _given_scalers(scalers, series, autoregressive)
    base = make_task(series, autoregressive=autoregressive, **options, **given)
    if model_name != "seq2seq":
        return base
    task = WindowTask(base, context, horizon)
    if min(len(task.origins(split)) for split in ("train", "validation", "test")) < 1:
        raise DataError(f"{series.name} has {len(series)} rows: too few for windows of "
                        f"{context} + {horizon} rows in every split")
    return task


def stored_task(series, model_name: str, spec, scalers: dict):
    """``build_task`` for a trained model: as its data's description ``spec`` (an
    ``experiment.DataSpec``) says, with its ``scalers``."""
    return build_task(series, model_name, spec.difference, scalers, spec.context, spec.horizon,
                      spec.lag_inputs, spec.seasonal_period, spec.seasonal_difference,
                      spec.transform)


NO_INPUT = "(constant 0)"  # NARX's input column when the data has none


def input_columns(names: list, autoregressive: bool) -> list:
    """The columns of a task's input scaler: the input names, or NARX's constant 0 column."""
    return list(names) if names or autoregressive else [NO_INPUT]


def _stored_scalers(stored: dict, name: str, members: list, autoregressive: bool) -> dict:
    """The scalers a checkpoint keeps for the series ``name`` of a panel (``make_task``'s
    keyword arguments); a series the model was not trained on is an error."""
    if name not in stored:
        raise DataError(f"series {name!r} is not one the model was trained on (it knows "
                        f"{', '.join(map(repr, stored))}): each series is scaled as its "
                        f"training rows were")
    member = next(m for m in members if m.name == name)
    return _given_scalers(stored[name], member, autoregressive)


def _given_scalers(scalers: dict, series, autoregressive: bool) -> dict:
    """``make_task``'s keyword arguments for stored scalers: the input and target scalers,
    and the target columns' Box-Cox λ when there are some."""
    return {"input_scaler": _scaler(scalers, "inputs",
                                    input_columns(series.input_names, autoregressive)),
            "target_scaler": _scaler(scalers, "targets", list(series.target_names)),
            "lambdas": scalers["targets"].get("lambda")}


def _scaler(scalers: dict, part: str, columns: list) -> Scaler:
    stored = scalers[part]
    if stored["columns"] != columns:
        raise DataError(f"the stored {part} scaler is for columns "
                        f"{', '.join(stored['columns']) or 'none'}; this data has "
                        f"{', '.join(columns) or 'none'}")
    return Scaler.from_dict(stored)


def task_scalers(task) -> dict:
    """The task's scalers with their column names ({} for text): what rebuilds its scaling;
    of a panel, each series' under its id: {"series": {id: {"inputs": …, "targets": …}}}."""
    if isinstance(task, PanelTask):
        return {"series": {t.series.name: task_scalers(t) for t in task.tasks}}
    task = getattr(task, "base", task)
    if isinstance(task, WindowTask) or not hasattr(task, "target_scaler"):
        return {}
    series = task.series
    return {"inputs": {"columns": input_columns(series.input_names, task.autoregressive),
                       **task.input_scaler.to_dict()},
            "targets": {"columns": list(series.target_names), **task.target_scaler.to_dict(),
                        **task.steps.to_dict()}}
