"""Process-wide settings the cpu engine wants; ``blas.prepare_cpu()`` makes both.

1. NumPy's BLAS on one thread (``minirnn.kernels.blas.set_blas_threads``): the kernels run on
   Numba's threads and call BLAS from each of them; BLAS's own spinning threads would compete for
   the cores.
2. Freed memory kept for reuse, so that a training step does not pay page faults. A step
   allocates and frees the same large arrays every time (activations, gradients: megabytes
   each). glibc's ``malloc`` may serve them with fresh ``mmap`` pages and trim freed memory
   back to the system, so that each step touches new pages, and every first touch of a 4 KiB
   page is a page fault that the kernel must also zero: a zero-filled gradient then cost more
   than the product it fed (BENCHMARKS.md has the measurements).

``keep_freed_memory()`` raises glibc's mmap and trim thresholds, so freed blocks stay in the
heap and the next step reuses them (the process keeps its peak memory instead of handing it
back between steps: the usual choice of deep-learning frameworks' allocators). Elsewhere
(another C library, not Linux) it does nothing and returns False.

The cpu engine calls ``blas.prepare_cpu()`` itself before its first kernel, unless the
program did (each setting made a mid-sized training step markedly faster: BENCHMARKS.md). The
``minirnn`` command calls it first thing, with ``--blas-threads``; a program may call it with
its own count, and ``blas.set_blas_threads`` changes the count later, for good.

3. For the ``minirnn`` command alone: Numba's CPU target without its probe of SciPy's BLAS
   (``numba_without_scipy_blas``), a quarter of a second of every run that compiles a kernel
   where SciPy is installed (``scipy_blas_unprobed_when_compiling``).
"""
from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_THRESHOLD = 32 * 2 ** 20  # glibc's largest mmap threshold on 64-bit machines


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory (blocks up to 32 MiB) for reuse; False if not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another C library: nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, 2 * _THRESHOLD))


_SCIPY_BLAS = "scipy.linalg.cython_blas"


def numba_without_scipy_blas() -> bool:
    """Import Numba's array functions (``numba.np.arraymath``, which its CPU target loads before
    it compiles) without their probe of SciPy's BLAS; True if it did.

    The probe imports ``scipy.linalg`` whenever SciPy is installed (0.2-0.3 s on the 2-core
    machine of BENCHMARKS.md) to learn whether ``np.correlate`` and ``np.convolve`` in
    compiled code can call BLAS; minirnn's kernels use neither (they call NumPy's OpenBLAS
    themselves: ``blas.gemm``). While the module is imported, the name of
    SciPy's BLAS module maps to None, so the probe's import fails at once; the name is freed
    right after, and SciPy imports as usual later. In compiled code of this process those two
    functions then use Numba's own loop. The ``minirnn`` command has this called as its first
    compilation starts (``scipy_blas_unprobed_when_compiling``); a program that imports
    minirnn is left as it is."""
    if "numba.np.arraymath" in sys.modules or _SCIPY_BLAS in sys.modules:
        return False
    sys.modules[_SCIPY_BLAS] = None
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules[_SCIPY_BLAS]
    return True


_before_compiling = []  # the one listener of ``scipy_blas_unprobed_when_compiling``


def scipy_blas_unprobed_when_compiling():
    """Have ``numba_without_scipy_blas`` run as the first compilation by Numba in this process
    starts: that is when Numba loads its array functions, now that a kernel from the cache
    loads without them (``kernel_cache.load_without_registries``), so a warm run imports
    neither them nor SciPy. Registers one listener per process."""
    if _before_compiling:
        return
    from numba.core import event

    class BeforeCompiling(event.Listener):
        def on_start(self, ev):
            numba_without_scipy_blas()  # after the first time it returns at once

        def on_end(self, ev):
            pass

    _before_compiling.append(BeforeCompiling())
    event.register("numba:compile", _before_compiling[0])
