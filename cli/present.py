"""What the commands show: tables of scores, sparklines, figures, the JSON document.

Everything here is presentation of what the library (``minirnn.app``) gives back; nothing
computes a result.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.markup import escape
from rich.table import Table

from minirnn.data.dates import next_dates

from .common import console, err_console, fail

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 40  # marks at most in a sparkline: a long run's curve stays on its line


def save_figure(fig, path):
    """Write the figure whole or not at all (``checkpoint.atomic_write``; to a device that
    exists, directly) and close it; a failed write (a full disk) is one line naming the file,
    and leaves nothing behind."""
    import matplotlib.pyplot as plt

    from minirnn.checkpoint import atomic_write

    target = Path(path).resolve()
    kind = target.suffix.lower().lstrip(".")
    try:
        if target.exists() and not target.is_file():
            fig.savefig(path, dpi=100, format=kind)
        else:
            with atomic_write(path) as handle:
                fig.savefig(handle, dpi=100, format=kind)
    except OSError as error:
        fail(f"--plot {path}: cannot write it ({error.strerror or error})")
    finally:
        plt.close(fig)


def as_json_document(document) -> str:
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



def number(value: float) -> str:
    """4 significant digits in at most 8 characters: 2.315e5, not 2.315e+05."""
    return f"{value:.4g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def show_series(id_column: str, by_series: dict, k: int, first: str, targets: list):
    """The test rows of each series: the model's RMSE one step (``first`` names what that
    column is; with a seasonal period, beside the seasonal naive one's too), k steps ahead and
    in a free run, each beside its naive counterpart (green where the model beats it); a
    blank k-step cell: fewer than k test rows."""
    over = f" (over {', '.join(targets)})" if len(targets) > 1 else ""
    seasonal = any("seasonal_naive" in r["metrics"]["test"] for r in by_series.values())
    table = Table(title=f"test RMSE per {id_column}{over}: model, naive", box=None,
                  padding=(0, 1))
    names = (id_column, "rows", first, "naive", *(("seasonal",) if seasonal else ()),
             f"{k}-step", "naive", "free run", "naive")
    for name in names:
        table.add_column(name, justify="left" if name == id_column else "right",
                         overflow="fold" if name == id_column else "ellipsis",
                         no_wrap=name != id_column)
    for name, report in by_series.items():
        test, further = report["metrics"]["test"], report["further_ahead"]
        one_step = {who: test[who]["rmse"] for who in ("model", "naive", "seasonal_naive")
                    if who in test}
        cells = []
        for part in (one_step, further["k_step"], further["free_run"]):
            if part is None:
                cells += ["", ""]
                continue
            colour = "green" if part["model"] < part["naive"] else "red"
            cells += [f"[{colour}]{number(part['model'])}[/]", number(part["naive"])]
            if part is one_step and seasonal:
                cells.append(number(part["seasonal_naive"]))
        table.add_row(escape(name), str(report["rows"]["test"]), *cells)
    console.print(table)
    if any(report["further_ahead"]["k_step"] is None for report in by_series.values()):
        console.print(f"(a blank {k}-step cell: that series has fewer than {k} test rows)")
    if seasonal:
        console.print("(seasonal: the seasonal naive forecast one step ahead; further ahead, "
                      "in the JSON document)")


def show_metrics(model, config, series, scores, result, task, further=None):
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
                  caption="blank: the accuracy of the word after \"is\", which the clue decides;"
                          " blank p: the geometric mean of the probability given to it"
                  if task.kind == "text" else None)
    table.add_column("split")
    # a panel's MAE (in its JSON) would make the table wider than 80 columns
    shown = [n for n, v in scores["train"]["model"].items()
             if np.isscalar(v) and not (task.kind == "panel" and n == "mae")]
    baselines = [who for who in ("naive", "seasonal_naive") if who in scores["train"]]
    # beside the seasonal naive forecast too, the baselines show the task's metric alone; for
    # text the bigram's blank scores alone (its accuracy over every word is in the JSON)
    naive_names = [n for n in scores["train"]["naive"] if n in shown
                   and (len(baselines) == 1 or n == task.metric)
                   and (task.kind != "text" or n.startswith("blank") or n == task.metric)]
    short = {"blank_accuracy": "blank", "blank_likelihood": "blank p",
             "perplexity": "perp-\nlexity"}  # fits 80 columns
    label = {"naive": "naive", "seasonal_naive": "seasonal\nnaive"}
    for name in shown:
        table.add_column(short.get(name, name.replace("_", " ")), justify="right")
    for who in baselines:
        for name in naive_names:
            table.add_column(f"{label[who]}\n{short.get(name, name.replace('_', ' '))}",
                             justify="right")
    for who in baselines:
        table.add_column(f"beats\n{label[who].splitlines()[0]}", justify="right")
    for split, s in scores.items():
        ours = s["model"][task.metric]
        beats = [ours < s[who][task.metric] if task.lower_is_better else
                 ours > s[who][task.metric] for who in baselines]
        table.add_row(split, *(f"{s['model'][n]:.4g}" for n in shown),
                      *(f"{s[who][n]:.4g}" for who in baselines for n in naive_names),
                      *("[green]yes[/]" if b else "[red]no[/]" for b in beats))
    console.print(table)
    by_step = scores["test"]["model"].get("rmse_by_step")
    if by_step:
        console.print("test RMSE by step ahead  " + "  ".join(f"{v:.4g}" for v in by_step))
    if further:
        k, free = further["k_step"], further["free_run"]
        ahead = f"{further['k']}-step RMSE {k['model']:.4g} (naive {k['naive']:.4g}" \
            f"{_seasonal(k)}, {further['origins']} origins)" if k else \
            f"no {further['k']}-step errors (fewer than {further['k']} test rows)"
        console.print(f"test, further ahead: {ahead}; free run over the {free['steps']} test "
                      f"rows {free['model']:.4g} (naive, the last value held: "
                      f"{free['naive']:.4g}{_seasonal(free, ', the last season repeated')})")
    losses = [h["train_loss"] for h in result.history]
    if losses:
        per = ("" if len(losses) <= SPARK_WIDTH else
               f" (each mark {len(losses) / SPARK_WIDTH:.3g} epochs)")
        console.print(f"training loss by epoch{per}  {sparkline(losses)}  "
                      f"({losses[0]:.4g} → {losses[-1]:.4g}); best epoch {result.best_epoch}; "
                      f"{result.stopped}")


def _seasonal(errors: dict, what: str = "") -> str:
    """", seasonal naive 1.234" when the errors have a seasonal naive counterpart."""
    value = errors.get("seasonal_naive")
    return "" if value is None else f"; seasonal naive{what} {value:.4g}"


def plot_training(path, history, task, net, scores, best_epoch, closed_at=0, simulated=False):
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
    _learning_curves(loss_ax, val_ax, history, task, scores, best_epoch, closed_at)
    shown = task.tasks[0] if task.kind == "panel" else task  # a panel: its first series
    if shown.kind == "series":
        if shown is not task:
            bottom.set_title(f"{task.panel.id_column} {shown.series.name} (1 of "
                             f"{len(task.tasks)} series)")
        _series_panel(bottom, shown, net, simulated)
    elif task.kind == "windows":
        _steps_ahead_panel(bottom, scores)
    else:
        _accuracy_panel(bottom, scores)
    fig.tight_layout()
    save_figure(fig, path)


def _learning_curves(loss_ax, val_ax, history, task, scores, best_epoch, closed_at):
    """The training loss by epoch (log axis); the validation metric with the naive (and
    seasonal naive) forecast's level, the best epoch and, for a closed-loop NARX, the epoch
    after which the loop was closed."""
    epochs = [h["epoch"] for h in history]
    loss_name = "cross-entropy" if task.kind == "text" else "MSE, scaled units"
    loss_ax.plot(epochs, [h["train_loss"] for h in history])
    loss_ax.set_yscale("log")
    loss_ax.set(title=f"training loss ({loss_name})", xlabel="epoch")
    metric = task.metric.replace("_", " ")
    val_ax.plot(epochs, [h.get(f"val_{task.metric}") for h in history], label="model")
    val_ax.axhline(scores["validation"]["naive"][task.metric], color="grey", ls="--",
                   label="naive")
    if "seasonal_naive" in scores["validation"]:
        val_ax.axhline(scores["validation"]["seasonal_naive"][task.metric], color="grey",
                       ls=":", label="seasonal naive")
    val_ax.axvline(best_epoch, color="green", ls=":", label=f"best epoch ({best_epoch})")
    if closed_at:
        for ax in (loss_ax, val_ax):
            ax.axvline(closed_at + 0.5, color="purple", ls="-.", lw=0.8,
                       label="loop closed" if ax is val_ax else None)
    val_ax.set(title=f"validation {metric}", xlabel="epoch")
    val_ax.legend()


def _series_panel(ax, task, net, simulated):
    """The series with its split boundaries, and the model's predictions of the validation
    and test rows (one-step, or the closed-loop simulation)."""
    series, splits = task.series, task.splits()
    predicted = task.to_levels(task.predict(net))
    t = np.arange(len(series))
    ax.plot(t, series.targets[:, 0], lw=0.8, label="true")
    later = slice(splits["validation"].start, len(series))
    ax.plot(t[later], predicted[later, 0], lw=0.8,
            label="closed-loop simulation" if simulated else "one-step prediction")
    for edge, name in ((splits["validation"].start, "validation"),
                       (splits["test"].start, "test")):
        ax.axvline(edge, color="grey", ls="--")
        ax.text(edge, ax.get_ylim()[1], f" {name}", va="top", fontsize=8)
    ax.set(xlabel="t" if not series.dates else f"row ({series.date_column} "
           f"{series.dates[0]} … {series.dates[-1]})", ylabel=series.target_names[0])
    ax.legend(loc="lower left")


def _steps_ahead_panel(ax, scores):
    """seq2seq: the test RMSE at each step ahead, against the naive forecast's."""
    by_step = scores["test"]["model"]["rmse_by_step"]
    ax.bar(np.arange(1, len(by_step) + 1), by_step, label="model")
    ax.axhline(scores["test"]["naive"]["rmse"], color="grey", ls="--",
               label="naive (all steps)")
    ax.set(title="test RMSE by step ahead", xlabel="step ahead")
    ax.legend()


