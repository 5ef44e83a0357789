"""``minirnn train`` and ``minirnn predict``: fit a model to a series, and use it.

The experiment itself (what a checkpoint holds, how a run continues, how data are checked
against a model) lives in ``minirnn.experiment``; this module parses options, checks paths
before any work, shows progress and results.
"""
from __future__ import annotations

import csv
import json
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import click
import numpy as np
from click.core import ParameterSource
from rich.markup import escape
from rich.table import Table

from minirnn.checkpoint import CheckpointError, WriterLock
from minirnn.data.series import MISSING, DataError, comes_after, csv_columns, next_dates
from minirnn.data.sources import BUILTIN, default_length
from minirnn.diagnostics import residual_diagnostics
from minirnn.forecast import pooled_errors
from minirnn.experiment import (BYTES_PER_BUILTIN_ROW, BYTES_PER_FORECAST_STEP, DataSpec,
                                Experiment, build_task, check_bytes, check_memory, load_data,
                                task_scalers)
from minirnn.models import BACKENDS
from minirnn.models.base import DTYPES
from minirnn.models.multilayer import CELLS, CONNECTIVITIES
from minirnn.models.registry import MODEL_OPTIONS, build_model, model_config
from minirnn.optim import OPTIMIZERS
from minirnn.train import TrainConfig, evaluate, fit

from .common import (FiniteFloat, backends_option, check_interrupted, check_not_inputs,
                     check_writable, console, err_console, fail, fail_with,
                     interrupts_deferred, json_option, note, progress_bar, text_output, wrote)

USER_ERRORS = (DataError, CheckpointError, ValueError, TypeError, RuntimeError, MemoryError)
SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 40  # marks at most in a sparkline: a long run's curve stays on its line
PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")

#: train's options that say what the experiment is, and where a checkpoint keeps each: given
#: with --resume, they must agree with it (--epochs, --lr, --patience, --backend may change)
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
    "open_epochs": ("train", "open_loop_epochs"), "missing": ("data", "missing"),
    "series_id": ("data", "series_id"),
}


def data_options(f):
    """--data, --target, --inputs, --series-id, --length, --missing: shared by train and
    predict."""
    f = click.option("--series-id", default=None, metavar="COLUMN",
                     help="CSV in long format: the column that names each row's series. One "
                          "model learns them all (each series split in time and scaled on its "
                          "own, streams of one batch) and is scored per series and overall "
                          "(predict and --resume: the checkpoint's).")(f)
    f = click.option("--missing", type=click.Choice(MISSING), default=None,
                     help="CSV: what a missing value (empty, NA, NaN, null, ?) does: error (the "
                          "default for train), drop its row, or interpolate between its "
                          "neighbours (predict and --resume: the checkpoint's).")(f)
    f = click.option("--length", type=click.IntRange(min=10), default=None,
                     help="Rows of a built-in data set [default: 2000; the text corpus: 10000 "
                          "words].")(f)
    f = click.option("--inputs", default=None,
                     help="CSV: exogenous input columns, comma-separated.")(f)
    f = click.option("--target", default=None,
                     help="CSV: the column(s) to predict, comma-separated.")(f)
    return f


def check_plot_path(plot):
    """--plot: a known image format in a writable folder, and matplotlib installed."""
    if not plot:
        return
    suffix = Path(plot).suffix.lower().lstrip(".")
    if suffix not in PLOT_FORMATS:
        fail(f"--plot {plot}: unknown image format {suffix or '(no extension)'!r}; use one of "
             f"{', '.join('.' + f for f in PLOT_FORMATS)}")
    check_writable(plot, "--plot")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        fail("--plot needs matplotlib: pip install 'minirnn[plot]'")


def engine(backend, trained_on=None) -> str:
    """The engine to run on: the one asked for, else the checkpoint's when this machine has it
    (a model trained on a GPU runs on the cpu engine elsewhere), else cpu."""
    from .common import available_backends

    if backend is not None:
        return backends_option(backend)[0]
    if trained_on in available_backends():
        return trained_on
    if trained_on is not None:
        note(f"the model was trained on the {trained_on} engine, which this machine lacks; "
             f"running it on the cpu engine")
    return "cpu"


def announce_compiling(model: str, config: dict, backend: str):
    """One line on stderr, in every output mode, when the run's recurrence kernels are not in
    Numba's cache yet (the seconds a first run spends compiling)."""
    from minirnn.kernels.kernel_cache import uncached_kernels

    if backend != "cpu":
        return
    if model in ("lstm", "gru"):
        family = model
    elif model in ("seq2seq", "multilayer") and config.get("cell", "elman") != "elman":
        family = config["cell"]
    elif model in ("elman", "statespace", "seq2seq"):
        family = "elman"
    elif model in ("memory", "jordan") or (model == "narx" and config.get("mode") == "closed"):
        family = "memory"
    elif model == "multilayer":
        fused = config.get("connectivity") in ("feedback", "output_feedback")
        family = "layered" if fused else "elman"
    else:  # sliding, open-loop NARX: products and copies, nothing long to compile
        return
    if uncached_kernels([f"minirnn.kernels.{family}.cpu"]):
        click.echo("compiling the cpu kernels not cached yet (after installing or editing "
                   "minirnn; about 10 s, once)", err=True)


def load_experiment(path) -> Experiment:
    try:
        return Experiment.load(path)
    except (CheckpointError, MemoryError) as error:
        fail_with(error)


def stored_data(spec: DataSpec, where: str):
    """The data a checkpoint was trained on, read again: a built-in set from its length and
    seed; a CSV file only if it still holds exactly the rows it held (the checkpoint's path is
    never trusted further: nothing of another file is read into a message)."""
    if spec.builtin:
        return load_data(spec.source, None, None, spec.length, spec.seed or 0)
    if not spec.source.lower().endswith(".csv"):
        fail(f"{where} names training data {spec.source!r}, not a CSV file: give --data")
    try:
        series = load_data(spec.source, ",".join(spec.target), ",".join(spec.inputs),
                           missing=spec.missing, series_id=spec.series_id)
        spec.check_same_data(series, where)
    except (DataError, OSError, ValueError):
        fail(f"{where} was trained on {spec.source}, which no longer holds that data (or is "
             f"gone): give --data")
    return series


@click.command()
@click.argument("model", type=click.Choice(list(MODEL_OPTIONS)), required=False)
@click.option("--data", default=None,
              help=f"A built-in data set ({', '.join(BUILTIN)}) or a CSV file (with --resume: "
                   f"the checkpoint's data by default).")
@data_options
@click.option("--context", type=click.IntRange(min=1), default=20, show_default=True,
              help="seq2seq: rows the encoder reads before each forecast.")
@click.option("--horizon", type=click.IntRange(min=1), default=5, show_default=True,
              help="Steps ahead: the k of the k-step errors reported beside the one-step and "
                   "free-run ones (seq2seq: the values its decoder forecasts).")
@click.option("--difference", is_flag=True,
              help="Model the changes y_t - y_{t-1} instead of the levels (trending series).")
