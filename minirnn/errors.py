"""The errors minirnn reports to its user as one line: a problem with their data, or with a
checkpoint; and the warning that compiled kernels cannot be kept. (Plain Python, importable
without NumPy: the command line catches them.)"""
from __future__ import annotations


class DataError(ValueError):
    """A problem with the user's data, reported as one line: ``message``, then ``hint``, the
    advice for training on the command line (a caller reading other data, such as ``predict``,
    may word its own). ``reason`` names the kind of problem for such callers: "missing value",
    "several series" (a long-format file read as one series), "absent column", "absent id
    column"."""

    def __init__(self, message: str, hint: str = "", reason: str | None = None):
        super().__init__(message + hint)
        self.message, self.hint, self.reason = message, hint, reason


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, reported as one line."""


class NoKernelCache(UserWarning):
    """Numba has no folder it may write to keep compiled kernels in: they work, but every
    process compiles them again (``NO_CACHE``; ``kernels.blas.UNCACHED`` lists them)."""


NO_CACHE = ("Numba has no folder it may write to keep minirnn's compiled kernels in (not the "
            "package's, nor the user's cache folder), so every run compiles them again, seconds "
            "each; set NUMBA_CACHE_DIR to a writable folder to keep them")
