"""Train a model on a series, or continue a checkpoint's run, and score it.

``TrainOptions`` says what the experiment is (the options of ``minirnn train``); ``prepare``
turns them into a ``Run`` (a new one, or a checkpoint's checked against them), ``fit_run``
trains it, writing the checkpoint as ``saving`` says, and ``finish_run`` scores it and gives
back the summary the command prints. ``train`` does the three in one call::

    from minirnn.app.training import TrainOptions, train

    report = train(TrainOptions(model="elman", data="prices.csv", target="close"),
                   out="elman.npz")
    report.summary["metrics"]["test"]["model"]["rmse"]

Problems with the options or the data are ValueErrors (a DataError for the data, a
CheckpointError for a checkpoint), each one line for the user; their messages name the
options by the command line's flags.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import numpy as np

from minirnn.checkpoint import CheckpointError, WriterLock
from minirnn.data.dates import infer_period
from minirnn.data.sources import BUILTIN, default_length
from minirnn.experiment import DataSpec, Experiment
from minirnn.forecast import pooled_errors
from minirnn.models.registry import MODEL_OPTIONS, build_model, model_config
from minirnn.optim import OPTIMIZERS
from minirnn.sizing import (BYTES_PER_BUILTIN_ROW, check_bytes, check_memory, check_reach,
                            check_work)
from minirnn.train import (TrainConfig, TrainResult, check_optimizer_fits, default_lr, evaluate,
                           fit)

from .datafiles import stored_data
from .engines import choose_engine, engine_facts, tell
from .saving import DEFAULT_EVERY, SHARE, CheckpointWriter, WritePolicy
from .tasks import build_task, load_data, stored_task, task_scalers, training_rows

Notes = Callable[[str], None] | None


@dataclass
class TrainOptions:
    """What an experiment is and how it trains: ``minirnn train``'s options, one field each
    (the same names, the same defaults; None: the model's own default, or for a resumed run
    the checkpoint's).

    ``given``: the names of the options the user set (with ``prepare``'s ``resume``, those
    must agree with the checkpoint, and an option of another model is an error); None: every
    option whose value is not its default."""

    model: str | None = None
    data: str | None = None            # a built-in data set or a CSV file
    target: str | None = None          # CSV: the column(s) to predict, comma-separated
    inputs: str | None = None          # CSV: exogenous input columns, comma-separated
    series_id: str | None = None       # CSV in long format: the column naming each series
    length: int | None = None          # rows of a built-in data set
    missing: str | None = None         # CSV: error, drop or interpolate a missing value
    context: int = 20                  # seq2seq: rows read before each forecast
    horizon: int = 5                   # steps ahead (seq2seq: the values forecast)
    difference: bool = False           # model the changes y_t - y_{t-1}
    seasonal_period: int | None = None  # P; None: inferred from the dates; 0: none
    seasonal_difference: bool = False  # model the seasonal changes y_t - y_{t-P}
    transform: str = "none"            # the targets' power transform: none, log, boxcox
    lag_inputs: bool = False           # read the inputs one step late
    hidden: int = 16
    layers: int | None = None          # multilayer
    connectivity: str | None = None    # multilayer
    window: int | None = None          # sliding
    input_delays: int | None = None    # narx
    output_delays: int | None = None   # narx
    mode: str | None = None            # narx: open or closed loop
    open_epochs: int | None = None     # closed-loop narx: epochs in open loop first
    mu: float | None = None            # jordan
    learn_mu: bool | None = None       # jordan
    cell: str | None = None            # multilayer, seq2seq: elman, lstm or gru
    learn_initial_state: bool | None = None  # lstm, gru
    memory_size: int | None = None     # memory
    activation: str = "tanh"
    backend: str | None = None         # engine; None: cpu, or a checkpoint's where available
    dtype: str = "float32"
    epochs: int = 30                   # in all, counted from the run's first
    batch: int | None = None           # None: 8, or 1 (the series whole) for lbfgs and lm
    bptt: int = 50
    lr: float | None = None            # None: the optimiser's own (default_lr)
    optimizer: str = "adam"
    iterations: int = 20               # lbfgs, lm: iterations per epoch, full batch
    clip: float = 1.0
    patience: int = 5
    train_horizon: int = 1             # train on free runs of this many steps (1: one step)
    seed: int = 0                      # the weights' (and the chunks' order)
    data_seed: int = 0                 # a built-in data set's noise
    deterministic: bool = False        # the same weights whatever the thread count
    checkpoint_every: float = DEFAULT_EVERY  # seconds between writes (0: every epoch)
    given: frozenset | None = None

    def set_by_user(self) -> set:
        """The options the user set: ``given``, or those that differ from their defaults."""
        if self.given is not None:
            return set(self.given)
        return {f.name for f in fields(self) if f.name != "given"
                and getattr(self, f.name) != f.default}


#: the options that say what the experiment is, and where a checkpoint keeps each: given with
#: a resumed run, they must agree with it (epochs, lr, patience, backend may change)
FIXED_ON_RESUME = {
    "hidden": ("config", "hidden_size"), "layers": ("config", "num_layers"),
    "connectivity": ("config", "connectivity"), "window": ("config", "window"),
    "input_delays": ("config", "input_delays"), "output_delays": ("config", "output_delays"),
    "mode": ("config", "mode"), "mu": ("config", "mu"), "learn_mu": ("config", "learn_mu"),
    "memory_size": ("config", "memory_size"), "activation": ("config", "activation"),
    "cell": ("config", "cell"), "learn_initial_state": ("config", "learn_initial_state"),
    "dtype": ("config", "dtype"), "seed": ("config", "seed"),
    "difference": ("data", "difference"), "context": ("data", "context"),
    "horizon": ("data", "horizon"), "length": ("data", "length"),
    "data_seed": ("data", "seed"), "lag_inputs": ("data", "lag_inputs"),
    "batch": ("train", "batch"), "bptt": ("train", "bptt"),
    "optimizer": ("train", "optimizer"), "clip": ("train", "clip"),
    "iterations": ("train", "iterations"),
    "open_epochs": ("train", "open_loop_epochs"), "missing": ("data", "missing"),
    "series_id": ("data", "series_id"), "seasonal_period": ("data", "seasonal_period"),
    "seasonal_difference": ("data", "seasonal_difference"), "transform": ("data", "transform"),
    "train_horizon": ("train", "train_horizon"),
}

#: the options that belong to one or a few models (the others refuse them), and their names in
#: a model's configuration
MODEL_FLAGS = {"layers": "num_layers", "connectivity": "connectivity", "window": "window",
               "input_delays": "input_delays", "output_delays": "output_delays",
               "mode": "mode", "mu": "mu", "learn_mu": "learn_mu",
               "memory_size": "memory_size", "cell": "cell",
               "learn_initial_state": "learn_initial_state"}


@dataclass
class Run:
    """An experiment ready to train: its record (``Experiment``), its data, the task built on
    them, the network (a resumed run's: its last weights), and the epochs a resumed run had
    done when it was read (0 for a new run)."""

    experiment: Experiment
    series: object
    task: object
    net: object
    resumed_at: int = 0


@dataclass
class TrainReport:
    """A finished run: the run, how the training went (``TrainResult``), and the summary the
    command prints as JSON (``finish_run``)."""

    run: Run
    result: TrainResult
    summary: dict = field(default_factory=dict)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_options_apply(options: TrainOptions, given: set):
    """Options set for another model, or a built-in set's options for a CSV file, are errors:
    silently ignored, they would leave the user believing they took effect."""
    o = options
    for name in sorted(given & MODEL_FLAGS.keys()):
        if MODEL_FLAGS[name] not in MODEL_OPTIONS[o.model]:
            owners = [m for m, opts in MODEL_OPTIONS.items() if MODEL_FLAGS[name] in opts]
            raise ValueError(f"{_flag(name)} does not apply to {o.model} (it is an option of "
                             f"{', '.join(owners)})")
    if "context" in given and o.model != "seq2seq":
        raise ValueError(f"--context does not apply to {o.model} (it is an option of seq2seq)")
    if "horizon" in given and o.data == "text":
        raise ValueError("--horizon is for numeric series (the k of the k-step errors); the "
                         "text corpus is scored on the next word")
    if "open_epochs" in given and (o.model != "narx" or o.mode == "open"):
        raise ValueError("--open-epochs applies to narx in closed loop (--mode closed) alone")
    if "length" in given and o.data not in BUILTIN:
        raise ValueError("--length is the size of a built-in data set; a CSV file has its own "
                         "rows")
    if "data_seed" in given and o.data not in BUILTIN:
        raise ValueError("--data-seed is for a built-in data set; a CSV file has its own rows")
    full_batch = getattr(OPTIMIZERS.get(o.optimizer), "full_batch", False)
    for name in ("bptt", "clip"):
        if name in given and full_batch:
            raise ValueError(f"{_flag(name)} does not apply to {o.optimizer}: a second-order "
                             f"optimiser trains on every stream whole, unclipped")
    if "iterations" in given and not full_batch:
        raise ValueError(f"--iterations is for lbfgs and lm (iterations per epoch on the whole "
                         f"training set); {o.optimizer} steps once per chunk")
    if "lr" in given and o.optimizer == "lm":
        raise ValueError("--lr does not apply to lm: its damping μ sets each step")


def new_run(options: TrainOptions, on_note: Notes = None) -> Run:
    """A new experiment from ``options`` (``model`` and ``data`` required): the data read and
    checked, the task, the configuration checked against the memory it needs, the network
    built with its initial weights."""
    o = options
    if o.model is None or o.data is None:
        raise ValueError("a new run needs a model and data (or resume a checkpoint)")
    check_options_apply(o, o.set_by_user())
    length = o.length
    if o.data in BUILTIN:
        length = length or default_length(o.data)
        check_bytes(BYTES_PER_BUILTIN_ROW * length, f"--length {length:,}")
    missing = o.missing or "error"
    if o.missing is not None and o.data in BUILTIN:
        raise ValueError("--missing is for CSV files; a built-in data set has no gaps")
    series = load_data(o.data, o.target, o.inputs, length, o.data_seed, missing, o.series_id)
    dropped = sum(getattr(m, "dropped", 0) for m in getattr(series, "members", [series]))
    if dropped:
        tell(on_note, f"{dropped} row{'s' if dropped > 1 else ''} with a missing value left "
                      f"out (--missing drop)")
    period = seasonal_period(series, o.seasonal_period, on_note)
    task = build_task(series, o.model, o.difference, None, o.context, o.horizon, o.lag_inputs,
                      period, o.seasonal_difference, o.transform)
    chosen = choose_engine(o.backend, on_note=on_note)
    settings = dict(num_layers=o.layers, connectivity=o.connectivity, window=o.window,
                    input_delays=o.input_delays, output_delays=o.output_delays, mode=o.mode,
                    mu=o.mu, learn_mu=o.learn_mu, cell=o.cell,
                    learn_initial_state=o.learn_initial_state, memory_size=o.memory_size,
                    activation=o.activation, backend=chosen, dtype=o.dtype, seed=o.seed)
    config = model_config(o.model, task.model_input_size, task.output_size, o.hidden,
                          **settings)
    closed_narx = o.model == "narx" and config["mode"] == "closed"
    open_epochs = (o.epochs // 2 if o.open_epochs is None else o.open_epochs) \
        if closed_narx else 0
    batch = o.batch or (1 if getattr(OPTIMIZERS.get(o.optimizer), "full_batch", False) else 8)
    train_config = TrainConfig(epochs=o.epochs, batch=batch, bptt=o.bptt,
                               lr=default_lr(o.optimizer) if o.lr is None else o.lr,
                               optimizer=o.optimizer, clip=o.clip, patience=o.patience,
                               open_loop_epochs=open_epochs, train_horizon=o.train_horizon,
                               iterations=o.iterations)
    train_config.check()
    check_train_horizon(o.model, task, o.train_horizon)
    check_optimizer_fits(o.optimizer, task)
    check_memory(o.model, config, len(series), batch, o.bptt, o.optimizer)
    train_rows = training_rows(task)
    check_reach(o.model, config, min(train_rows) if isinstance(train_rows, list) else train_rows)
    check_work(o.model, config, len(series), o.epochs, o.horizon)
    net = build_model(o.model, config)
    spec = DataSpec.describe(o.data, series, task, length, o.data_seed, o.difference,
                             o.context, o.horizon, missing, o.lag_inputs)
    exp = Experiment(o.model, config, spec, task_scalers(task), train_config,
                     trained_with=engine_facts(chosen))
    return Run(exp, series, task, net)


def seasonal_period(series, given: int | None, on_note: Notes = None) -> int:
    """The seasonal period: ``given``, or inferred from the data's dates (a note says so:
    12 for months, 4 quarters, 52 weeks, 7 days, 24 hours; 0 without dates or for others)."""
    if given is not None:
        return given
    dates = getattr(getattr(series, "members", [series])[0], "dates", None)
    period, unit = infer_period(dates)
    if period:
        tell(on_note, f"the dates step by the {unit}: seasonal period {period}, the seasonal "
                      f"naive forecast (the value {period} rows before) scored beside the "
                      f"naive one (a period of 0 turns it off)")
    return period


def check_train_horizon(model: str, task, horizon: int):
    """Multi-step training is for the one-step models of a numeric series: they read their
    last target, which a free run replaces by their own output. NARX has its own closed
    loop; seq2seq decodes its horizon; a text model reads words."""
    if horizon == 1:
        return
    if model == "narx":
        raise ValueError("NARX trains on its own outputs in closed loop (its closed mode); "
                         "a training horizon is for the models that read their last target")
    if task.kind not in ("series", "panel"):
        raise ValueError(f"a training horizon is for one-step models of a numeric series, "
                         f"not {model} ({task.kind})")


def _conflicts(exp: Experiment, options: TrainOptions, given: set) -> list:
    """The options given with a resumed run that disagree with its checkpoint."""
    stored = {"config": exp.config, "data": asdict(exp.data), "train": asdict(exp.train)}
    conflicts = []
    for name in sorted(given & FIXED_ON_RESUME.keys()):
        section, key = FIXED_ON_RESUME[name]
        value, kept = getattr(options, name), stored[section].get(key)
        if key not in stored[section] or (section == "data" and key in ("length", "seed") and
                                          not exp.data.builtin):
            conflicts.append(f"{_flag(name)} (it does not apply to this {exp.model} model)")
        elif value != kept and (isinstance(value, bool) or kept is None):  # newly given
            conflicts.append(f"{_flag(name)} (it was trained without it)")
        elif value != kept:
            conflicts.append(f"{_flag(name)} {value} (it was trained with {kept})")
    return conflicts


def resumed_run(path, options: TrainOptions, on_note: Notes = None) -> Run:
    """The run in checkpoint ``path``, to continue at its next epoch: checked against the
    options set with it (only epochs, lr, patience and backend may change), its data read
    again (``options.data``, or the checkpoint's own), its last weights and optimiser state
    ready. An error when it cannot or need not go on."""
    from minirnn.kernels import set_deterministic

    o, given = options, options.set_by_user()
    exp = Experiment.load(path)
    if o.model is not None and exp.model != o.model:
        raise ValueError(f"{path} holds the model {exp.model!r}, not {o.model!r}")
    if exp.trained_with.get("deterministic"):  # the same arithmetic as the epochs before
        set_deterministic(True)
    conflicts = _conflicts(exp, o, given)
    if conflicts:
        raise ValueError(f"{path} cannot continue with other options: {'; '.join(conflicts)}; "
                         f"only --epochs, --lr, --patience and --backend may change when "
                         f"resuming")
    exp.data.check_columns(o.target, o.inputs)
    if o.data is None:
        series = stored_data(exp.data, path)
    else:
        columns = (None, None) if o.data in BUILTIN else \
            (",".join(exp.data.target), ",".join(exp.data.inputs) or None)
        series = load_data(o.data, *columns, exp.data.length, exp.data.seed or 0,
                           exp.data.missing, exp.data.series_id)
        exp.data.check_same_data(series, path)
    task = stored_task(series, exp.model, exp.data, exp.scalers)
    run = exp.run
    if run.last_state is None or run.optimizer_state is None:
        raise CheckpointError(f"{path} holds no training state to continue (no last weights "
                              f"or optimiser state)")
    if "lr" in given and exp.train.optimizer == "lm":
        raise ValueError(f"{path} was trained with lm, whose damping μ sets each step: --lr "
                         f"does not apply")
    exp.train = replace(exp.train, **{k: getattr(o, k) for k in ("epochs", "lr", "patience")
                                     if k in given})
    exp.train.check()
    check_work(exp.model, exp.config, len(series), max(exp.train.epochs - run.epoch, 1),
               exp.data.horizon)
    finished = exp.metrics is not None  # a run stopped after its last epoch has no scores:
    if finished and run.epoch >= exp.train.epochs:  # resuming it scores and reports it
        raise ValueError(f"{path} has already trained {run.epoch} of its {exp.train.epochs} "
                         f"epochs: give --epochs above {run.epoch} (counted from the run's "
                         f"first) to train further")
    if finished and run.waited >= exp.train.patience:
        raise ValueError(f"{path}: validation has not improved for {run.waited} epoch(s), "
                         f"where --patience {exp.train.patience} stops: give a larger "
                         f"--patience to train further")
    chosen = choose_engine(o.backend if "backend" in given else None, exp.config["backend"],
                           on_note)
    exp.config = {**exp.config, "backend": chosen}
    exp.trained_with = engine_facts(chosen)
    return Run(exp, series, task, exp.build_model(chosen), resumed_at=run.epoch)


def prepare(options: TrainOptions, resume=None, on_note: Notes = None) -> Run:
    """The run to train: checkpoint ``resume``'s, or a new one (``options.deterministic``
    turns on the kernels' deterministic mode for the process first)."""
    if options.deterministic:
        from minirnn.kernels import set_deterministic

        set_deterministic(True)
    return resumed_run(resume, options, on_note) if resume else new_run(options, on_note)


def check_out(out, resume=None, overwrite: bool = False, continuable: bool = True):
    """A checkpoint ``out`` that exists already is replaced only with ``overwrite``, or
    continued when it is the one resumed; otherwise a ValueError says what it holds and what
    can be done (``continuable``: whether resuming it is one of those)."""
    if not Path(out).exists() or overwrite or (
            resume and Path(out).resolve() == Path(resume).resolve()):
        return
    try:
        held = Experiment.load(out)
    except (CheckpointError, MemoryError):
        raise ValueError(f"--out {out} already exists and is not a minirnn checkpoint: choose "
                         f"another --out, or give --overwrite to replace it") from None
    resume_it = f"continue it with --resume {out}, " if continuable else ""
    raise ValueError(f"--out {out} already exists (the model {held.model!r}, {held.run.epoch} "
                     f"epoch(s)): {resume_it}choose another --out, or give --overwrite to "
                     f"replace it")


def stream_note(task, batch: int) -> str | None:
    """For several series (a panel: one stream length for all), a note when the shortest of
    them makes every stream much shorter than the others would: no state is carried
    further."""
    if task.kind != "panel":
        return None
    length = task.stream_length(batch)
    rows = sorted(one.train_end for one in task.tasks)
    parts = max(1, batch // len(rows))
    others = rows[1:] and -(-min(rows[1:]) // parts)
    if len(rows) < 2 or others < 2 * length:
        return None
    short = min(task.tasks, key=lambda one: one.train_end)
    return (f"the shortest series, {short.series.name!r} ({short.train_end} training rows), "
            f"makes every stream {length} rows long, so no state is carried further than "
            f"that; without it they would be {others} rows long")


def range_hint(task, share: float = 0.1) -> str | None:
    """A hint when more than ``share`` of the validation and test targets lie outside the
    range of the training targets (of their own series: a trending series, the model never
    saw such values) and the task models the levels: --difference models the changes."""
    if task.kind not in ("series", "panel") or task.steps.lags:
        return None
    outside = []
    for one in getattr(task, "tasks", [task]):
        targets = one.series.targets
        train, later = targets[:one.train_end], targets[one.train_end:]
        outside.append(((later < train.min(axis=0)) | (later > train.max(axis=0))).ravel())
    outside = np.concatenate(outside)
    if outside.mean() <= share:
        return None
    return (f"{outside.mean():.0%} of the validation and test values lie outside the range of "
            f"the training values; a trending series is usually modelled better as changes "
            f"(--difference)")


def fit_run(run: Run, out=None, on_chunk=None, on_saved=None, writing=nullcontext,
            every: float = DEFAULT_EVERY, share: float = SHARE) -> TrainResult:
    """Train ``run`` (a resumed one from its next epoch), writing checkpoint ``out`` when
    validation improves (the writes kept to ``share`` of the run's time; 1: every
    improvement), when ``every`` seconds have passed since the last write (0: after every
    epoch), at the end, and when interrupted (``saving``: the file then holds the last
    completed epoch); each write inside the context ``writing()`` makes (the command's: a
    signal waits for the write), then ``on_saved(epoch)``. ``on_chunk`` as
    ``minirnn.train.fit``'s. Overflow on the way to a divergence is no warning: the result
    says the run diverged."""
    exp, first_epoch = run.experiment, run.resumed_at
    writer = CheckpointWriter(exp, out, WritePolicy(every, share=share), writing, on_saved)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = fit(run.net, run.task, exp.train, on_chunk=on_chunk,
                         on_epoch=writer.on_epoch, start=exp.run if first_epoch else None)
    except KeyboardInterrupt:
        writer.flush()  # the last completed epoch (a second signal waits for the write)
        raise
    writer.flush()  # before the scores: a signal while scoring finds the last epoch written
    return result


def further_ahead(net, task, k: int = 5) -> dict | None:
    """k-step and free-run errors on the test rows (``forecast.multi_step_errors``; no k-step
    errors when the test split has fewer than k rows), for series tasks."""
    from minirnn.forecast import multi_step_errors

    if task.kind != "series":
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        return multi_step_errors(net, task, k=k)


def series_reports(net, task, k: int) -> dict:
    """{series id: {"rows": its rows per split, "metrics": its scores per split,
    "further_ahead": its k-step and free-run errors (or None)}} for a panel."""
    return {one.series.name: {"rows": {split: rows.stop - rows.start
                                       for split, rows in one.splits().items()},
                              "metrics": one.score(one.predict(net)),
                              "further_ahead": further_ahead(net, one, k)}
            for one in task.tasks}


def finish_run(run: Run, result: TrainResult, out=None, writing=nullcontext) -> dict:
    """Score a trained run (its best weights, which ``fit`` leaves in the network), write the
    finished checkpoint to ``out``, and give back the summary: the model, its configuration,
    how the run ended, its history, the scores per split, the errors further ahead, and for
    several series each one's scores. A run that diverged before any epoch was scored has
    nothing to score: a ValueError saying why it stopped."""
    exp, task, net = run.experiment, run.task, run.net
    if result.best_state is None:
        raise ValueError(result.stopped)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scores = evaluate(net, task)
    exp.run, exp.metrics = result, scores
    if out:
        with writing():
            exp.save(out)
    by_series = None
    if task.kind == "panel":  # each series' scores; the errors further ahead pooled from them
        by_series = series_reports(net, task, exp.data.horizon)
        further = pooled_errors([r["further_ahead"] for r in by_series.values()])
    else:
        further = further_ahead(net, task, exp.data.horizon)
    return {"model": exp.model, "config": exp.config, "stopped": result.stopped,
            "resumed_from_epoch": run.resumed_at or None, "epochs_done": result.epoch,
            "best_epoch": result.best_epoch, "history": result.history,
            "seasonal_period": exp.data.seasonal_period, "metrics": scores,
            "further_ahead": further, "checkpoint": out,
            **({"series_id": run.series.id_column, "by_series": by_series} if by_series
               else {})}


def train(options: TrainOptions, out=None, resume=None, overwrite: bool = False,
          on_chunk=None, on_note: Notes = None) -> TrainReport:
    """Train as ``minirnn train`` does, in one call: a new run from ``options`` or checkpoint
    ``resume``'s (continued in ``out``, by default the resumed file), the checkpoint written
    as ``fit_run`` says (``options.checkpoint_every``) and when scored (``out`` locked
    against a second writer meanwhile). A run that diverges ends with the best weights it
    had, its summary saying why it stopped (``result.diverged``)."""
    out = resume if resume is not None and out is None else out
    with WriterLock(out) if out else nullcontext():
        if out:
            check_out(out, resume, overwrite)
        run = prepare(options, resume, on_note)
        stream = stream_note(run.task, run.experiment.train.batch)
        if stream:
            tell(on_note, stream)
        result = fit_run(run, out, on_chunk, every=options.checkpoint_every)
        summary = finish_run(run, result, out)
    hint = range_hint(run.task)
    if hint:
        tell(on_note, hint)
    return TrainReport(run, result, summary)
