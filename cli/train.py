"""``minirnn train`` and ``minirnn predict``: fit a model to a series, and use it."""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import click
import numpy as np
from rich.table import Table

from minirnn import checkpoint
from minirnn.data.series import BUILTIN, DataError, load_series
from minirnn.data.task import build_task, task_scalers
from minirnn.diagnostics import residual_diagnostics
from minirnn.models import BACKENDS
from minirnn.models.multilayer import CONNECTIVITIES
from minirnn.models.registry import MODEL_OPTIONS, build_model, model_config
from minirnn.optim import OPTIMIZERS
from minirnn.train import TrainConfig, evaluate, fit, predict as predict_rows

from .common import (backends_option, console, err_console, fail, fail_with, json_option,
                     progress_bar)

USER_ERRORS = (DataError, checkpoint.CheckpointError, ValueError, TypeError, RuntimeError)
SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values) -> str:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return ""
    lo, hi = values.min(), values.max()
    scaled = np.zeros(values.size, int) if hi == lo else \
        np.round((values - lo) / (hi - lo) * (len(SPARK) - 1)).astype(int)
    return "".join(SPARK[i] for i in scaled)


def data_options(f):
    """--data, --target, --inputs, --length: shared by train and predict."""
    f = click.option("--length", type=click.IntRange(min=10), default=2000, show_default=True,
                     help="Rows of a built-in data set.")(f)
    f = click.option("--inputs", default=None,
                     help="CSV: exogenous input columns, comma-separated.")(f)
    f = click.option("--target", default=None,
                     help="CSV: the column(s) to predict, comma-separated.")(f)
    return f


@click.command()
@click.argument("model", type=click.Choice(list(MODEL_OPTIONS)))
@click.option("--data", required=True,
              help=f"A built-in data set ({', '.join(BUILTIN)}) or a CSV file.")
@data_options
@click.option("--context", type=click.IntRange(min=1), default=20, show_default=True,
              help="seq2seq: rows the encoder reads before each forecast.")
@click.option("--horizon", type=click.IntRange(min=1), default=5, show_default=True,
              help="seq2seq: values the decoder forecasts.")
@click.option("--difference", is_flag=True,
              help="Model the changes y_t - y_{t-1} instead of the levels (trending series).")
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
@click.option("--mu", type=float, default=None, help="jordan: memory decay μ in [0, 1).")
@click.option("--learn-mu", is_flag=True, default=None, help="jordan: learn μ too.")
@click.option("--memory-size", type=click.IntRange(min=1), default=None,
              help="memory: memory units.")
@click.option("--activation", type=click.Choice(["tanh", "sigmoid", "relu", "identity"]),
              default="tanh", show_default=True, help="Hidden activation f.")
@click.option("--backend", type=click.Choice(BACKENDS), default="cpu", show_default=True,
              help="Engine.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32",
              show_default=True, help="Floating-point type.")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Passes over the training rows (at most).")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True,
              help="Parallel streams the training rows are cut into.")
@click.option("--bptt", type=click.IntRange(min=1), default=50, show_default=True,
              help="Chunk length of truncated BPTT.")
@click.option("--lr", type=float, default=0.01, show_default=True, help="Learning rate.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default="adam",
              show_default=True, help="Optimiser.")
@click.option("--clip", type=float, default=1.0, show_default=True,
              help="Global gradient-norm clipping (0: off).")