@click.option("--lag-inputs", is_flag=True,
              help="Read the inputs one step late, u_{t-1}, for forecasting with inputs known "
                   "only once their step has passed (default: u_t, known at time t, as a "
                   "plant's driving input is in system identification).")
@click.option("--hidden", type=click.IntRange(min=1), default=16, show_default=True,
              help="Hidden units (per layer).")
@click.option("--layers", type=click.IntRange(min=1), default=None, help="multilayer: layers.")
@click.option("--connectivity", type=click.Choice(CONNECTIVITIES), default=None,
              help="multilayer: how the layers connect.")
@click.option("--window", type=click.IntRange(min=1), default=None, help="sliding: window.")
@click.option("--input-delays", type=click.IntRange(min=0), default=None,
              help="narx: input delays L.")
@click.option("--output-delays", type=click.IntRange(min=1), default=None,
              help="narx: output delays K.")
@click.option("--mode", type=click.Choice(["open", "closed"]), default=None,
              help="narx: open (true past outputs) or closed loop (own predictions).")
@click.option("--open-epochs", type=click.IntRange(min=0), default=None,
              help="narx --mode closed: epochs trained in open loop (true past outputs) before "
                   "the loop is closed and the same weights fine-tuned [default: half of "
                   "--epochs, fixed when the run begins: --resume with more --epochs keeps "
                   "it]; early stopping counts from the closing.")
@click.option("--mu", type=FiniteFloat(0, 1, max_open=True), default=None,
              help="jordan: memory decay μ in [0, 1).")
@click.option("--learn-mu", is_flag=True, default=None, help="jordan: learn μ too.")
@click.option("--cell", type=click.Choice(CELLS), default=None,
              help="multilayer, seq2seq: the recurrent cell of each layer [default: elman].")
@click.option("--learn-initial-state", is_flag=True, default=None,
              help="lstm, gru: learn the initial state (h0, and c0 for an LSTM) instead of "
                   "starting from zeros.")
@click.option("--memory-size", type=click.IntRange(min=1), default=None,
              help="memory: memory units.")
@click.option("--activation", type=click.Choice(["tanh", "sigmoid", "relu", "identity"]),
              default="tanh", show_default=True, help="Hidden activation f.")
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help="Engine [default: cpu; with --resume the checkpoint's, or cpu where this "
                   "machine lacks it].")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="Floating-point type.")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Epochs in all, counted from the run's first (with --resume: the total, "
                   "not more epochs).")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True,
              help="Parallel streams the training rows are cut into.")
@click.option("--bptt", type=click.IntRange(min=1), default=50, show_default=True,
              help="Chunk length of truncated BPTT.")
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=0.01, show_default=True,
              help="Learning rate.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default="adam",
              show_default=True, help="Optimiser.")
@click.option("--clip", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="Global gradient-norm clipping (0: off).")
@click.option("--patience", type=click.IntRange(min=1), default=5, show_default=True,
              help="Epochs without validation improvement before stopping.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the weights (and of the order of the chunks).")
@click.option("--data-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of a built-in data set's noise: models of different --seed train on "
                   "the same rows.")
@click.option("--deterministic", is_flag=True,
              help="The same weights whatever the thread count (any machine, NumPy's OpenBLAS): "
                   "the kernels' rows cut into blocks by the batch alone, up to 41% slower on "
                   "two cores (or MINIRNN_DETERMINISTIC=1; --resume keeps the checkpoint's).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to write (.npz) after every epoch: the best weights so far and "
                   "the state to continue from (default with --resume: the resumed file).")
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue the run in this checkpoint at its next epoch.")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing --out that holds another run.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help=f"Write learning curves and predictions to this image "
                   f"({', '.join('.' + f for f in PLOT_FORMATS)}; needs matplotlib).")
@json_option
@click.pass_context
def train(ctx, model, data, target, inputs, series_id, length, missing, context, horizon,
          difference, lag_inputs, hidden, layers, connectivity, window, input_delays,
          output_delays, mode, open_epochs, mu, learn_mu, cell, learn_initial_state,
          memory_size, activation, backend,
          dtype, epochs, batch, bptt, lr, optimizer, clip, patience, seed, data_seed,
          deterministic, out, resume, overwrite, plot, as_json):
    """Train MODEL on a series and report train / validation / test errors (with --resume,
    MODEL may be left out: the checkpoint names it).

    The data are split in time into 70% training, 15% validation and 15% test rows, scaled on
    the training rows only. The task is one-step-ahead forecasting of the target column(s)
    (seq2seq: the next --horizon values from --context rows; the text corpus: the next word).
    The table compares the model with a naive forecast (the last value; for text the most
    frequent next word): a model is only useful where it beats it.

    With --out, the checkpoint is written after every epoch; --resume continues it at its next
    epoch (weights, optimiser state, best score, history) exactly as the uninterrupted run
    would have gone on. The best weights in --out are only ever replaced by better ones.

    \b
    Examples:
      minirnn train statespace --data sine --epochs 10
      minirnn train seq2seq --data sine --context 30 --horizon 10
      minirnn train narx --data narendra --mode closed --out narx.npz
      minirnn train narx --resume narx.npz --epochs 60
      minirnn train elman --data prices.csv --target close --inputs volume,open
    """
    given = {name for name in ctx.params
             if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE}
    if model is None and resume is None:
        raise click.UsageError("Missing argument 'MODEL' (or --resume a checkpoint).")
    check_plot_path(plot)
    if resume is not None and out is None:
        out = resume  # continue the checkpoint where it is
    if out is not None:
        if Path(out).suffix != ".npz":
            fail(f"--out {out}: a checkpoint file must end in .npz")
        real = Path(os.path.realpath(out))
        if real.exists() and not real.is_file() and not real.is_dir():
            fail(f"--out {out} is not a regular file: a checkpoint cannot go there")
        check_writable(out, "--out")
    check_not_inputs({"--out": out, "--plot": plot},
                     {"the --data file": data if data not in BUILTIN else None})
    options = dict(ctx.params)
    if deterministic:
        from minirnn.kernels import set_deterministic

        set_deterministic(True)
    try:
        with WriterLock(out) if out else nullcontext():
            if out and Path(out).exists() and not overwrite and not (
                    resume and Path(out).resolve() == Path(resume).resolve()):
                _refuse_existing(out)
            if resume:
                exp, series, task, net = _resumed(resume, options, given)
            else:
                exp, series, task, net = _new(options, given)
            _run(exp, series, task, net, out, plot, as_json)
    except USER_ERRORS as error:
        fail_with(error)


def _refuse_existing(out):
    """--out holds a file already: say what it is and what can be done."""
    try:
        held = Experiment.load(out)
    except (CheckpointError, MemoryError):
        fail(f"--out {out} already exists and is not a minirnn checkpoint: choose another "
             f"--out, or give --overwrite to replace it")
    fail(f"--out {out} already exists (the model {held.model!r}, {held.run.epoch} epoch(s)): "
         f"continue it with --resume {out}, choose another --out, or give --overwrite to "
         f"replace it")


