"""Numba's on-disk cache of compiled kernels, kept in step with minirnn's sources.

Every kernel is compiled with ``cache=True``, and Numba checks a cached kernel against its own
file's modification time only, not against the functions it calls from other files: edit
``kernels/activations.py`` and every kernel defined elsewhere keeps running the old activation from
the cache. So when ``minirnn.kernels`` is first imported it hashes the sources of its compiled code
(``SOURCES``: every file that defines a kernel or a function kernels call) and, when the hash
differs from the one stored beside the cache, deletes its cached kernels, which are compiled again
on first use. (A cache put elsewhere with ``NUMBA_CACHE_DIR`` is left alone.)

A kernel is loaded from that cache without Numba's typing and lowering registries
(``load_without_registries``): before its first load from the cache Numba fills them for its
whole CPU target, importing its array, linear-algebra, random-number, dictionary and date
modules among others (85 ms of a warm one-epoch run on the 2-core machine of BENCHMARKS.md,
a sixth of it), though a cached kernel is machine code that needs none of them. They are
filled as before by the first compilation, which needs them. An entry that cannot be read (a
damaged file) is compiled again and written over, instead of failing every run.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # minirnn/kernels: all the compiled code
SOURCES = ("*.py", "*/*.py")  # all the compiled code, and all it calls
STAMP = "numba-sources.sha256"


def sources_digest(package: Path = PACKAGE) -> str:
    """SHA-256 over the names and contents of the ``SOURCES`` in ``package``."""
    digest = hashlib.sha256()
    for path in sorted(p for pattern in SOURCES for p in package.glob(pattern)):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def clear_stale_kernels(package: Path = PACKAGE) -> bool:
    """Delete the cached kernels in ``package`` (``__pycache__/*.nbi``, ``*.nbc``) if its sources
    changed since they were cached; True when it did. A read-only install is left as it is
    (Numba then caches in the user's cache directory)."""
    digest = sources_digest(package)
    stamp = package / "__pycache__" / STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass  # no stamp yet: the first import, or an older cache without one
    try:
        for cached in (*package.rglob("__pycache__/*.nbi"), *package.rglob("__pycache__/*.nbc")):
            cached.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return True


def load_without_registries(dispatcher):
    """``dispatcher`` (a Numba CPU dispatcher with ``cache=True``), its disk cache made to load
    a kernel with only Numba's runtime (NRT: the allocation a kernel may call) started, not its
    registries filled: what Numba's ``FunctionCache.load_overload`` does, less its
    ``target_context.refresh()``. Loading rebuilds the kernel from its object code; only a
    compilation types and lowers Python code, and Numba's compiler fills the registries itself
    first (``CompilerBase``). An entry that fails to load is compiled again (and its index
    deleted if that is what is damaged: ``_forget_damaged_index``). A Numba without the
    private parts this uses keeps its own cache."""
    cache = _cache_loading_without_registries()
    if cache is not None and type(dispatcher._cache) is cache.__base__:
        dispatcher._cache = cache(dispatcher.py_func)
    return dispatcher


@functools.cache
def _cache_loading_without_registries():
    """The subclass of Numba's ``FunctionCache`` that ``load_without_registries`` uses, made
    once; None where Numba lacks what it overrides."""
    from numba.core.caching import FunctionCache
    from numba.core.runtime import rtsys

    if not all(hasattr(FunctionCache, name) for name in
               ("_load_overload", "_guard_against_spurious_io_errors")):
        return None

    class CacheLoadingWithoutRegistries(FunctionCache):
        def load_overload(self, sig, target_context):
            rtsys.initialize(target_context)  # what Numba's refresh starts first
            try:
                with self._guard_against_spurious_io_errors():
                    return self._load_overload(sig, target_context)
            except Exception:  # noqa: BLE001 - a damaged entry: compiled again below
                _forget_damaged_index(self)
                return None

    return CacheLoadingWithoutRegistries


def _forget_damaged_index(cache):
    """After an entry of ``cache`` failed to load (a file cut short by a full disk or a killed
    copy; Numba writes its own through a temporary file): delete the function's index if it
    is what cannot be read, so that the compilation that follows writes a new one. A damaged
    data file needs nothing: the compilation writes over it. Numba's own cache raised the
    unpickling error in every later run until someone deleted the files."""
    try:
        cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - unreadable: start it again
        try:
            os.unlink(cache._cache_file._index_path)
        except OSError:
            pass


#: the modules whose compiled kernels the cpu engine runs
CPU_MODULES = ("minirnn.kernels.blas", "minirnn.kernels.linalg_cpu", "minirnn.kernels.activations",
               "minirnn.kernels.elman.cpu", "minirnn.kernels.lstm.cpu", "minirnn.kernels.gru.cpu",
               "minirnn.kernels.memory.cpu", "minirnn.kernels.layered.cpu",
               "minirnn.kernels.delay.cpu")


def uncached_kernels(modules=CPU_MODULES) -> list:
    """Names of the compiled functions in ``modules`` that Numba's disk cache does not hold
    yet: the run that first calls them compiles them (seconds each). Read from the cache's
    index files; on a Numba whose cache works otherwise, an empty list."""
    import importlib

    from numba.core.dispatcher import Dispatcher

    missing = []
    for name in modules:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            # a ``blas.RowBlockKernel``: its serial compilation, what a run on small data
            # compiles (most first runs); not imported here: blas imports this module
            value = getattr(value, "serial", value)
            if not isinstance(value, Dispatcher) or value.__module__ != name:
                continue
            if value.targetoptions.get("inline") == "always":
                continue  # compiled into its callers, never cached on its own
            try:
                index = Path(value._cache._cache_file._index_path)  # Numba's own layout
            except AttributeError:
                continue
            if not index.exists():
                missing.append(f"{name}.{attribute}")
    return missing
