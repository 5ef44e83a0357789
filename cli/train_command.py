"""``minirnn train``: fit a model to a series, or continue a checkpoint's run.

The experiment lives in the library (``minirnn.app.training``: the options, a new or resumed
run, its training and scores); this module parses the options, checks paths before any work,
shows progress and results (``present``).
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path

import click
from click.core import ParameterSource

from minirnn.catalog import (BACKENDS, BUILTIN_DATA, CELLS, CONNECTIVITIES, DTYPES,
                             MODEL_OPTIONS, OPTIMIZERS, TRANSFORMS)

from .common import (PLOT_FORMATS, USER_ERRORS, FiniteFloat, announce_compiling,
                     check_checkpoint_out, check_interrupted, check_not_inputs, check_plot_path,
                     data_options, fail, fail_with, interrupts_deferred, interrupts_held,
                     json_option, note, progress_bar, wrote)

@click.command()
@click.argument("model", type=click.Choice(list(MODEL_OPTIONS)), required=False)
@click.option("--data", default=None,
              help=f"A built-in data set ({', '.join(BUILTIN_DATA)}) or a CSV file (with --resume: "
                   f"the checkpoint's data by default).")
@data_options
@click.option("--context", type=click.IntRange(min=1), default=20, show_default=True,
              help="seq2seq: rows the encoder reads before each forecast.")
@click.option("--horizon", type=click.IntRange(min=1), default=5, show_default=True,
              help="Steps ahead: the k of the k-step errors reported beside the one-step and "
                   "free-run ones (seq2seq: the values its decoder forecasts).")
@click.option("--difference", is_flag=True,
              help="Model the changes y_t - y_{t-1} instead of the levels (trending series).")
@click.option("--seasonal-period", type=click.IntRange(min=0), default=None,
              help="The seasonal period P in rows: the seasonal naive forecast y_{t-P} is "
                   "scored beside the naive one [default: from an evenly spaced date column, "
                   "12 for months, 4 quarters, 52 weeks, 7 days, 24 hours; 0: none].")
@click.option("--seasonal-difference", is_flag=True,
              help="Model the seasonal changes y_t - y_{t-P} (with --difference: of the "
                   "changes), undone for every prediction and score.")
@click.option("--transform", type=click.Choice(TRANSFORMS), default="none", show_default=True,
              help="Power transform of the targets before differencing and scaling: log, or "
                   "Box-Cox with λ fitted on the training rows (positive data only); undone "
                   "for every prediction and score.")
@click.option("--lag-inputs", is_flag=True,
              help="Read the inputs one step late, u_{t-1}, for forecasting with inputs known "
                   "only once their step has passed (default: u_t, known at time t, as a "
                   "plant's driving input is in system identification).")
@click.option("--hidden", type=click.IntRange(min=1), default=16, show_default=True,
              help="Hidden units (per layer).")
@click.option("--layers", type=click.IntRange(min=1), default=None, help="multilayer: layers.",
              show_default=str(MODEL_OPTIONS["multilayer"]["num_layers"]))
@click.option("--connectivity", type=click.Choice(CONNECTIVITIES), default=None,
              help="multilayer: how the layers connect.",
              show_default=MODEL_OPTIONS["multilayer"]["connectivity"])
@click.option("--window", type=click.IntRange(min=1), default=None, help="sliding: window.",
              show_default=str(MODEL_OPTIONS["sliding"]["window"]))
@click.option("--input-delays", type=click.IntRange(min=0), default=None,
              help="narx: input delays L.",
              show_default=str(MODEL_OPTIONS["narx"]["input_delays"]))
@click.option("--output-delays", type=click.IntRange(min=1), default=None,
              help="narx: output delays K.",
              show_default=str(MODEL_OPTIONS["narx"]["output_delays"]))
@click.option("--mode", type=click.Choice(["open", "closed"]), default=None,
              help="narx: open (true past outputs) or closed loop (own predictions).",
              show_default=MODEL_OPTIONS["narx"]["mode"])
@click.option("--open-epochs", type=click.IntRange(min=0), default=None,
              help="narx --mode closed: epochs trained in open loop (true past outputs) before "
                   "the loop is closed and the same weights fine-tuned [default: half of "
                   "--epochs, fixed when the run begins: --resume with more --epochs keeps "
                   "it]; early stopping counts from the closing.")
@click.option("--mu", type=FiniteFloat(0, 1, max_open=True), default=None,
              help="jordan: memory decay μ in [0, 1).",
              show_default=str(MODEL_OPTIONS["jordan"]["mu"]))
@click.option("--learn-mu", is_flag=True, default=None, help="jordan: learn μ too.")
@click.option("--cell", type=click.Choice(CELLS), default=None,
              help="multilayer, seq2seq: the recurrent cell of each layer [default: elman].")
@click.option("--learn-initial-state", is_flag=True, default=None,
              help="lstm, gru: learn the initial state (h0, and c0 for an LSTM) instead of "
                   "starting from zeros.")
@click.option("--memory-size", type=click.IntRange(min=1), default=None,
              help="memory: memory units.", show_default="--hidden")
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
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Parallel streams the training rows are cut into [default: 8; lbfgs, lm: "
                   "1, the series whole, which a closed-loop narx runs as it is scored].")
@click.option("--bptt", type=click.IntRange(min=1), default=50, show_default=True,
              help="Chunk length of truncated BPTT.")
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Learning rate [default: 0.01; lbfgs: 1, the first step length tried; lm "
                   "takes none].")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="adam",
              show_default=True,
              help="Optimiser: adam, adamw, sgd step on each chunk of --bptt steps; lbfgs and "
                   "lm (Levenberg-Marquardt, least squares) are second-order, full batch: "
                   "each epoch makes --iterations iterations on the whole training set, for "
                   "small networks fitted to the end (narx, as in system identification).")
@click.option("--iterations", type=click.IntRange(min=1), default=20, show_default=True,
              help="lbfgs, lm: iterations per epoch on the whole training set.")
@click.option("--clip", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="Global gradient-norm clipping (0: off).")
@click.option("--train-horizon", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train on the error of free runs of this many steps from every K-th row "
                   "(the model's own outputs fed back, closed-loop BPTT), for forecasts "
                   "further ahead; 1: one-step training. Not for NARX (--mode closed) or "
                   "seq2seq.")
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
              help="Checkpoint to write (.npz): the best weights so far and the state to "
                   "continue from, written when validation improves (at most a fortieth of the "
                   "run's time spent writing: a fast model's improvements every few epochs), "
                   "every --checkpoint-every seconds, at the end and on Ctrl-C or SIGTERM "
                   "(default with --resume: the resumed file).")
@click.option("--checkpoint-every", type=FiniteFloat(min=0), default=30.0, show_default=True,
              help="Seconds between two writes of --out while validation does not improve "
                   "(0: after every epoch, whatever it costs). A killed run resumes from the "
                   "last write, redoing the epochs since, to the same result.")
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
          difference, seasonal_period, seasonal_difference, transform, lag_inputs, hidden,
          layers, connectivity, window, input_delays,
          output_delays, mode, open_epochs, mu, learn_mu, cell, learn_initial_state,
          memory_size, activation, backend,
          dtype, epochs, batch, bptt, lr, optimizer, iterations, clip, train_horizon, patience,
          seed,
          data_seed,
          deterministic, checkpoint_every, out, resume, overwrite, plot, as_json):
    """Train MODEL on a series and report train / validation / test errors (with --resume,
    MODEL may be left out: the checkpoint names it).

    The data are split in time into 70% training, 15% validation and 15% test rows, scaled on
    the training rows only. The task is one-step-ahead forecasting of the target column(s)
    (seq2seq: the next --horizon values from --context rows; the text corpus: the next word).
    The table compares the model with a naive forecast (the last value; for text the most
    frequent next word): a model is only useful where it beats it.

    With --out, the checkpoint is written when validation improves (keeping the writes to a
    fortieth of the run's time), every --checkpoint-every seconds, at the end and on Ctrl-C
    or SIGTERM; --resume continues it at its next epoch (weights, optimiser state, best
    score, history) exactly as the uninterrupted run would have gone on. The best weights in
    --out are only ever replaced by better ones.

    \b
    Examples:
      minirnn train statespace --data sine --epochs 10
      minirnn train seq2seq --data sine --context 30 --horizon 10
      minirnn train narx --data narendra --mode closed --out narx.npz
      minirnn train narx --data narendra --mode closed --optimizer lbfgs
      minirnn train narx --resume narx.npz --epochs 60
      minirnn train elman --data prices.csv --target close --inputs volume,open
    """
    given = {name for name in ctx.params
             if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE}
    if model is None and resume is None:
        raise click.UsageError("Missing argument 'MODEL' (or --resume a checkpoint).")
    out = _check_paths(out, resume, plot, data)
    from minirnn.app.training import TrainOptions, check_out, prepare
    from minirnn.checkpoint import WriterLock

    options = TrainOptions(
        model=model, data=data, target=target, inputs=inputs, series_id=series_id,
        length=length, missing=missing, context=context, horizon=horizon,
        difference=difference, seasonal_period=seasonal_period,
        seasonal_difference=seasonal_difference, transform=transform,
        lag_inputs=lag_inputs, hidden=hidden, layers=layers,
        connectivity=connectivity, window=window, input_delays=input_delays,
        output_delays=output_delays, mode=mode, open_epochs=open_epochs, mu=mu,
        learn_mu=learn_mu, cell=cell, learn_initial_state=learn_initial_state,
        memory_size=memory_size, activation=activation, backend=backend,
        dtype=dtype, epochs=epochs, batch=batch, bptt=bptt, lr=lr, optimizer=optimizer,
        iterations=iterations, clip=clip, train_horizon=train_horizon, patience=patience,
        seed=seed, data_seed=data_seed,
        deterministic=deterministic, checkpoint_every=checkpoint_every,
        given=frozenset(given))
    try:
        with WriterLock(out) if out else nullcontext():
            if out:
                check_out(out, resume, overwrite)
            if resume is None and data is None:
                raise click.UsageError("Missing option '--data' (a data set or CSV file), or "
                                       "--resume a checkpoint.")
            run = prepare(options, resume, on_note=note)
            _train(run, out, plot, as_json, checkpoint_every)
    except USER_ERRORS as error:
        fail_with(error)


def _check_paths(out, resume, plot, data):
    """The files the run will write, checked before any work: --plot's format and folder;
    --out (by default the resumed checkpoint) a .npz where a regular file can go, neither
    of them the data being read. Returns --out."""
    check_plot_path(plot)
    if resume is not None and out is None:
        out = resume  # continue the checkpoint where it is
    if out is not None:
        check_checkpoint_out(out, data)
    check_not_inputs({"--out": out, "--plot": plot},
                     {"the --data file": data if data not in BUILTIN_DATA else None})
    return out


def _train(run, out, plot, as_json, every):
    """Train, writing the checkpoint as ``fit_run`` does (``every``: the seconds between
    writes while validation does not improve; a signal waits for a write, has the last
    completed epoch written, then ends the run with a line saying what the file holds); then
    report."""
    from minirnn.app.training import finish_run, fit_run, stream_note

    from .present import plot_training
    exp = run.experiment
    announce_compiling(exp.model, exp.config, exp.config["backend"])
    stream = stream_note(run.task, exp.train.batch)
    if stream:
        note(stream)
    first_epoch, epochs = run.resumed_at, exp.train.epochs
    if 0 < first_epoch < epochs and exp.run.waited < exp.train.patience:
        note(f"resuming at epoch {first_epoch + 1} of {epochs}")
    saved = []  # epochs this run has written to --out
    started, seen = time.perf_counter(), [0]
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

        try:
            result = fit_run(run, out, on_chunk, on_saved=saved.append,
                             writing=interrupts_deferred, every=every)
        except KeyboardInterrupt:
            with interrupts_held():  # a second Ctrl-C meanwhile would cut the line short
                progress.stop()
                _interrupted(out, saved or first_epoch)
    if result.best_state is None:  # diverged before any epoch was scored: nothing worth keeping
        fail(result.stopped)
    summary = finish_run(run, result, out, writing=interrupts_deferred)
    if out:
        wrote(out, f"checkpoint: best epoch {result.best_epoch} of {result.epoch}")
    if plot:
        plot_training(plot, result.history, run.task, run.net, summary["metrics"],
                      result.best_epoch, exp.train.open_loop_epochs,
                      exp.model == "narx" and exp.config.get("mode") == "closed")
        wrote(plot, "learning curves and predictions")
    _report(run, result, summary, as_json)


def _interrupted(out, kept_this_run):
    """End an interrupted run, saying what --out holds now."""
    from minirnn.experiment import Experiment

    kept = ""
    if out and kept_this_run:  # the file holds this run (what it holds is read: the signal
        kept = (f"; {out} holds epoch {Experiment.load(out).run.epoch}: "  # may have cut a
                f"continue with --resume {out}")  # write)
    elif out and Path(out).exists():
        kept = f" before the first epoch; {out} still holds what it held"
    fail(f"interrupted{kept}")


def _report(run, result, summary, as_json):
    """The scores as one JSON document or as tables; a hint; a diverged run's error."""
    from minirnn.app.training import range_hint

    from .present import as_json_document, show_metrics, show_series

    exp, series, by_series = run.experiment, run.series, summary.get("by_series")
    if as_json:
        if result.diverged:
            summary["error"] = result.stopped
        click.echo(as_json_document(summary))
    else:
        show_metrics(exp.model, exp.config, series, summary["metrics"], result, run.task,
                     summary["further_ahead"])
        if by_series:
            closed = exp.model == "narx" and exp.config.get("mode") == "closed"
            show_series(series.id_column, by_series, exp.data.horizon,
                        "simulated" if closed else "one-step", list(series.target_names))
    hint = range_hint(run.task)
    if hint:
        note(hint)
    if result.diverged:
        fail(result.stopped, json_sent=as_json)