#: train's options that belong to one or a few models (the others ignore them)
MODEL_FLAGS = {"layers": "num_layers", "connectivity": "connectivity", "window": "window",
               "input_delays": "input_delays", "output_delays": "output_delays",
               "mode": "mode", "mu": "mu", "learn_mu": "learn_mu",
               "memory_size": "memory_size", "cell": "cell",
               "learn_initial_state": "learn_initial_state"}


def _options_apply(o, given):
    """Options given for another model, or --length for a CSV file, are errors: silently
    ignored, they would leave the user believing they took effect."""
    for name in sorted(given & MODEL_FLAGS.keys()):
        if MODEL_FLAGS[name] not in MODEL_OPTIONS[o["model"]]:
            owners = [m for m, opts in MODEL_OPTIONS.items() if MODEL_FLAGS[name] in opts]
            fail(f"--{name.replace('_', '-')} does not apply to {o['model']} (it is an option "
                 f"of {', '.join(owners)})")
    for name in sorted(given & {"context"}):
        if o["model"] != "seq2seq":
            fail(f"--{name} does not apply to {o['model']} (it is an option of seq2seq)")
    if "horizon" in given and o["data"] == "text":
        fail("--horizon is for numeric series (the k of the k-step errors); the text corpus "
             "is scored on the next word")
    if "open_epochs" in given and (o["model"] != "narx" or o["mode"] == "open"):
        fail("--open-epochs applies to narx in closed loop (--mode closed) alone")
    if "length" in given and o["data"] not in BUILTIN:
        fail("--length is the size of a built-in data set; a CSV file has its own rows")
    if "data_seed" in given and o["data"] not in BUILTIN:
        fail("--data-seed is for a built-in data set; a CSV file has its own rows")