@click.option("--patience", type=click.IntRange(min=1), default=5, show_default=True,
              help="Epochs without validation improvement before stopping.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the weights and of built-in data.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to write (.npz), the best weights so far.")
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue from this checkpoint (its model and scalers).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write learning curves and test predictions to this PNG (needs matplotlib).")
@json_option
def train(model, data, target, inputs, length, context, horizon, difference, hidden, layers,
          connectivity, window, input_delays, output_delays, mode, mu, learn_mu, memory_size,
          activation, backend, dtype, epochs, batch, bptt, lr, optimizer, clip, patience, seed,
          out, resume, plot, as_json):
    """Train MODEL on a series and report train / validation / test errors.

    The data are split in time into 70% training, 15% validation and 15% test rows, scaled on
    the training rows only. The task is one-step-ahead forecasting of the target column(s)
    (seq2seq: the next --horizon values from --context rows; the text corpus: the next word).
    The table compares the model with a naive forecast (the last value; for text the most
    frequent next word): a model is only useful where it beats it.

    \b
    Examples:
      minirnn train statespace --data sine --epochs 10
      minirnn train seq2seq --data sine --context 30 --horizon 10
      minirnn train narx --data narendra --mode closed --out narx.npz
      minirnn train elman --data prices.csv --target close --inputs volume,open
    """
    if backend == "cuda":
        backends_option("cuda")
    if plot:
        _require_matplotlib()
    try:
        series = load_series(data, target, inputs, steps=length, seed=seed)
        if resume:
            net, meta = checkpoint.load(resume)
            if meta["model"] != model:
                fail(f"{resume} holds a {meta['model']} model, not {model}")
            config = meta["config"]
            difference = meta["data"].get("difference", False)  # the task is the checkpoint's
            context = meta["data"].get("context", context)
            horizon = meta["data"].get("horizon", horizon)
            task = build_task(series, model, difference, meta["scalers"], context, horizon)
            if task.model_input_size != config["input_size"]:
                fail(f"{resume} was trained on {config['input_size']} input column(s); this "
                     f"data gives {task.model_input_size}")
        else:
            task = build_task(series, model, difference, context=context, horizon=horizon)
            options = dict(num_layers=layers, connectivity=connectivity, window=window,
                           input_delays=input_delays, output_delays=output_delays, mode=mode,
                           mu=mu, learn_mu=learn_mu, memory_size=memory_size,
                           activation=activation, backend=backend, dtype=dtype, seed=seed)
            config = model_config(model, task.model_input_size, task.output_size, hidden,
                                  **options)
            net = build_model(model, config)
        train_config = TrainConfig(epochs=epochs, batch=batch, bptt=bptt, lr=lr,
                                   optimizer=optimizer, clip=clip, patience=patience)
        train_config.check()
    except USER_ERRORS as error:
        fail_with(error)

    meta = {"data": {"source": data, "target": getattr(series, "target_names", []),
                     "inputs": getattr(series, "input_names", []), "length": length,
                     "seed": seed, "difference": difference, "context": context,
                     "horizon": horizon},
            "scalers": task_scalers(task), "train": vars(train_config)}

    def save_best(epoch, record):
        if out:
            checkpoint.save(out, model, config, net, {**meta, "best": record})

    started, seen = time.perf_counter(), [0]
    interrupted = False
    with progress_bar() as progress:
        # the first chunk also compiles the kernels when Numba's cache is empty (about 10 s)
        bar = progress.add_task("first chunk (a first run compiles the kernels)", total=None)

        def on_chunk(epoch, chunk, chunks, loss, norm, steps):
            seen[0] += steps
            rate = seen[0] / max(time.perf_counter() - started, 1e-9)
            progress.update(bar, total=epochs * chunks, completed=epoch * chunks + chunk + 1,
                            description=f"epoch {epoch + 1}/{epochs}  loss {loss:.4f}  "
                                        f"|g| {norm:.2f}  {rate:,.0f} steps/s")

        try:
            result = fit(net, task, train_config, on_chunk=on_chunk, on_improve=save_best)
        except KeyboardInterrupt:
            interrupted = True
            result = None
        except USER_ERRORS as error:
            fail_with(error)
    if interrupted:
        kept = f"; the best checkpoint so far is in {out}" if out and Path(out).exists() else ""
        fail(f"interrupted{kept}")

    if result.best_state is None:  # diverged before any epoch was scored: nothing worth keeping
        fail(result.stopped)
    scores = evaluate(net, task)
    if out:
        checkpoint.save(out, model, config, net, {**meta, "metrics": scores,
                                                  "history": result.history})
    if plot:
        _plot_training(plot, result.history, task, net)
    summary = {"model": model, "config": config, "stopped": result.stopped,
               "best_epoch": result.best_epoch, "history": result.history, "metrics": scores,
               "checkpoint": out}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _show_metrics(model, series, scores, result, task)
    if result.diverged:
        fail(result.stopped)


