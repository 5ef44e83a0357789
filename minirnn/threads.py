"""Sharing the cores between Numba's threads and the BLAS library's.

The ``cpu`` engine runs its recurrences on Numba's thread pool and its projections (batched
matmuls) through NumPy's BLAS, which has a thread pool of its own. OpenBLAS's worker threads keep
spinning for a while after each matmul, so on a small machine they compete with Numba's threads
for the same cores: measured on 2 cores, an Elman kernel that takes 1.4 ms alone took 8.4 ms
right after a matmul (BENCHMARKS.md). With BLAS on one thread, Numba has the cores to itself.

``blas_threads(n)`` sets the BLAS thread count for a block and restores it after;
``set_blas_threads(n)`` sets it for good (the ``minirnn`` command sets 1 unless told otherwise
with ``--blas-threads``). It needs a BLAS that can be told (NumPy's bundled OpenBLAS can);
with any other it does nothing, and ``get_blas_threads()`` returns None.
"""
from __future__ import annotations

import ctypes
from contextlib import contextmanager

import numpy as np

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")
_found = None


def _openblas():
    """(set, get) functions of the OpenBLAS that NumPy loaded, or None."""
    global _found
    if _found is None:
        import numpy  # noqa: F401 - make sure NumPy's BLAS is loaded before looking for it

        _found = False
        try:
            with open("/proc/self/maps") as maps:
                paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
        except OSError:  # not Linux: no way to find it here
            paths = set()
        for path in sorted(paths):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            setter = next((getattr(lib, s) for s in _SETTERS if hasattr(lib, s)), None)
            getter = next((getattr(lib, g) for g in _GETTERS if hasattr(lib, g)), None)
            if setter is not None and getter is not None:
                setter.argtypes, getter.restype = [ctypes.c_int], ctypes.c_int
                _found = (setter, getter)
                break
    return _found or None


def get_blas_threads() -> int | None:
    found = _openblas()
    return None if found is None else int(found[1]())


def set_blas_threads(count: int) -> bool:
    """Set the BLAS thread count; False if the BLAS cannot be told."""
    found = _openblas()
    if found is not None:
        found[0](count)
    return found is not None


@contextmanager
def blas_threads(count: int):
    """Run the block with BLAS on ``count`` threads (no effect if the BLAS cannot be told)."""
    found = _openblas()
    if found is None:
        yield
        return
    setter, getter = found
    previous = getter()
    setter(count)
    try:
        yield
    finally:
        setter(previous)


# --- matmuls on minirnn's own threads -----------------------------------------------------------
# With BLAS on one thread, a large matmul would use one core. Splitting its rows over a small
# pool of Python threads (NumPy releases the GIL inside BLAS) uses every core again, and these
# threads sleep when idle instead of spinning: measured on 2 cores, a (6400 × 512) × (512 × 512)
# float32 product took 34.4 ms on one thread and 18.7 ms split in two, and an Elman kernel run
# right after it was not slowed down (1.54 ms against 1.50 ms after an unsplit one).
_SPLIT_FLOPS = 4e6  # below this a matmul is too small to be worth splitting
_pool = None


def _threads() -> int:
    import numba

    return numba.get_num_threads()


def matmul(A, B):
    """A @ B for 2-D arrays, its rows split over minirnn's threads when it is large and BLAS is
    on one thread (the ``minirnn`` command's setting); plain ``A @ B`` otherwise."""
    global _pool
    parts = _threads()
    rows = A.shape[0]
    if (parts < 2 or rows < 2 * parts or 2.0 * rows * A.shape[1] * B.shape[1] < _SPLIT_FLOPS
            or get_blas_threads() not in (None, 1)):
        return A @ B
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=parts - 1, thread_name_prefix="minirnn-matmul")
    out = np.empty((rows, B.shape[1]), dtype=np.result_type(A, B))
    bounds = np.linspace(0, rows, parts + 1).astype(int)
    jobs = [_pool.submit(np.matmul, A[lo:hi], B, out=out[lo:hi])
            for lo, hi in zip(bounds[1:-1], bounds[2:])]
    np.matmul(A[:bounds[1]], B, out=out[:bounds[1]])
    for job in jobs:
        job.result()
    return out
