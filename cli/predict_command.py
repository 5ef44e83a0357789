"""``minirnn predict``: a trained model's (or an ensemble's) predictions, as CSV.

The predictions are the library's (``minirnn.app.prediction``); this module parses the
options, checks paths before any work, writes the rows and shows diagnostics and figures.
"""
from __future__ import annotations

import sys

import click

from minirnn.catalog import BACKENDS, BUILTIN_DATA

from .common import (PLOT_FORMATS, USER_ERRORS, announce_compiling, check_not_inputs,
                     check_plot_path, check_writable, data_options, fail_with, json_option,
                     note, wrote)


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
    from minirnn.app.prediction import PredictOptions, predict_ensemble

    from .present import show_diagnostics

    options = PredictOptions(data=data, target=target, inputs=inputs, series_id=series_id,
                             length=length, missing=missing, steps=steps,
                             future_inputs=future_inputs, backend=backend, series=only,
                             diagnostics=diagnostics, one_series=plot is not None)
    try:
        options.check(len(checkpoint_paths))
        if len(checkpoint_paths) > 1:
            check_not_inputs({"--out": out, "--plot": plot},
                             {f"the checkpoint {p}": p for p in checkpoint_paths} |
                             {"the --data file": data if data not in BUILTIN_DATA else None,
                              "the --future-inputs file": future_inputs})
            prediction = predict_ensemble(list(checkpoint_paths), options, on_note=note)
        else:
            prediction = _predict_one(checkpoint_paths[0], options, out, plot)
    except USER_ERRORS as error:
        fail_with(error)
    if plot:
        _plot(plot, prediction)
    report = prediction.diagnostics
    extra = {"diagnostics": report} if report is not None else \
        {"members": prediction.models} if len(checkpoint_paths) > 1 else None
    _emit(out, prediction.header, prediction.rows, as_json, extra)
    if report is not None and not as_json:
        show_diagnostics(report)


def _predict_one(path, options, out, plot):
    """One model's prediction, its paths checked first, the engine chosen and its kernels'
    compiling announced."""
    from minirnn.app.engines import choose_engine
    from minirnn.app.prediction import predict_model
    from minirnn.experiment import Experiment

    exp = Experiment.load(path)
    data, spec = options.data, exp.data
    check_not_inputs({"--out": out, "--plot": plot},
                     {"the checkpoint": path,
                      "the --data file": data if data not in BUILTIN_DATA else None,
                      "the --future-inputs file": options.future_inputs,
                      "the model's training data": None if data or spec.builtin else spec.source})
    options.backend = choose_engine(options.backend, exp.config["backend"], on_note=note)
    announce_compiling(exp.model, exp.config, options.backend)
    return predict_model(path, options, on_note=note, experiment=exp)


def _plot(path, prediction):
    """The figure of the one series predicted (the options asked for one)."""
    from .present import plot_predictions

    shown = prediction.series[0]
    plot_predictions(path, shown.series, shown.one_step, shown.ahead, prediction.diagnostics,
                     shown.spread, shown.ahead_spread, prediction.models,
                     simulated=prediction.simulated, splits=shown.splits)
    if prediction.models > 1:
        wrote(path, f"the ensemble of {prediction.models} models")
    else:
        wrote(path, "predictions" + (" and residual diagnostics" if prediction.diagnostics
                                     else ""))


def _emit(out, header, rows, as_json, extra=None):
    """The rows as CSV to --out (atomically) or to standard output; with --json, one JSON
    document on standard output ({"columns", "rows", …extra}) whether or not --out is given."""
    from minirnn.app.prediction import save_rows, write_rows

    from .present import as_json_document

    if out:
        save_rows(out, header, rows)
        wrote(out, f"{len(rows)} rows")
    if as_json:
        click.echo(as_json_document({"columns": header, "rows": rows, **(extra or {})}))
    elif not out:
        write_rows(sys.stdout, header, rows)
