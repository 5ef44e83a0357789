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
import math
import os
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import CheckpointError


#: how deep a document's objects and lists may nest (a checkpoint's nest 5 deep)
MAX_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def parse_document(text: str):
    """A JSON document as minirnn writes them (a checkpoint's, a sweep's results): NaN,
    infinities and numbers beyond the float range are refused (JSON has none, minirnn never
    writes one), and so is nesting deeper than ``MAX_DEPTH`` (checked before parsing, which
    would recurse); a ValueError saying which, the document's text left out."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ValueError(f"it nests {deepest} levels deep (at most {MAX_DEPTH})")

    def constant(name):
        raise ValueError(f"it holds {name}, which is not a number JSON has")

    def number(digits):
        value = float(digits)
        if not math.isfinite(value):
            raise ValueError(f"it holds {digits[:20]}, beyond the float range")
        return value

    try:
        return json.loads(text, parse_constant=constant, parse_float=number)
    except RecursionError:
        raise ValueError("it nests too deeply") from None


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


#: the most bytes a checkpoint's document may unpack to (a schema-2 history is a few MB),
#: and the most arrays a checkpoint may hold
MAX_DOCUMENT_BYTES, MAX_MEMBERS = 64 * 2 ** 20, 4096


def read_archive(path, array_bytes=None) -> tuple[dict, dict]:
    """(document, arrays) of a checkpoint file; any defect of the file itself is one
    ``CheckpointError`` naming it (missing, empty, truncated, not an archive, no document).

    ``array_bytes(document)``: the most bytes the arrays may hold, given the document (it may
    raise on a defect of the document). Every member's size as the archive declares it, which
    bounds what unpacking it can yield, is checked against that before any array is
    decompressed (so is the document's, against ``MAX_DOCUMENT_BYTES``): a small file that
    would unpack to gigabytes is refused at the cost of reading its directory."""
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
            sizes = {info.filename.removesuffix(".npy"): info.file_size
                     for info in archive.zip.infolist()}
            _check_unpacked_size(path, "its 'meta' document", sizes.pop("meta", 0),
                                 MAX_DOCUMENT_BYTES)
            document = _document(path, archive["meta"])
            limit = None if array_bytes is None else array_bytes(document)
            if len(sizes) > MAX_MEMBERS:
                raise CheckpointError(f"{path}: it holds {len(sizes):,} arrays (a checkpoint "
                                      f"holds at most {MAX_MEMBERS:,})")
            if limit is not None:  # each member's header: a few hundred bytes at most
                _check_unpacked_size(path, "its arrays", sum(sizes.values()),
                                     limit + 1024 * len(sizes), "the model's weights need")
            arrays = {key: archive[key] for key in archive.files if key != "meta"}
    except (CheckpointError, MemoryError):  # (the document's model too large for memory)
        raise
    except Exception as error:  # a damaged member: zipfile, zlib and numpy each have their own
        raise CheckpointError(f"{path} is damaged: {type(error).__name__}: {error}") from None
    return document, arrays


def _check_unpacked_size(path, what: str, size: int, limit: int, reason: str = "the limit"):
    if size > limit:
        raise CheckpointError(f"{path}: {what} would unpack to {size:,} bytes, more than "
                              f"{reason} ({limit:,}): not a checkpoint this minirnn wrote")


def _document(path, text) -> dict:
    """The checkpoint's JSON document (``parse_document``), an object."""
    try:
        document = parse_document(str(text))
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: its 'meta' document is not valid JSON") from None
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: its 'meta' document is refused: {error}") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: its 'meta' document is not a JSON object")
    return document


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
                                      f"wait for it or write elsewhere") from None
            try:  # the file may have been removed by the last holder as we opened it
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._write_pid(fd)
                self.fd = fd
                return self
            os.close(fd)
        raise CheckpointError(f"cannot lock {self.target}: {self.path} keeps changing")

    def _write_pid(self, fd):
        """The holder's id into the lock file just taken; if that fails (a full disk), the
        lock is released and its file removed, as if never taken."""
        try:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except OSError as error:
            self.path.unlink(missing_ok=True)
            os.close(fd)
            raise CheckpointError(f"cannot lock {self.target}: writing {self.path.name} failed "
                                  f"({error.strerror or error})") from None

    def __exit__(self, *exc):
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # before closing: no one takes a dying lock
            os.close(self.fd)
            self.fd = None
        return False