def _accuracy_panel(ax, scores):
    """Text: the next-word accuracies (all words, and the blank) of the model and the naive
    forecast, on each split."""
    names = [n for n in ("accuracy", "blank_accuracy") if n in scores["test"]["model"]]
    splits = list(scores)
    width = 0.8 / (2 * len(names))
    for k, name in enumerate(names):
        for m, who in enumerate(("model", "naive")):
            offset = (2 * k + m - len(names) + 0.5) * width
            ax.bar(np.arange(len(splits)) + offset, [scores[sp][who][name] for sp in splits],
                   width, label=f"{who} {name.replace('_', ' ')}")
    ax.set_xticks(np.arange(len(splits)), splits)
    ax.set(title="next-word accuracy", ylim=(0, 1))
    ax.legend()


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


def show_diagnostics(report):
    band = report["band"]
    which = "every row" if report.get("rows") == "all" else "the test rows"
    table = Table(title=f"residual diagnostics on {which} (n = {report['n']}, 95% band "
                        f"±{band:.3f})")
    table.add_column("lag", justify="right")
    table.add_column("autocorrelation", justify="right")
    for name in report["cross_correlation"]:
        table.add_column(f"cross-corr. {name}", justify="right")

    def cell(v):
        return f"[red]{v:+.3f}[/]" if abs(v) > band else f"{v:+.3f}"

    acf = dict(zip(report["lags"], report["autocorrelation"], strict=True))
    for k, lag in enumerate(report["cross_lags"]):  # -L … L; the autocorrelation from 1
        if lag < 1 and not report["cross_correlation"]:
            continue
        table.add_row(str(lag), cell(acf[lag]) if lag in acf else "",
                      *(cell(values[k]) for values in report["cross_correlation"].values()))
    err_console.print(table)  # on stderr: standard output stays the CSV
    err_console.print(report["verdict"])