def _new(o, given):
    """A new experiment from the command line's options."""
    if o["data"] is None:
        raise click.UsageError("Missing option '--data' (a data set or CSV file), or --resume "
                               "a checkpoint.")
    _options_apply(o, given)
    if o["data"] in BUILTIN:
        o["length"] = o["length"] or default_length(o["data"])
        check_bytes(BYTES_PER_BUILTIN_ROW * o["length"], f"--length {o['length']:,}")
    missing = o["missing"] or "error"
    if o["missing"] is not None and o["data"] in BUILTIN:
        fail("--missing is for CSV files; a built-in data set has no gaps")
    series = load_data(o["data"], o["target"], o["inputs"], o["length"], o["data_seed"],
                       missing, o["series_id"])
    dropped = sum(getattr(m, "dropped", 0) for m in getattr(series, "members", [series]))
    if dropped:
        note(f"{dropped} row{'s' if dropped > 1 else ''} with a missing value left out "
             f"(--missing drop)")
    task = build_task(series, o["model"], o["difference"], None, o["context"], o["horizon"],
                      o["lag_inputs"])
    chosen = engine(o["backend"])
    settings = dict(num_layers=o["layers"], connectivity=o["connectivity"], window=o["window"],
                    input_delays=o["input_delays"], output_delays=o["output_delays"],
                    mode=o["mode"], mu=o["mu"], learn_mu=o["learn_mu"], cell=o["cell"],
                    learn_initial_state=o["learn_initial_state"],
                    memory_size=o["memory_size"], activation=o["activation"], backend=chosen,
                    dtype=o["dtype"], seed=o["seed"])
    config = model_config(o["model"], task.model_input_size, task.output_size, o["hidden"],
                          **settings)
    closed_narx = o["model"] == "narx" and config["mode"] == "closed"
    open_epochs = (o["epochs"] // 2 if o["open_epochs"] is None else o["open_epochs"]) \
        if closed_narx else 0
    train_config = TrainConfig(epochs=o["epochs"], batch=o["batch"], bptt=o["bptt"], lr=o["lr"],
                               optimizer=o["optimizer"], clip=o["clip"], patience=o["patience"],
                               open_loop_epochs=open_epochs)
    train_config.check()
    check_memory(o["model"], config, len(series), o["batch"], o["bptt"])
    net = build_model(o["model"], config)
    spec = DataSpec.describe(o["data"], series, task, o["length"], o["data_seed"],
                             o["difference"], o["context"], o["horizon"], missing,
                             o["lag_inputs"])
    exp = Experiment(o["model"], config, spec, task_scalers(task), train_config,
                     trained_with=_engine_facts(chosen))
    return exp, series, task, net


def _resumed(path, o, given):
    """The experiment in checkpoint ``path``, checked against the options given with it."""
    from dataclasses import asdict, replace

    exp = load_experiment(path)
    if o["model"] is not None and exp.model != o["model"]:
        fail(f"{path} holds the model {exp.model!r}, not {o['model']!r}")
    if exp.trained_with.get("deterministic"):  # the same arithmetic as the epochs before
        from minirnn.kernels import set_deterministic

        set_deterministic(True)
    stored = {"config": exp.config, "data": asdict(exp.data), "train": asdict(exp.train)}
    conflicts = []
    for name in sorted(given & FIXED_ON_RESUME.keys()):
        section, key = FIXED_ON_RESUME[name]
        flag = "--" + name.replace("_", "-")
        if key not in stored[section] or (section == "data" and key in ("length", "seed") and
                                          not exp.data.builtin):
            conflicts.append(f"{flag} (it does not apply to this {exp.model} model)")
        elif o[name] != stored[section][key] and (isinstance(o[name], bool) or
                                                  stored[section][key] is None):  # newly given
            conflicts.append(f"{flag} (it was trained without it)")
        elif o[name] != stored[section][key]:
            conflicts.append(f"{flag} {o[name]} (it was trained with {stored[section][key]})")
    if conflicts:
        fail(f"{path} cannot continue with other options: {'; '.join(conflicts)}; only "
             f"--epochs, --lr, --patience and --backend may change when resuming")
    exp.data.check_columns(o["target"], o["inputs"])
    if o["data"] is None:
        series = stored_data(exp.data, path)
    else:
        columns = (None, None) if o["data"] in BUILTIN else \
            (",".join(exp.data.target), ",".join(exp.data.inputs) or None)
        series = load_data(o["data"], *columns, exp.data.length, exp.data.seed or 0,
                           exp.data.missing, exp.data.series_id)
        exp.data.check_same_data(series, path)
    task = build_task(series, exp.model, exp.data.difference, exp.scalers, exp.data.context,
                      exp.data.horizon, exp.data.lag_inputs)
    run = exp.run
    if run.last_state is None or run.optimizer_state is None:
        fail(f"{path} holds no training state to continue (no last weights or optimiser state)")
    exp.train = replace(exp.train, **{k: o[k] for k in ("epochs", "lr", "patience")
                                     if k in given})
    exp.train.check()
    finished = exp.metrics is not None  # a run stopped after its last epoch has no scores:
    if finished and run.epoch >= exp.train.epochs:  # resuming it scores and reports it
        fail(f"{path} has already trained {run.epoch} of its {exp.train.epochs} epochs: give "
             f"--epochs above {run.epoch} (counted from the run's first) to train further")
    if finished and run.waited >= exp.train.patience:
        fail(f"{path}: validation has not improved for {run.waited} epoch(s), where --patience "
             f"{exp.train.patience} stops: give a larger --patience to train further")
    chosen = engine(o["backend"] if "backend" in given else None, exp.config["backend"])
    exp.config = {**exp.config, "backend": chosen}
    exp.trained_with = _engine_facts(chosen)
    return exp, series, task, exp.build_model(chosen)


def _engine_facts(backend: str) -> dict:
    """What a bit-for-bit resume needs to be the same: the engine and its thread count (which
    does not matter in deterministic mode)."""
    import numba

    from minirnn import __version__
    from minirnn.kernels import deterministic

    return {"backend": backend, "threads": numba.get_num_threads(), "minirnn": __version__,
            "deterministic": deterministic()}


def _stream_note(task, batch: int) -> str | None:
    """A note when the shortest of several series makes every stream much shorter than the
    others would (``PanelTask``: one stream length for all): no state is carried further."""
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


def _run(exp, series, task, net, out, plot, as_json):
    """Train, writing the checkpoint after every epoch; then report."""
    announce_compiling(exp.model, exp.config, exp.config["backend"])
    stream = _stream_note(task, exp.train.batch) if task.kind == "panel" else None
    if stream:
        note(stream)
    started, seen = time.perf_counter(), [0]
    first_epoch, epochs = exp.run.epoch, exp.train.epochs
    if 0 < first_epoch < epochs and exp.run.waited < exp.train.patience:
        note(f"resuming at epoch {first_epoch + 1} of {epochs}")

    saved = []  # epochs this run has written to --out

    def save(epoch, record, run):
        exp.run, exp.metrics = run, None  # the final scores are the finished run's alone
        if out:
            with interrupts_deferred():  # a signal now ends the run after the write
                exp.save(out)
                saved.append(epoch)

    interrupted = False
    with progress_bar() as progress:
        label = "first chunk" if not first_epoch else f"resuming at epoch {first_epoch + 1}"
        bar = progress.add_task(label, total=None)

        def on_chunk(epoch, chunk, chunks, loss, norm, steps):
            check_interrupted()  # a Ctrl-C that landed where it was swallowed (see common)
            seen[0] += steps
            rate = seen[0] / max(time.perf_counter() - started, 1e-9)
            progress.update(bar, total=epochs * chunks, completed=epoch * chunks + chunk + 1,
                            description=f"epoch {epoch + 1}/{epochs}  loss {loss:.4f}  "
                                        f"|g| {norm:.2f}  {rate:,.0f} steps/s")

        try:  # overflow on the way to a divergence is reported as such, not as warnings
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                result = fit(net, task, exp.train, on_chunk=on_chunk, on_epoch=save,
                             start=exp.run if first_epoch else None)
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        kept = ""
        if out and (saved or first_epoch):  # the file holds this run (what it holds is read:
            kept = (f"; {out} holds epoch {Experiment.load(out).run.epoch}: "  # the signal may
                    f"continue with --resume {out}")  # have cut a write)
        elif out and Path(out).exists():
            kept = f" before the first epoch; {out} still holds what it held"
        fail(f"interrupted{kept}")

    if result.best_state is None:  # diverged before any epoch was scored: nothing worth keeping
        fail(result.stopped)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scores = evaluate(net, task)
    exp.run, exp.metrics = result, scores
    if out:
        with interrupts_deferred():
            exp.save(out)
        wrote(out, f"checkpoint: best epoch {result.best_epoch} of {result.epoch}")
    if plot:
        _plot_training(plot, result.history, task, net, scores, result.best_epoch,
                       exp.train.open_loop_epochs,
                       exp.model == "narx" and exp.config.get("mode") == "closed")
        wrote(plot, "learning curves and predictions")
    by_series = None
    if task.kind == "panel":  # each series' scores; the errors further ahead pooled from them
        by_series = _series_reports(net, task, exp.data.horizon)
        further = pooled_errors([r["further_ahead"] for r in by_series.values()])
    else:
        further = _further_ahead(net, task, exp.data.horizon)
    summary = {"model": exp.model, "config": exp.config, "stopped": result.stopped,
               "resumed_from_epoch": first_epoch or None, "epochs_done": result.epoch,
               "best_epoch": result.best_epoch, "history": result.history, "metrics": scores,
               "further_ahead": further, "checkpoint": out,
               **({"series_id": series.id_column, "by_series": by_series} if by_series else {})}
    if as_json:
        if result.diverged:
            summary["error"] = result.stopped
        click.echo(_json(summary))
    else:
        _show_metrics(exp.model, exp.config, series, scores, result, task, further)
        if by_series:
            closed = exp.model == "narx" and exp.config.get("mode") == "closed"
            _show_series(series.id_column, by_series, exp.data.horizon,
                         "simulated" if closed else "one-step", list(series.target_names))
    hint = _range_hint(task)
    if hint:
        note(hint)
    if result.diverged:
        fail(result.stopped, json_sent=as_json)


def _range_hint(task, share: float = 0.1) -> str | None:
    """A hint when more than ``share`` of the validation and test targets lie outside the
    range of the training targets (of their own series: a trending series, the model never
    saw such values) and the task models the levels: --difference models the changes."""
    if task.kind not in ("series", "panel") or task.difference:
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


def _json(document) -> str:
    """One JSON document; NaN and infinities (a diverged epoch's score) as null."""
    from minirnn.experiment import json_ready

    return json.dumps(json_ready(document), indent=2)


def sparkline(values, width: int = SPARK_WIDTH) -> str:
    """One character per value, or, for more than ``width`` values, per run of consecutive
    values (their mean)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return ""
    if values.size > width:
        values = np.array([part.mean() for part in np.array_split(values, width)])
    lo, hi = values.min(), values.max()
    scaled = np.zeros(values.size, int) if hi == lo else \
        np.round((values - lo) / (hi - lo) * (len(SPARK) - 1)).astype(int)
    return "".join(SPARK[i] for i in scaled)


def _further_ahead(net, task, k: int = 5) -> dict | None:
    """k-step and free-run errors on the test rows (``forecast.multi_step_errors``; no k-step
    errors when the test split has fewer than k rows), for series tasks."""
    from minirnn.forecast import multi_step_errors

    if task.kind != "series":
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        return multi_step_errors(net, task, k=k)


def _series_reports(net, task, k: int) -> dict:
    """{series id: {"rows": its rows per split, "metrics": its scores per split,
    "further_ahead": its k-step and free-run errors (or None)}} for a panel."""
    return {one.series.name: {"rows": {split: rows.stop - rows.start
                                       for split, rows in one.splits().items()},
                              "metrics": one.score(one.predict(net)),
                              "further_ahead": _further_ahead(net, one, k)}
            for one in task.tasks}


def _number(value: float) -> str:
    """4 significant digits in at most 8 characters: 2.315e5, not 2.315e+05."""
    return f"{value:.4g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _show_series(id_column: str, by_series: dict, k: int, first: str, targets: list):
    """The test rows of each series: the model's RMSE one step (``first`` names what that
    column is), k steps ahead and in a free run, each beside its naive counterpart (green
    where the model beats it); a blank k-step cell: fewer than k test rows."""
    over = f" (over {', '.join(targets)})" if len(targets) > 1 else ""
    table = Table(title=f"test RMSE per {id_column}{over}: model, naive", box=None,
                  padding=(0, 1))
    for name in (id_column, "rows", first, "naive", f"{k}-step", "naive", "free run", "naive"):
        table.add_column(name, justify="left" if name == id_column else "right",
                         overflow="fold" if name == id_column else "ellipsis",
                         no_wrap=name != id_column)
    for name, report in by_series.items():
        test, further = report["metrics"]["test"], report["further_ahead"]
        parts = [{who: test[who]["rmse"] for who in ("model", "naive")}, further["k_step"],
                 further["free_run"]]
        cells = []
        for part in parts:
            if part is None:
                cells += ["", ""]
                continue
            colour = "green" if part["model"] < part["naive"] else "red"
            cells += [f"[{colour}]{_number(part['model'])}[/]", _number(part["naive"])]
        table.add_row(escape(name), str(report["rows"]["test"]), *cells)
    console.print(table)
    if any(report["further_ahead"]["k_step"] is None for report in by_series.values()):
        console.print(f"(a blank {k}-step cell: that series has fewer than {k} test rows)")


def _show_metrics(model, config, series, scores, result, task, further=None):
    names = ", ".join(getattr(series, "target_names", []))
    if task.kind == "text":
        what = "next-word predictions"
    elif model == "narx" and config.get("mode") == "closed":  # predictions fed back from t = 0
        what = f"closed-loop simulation of {names} from the first row"
    else:
        ahead = f"{task.horizon}-step" if task.kind == "windows" else "one-step"
        what = f"{ahead} forecasts of {names}"
    if task.kind == "panel":
        what += f", {len(task.tasks)} series ({series.id_column}) pooled"
    table = Table(title=f"{model} on {escape(series.name)}: {what}",
                  caption="blank: the accuracy of the word after \"is\", which the clue decides"
                  if task.kind == "text" else None)
    table.add_column("split")
    # a panel's MAE (in its JSON) would make the table wider than 80 columns
    shown = [n for n, v in scores["train"]["model"].items()
             if np.isscalar(v) and not (task.kind == "panel" and n == "mae")]
    metric_names, naive_names = shown, [n for n in scores["train"]["naive"] if n in shown]
    short = {"blank_accuracy": "blank", "perplexity": "perplexity"}  # fits 80 columns
    for name in metric_names:
        table.add_column(short.get(name, name.replace("_", " ")), justify="right")
    for name in naive_names:
        table.add_column(f"naive\n{short.get(name, name.replace('_', ' '))}", justify="right")
    table.add_column("beats\nnaive", justify="right")
    for split, s in scores.items():
        ours, naive = s["model"][task.metric], s["naive"][task.metric]
        beats = ours < naive if task.lower_is_better else ours > naive
        table.add_row(split, *(f"{s['model'][n]:.4g}" for n in metric_names),
                      *(f"{s['naive'][n]:.4g}" for n in naive_names),
                      "[green]yes[/]" if beats else "[red]no[/]")
    console.print(table)
    by_step = scores["test"]["model"].get("rmse_by_step")
    if by_step:
        console.print("test RMSE by step ahead  " + "  ".join(f"{v:.4g}" for v in by_step))
    if further:
        k, free = further["k_step"], further["free_run"]
        ahead = f"{further['k']}-step RMSE {k['model']:.4g} (naive {k['naive']:.4g}, " \
            f"{further['origins']} origins)" if k else \
            f"no {further['k']}-step errors (fewer than {further['k']} test rows)"
        console.print(f"test, further ahead: {ahead}; free run over the {free['steps']} test "
                      f"rows {free['model']:.4g} (naive, the last value held: "
                      f"{free['naive']:.4g})")
    losses = [h["train_loss"] for h in result.history]
    if losses:
        per = ("" if len(losses) <= SPARK_WIDTH else
               f" (each mark {len(losses) / SPARK_WIDTH:.3g} epochs)")
        console.print(f"training loss by epoch{per}  {sparkline(losses)}  "
                      f"({losses[0]:.4g} → {losses[-1]:.4g}); best epoch {result.best_epoch}; "
                      f"{result.stopped}")


def _plot_training(path, history, task, net, scores, best_epoch, closed_at=0, simulated=False):
    """Learning curves (the training loss on a log axis of its own; the validation metric with
    the best epoch marked and the naive forecast's level) and what the model does: for a
    series, the data with the split boundaries and the one-step predictions of the validation
    and test rows; for seq2seq, the test error by step ahead; for text, the accuracies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 7.5))
    loss_ax, val_ax = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2)
    bottom = fig.add_subplot(2, 1, 2)
    epochs = [h["epoch"] for h in history]
    loss_name = "cross-entropy" if task.kind == "text" else "MSE, scaled units"
    loss_ax.plot(epochs, [h["train_loss"] for h in history])
    loss_ax.set_yscale("log")
    loss_ax.set(title=f"training loss ({loss_name})", xlabel="epoch")
    metric = task.metric.replace("_", " ")
    val_ax.plot(epochs, [h.get(f"val_{task.metric}") for h in history], label="model")
    val_ax.axhline(scores["validation"]["naive"][task.metric], color="grey", ls="--",
                   label="naive")
    val_ax.axvline(best_epoch, color="green", ls=":", label=f"best epoch ({best_epoch})")
    if closed_at:  # closed-loop NARX: the epoch after which the loop was closed
        for ax in (loss_ax, val_ax):
            ax.axvline(closed_at + 0.5, color="purple", ls="-.", lw=0.8,
                       label="loop closed" if ax is val_ax else None)
    val_ax.set(title=f"validation {metric}", xlabel="epoch")
    val_ax.legend()
    shown = task.tasks[0] if task.kind == "panel" else task  # a panel: its first series
    if shown.kind == "series":
        series, splits = shown.series, shown.splits()
        predicted = shown.to_levels(shown.predict(net))
        if shown is not task:
            bottom.set_title(f"{task.panel.id_column} {series.name} (1 of {len(task.tasks)} "
                             f"series)")
        t = np.arange(len(series))
        bottom.plot(t, series.targets[:, 0], lw=0.8, label="true")
        later = slice(splits["validation"].start, len(series))
        bottom.plot(t[later], predicted[later, 0], lw=0.8,
                    label="closed-loop simulation" if simulated else "one-step prediction")
        for edge, name in ((splits["validation"].start, "validation"),
                           (splits["test"].start, "test")):
            bottom.axvline(edge, color="grey", ls="--")
            bottom.text(edge, bottom.get_ylim()[1], f" {name}", va="top", fontsize=8)
        bottom.set(xlabel="t" if not series.dates else f"row ({series.date_column} "
                   f"{series.dates[0]} … {series.dates[-1]})", ylabel=series.target_names[0])
        bottom.legend(loc="lower left")
    elif task.kind == "windows":
        by_step = scores["test"]["model"]["rmse_by_step"]
        steps = np.arange(1, len(by_step) + 1)
        bottom.bar(steps, by_step, label="model")
        bottom.axhline(scores["test"]["naive"]["rmse"], color="grey", ls="--",
                       label="naive (all steps)")
        bottom.set(title="test RMSE by step ahead", xlabel="step ahead")
        bottom.legend()
    else:
        names = [n for n in ("accuracy", "blank_accuracy") if n in scores["test"]["model"]]
        splits = list(scores)
        width = 0.8 / (2 * len(names))
        for k, name in enumerate(names):
            for m, who in enumerate(("model", "naive")):
                offset = (2 * k + m - len(names) + 0.5) * width
                bottom.bar(np.arange(len(splits)) + offset,
                           [scores[sp][who][name] for sp in splits], width,
                           label=f"{who} {name.replace('_', ' ')}")
        bottom.set_xticks(np.arange(len(splits)), splits)
        bottom.set(title="next-word accuracy", ylim=(0, 1))
        bottom.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _word_rows(task, predicted, generated):
    """(header, rows): each word, the word that followed, the model's guess; then generated
    words."""
    vocab, tokens = task.series.vocabulary, task.series.tokens
    rows = [[t, vocab[tokens[t]], vocab[tokens[t + 1]], vocab[guess]]
            for t, guess in enumerate(predicted)]
    rows += [[len(predicted) + k, None, None, vocab[word]]
             for k, word in enumerate([] if generated is None else generated)]
    return ["t", "word", "next", "predicted"], rows