def _show_metrics(model, series, scores, result, task):
    if task.kind == "text":
        what = "next-word predictions"
    else:
        ahead = f"{task.horizon}-step" if task.kind == "windows" else "one-step"
        what = f"{ahead} forecasts of {', '.join(series.target_names)}"
    table = Table(title=f"{model} on {series.name}: {what}")
    table.add_column("split")
    metric_names = [n for n, v in scores["train"]["model"].items() if np.isscalar(v)]
    naive_names = list(scores["train"]["naive"])
    for name in metric_names:
        table.add_column(name.replace("_", " "), justify="right")
    for name in naive_names:
        table.add_column(f"naive {name.replace('_', ' ')}", justify="right")
    table.add_column("beats naive", justify="right")
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
    losses = [h["train_loss"] for h in result.history]
    if losses:
        console.print(f"training loss by epoch  {sparkline(losses)}  "
                      f"({losses[0]:.4g} → {losses[-1]:.4g}); best epoch {result.best_epoch}; "
                      f"{result.stopped}")


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        fail("--plot needs matplotlib: pip install 'minirnn[plot]'")


def _plot_training(path, history, task, net):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 7))
    epochs = [h["epoch"] for h in history]
    ax1.plot(epochs, [h["train_loss"] for h in history], label="training loss (scaled MSE)")
    ax1.plot(epochs, [h[f"val_{task.metric}"] for h in history],
             label=f"validation {task.metric}")
    ax1.set_xlabel("epoch")
    ax1.legend()
    if task.kind != "series":  # text, windows: the learning curves say it all
        ax2.set_visible(False)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return
    test = task.splits()["test"]
    predicted = task.to_levels(predict_rows(net, task))[test]
    ax2.plot(task.series.targets[test, 0], label="true")
    ax2.plot(predicted[:, 0], label="predicted")
    ax2.set_title("test rows")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@click.command()
@click.argument("checkpoint_path", metavar="CHECKPOINT", type=click.Path(dir_okay=False))
@click.option("--data", default=None,
              help="Data to predict (default: the data the model was trained on).")
