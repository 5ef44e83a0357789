"""A trained model's data read again, and other data read the way the model reads its own."""
from __future__ import annotations

from minirnn.data.series import DataError
from minirnn.data.sources import BUILTIN
from minirnn.experiment import DataSpec

from .tasks import load_data


def stored_data(spec: DataSpec, where: str):
    """The data a checkpoint (at ``where``) was trained on, read again: a built-in set from its
    length and seed; a CSV file only if it still holds exactly the rows it held (the
    checkpoint's path is never trusted further: nothing of another file is read into a
    message). A DataError when the data cannot be had again."""
    if spec.builtin:
        return load_data(spec.source, None, None, spec.length, spec.seed or 0)
    if not spec.source.lower().endswith(".csv"):
        raise DataError(f"{where} names training data {spec.source!r}, not a CSV file: give "
                        f"--data")
    try:
        series = load_data(spec.source, ",".join(spec.target), ",".join(spec.inputs),
                           missing=spec.missing, series_id=spec.series_id)
        spec.check_same_data(series, where)
    except (DataError, OSError, ValueError):
        raise DataError(f"{where} was trained on {spec.source}, which no longer holds that data "
                        f"(or is gone): give --data") from None
    return series


def data_for_model(spec: DataSpec, data: str, length: int | None = None,
                   missing: str = "error"):
    """Other rows for a trained model (``spec``, its data's description): a built-in set of
    ``length`` rows, or a CSV file read by the model's column names (and series id column).
    A DataError, worded for a trained model, when they do not fit it."""
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


def check_series_id(spec: DataSpec, series_id: str | None):
    """A series id column asked for (predict's --series-id) must be the one the model was
    trained with."""
    if series_id is not None and series_id != spec.series_id:
        trained = f"--series-id {spec.series_id}" if spec.series_id else "one series (no " \
            "--series-id)"
        raise DataError(f"the model was trained on {trained}; --series-id {series_id} cannot "
                        f"change that")