def _prediction_rows(series, one_step, ahead, spread=None, ahead_spread=None,
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


def _emit(out, header, rows, as_json, extra=None):
    """The rows as CSV to --out (atomically) or to standard output; with --json, one JSON
    document on standard output ({"columns", "rows", …extra}) whether or not --out is given."""
    def write_csv(handle):
        writer = csv.writer(handle, lineterminator="\n")  # not the csv module's \r\n
        writer.writerow(header)
        for row in rows:
            # floats as Python writes them: the shortest text that reads back as the same
            # number (the data's values as the file had them; pandas' to_csv does the same)
            writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v
                             for v in row])

    if out:
        with text_output(out) as handle:
            write_csv(handle)
        wrote(out, f"{len(rows)} rows")
    if as_json:
        click.echo(_json({"columns": header, "rows": rows, **(extra or {})}))
    elif not out:
        write_csv(sys.stdout)


def _date_ticks(ax, series, t):
    """The time axis in dates (about six of them) when the data have a date column, else t."""
    dates = getattr(series, "dates", None)
    if not dates:
        ax.set_xlabel("t")
        return
    extra = len(t) - np.sum(t < len(dates))
    labels = list(dates) + (next_dates(dates, int(extra)) or [""] * int(extra))
    ticks = t[np.linspace(0, len(t) - 1, min(6, len(t))).round().astype(int)]
    ax.set_xticks(ticks)
    ax.set_xticklabels([labels[k] for k in ticks], rotation=20, fontsize=8)
    ax.set_xlabel(series.date_column)


