"""Fingerprints of data: what a checkpoint records of the rows a model was trained on, so that
resuming can insist on the same rows and a message can say which data a model knows."""
from __future__ import annotations

import hashlib

import numpy as np

from .series import Panel
from .text import TextSeries


def fingerprint(series, rows: int | list | None = None) -> str:
    """SHA-256 of the column names and values of the first ``rows`` rows (default: all); of a
    panel, of the id column, each series' id and its first ``rows[s]`` rows."""
    digest = hashlib.sha256()
    if isinstance(series, Panel):
        digest.update(series.id_column.encode())
        for s, member in enumerate(series.members):
            digest.update(f"\n{member.name}\n".encode())
            digest.update(fingerprint(member, None if rows is None else rows[s]).encode())
    elif isinstance(series, TextSeries):
        digest.update("\n".join(series.vocabulary).encode())
        digest.update(np.ascontiguousarray(series.tokens[:rows], dtype=np.int64).tobytes())
    else:
        digest.update("\n".join([*series.target_names, "|", *series.input_names]).encode())
        for values in (series.targets, series.inputs):
            digest.update(np.ascontiguousarray(values[:rows], dtype=np.float64).tobytes())
    return digest.hexdigest()
