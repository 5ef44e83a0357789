"""Fingerprints of data: what a checkpoint records of the rows a model was trained on, so that
resuming can insist on the same rows and a message can say which data a model knows.

A fingerprint covers the column names and values, the dates (and the date column's name) and,
for several series, the id column and each series' id. It is written as ``2:`` and the
SHA-256 digest. A bare digest is a fingerprint of the first version, made before the dates
were covered (of the values alone): checkpoints that hold one are still checked the way it
was made (``matches``), so that they keep loading, with the weaker check they were written
with."""
from __future__ import annotations

import hashlib

import numpy as np

from .series import Panel
from .text import TextSeries

#: the prefix of a fingerprint of the current version (2: dates covered)
VERSION = "2:"


def fingerprint(series, rows: int | list | None = None, version: int = 2) -> str:
    """The fingerprint of the first ``rows`` rows (default: all); of a panel, of the id
    column, each series' id and its first ``rows[s]`` rows. ``version=1``: the values alone,
    as the first version made it (a bare digest)."""
    digest = hashlib.sha256()
    if isinstance(series, Panel):
        digest.update(series.id_column.encode())
        for s, member in enumerate(series.members):
            digest.update(f"\n{member.name}\n".encode())
            digest.update(fingerprint(member, None if rows is None else rows[s],
                                      version).encode())
    elif isinstance(series, TextSeries):
        digest.update("\n".join(series.vocabulary).encode())
        digest.update(np.ascontiguousarray(series.tokens[:rows], dtype=np.int64).tobytes())
    else:
        digest.update("\n".join([*series.target_names, "|", *series.input_names]).encode())
        for values in (series.targets, series.inputs):
            digest.update(np.ascontiguousarray(values[:rows], dtype=np.float64).tobytes())
        if version >= 2 and series.dates:
            digest.update(f"\n{series.date_column}\n".encode())
            digest.update("\n".join(series.dates[:rows]).encode())
    return (VERSION if version >= 2 else "") + digest.hexdigest()


def matches(stored: str, series, rows: int | list | None = None) -> bool:
    """Whether ``series`` has the fingerprint ``stored``, made by its own version."""
    return fingerprint(series, rows, 2 if stored.startswith(VERSION) else 1) == stored
