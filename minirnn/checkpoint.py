"""Checkpoints: a model's weights, configuration, scalers and metrics in one ``.npz`` file.

Weights are plain arrays (``param/<name>``); everything else is one JSON document stored as a
string array (``meta``), so a checkpoint loads with ``allow_pickle=False``: opening one runs no
code. Writing is atomic: a temporary file in the same folder, flushed to disk, then renamed over
the target, so an interrupted run never leaves a half-written checkpoint.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .models.registry import build_model

FORMAT = "minirnn-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, reported as one line."""


def save(path, model_name: str, config: dict, model, meta: dict) -> None:
    path = Path(path)
    if path.suffix != ".npz":
        raise CheckpointError(f"checkpoint file must end in .npz: {path}")
    document = {"format": FORMAT, "model": model_name, "config": config, **meta}
    arrays = {f"param/{name}": value for name, value in model.state_dict().items()}
    arrays["meta"] = np.array(json.dumps(document))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path):
    """(model, meta) from a checkpoint; meta holds "model", "config" and what train saved."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            document = json.loads(str(archive["meta"]))
            state = {key[len("param/"):]: archive[key] for key in archive.files
                     if key.startswith("param/")}
    except (OSError, ValueError, KeyError) as error:
        raise CheckpointError(f"{path} is not a minirnn checkpoint ({error})") from None
    if document.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a minirnn checkpoint (format "
                              f"{document.get('format')!r})")
    config = dict(document["config"])
    model = build_model(document["model"], config)
    try:
        model.load_state_dict(state)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: {error}") from None
    return model, document
