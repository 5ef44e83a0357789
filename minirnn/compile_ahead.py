"""A first run's kernels compiled on two cores at once.

Numba compiles a kernel the first time it is called, so a first training run compiles its
kernels one after another as its first step reaches them: a first ``minirnn train elman``
waited about 3 s for the forward kernel and then about 4.5 s for the backward one, on one
core (BENCHMARKS.md).

``compile_ahead(steps)`` is given that first step in two parts, forward and backward (and a
NARX whose loop closes later the closed loop's step too), and shortens the wait:

1. It runs the step once with the kernel calls recorded and not run (``calls_recorded``): the
   kernels' outputs stay as the Python around them allocated them, but every kernel the step
   calls is named, with the Numba types of its arguments (what Numba compiles a kernel for).
   The Python between the kernels runs on those made-up outputs, so it runs with NumPy's
   warnings silenced, on a copy of the model the caller makes, and may stop early on them.
2. The kernels that Numba's disk cache lacks for those types are compiled: the backward's in
   a forked process, the forward's in this one at the same time, which then takes any
   backward kernel the other has not started yet. Both write Numba's cache, and this process
   loads the other's kernels from there once it has ended.
3. Numba compiles the functions a kernel calls as it types the kernel, each once per process:
   both processes compiled ``blas.gemm`` for the contiguous rows that both kernels multiply,
   and the forked one, the longer path, compiled the summed outer products of BPTT deep inside
   its kernel. So this process first compiles these building blocks for their usual argument
   types (``building_blocks``) and has them in the cache before the other process reaches
   them in its kernel, which then loads them from there.

Nothing depends on it for being right: a kernel it did not see, or that the other process did
not compile (it failed or was killed), is compiled at its first call as before, and a kernel's
code is the same wherever it was compiled. Nothing is forked when the cache has every kernel
(then the recording costs one step's Python without its kernels), nor where a fork would not
help or not be safe (``can_fork``): everything is then compiled here.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from contextlib import contextmanager

import numpy as np
from numba import _dispatcher
from numba.core import types as numba_types
from numba.core.caching import NullCache
from numba.core.compiler_lock import global_compiler_lock
from numba.core.errors import NumbaError
from numba.core.registry import CPUDispatcher


class KernelCalls:
    """The kernel calls seen while recording: ``calls`` [(phase, dispatcher, types)], each
    (dispatcher, types) once, in the order of their first call. ``phase`` is the label of the
    calls seen from now on; ``run``: whether the calls also run."""

    def __init__(self, run: bool = False):
        self.run = run
        self.phase = "forward"
        self.calls = []
        self._seen = set()

    def record(self, dispatcher, types: tuple):
        if (id(dispatcher), types) not in self._seen:
            self._seen.add((id(dispatcher), types))
            self.calls.append((self.phase, dispatcher, types))

    def of(self, phase: str) -> list:
        """[(dispatcher, types)] first seen in ``phase``."""
        return [(d, types) for p, d, types in self.calls if p == phase]


_recording = {}  # thread id -> its KernelCalls, while it records
_recording_lock = threading.Lock()
_run = _dispatcher.Dispatcher.__call__  # a kernel's call, as Numba's C type makes it


def _call(dispatcher, *args, **kwargs):
    """``CPUDispatcher.__call__`` while some thread records: that thread's kernel calls are
    recorded (not those with keywords: how they map to the arguments is Numba's to say) and
    return None, unless it records them running; every other thread's run."""
    seen = _recording.get(threading.get_ident())
    if seen is not None and not kwargs:
        seen.record(dispatcher, tuple(dispatcher.typeof_pyval(a) for a in args))
    if seen is None or seen.run:
        return _run(dispatcher, *args, **kwargs)
    return None


@contextmanager
def calls_recorded(run: bool = False):
    """Within: this thread's calls of a CPU kernel are recorded in the ``KernelCalls`` yielded
    and return None, not run (the cpu engine's kernels write their results into arrays they
    are given); with ``run``, recorded and run. Other threads' calls run as ever."""
    seen = KernelCalls(run)
    me = threading.get_ident()
    with _recording_lock:
        if not _recording:
            CPUDispatcher.__call__ = _call
        _recording[me] = seen
    try:
        yield seen
    finally:
        with _recording_lock:
            del _recording[me]
            if not _recording:
                del CPUDispatcher.__call__  # the C type's own call again


def record_steps(steps: list) -> KernelCalls:
    """The kernel calls of each step (forward, backward) in ``steps``, ``backward(forward())``
    (``calls_recorded``; phases "forward" and "backward"), with NumPy's warnings silenced: of
    each, up to where the Python between them failed on a made-up output, if it did."""
    with calls_recorded() as seen, np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for forward, backward in steps:
            try:
                seen.phase = "forward"
                out = forward()
                seen.phase = "backward"
                backward(out)
            except Exception:  # noqa: BLE001 - a made-up output read: what was seen stays
                pass
    return seen


def needs_compiling(dispatcher, types: tuple) -> bool:
    """Whether a call of ``dispatcher`` with arguments of ``types`` would compile it and leave
    the code in Numba's disk cache: not in memory, not in the cache (its index read as
    Numba's ``Cache.load_overload`` reads it), and cacheable. False where that cannot be told
    (a Numba whose cache is laid out otherwise)."""
    if dispatcher.overloads.get(types) is not None or isinstance(dispatcher._cache, NullCache):
        return False
    try:
        cache = dispatcher._cache
        key = cache._index_key(types, dispatcher.targetctx.codegen())
        return key not in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - Numba's private layout changed: do nothing special
        return False


def compile_ahead(steps: list) -> dict:
    """Have the kernels of ``steps`` [(forward, backward)], each step ``backward(forward())``,
    compiled, those that Numba's cache lacks two at a time: the backwards' in a forked
    process while this one compiles the forwards' and then takes any backward kernel the
    other has not started (the module says how). {"here": n, "forked": n}: how many kernels
    each process took to compile, and "first": the building blocks compiled here before them
    (``building_blocks``)."""
    seen = record_steps(steps)
    here = [(d, t) for d, t in seen.of("forward") if needs_compiling(d, t)]
    # the last called first: most often the largest (a network's BPTT after its products)
    shared = [(d, t) for d, t in seen.of("backward") if needs_compiling(d, t)][::-1][:255]
    if not shared or not can_fork():
        _compile(here + shared)
        return {"here": len(here) + len(shared), "forked": 0, "first": 0}
    claims = _claims(len(shared))
    child = _compiling_child(shared, claims)
    first = [(d, t) for d, t in building_blocks(seen) if needs_compiling(d, t)]
    try:
        _compile(first)
        _compile(here)
        taken = _compile_claimed(shared, claims)  # those the other process has not started
        os.waitpid(child, 0)
        child = None
    finally:
        os.close(claims)
        if child is not None:  # an interrupt: the other process ends with this one's work
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
    _compile(shared)  # the other process's, from the cache now (here if it failed)
    return {"here": len(here) + taken, "forked": len(shared) - taken, "first": len(first)}


def building_blocks(seen: KernelCalls) -> list:
    """[(dispatcher, types)] for each float type of the arrays the recorded kernels were given:
    ``blas.gemm`` with its usual argument types (``gemm_signatures``), and the summed outer
    products (``linalg_cpu.sum_outer_signatures``) where a recorded kernel's module calls them."""
    from minirnn.kernels.blas import gemm, gemm_signatures
    from minirnn.kernels.linalg_cpu import sum_outer_previous_rows, sum_outer_signatures

    dtypes = sorted({str(t.dtype) for _, _, call in seen.calls for t in call
                     if isinstance(t, numba_types.Array)
                     and isinstance(t.dtype, numba_types.Float)})
    blocks = [(gemm, gemm_signatures)]
    if any(d.py_func.__globals__.get(sum_outer_previous_rows.__name__) is sum_outer_previous_rows
           for _, d, _ in seen.calls):
        blocks.append((sum_outer_previous_rows, sum_outer_signatures))
    return [(block, signature) for block, signatures in blocks for dtype in dtypes
            for signature in signatures(dtype)]


def _claims(count: int) -> int:
    """The reading end of a pipe that holds the numbers 0 … count - 1 (count < 256), a byte
    each, and no writer: two processes that share it each read a number to claim that piece
    of work (a read of one byte is atomic), and read nothing once all are claimed."""
    read, write = os.pipe()
    os.write(write, bytes(range(count)))
    os.close(write)
    return read


def _compile_claimed(calls: list, claims: int) -> int:
    """Compile the ``calls`` whose numbers this process claims from ``claims``, until none is
    left; how many it compiled."""
    taken = 0
    while claim := os.read(claims, 1):
        _compile([calls[claim[0]]])
        taken += 1
    return taken


def _compile(calls: list):
    """``dispatcher.compile(types)`` for each of ``calls``; one that Numba cannot compile is
    left to its call (which reports the error, as it always has: the types of a made-up step
    may be ones the real step never calls with). Any other error is raised: an interrupt
    that Numba's compiler swallowed leaves one of its own ("no compiled object yet")."""
    for dispatcher, types in calls:
        try:
            dispatcher.compile(types)
        except NumbaError:
            pass


def can_fork() -> bool:
    """Whether compiling in a forked process helps and is safe here: a system with ``fork``;
    a process given more than one core (Numba's thread count: a sweep's trial servers have
    one each, and forked there, their compilers only shared the cores); and Numba's
    threading layer not yet started in this process, or not GNU OpenMP's (which ends a
    forked child that starts threads, and compiling a parallel kernel starts them)."""
    import numba

    if not hasattr(os, "fork") or numba.config.NUMBA_NUM_THREADS < 2:
        return False
    from numba.np.ufunc import parallel

    return parallel._threading_layer in (None, "workqueue", "tbb")


def _compiling_child(calls: list, claims: int) -> int:
    """The id of a forked process that compiles the ``calls`` [(dispatcher, types)] it claims
    from ``claims`` (``_claims``) into Numba's disk cache and exits, never returning into the
    caller's code. Numba's compiler lock is held across the fork, so that no other thread of
    this process holds it in the child."""
    parent = os.getpid()
    sys.stdout.flush()  # what is buffered would be written twice otherwise
    sys.stderr.flush()
    with global_compiler_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings that a threaded process forks: see above
        pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _die_with(parent)
        _compile_claimed(calls, claims)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent compiles what is missing itself
        pass
    finally:
        os._exit(code)


def _die_with(parent: int):
    """Linux: have the kernel end this process when ``parent`` ends (``prctl``'s
    PR_SET_PDEATHSIG), so that a killed run leaves no compiler behind."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before it could be told
        os._exit(1)