@data_options
@click.option("--steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also forecast this many steps past the end, feeding back predictions "
                   "(exogenous inputs held at their last value).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="CSV file for the predictions (default: standard output).")
@click.option("--diagnostics", is_flag=True,
              help="Residual checks: autocorrelation of the errors and their cross-correlation "
                   "with the inputs, with 95% bands (white residuals = a good model).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write predictions (and diagnostics) to this PNG (needs matplotlib).")
@json_option
def predict(checkpoint_path, data, target, inputs, length, steps, out, diagnostics, plot,
            as_json):
    """One-step predictions of a trained model (CHECKPOINT), as CSV, and optionally a
    free-run forecast past the end of the data and residual diagnostics."""
    if plot:
        _require_matplotlib()
    from minirnn.forecast import free_run

    try:
        net, meta = checkpoint.load(checkpoint_path)
        trained_on = meta["data"]
        series = load_series(data or trained_on["source"],
                             target or ",".join(trained_on["target"]),
                             inputs if inputs is not None else ",".join(trained_on["inputs"]),
                             steps=length if data else trained_on["length"],
                             seed=trained_on["seed"])
        task = build_task(series, meta["model"], trained_on.get("difference", False),
                          meta["scalers"], trained_on.get("context", 20),
                          trained_on.get("horizon", 5))
        if task.model_input_size != meta["config"]["input_size"]:
            fail(f"the model reads {meta['config']['input_size']} input column(s); this data "
                 f"gives {task.model_input_size}")
        if task.kind == "windows":  # seq2seq: its forecast after the last row
            if diagnostics or plot:
                fail("--diagnostics and --plot are for one-step models, not seq2seq")
            ahead = task.forecast_after_end(net)
            _write_predictions(out, series, np.full_like(series.targets, np.nan), ahead)
            return
        if task.kind == "text":  # next words, and words generated after
            if diagnostics or plot:
                fail("--diagnostics and --plot are for numeric series, not text")
            _write_words(out, task, predict_rows(net, task).argmax(-1),
                         free_run(net, task, steps) if steps else None)
            return
        one_step = task.to_levels(predict_rows(net, task))
        ahead = task.forecast_levels(free_run(net, task, steps)) if steps else None
    except USER_ERRORS as error:
        fail_with(error)

    report = residual_diagnostics(series, one_step, task) if diagnostics else None
    _write_predictions(out, series, one_step, ahead)
    if plot:
        _plot_predictions(plot, series, one_step, ahead, report)
    if report is not None:
        if as_json:
            click.echo(json.dumps(report, indent=2), err=out is None)
        else:
            _show_diagnostics(report)


def _write_words(out, task, predicted, generated):
    """CSV: each word, the word that followed, the model's guess; then generated words."""
    vocab = task.series.vocabulary
    handle = open(out, "w", newline="") if out else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(["t", "word", "next", "predicted"])
        tokens = task.series.tokens
        for t, guess in enumerate(predicted):
            writer.writerow([t, vocab[tokens[t]], vocab[tokens[t + 1]], vocab[guess]])
        for k, word in enumerate([] if generated is None else generated):
            writer.writerow([len(predicted) + k, "", "", vocab[word]])
    finally:
        if out:
            handle.close()


def _write_predictions(out, series, one_step, ahead):
    names = series.target_names
    handle = open(out, "w", newline="") if out else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(["t"] + [f"{n}" for n in names] + [f"{n}_predicted" for n in names])
        for t in range(len(series)):
            writer.writerow([t] + [f"{v:.6g}" for v in series.targets[t]] +
                            ["" if np.isnan(v) else f"{v:.6g}" for v in one_step[t]])
        for k in range(0 if ahead is None else len(ahead)):
            writer.writerow([len(series) + k] + [""] * len(names) +
                            [f"{v:.6g}" for v in ahead[k]])
    finally:
        if out:
            handle.close()


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

    for k, lag in enumerate(report["lags"]):
        table.add_row(str(lag), cell(report["autocorrelation"][k]),
                      *(cell(values[k]) for values in report["cross_correlation"].values()))
    err_console.print(table)  # on stderr: standard output stays the CSV
    err_console.print(report["verdict"])


def _plot_predictions(path, series, one_step, ahead, report):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = 2 if report else 1
    fig, axes = plt.subplots(rows, 1, figsize=(9, 3.5 * rows), squeeze=False)
    ax = axes[0, 0]
    shown = np.arange(max(0, len(series) - 300), len(series))  # the last 300 rows, readable
    ax.plot(shown, series.targets[shown, 0], label="true")
    ax.plot(shown, one_step[shown, 0], label="one-step prediction")
    if ahead is not None:
        ax.plot(np.arange(len(series), len(series) + len(ahead)), ahead[:, 0],
                label="free-run forecast")
    ax.set_xlabel("t")
    ax.set_ylabel(series.target_names[0])
    ax.legend()
    if report:
        ax = axes[1, 0]
        ax.bar(report["lags"], report["autocorrelation"], label="residual autocorrelation")
        ax.axhline(report["band"], color="grey", ls="--", label="95% band")
        ax.axhline(-report["band"], color="grey", ls="--")
        ax.set_xlabel("lag")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