def _show_diagnostics(report):
    band = report["band"]
    table = Table(title=f"residual diagnostics on the test rows (n = {report['n']}, 95% band "
                        f"±{band:.3f})")
    table.add_column("lag", justify="right")
    table.add_column("autocorrelation", justify="right")
    for name in report["cross_correlation"]:
        table.add_column(f"cross-corr. {name}", justify="right")

    def cell(v):
        return f"[red]{v:+.3f}[/]" if abs(v) > band else f"{v:+.3f}"

    acf = dict(zip(report["lags"], report["autocorrelation"]))
    for k, lag in enumerate(report["cross_lags"]):  # -L … L; the autocorrelation from 1
        if lag < 1 and not report["cross_correlation"]:
            continue
        table.add_row(str(lag), cell(acf[lag]) if lag in acf else "",
                      *(cell(values[k]) for values in report["cross_correlation"].values()))
    err_console.print(table)  # on stderr: standard output stays the CSV
    err_console.print(report["verdict"])


def _plot_predictions(path, series, one_step, ahead, report, spread=None, ahead_spread=None,
                      members=1, simulated=False):
    """The last 300 rows, their one-step predictions and the free run past the end (an
    ensemble's: the mean, with a band of ±2 spreads, the fan of the free run); dates on the
    time axis when the data have them; the residual diagnostics below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    crossed = bool(report and report["cross_correlation"])
    rows = 1 + bool(report) + crossed
    fig, axes = plt.subplots(rows, 1, figsize=(9, 3.5 * rows), squeeze=False)
    ax = axes[0, 0]
    shown = np.arange(max(0, len(series) - 300), len(series))  # the last 300 rows, readable
    ahead_t = np.arange(len(series), len(series) + (0 if ahead is None else len(ahead)))
    which = "closed-loop simulation" if simulated else "one-step prediction"
    if members > 1:
        which += f", mean of {members} models"
    ax.plot(shown, series.targets[shown, 0], label="true")
    ax.plot(shown, one_step[shown, 0], label=which)
    if spread is not None:
        ax.fill_between(shown, one_step[shown, 0] - 2 * spread[shown, 0],
                        one_step[shown, 0] + 2 * spread[shown, 0], alpha=0.25,
                        label="±2 spreads between the models")
    if ahead is not None:
        ax.plot(ahead_t, ahead[:, 0], label="free-run forecast")
        if ahead_spread is not None:
            ax.fill_between(ahead_t, ahead[:, 0] - 2 * ahead_spread[:, 0],
                            ahead[:, 0] + 2 * ahead_spread[:, 0], alpha=0.25,
                            label="free-run fan, ±2 spreads")
    _date_ticks(ax, series, np.concatenate([shown, ahead_t]))
    ax.set_ylabel(series.target_names[0])
    ax.set_title(series.name)
    ax.legend()
    if report:
        ax = axes[1, 0]
        ax.bar(report["lags"], report["autocorrelation"], label="residual autocorrelation")
        ax.axhline(report["band"], color="grey", ls="--", label="95% band")
        ax.axhline(-report["band"], color="grey", ls="--")
        ax.set_xlabel("lag")
        ax.legend()
    if crossed:  # the first input's cross-correlation, both sides of lag 0
        name, values = next(iter(report["cross_correlation"].items()))
        ax = axes[2, 0]
        ax.bar(report["cross_lags"], values, label=f"cross-correlation of {name} and residuals")
        ax.axhline(report["band"], color="grey", ls="--", label="95% band")
        ax.axhline(-report["band"], color="grey", ls="--")
        ax.set_xlabel(f"lag k ({name} k steps before the residual; k < 0: after it)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@click.command()
@click.argument("checkpoint_paths", metavar="CHECKPOINT...", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--data", default=None,
              help="Data to predict (default: the data the model was trained on); its columns "
                   "must be the ones the model was trained on, by name.")
@data_options
@click.option("--steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also forecast this many steps past the end, feeding back predictions "
                   "(the inputs: --future-inputs, or held at their last value, with a note).")
@click.option("--future-inputs", type=click.Path(dir_okay=False),
              help="A CSV file with the inputs' known values after the last row (columns by "
                   "name, one row per step) for the --steps forecast.")
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help="Engine [default: the checkpoint's, or cpu where this machine lacks it].")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="CSV file for the predictions (default: standard output).")
@click.option("--series", "only", default=None, metavar="NAME",
              help="A model of several series (--series-id): predict only the series NAME "
                   "(needed by --diagnostics and --plot when the data have more than one).")
@click.option("--diagnostics", is_flag=True,
              help="Residual checks: autocorrelation of the errors and their cross-correlation "
                   "with the inputs, with 95% bands (white residuals = a good model).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help=f"Write predictions (and diagnostics) to this image "
                   f"({', '.join('.' + f for f in PLOT_FORMATS)}; needs matplotlib).")
@json_option
def predict(checkpoint_paths, data, target, inputs, series_id, length, missing, steps,
            future_inputs, backend, out, only, diagnostics, plot, as_json):
    """One-step predictions of a trained model (CHECKPOINT), as CSV, and optionally a
    free-run forecast past the end of the data and residual diagnostics.

    The data are read by the column names the model was trained on, in whatever order the
    file has them (a missing column, or --target / --inputs other than the trained ones or in
    another order, is an error) and scaled with the training rows' scalers.

    Several checkpoints (an ensemble: the seeds of a sweep, say) give the mean of their
    predictions and the spread (standard deviation) between them, the free run included.

    A model of several series (trained with --series-id) predicts each series of the data
    it is given (each one it was trained on), a row per series and time, the id first.
    """
    check_plot_path(plot)
    if out:
        check_writable(out, "--out")
    if future_inputs and not steps:
        fail("--future-inputs are for the --steps forecast past the end: give --steps")
    if len(checkpoint_paths) > 1:
        return _predict_ensemble(checkpoint_paths, data, target, inputs, series_id, length,
                                 missing, steps, future_inputs, backend, out, only, diagnostics,
                                 plot, as_json)
    checkpoint_path = checkpoint_paths[0]
    ctx = click.get_current_context()
    if ctx.get_parameter_source("length") == ParameterSource.COMMANDLINE and \
            (data is None or data not in BUILTIN):
        fail("--length is the size of a built-in data set given with --data; without --data "
             "the model's own training rows are used, and a CSV file has its own rows")
    if missing is not None and (data in BUILTIN or data is None):
        fail("--missing applies to a CSV file given with --data (without --data, the model's "
             "training data are read as they were)")
    from minirnn.forecast import free_run

    exp = load_experiment(checkpoint_path)
    spec = exp.data
    check_not_inputs({"--out": out, "--plot": plot},
                     {"the checkpoint": checkpoint_path,
                      "the --data file": data if data not in BUILTIN else None,
                      "the --future-inputs file": future_inputs,
                      "the model's training data": None if data or spec.builtin else spec.source})
    try:
        spec.check_columns(target, inputs)
        _check_series_id(spec, series_id)
        if data is None:
            series = stored_data(spec, checkpoint_path)
        else:
            series = _new_data(spec, data, length, missing or spec.missing)
        check_memory(exp.model, exp.config, len(series))
        check_bytes(BYTES_PER_FORECAST_STEP * steps, f"--steps {steps:,}")
        task = build_task(series, exp.model, spec.difference, exp.scalers, spec.context,
                          spec.horizon, spec.lag_inputs)
        chosen = engine(backend, exp.config["backend"])
        net = exp.build_model(chosen)
        announce_compiling(exp.model, exp.config, chosen)
        if task.kind in ("windows", "text") and future_inputs:
            fail("--future-inputs are for the free run of a one-step model, not "
                 f"{'text' if task.kind == 'text' else 'seq2seq'}")
        if task.kind == "windows":  # seq2seq: its forecast after the last row
            if diagnostics or plot:
                fail("--diagnostics and --plot are for one-step models, not seq2seq")
            if steps and steps != task.horizon:
                note(f"a seq2seq model forecasts its horizon, {task.horizon} values after the "
                     f"last row; --steps {steps} does not change it")
            ahead = task.forecast_after_end(net)
            _emit(out, *_prediction_rows(series, np.full_like(series.targets, np.nan), ahead),
                  as_json)
            return
        if task.kind == "text":  # next words, and words generated after
            if diagnostics or plot:
                fail("--diagnostics and --plot are for numeric series, not text")
            _emit(out, *_word_rows(task, task.predict(net).argmax(-1),
                                   free_run(net, task, steps) if steps else None), as_json)
            return
        # one-step models: the series, or a model of several series' (a row per series and
        # time, the id first), or the one of them chosen with --series
        members = _chosen_series(task, spec, only)
        short = [one.series.name for one in members if len(one.series) < exp.train.bptt]
        if data is not None and short:
            which = "the data have" if not spec.series_id else \
                f"{spec.series_id} {', '.join(map(str, short))}:"
            note(f"the model reads only the rows given, from its initial state: {which} fewer "
                 f"rows than a training chunk ({exp.train.bptt}), so the first predictions "
                 f"know little history; give the rows before them too")
        if (diagnostics or plot) and len(members) > 1:
            fail(f"--diagnostics and --plot take one series; the data have {len(members)} "
                 f"({spec.series_id}): choose one with --series NAME")
        simulated = _simulation_note(exp)
        futures = _future_inputs(future_inputs, spec, members, steps) if steps else None
        rows = []
        for k, one in enumerate(members):
            one_step = one.to_levels(one.predict(net))
            ahead, future_dates = None, None
            if steps:
                future, future_dates = futures[k]
                ahead = one.forecast_levels(free_run(net, one, steps, future_inputs=future))
            header, member_rows = _prediction_rows(one.series, one_step, ahead,
                                                   ahead_dates=future_dates)
            rows += [[one.series.name, *row] for row in member_rows] if spec.series_id else \
                member_rows
        header = [spec.series_id, *header] if spec.series_id else header
        report = residual_diagnostics(one.series, one_step, one) if diagnostics else None
    except USER_ERRORS as error:
        fail_with(error)

    if plot:
        _plot_predictions(plot, one.series, one_step, ahead, report, simulated=simulated)
        wrote(plot, "predictions" + (" and residual diagnostics" if report else ""))
    _emit(out, header, rows, as_json, {"diagnostics": report} if report is not None else None)
    if report is not None and not as_json:
        _show_diagnostics(report)


def _simulation_note(exp: Experiment, quiet: bool = False) -> bool:
    """Whether the model's predictions are a simulation (a closed-loop NARX), with a note
    saying so (what the rows are, what the diagnostics look at, where the forecast starts)."""
    simulated = exp.model == "narx" and exp.config.get("mode") == "closed"
    if simulated and not quiet:
        note("a closed-loop NARX predicts by simulation: each row's prediction comes from its "
             "own outputs fed back from the data's first row, not from the true past values "
             "(the residual diagnostics are of the simulation too); the forecast past the end "
             "runs on from the last observed values")
    return simulated


def _chosen_series(task, spec: DataSpec, only: str | None) -> list:
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


def _predict_ensemble(checkpoint_paths, data, target, inputs, series_id, length, missing,
                      steps, future_inputs, backend, out, only, diagnostics, plot, as_json):
    """The mean and spread of several models' one-step predictions and free runs, on the rows
    they were all trained on (or --data): the models must have been trained on the same
    columns (and series id column), and without --data on the same rows. Models of several
    series give a row per series and time, as one model does."""
    from minirnn.forecast import free_run

    if diagnostics:
        fail("--diagnostics are for one model's residuals; give one checkpoint")
    check_not_inputs({"--out": out, "--plot": plot},
                     {f"the checkpoint {p}": p for p in checkpoint_paths} |
                     {"the --data file": data if data not in BUILTIN else None,
                      "the --future-inputs file": future_inputs})
    series, members, one_steps, aheads, future_dates = None, None, [], [], None
    try:
        for path in checkpoint_paths:
            exp = load_experiment(path)
            spec = exp.data
            spec.check_columns(target, inputs)
            _check_series_id(spec, series_id)
            if series is None:  # the rows: the first model's data, or --data, for every one
                first, columns, rows_of_first = path, spec.columns(), spec.fingerprint
                id_column = spec.series_id
                series = stored_data(spec, path) if data is None else \
                    _new_data(spec, data, length, missing or spec.missing)
                check_memory(exp.model, exp.config, len(series))
                check_bytes(BYTES_PER_FORECAST_STEP * steps, f"--steps {steps:,}")
            elif spec.columns() != columns or spec.series_id != id_column:
                raise DataError(f"{path} was trained on {spec.columns()}"
                                f"{_by_series(spec.series_id)}, {first} on {columns}"
                                f"{_by_series(id_column)}: an ensemble predicts one data set")
            elif data is None and spec.fingerprint != rows_of_first:
                raise DataError(f"{path} was trained on other rows than {first}: give --data "
                                f"to predict the same rows with every model")
            task = build_task(series, exp.model, spec.difference, exp.scalers, spec.context,
                              spec.horizon, spec.lag_inputs)
            if task.kind not in ("series", "panel"):
                raise DataError(f"{path}: an ensemble is of one-step models of a numeric "
                                f"series, not of {exp.model} ({task.kind})")
            members = _chosen_series(task, spec, only)
            simulated = _simulation_note(exp, quiet=path != first)
            if plot and len(members) > 1:
                fail(f"--plot takes one series; the data have {len(members)} ({id_column}): "
                     f"choose one with --series NAME")
            net = exp.build_model(engine(backend, exp.config["backend"]))
            one_steps.append([one.to_levels(one.predict(net)) for one in members])
            if steps:
                futures = _future_inputs(future_inputs, spec, members, steps,
                                         quiet=path != first)
                future_dates = [dates for _, dates in futures]
                aheads.append([one.forecast_levels(free_run(net, one, steps,
                                                            future_inputs=future))
                               for one, (future, _) in zip(members, futures)])
    except USER_ERRORS as error:
        fail_with(error)
    header, rows = None, []
    for k, one in enumerate(members):
        values = [run[k] for run in one_steps]
        mean, spread = np.mean(values, axis=0), np.std(values, axis=0)
        ahead = (np.mean([run[k] for run in aheads], axis=0),
                 np.std([run[k] for run in aheads], axis=0)) if steps else (None, None)
        header, member_rows = _prediction_rows(one.series, mean, ahead[0], spread, ahead[1],
                                               future_dates[k] if steps else None)
        rows += [[one.series.name, *row] for row in member_rows] if id_column else member_rows
    header = [id_column, *header] if id_column else header
    if plot:
        _plot_predictions(plot, one.series, mean, ahead[0], None, spread, ahead[1],
                          len(checkpoint_paths), simulated=simulated)
        wrote(plot, f"the ensemble of {len(checkpoint_paths)} models")
    _emit(out, header, rows, as_json, {"members": len(checkpoint_paths)})


def _by_series(id_column) -> str:
    return f" of each series by {id_column!r}" if id_column else ""


def _check_series_id(spec: DataSpec, series_id):
    """predict's --series-id, when given, must be the column the model was trained with."""
    if series_id is not None and series_id != spec.series_id:
        trained = f"--series-id {spec.series_id}" if spec.series_id else "one series (no " \
            "--series-id)"
        raise DataError(f"the model was trained on {trained}; --series-id {series_id} cannot "
                        f"change that")


