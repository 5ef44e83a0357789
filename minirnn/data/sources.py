"""Where a series comes from: a built-in data set by name, or a CSV file.

Above both kinds of data (``series.py`` makes the numeric ones and reads CSV files,
``text.py`` the text task), so that neither needs the other.
"""
from __future__ import annotations

from pathlib import Path

from ..catalog import BUILTIN_DATA
from .series import DataError, Panel, Series, load_csv, memory_task, narendra, sine, stock
from .text import meat_text

#: each built-in data set's name (``minirnn.catalog.BUILTIN_DATA``) and the function making it
BUILTIN = dict(zip(BUILTIN_DATA, (sine, stock, narendra, memory_task, meat_text), strict=True))


def default_length(source: str) -> int:
    """The size of a built-in set when none is asked for: 2,000 rows of a series; 40,000 words
    of text (2,500 sentences). The default Elman sits at chance on the blank for 10 to 30
    epochs before it learns to carry the clue; each epoch over 40,000 words makes four times
    the updates of one over 10,000, and it learned the blank within the default 30 epochs for
    every weight seed tried, against 7 of 8 with 20,000 words (docs/DESIGN.md, "The text
    task")."""
    return 40_000 if source == "text" else 2000


def load_series(source: str, target=None, inputs=None, steps: int | None = None, seed: int = 0,
                missing: str = "error", series_id: str | None = None) -> Series | Panel:
    """A built-in data set by name (``steps`` rows or words, by default ``default_length``), or
    a CSV file (which then needs ``target``; ``missing`` and ``series_id``, a long-format
    file's column of series names: see ``load_csv``)."""
    if source in BUILTIN:
        if series_id is not None:
            raise DataError(f"--series-id is for a long-format CSV file; the built-in data "
                            f"set {source!r} is one series")
        return BUILTIN[source](steps=steps or default_length(source), seed=seed)
    if not source.lower().endswith(".csv") and not Path(source).exists():
        raise DataError(f"unknown data source {source!r}: a CSV file or one of "
                        f"{', '.join(BUILTIN)}")
    if not Path(source).exists():
        raise DataError(f"data file not found: {source}")
    if not target:
        raise DataError("--target is required for a CSV file (the column to predict)")
    return load_csv(source, target, inputs, missing, series_id)
