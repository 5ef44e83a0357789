"""The checkpoint file: named arrays and one JSON document in a ``.npz`` archive.

This module knows files, not experiments (``minirnn.experiment`` says what a checkpoint holds
and checks it). The document is stored as a string array (``meta``), so a checkpoint loads with
``allow_pickle=False``: opening one runs no code.

Writing is atomic (``atomic_write``): the archive goes to a temporary file in the same folder, is
flushed to disk and renamed over the target, so an interrupted run never leaves a half-written
checkpoint. The temporary file is named after the target and the writing process
(``.model.npz.1234.tmp``): one left behind by a killed process is removed by the next write to that
target. The file gets
the mode the umask gives new files (``mkstemp`` alone would make it private).
"""
from __future__ import annotations

import json
import os
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import CheckpointError


def write_archive(path, document: dict, arrays: dict) -> None:
    """Write ``arrays`` (name → array) and ``document`` (JSON) to ``path`` atomically (through
    a symbolic link: the file it points to is replaced, not the link)."""
    path = real_path(path)
    if path.suffix != ".npz":
        raise CheckpointError(f"checkpoint file must end in .npz: {path}")
    if path.exists() and not path.is_file():
        raise CheckpointError(f"{path} is not a regular file: a checkpoint cannot go there")
    contents = {**arrays, "meta": np.array(json.dumps(document, allow_nan=False))}
    with atomic_write(path, "wb") as f:
        np.savez(f, **contents)


@contextmanager
def atomic_write(path, mode: str = "wb"):
    """A file written whole or not at all: the block writes a temporary file beside ``path``
    (``.name.<pid>.tmp``, mode from the umask), flushed to disk and renamed over ``path`` when
    the block ends without an error, removed when it does not. Through a symbolic link, the
    file it points to is replaced, not the link."""
    path = real_path(path)
    remove_stale_temporaries(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # the umask applies
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": ""})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def real_path(path) -> Path:
    """``path`` with symbolic links followed (a dangling one: to where it points)."""
    return Path(os.path.realpath(path))


def remove_stale_temporaries(path: Path) -> None:
    """Delete temporary files of ``path`` left by processes that no longer run."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:-len(".tmp")]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def read_archive(path) -> tuple[dict, dict]:
    """(document, arrays) of a checkpoint file; any defect of the file itself is one
    ``CheckpointError`` naming it (missing, empty, truncated, not an archive, no document)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes): not a checkpoint")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a minirnn checkpoint: not an .npz archive, or a "
                              f"truncated one")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "meta" not in archive.files:
                raise CheckpointError(f"{path} is not a minirnn checkpoint: it has no 'meta' "
                                      f"document")
            text = archive["meta"]
            arrays = {key: archive[key] for key in archive.files if key != "meta"}
    except CheckpointError:
        raise
    except Exception as error:  # a damaged member: zipfile, zlib and numpy each have their own
        raise CheckpointError(f"{path} is damaged: {type(error).__name__}: {error}") from None
    try:
        document = json.loads(str(text))
    except (ValueError, TypeError):
        raise CheckpointError(f"{path}: its 'meta' document is not valid JSON") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: its 'meta' document is not a JSON object")
    return document, arrays


class WriterLock:
    """One writer per checkpoint: ``with WriterLock(path):`` holds an exclusive lock on
    ``.model.npz.lock`` for a whole training run, so a second run writing the same file stops
    at once with an error instead of overwriting the first one's checkpoints.

    The lock is the operating system's (``flock``): it dies with its process however that
    ends (a kill included), so a killed run never blocks the file. The lock file holds the
    holder's process id, for the message, and is removed when the run ends; one left by a
    killed run is taken over by the next.
    """

    def __init__(self, path):
        path = real_path(path)
        self.path = path.parent / f".{path.name}.lock"
        self.target = path
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # not a POSIX system: no locking
            return self
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 32).decode(errors="replace").strip()
                os.close(fd)  # (no id yet: the holder has just taken the lock)
                who = f" (process {holder})" if holder.isdigit() else ""
                raise CheckpointError(f"another minirnn run{who} is writing {self.target}; "
                                      f"wait for it or choose another --out") from None
            try:  # the file may have been removed by the last holder as we opened it
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
                self.fd = fd
                return self
            os.close(fd)
        raise CheckpointError(f"cannot lock {self.target}: {self.path} keeps changing")

    def __exit__(self, *exc):
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # before closing: no one takes a dying lock
            os.close(self.fd)
            self.fd = None
        return False