def _future_inputs(path, spec: DataSpec, members: list, steps: int, quiet: bool = False):
    """For each of ``members`` (the one-step tasks of the series to forecast), the inputs after
    its last row, scaled as the model reads them, from the --future-inputs file (its columns
    by the names the model was trained on; for a model of several series, the id column too,
    unless one series is forecast); without the file, None, and a note that the inputs are
    held (a free run cannot know them). Each as (inputs, their dates or None). Dates in both
    files: the future rows must come after the data's last."""
    if not spec.inputs:
        if path:
            raise DataError("--future-inputs: the model has no input columns")
        return [(None, None)] * len(members)
    if path is None:
        if not quiet:
            note(f"the inputs ({', '.join(spec.inputs)}) are held at their last value for "
                 f"the {steps} steps ahead; --future-inputs FILE.csv gives their known values")
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
        scaled.append((one.input_scaler.transform(future.targets[:needed]), future.dates))
    return scaled


def _new_data(spec: DataSpec, data: str, length: int, missing: str = "error"):
    """Other rows for a trained model: read by its column names."""
    from minirnn.data.text import TextSeries

    if data in BUILTIN:
        series = load_data(data, None, None, length, spec.seed or 0)
        text = isinstance(series, TextSeries)
        if text != (spec.source == "text") or (not text and (
                list(series.target_names) != spec.target or
                list(series.input_names) != spec.inputs)):
            found = "words" if text else (f"target {', '.join(series.target_names)}; inputs "
                                          f"{', '.join(series.input_names) or 'none'}")
            needed = "words" if spec.source == "text" else spec.columns()
            raise DataError(f"the model was trained on {needed}; {data} has {found}")
        return series
    if spec.source == "text":
        raise DataError("the model was trained on the text corpus; a CSV file has no words")
    try:
        return load_data(data, ",".join(spec.target), ",".join(spec.inputs) or None,
                         missing=missing, series_id=spec.series_id)
    except DataError as error:
        if error.reason == "several series":  # a long-format file for a model of one series
            raise DataError(f"{error.message}: the model was trained on one series; give it a "
                            f"file of one series") from None
        if error.reason == "absent id column":
            raise DataError(f"{error} (the model was trained on several series, named by "
                            f"{spec.series_id!r})") from None
        if error.reason == "absent column":
            raise DataError(f"{error} (the model was trained on {spec.columns()})") from None
        raise