def plot_predictions(path, series, one_step, ahead, report, spread=None, ahead_spread=None,
                     members=1, simulated=False, splits=None):
    """``prediction_figure`` written to the image ``path`` (whole or not at all)."""
    save_figure(prediction_figure(series, one_step, ahead, report, spread, ahead_spread,
                                  members, simulated, splits), path)


def prediction_figure(series, one_step, ahead, report, spread=None, ahead_spread=None,
                      members=1, simulated=False, splits=None):
    """The last 300 rows, their one-step predictions and the free run past the end (an
    ensemble's: the mean, with a band of ±2 spreads, the fan of the free run); dates on the
    time axis when the data have them; where the validation and test rows begin (``splits``:
    {"validation": row, "test": row}, for the data the model was trained on); the residual
    diagnostics below, their lags on whole numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

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
    for name, edge in (splits or {}).items():
        if edge >= shown[0]:
            ax.axvline(edge, color="grey", ls="--", lw=0.8)
            ax.text(edge, 1, f" {name}", transform=ax.get_xaxis_transform(), va="top",
                    fontsize=8)
    _date_ticks(ax, series, np.concatenate([shown, ahead_t]))
    ax.set_ylabel(series.target_names[0])
    ax.set_title(series.name)
    ax.legend()
    for ax in axes[1:, 0]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
    return fig
