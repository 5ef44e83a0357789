r"""NumPy's BLAS, shared between Python and the compiled kernels of the ``cpu`` engine.

Matrix products. A recurrence step is a small product over a block of batch rows, and a
projection is a large one over every (b, t); both have the form

    C = β C + op(A) B            op(A) = A or A^T.

A hand-written Numba loop reaches about a third of what the BLAS reaches on the same product
(one thread, float32, from compiled code; BENCHMARKS.md). Numba's
own ``np.dot`` calls BLAS only through SciPy, which minirnn does not depend on; but NumPy ships
OpenBLAS, and its CBLAS ``gemm`` can be called directly from compiled code (``gemm``). Its
address is looked up once (``gemm_address``) and handed to the kernels as a plain integer
argument, so the compiled kernels stay cacheable (an address baked into the code would not be)
and a kernel run with address 0 uses its own loop instead: on a NumPy whose BLAS cannot be
found (not Linux, not OpenBLAS), and inside ``loops_only()``, which the tests use to check that
both paths give the same numbers.

Threads. The kernels run on Numba's thread pool, each thread calling ``gemm`` on its own block
of rows, so BLAS must not start threads of its own (``kernel_threads()`` around every kernel).
Large products outside the recurrences (``matmul``: the projections and weight gradients) are
cut the same way over Numba's threads, so ONE pool does all the work of a training step: two
pools on the same cores (Numba's and OpenBLAS's, whose idle threads keep spinning for a while
after each call) slowed each other 3-5x on this project's 2-core machine (BENCHMARKS.md).
For the same reason the cpu engine leaves NumPy's BLAS on one thread from its first kernel
on (``prepare_cpu``): switching it back to two between kernels still made a
step 2-3x slower, the workers spinning after every small product in between.
``set_blas_threads(n)`` sets the count for NumPy's own products, for good (the ``minirnn``
command sets 1 unless told otherwise with ``--blas-threads``). All of this needs NumPy's
OpenBLAS; with any other BLAS the thread functions do nothing, ``get_blas_threads()`` returns
None, and ``matmul`` is NumPy's.
"""
from __future__ import annotations

import ctypes
import functools
import inspect
import os
import types as types_module
import warnings
from contextlib import contextmanager

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ..autograd.arrays import on_device
from ..errors import NO_CACHE, NoKernelCache
from .kernel_cache import load_without_registries
from .process import keep_freed_memory

# Compiler freedom the cpu kernels allow: contraction into FMA and sign-of-zero freedom only,
# no NaN/inf assumptions, so a diverging network shows its NaN.
FASTMATH = {"contract", "nsz"}


def cpu_jit(parallel: bool = False, inline: bool = False):
    """How every CPU kernel and building block is compiled: cached on disk, ``FASTMATH``, and
    NumPy's error model, under which x / 0 gives inf or NaN (IEEE) instead of raising
    ZeroDivisionError. The check that Python's model needs is a branch in every loop that
    divides, and it stopped the float32 tanh loop from vectorising (about 9x slower).

    A parallel kernel over blocks of rows (a ``blocks`` argument) becomes a ``RowBlockKernel``:
    compiled for threads only when a call has several blocks.

    ``inline=True`` compiles a function into each kernel that calls it (Numba's
    ``inline="always"``) rather than as a function of its own. Numba compiles a called
    function on its own, then links its code into the caller's and optimises and compiles the
    whole again, at every level of calls: the Elman kernels' code, five levels deep, went
    through LLVM five times, most of a first run's wait. A kernel's own parts, called from one
    place, are inlined; what many kernels call (``gemm``, ``linalg_cpu``) stays a function:
    inlined, it made each kernel's one function larger, and no faster to compile."""
    if not parallel:
        return _njit(False, inline)

    def compile_kernel(py_func):
        if "blocks" in inspect.signature(py_func).parameters:
            return RowBlockKernel(py_func)
        return _njit(True)(py_func)

    return compile_kernel


#: the kernels compiled without Numba's disk cache, which had nowhere to keep them
#: (``errors.NO_CACHE``): each run compiles these again
UNCACHED = []


def _njit(parallel: bool, inline: bool = False):
    options = dict(parallel=parallel, fastmath=FASTMATH, error_model="numpy",
                   inline="always" if inline else "never")

    def compile_later(py_func):
        try:
            return load_without_registries(numba.njit(cache=True, **options)(py_func))
        except RuntimeError as error:  # raised here, when the function is defined
            # Numba found none of its cache folders writable: the package's (a read-only
            # install), the user's (a read-only or missing home), NUMBA_CACHE_DIR (unset)
            if "no locator available" not in str(error):
                raise
        if not UNCACHED:  # said once: it holds for every kernel
            warnings.warn(NO_CACHE, NoKernelCache, stacklevel=2)
        UNCACHED.append(py_func.__qualname__)
        return numba.njit(cache=False, **options)(py_func)

    return compile_later


class RowBlockKernel:
    """A kernel whose ``numba.prange(blocks)`` loop gives each thread a block of rows, compiled
    two ways, each on its first use: with ``parallel=True`` for a call with several blocks, and
    serial (``prange`` is then ``range``) for a call with one, which is every call below
    ``SPLIT_WORK`` (``row_blocks``). The serial code is the same loop on the calling thread,
    so the numbers are the same; it compiles faster (the Elman kernels 2-5x: Numba's parfor
    passes are seconds of each parallel kernel, which a first run on small data waited for),
    and it needs no thread pool, which took 70-150 ms to start on the 2-core machine of
    BENCHMARKS.md. The two are cached apart (the serial one under ``<kernel>_serial``)."""

    def __init__(self, py_func):
        functools.update_wrapper(self, py_func)
        self.py_func = py_func
        self.at = list(inspect.signature(py_func).parameters).index("blocks")
        self.parallel = _njit(True)(py_func)
        self.serial = _njit(False)(_renamed(py_func, "_serial"))

    def __call__(self, *args):
        return (self.serial if args[self.at] == 1 else self.parallel)(*args)


def _renamed(py_func, suffix: str):
    """A copy of ``py_func`` whose qualified name ends in ``suffix``: Numba names a kernel's
    cache files after it, and two compilations of one function would overwrite each other's."""
    copy = types_module.FunctionType(py_func.__code__, py_func.__globals__,
                                     py_func.__name__ + suffix, py_func.__defaults__,
                                     py_func.__closure__)
    copy.__qualname__ = py_func.__qualname__ + suffix
    copy.__module__, copy.__doc__ = py_func.__module__, py_func.__doc__
    return copy


# --- finding NumPy's OpenBLAS -------------------------------------------------------------------
@functools.cache
def openblas():
    """The OpenBLAS library NumPy loaded, as a ``ctypes.CDLL``, or None (another BLAS, or not
    Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:  # not Linux: no way to find it here
        paths = set()
    for path in sorted(paths, key=lambda p: ("numpy" not in p, p)):  # NumPy's own first
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def _function(names, argtypes, restype):
    lib = openblas()
    for name in names:
        if lib is not None and hasattr(lib, name):
            function = getattr(lib, name)
            function.argtypes, function.restype = argtypes, restype
            return function
    return None


# --- the BLAS thread count ----------------------------------------------------------------------
@functools.cache
def _thread_functions():
    setter = _function(("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                        "openblas_set_num_threads64_", "openblas_set_num_threads"),
                       [ctypes.c_int], None)
    getter = _function(("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                        "openblas_get_num_threads64_", "openblas_get_num_threads"),
                       [], ctypes.c_int)
    return (setter, getter) if setter is not None and getter is not None else None


def get_blas_threads() -> int | None:
    found = _thread_functions()
    return None if found is None else int(found[1]())


def set_blas_threads(count: int) -> bool:
    """Set the BLAS thread count; False if the BLAS cannot be told."""
    found = _thread_functions()
    if found is not None:
        found[0](count)
    return found is not None


@contextmanager
def blas_threads(count: int):
    """Run the block with BLAS on ``count`` threads (no effect if the BLAS cannot be told)."""
    found = _thread_functions()
    if found is None:
        yield
        return
    setter, getter = found
    previous = getter()
    if previous != count:
        setter(count)
    try:
        yield
    finally:
        if previous != count:
            setter(previous)


_prepared = False


def prepare_cpu(blas_threads: int = 1):
    """The process settings of the cpu engine (``process.py`` says why): NumPy's BLAS on
    ``blas_threads`` threads, and freed memory kept for reuse."""
    global _prepared
    _prepared = True
    set_blas_threads(blas_threads)
    keep_freed_memory()


def prepare_cpu_once():
    """``prepare_cpu()`` unless it has run: what the cpu engine does before its first kernel."""
    if not _prepared:
        prepare_cpu()


def thread_count() -> int:
    """Numba's thread count for the calling thread, without starting its pool: a run on small
    data never needs the pool (``kernel_threads``), and starting it took 70-150 ms on the
    2-core machine of BENCHMARKS.md. Until it
    starts, nothing can have changed the count from ``NUMBA_NUM_THREADS``."""
    from numba.np.ufunc import parallel

    if getattr(parallel, "_is_initialized", True):
        return numba.get_num_threads()
    return numba.config.NUMBA_NUM_THREADS


def _numba_thread_count():
    """(get, set) of Numba's thread count for the calling thread: the C functions behind
    ``numba.get_num_threads`` and ``set_num_threads``, without the lock and the checks those
    take at every call (0.5 and 0.8 us, twice per kernel call: a tenth of a whole small
    training step), or the public functions where this Numba has no such names."""
    numba.get_num_threads()  # starts the pool: the C functions are bound from then on
    from numba.np.ufunc import parallel

    get, set_ = (getattr(parallel, name, None) for name in ("_get_num_threads",
                                                             "_set_num_threads"))
    if callable(get) and callable(set_) and get() == numba.get_num_threads():
        return get, set_
    return numba.get_num_threads, numba.set_num_threads


class kernel_threads:
    """``with kernel_threads(blocks):`` around a cpu kernel call: BLAS on one thread while the
    kernels call it from each of Numba's threads, and Numba's pool cut to ``blocks`` threads
    for the call when the kernel has fewer blocks than threads (one block: the calling thread
    alone, no thread woken); before the first kernel, the process settings of ``prepare_cpu``
    (BLAS left on one thread afterwards too, freed memory kept), unless the program made them
    itself. A call with one block runs a ``RowBlockKernel``'s serial code on the calling thread,
    so only the process settings are made: Numba's pool is left alone (and not started: a run
    on small data never starts it), and so is BLAS, which one thread calls as NumPy's own
    products do (the thread counts' C calls cost about 3 us, a tenth of a tiny network's
    forward). (A class, not a generator: it runs around every kernel call.)"""

    __slots__ = ("blocks", "threads", "blas_before")
    _count = None  # (get, set) of Numba's thread count, once the pool has started

    def __init__(self, blocks: int | None = None):
        self.blocks = blocks

    def __enter__(self):
        prepare_cpu_once()
        self.threads = 0  # Numba's count to restore; 0: left alone
        self.blas_before = None  # BLAS's count to restore, when it was not 1
        if self.blocks == 1:
            return self
        if kernel_threads._count is None:
            kernel_threads._count = _numba_thread_count()
        get, set_ = kernel_threads._count
        threads = get()
        if self.blocks is not None and self.blocks < threads:
            set_(self.blocks)
            self.threads = threads
        # BLAS's count through its C functions, not ``blas_threads`` (a generator's context
        # manager: a microsecond of every kernel call); it is already 1 unless a program set it
        found = _thread_functions()
        if found is not None:
            previous = found[1]()
            if previous != 1:
                found[0](1)
                self.blas_before = previous
        return self

    def __exit__(self, *exc):
        try:
            if self.blas_before is not None:
                _thread_functions()[0](self.blas_before)
        finally:
            if self.threads:
                kernel_threads._count[1](self.threads)
        return False


# --- gemm from compiled code --------------------------------------------------------------------
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# NumPy's wheels bundle OpenBLAS with 64-bit integers and prefixed names; a system OpenBLAS
# built the same way has the plain ones.
_GEMM_SYMBOLS = {np.dtype(np.float32): ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
                 np.dtype(np.float64): ("scipy_cblas_dgemm64_", "cblas_dgemm64_")}
_enabled = True


@contextmanager
def loops_only():
    """Run the block with the kernels' own loops instead of BLAS (to compare the two)."""
    global _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = True


def gemm_address(dtype) -> int:
    """The address of the 64-bit-integer CBLAS ``?gemm`` for this dtype in NumPy's OpenBLAS,
    or 0 when there is none or inside ``loops_only()`` (the kernels then use their own loop)."""
    return _find_gemm(np.dtype(dtype)) if _enabled else 0


@functools.cache
def _find_gemm(dtype) -> int:
    function = _function(_GEMM_SYMBOLS.get(dtype, ()), None, None)
    return 0 if function is None else ctypes.cast(function, ctypes.c_void_p).value or 0


@intrinsic
def _cblas_gemm(typingctx, address, trans_a, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
    """cblas_?gemm(RowMajor, trans_a, NoTrans, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
    through a function pointer given at run time."""
    float_type = C.dtype
    signature = types.void(types.intp, types.int64, types.int64, types.int64, types.int64,
                           types.float64, A, types.int64, B, types.int64, types.float64, C,
                           types.int64)

    def codegen(context, builder, sig, args):
        (address, trans_a, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc) = args
        real = context.get_value_type(float_type)
        i32, i64, ptr = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(),
                               [i32, i32, i32, i64, i64, i64, real, ptr, i64, ptr, i64, real,
                                ptr, i64])
        function = builder.inttoptr(address, fnty.as_pointer())

        def data(array_type, value):
            array = context.make_array(array_type)(context, builder, value)
            return builder.bitcast(array.data, ptr)

        def scalar(value):
            return value if real == ir.DoubleType() else builder.fptrunc(value, real)

        builder.call(function, [
            ir.Constant(i32, _ROW_MAJOR), builder.trunc(trans_a, i32), ir.Constant(i32, _NO_TRANS),
            m, n, k, scalar(alpha), data(sig.args[6], A), lda, data(sig.args[8], B), ldb,
            scalar(beta), data(sig.args[11], C), ldc])
        return context.get_dummy_value()

    return signature, codegen


#: multiply-adds at or below which ``gemm`` runs its own loop instead of calling BLAS: a call
#: into OpenBLAS costs more than the arithmetic of a step of a tiny network (one row times an
#: 8 x 8 weight: 1 x 8 x 8). Not more: at 1024 the loop also took a Jordan's output at B = 32,
#: H = 32 (32 x 32 x 1), one column it cannot vectorise, and lost to BLAS (BENCHMARKS.md,
#: "the Elman layer in one call")
SMALL_PRODUCT = 256


#: ``transpose_a`` of ``gemm`` as NumPy booleans, which Numba types as ``bool``. A literal True
#: or False is a type of its own to it, and every kernel that wrote one compiled gemm once more
#: for it (two of the four compilations of gemm that a first Elman run waited for)
TRANSPOSED, NOT_TRANSPOSED = np.bool_(True), np.bool_(False)


@cpu_jit()
def gemm(address, A, B, C, transpose_a, beta):
    """C = beta C + op(A) B, with op(A) = A^T if transpose_a else A. A, B, C are 2-D with
    contiguous rows (row strides may be anything, e.g. one time step of a (B, T, H) array).
    BLAS when ``address`` is not 0 and the product is above ``SMALL_PRODUCT``, otherwise the
    loop below."""
    m, n = C.shape
    k = A.shape[0] if transpose_a else A.shape[1]
    if address != 0 and m * n * k > SMALL_PRODUCT:
        size = C.itemsize
        _cblas_gemm(address, _TRANS if transpose_a else _NO_TRANS, m, n, k, 1.0,
                    A, max(A.strides[0] // size, A.shape[1], 1),
                    B, max(B.strides[0] // size, n, 1), beta, C,
                    max(C.strides[0] // size, n, 1))
        return
    # axpy order: each row of B, once loaded, serves every row of C, and the
    # inner loop runs over contiguous memory, so it vectorises without reassociating sums.
    if beta == 0:
        C[:] = 0
    elif beta != 1:
        for i in range(m):
            for j in range(n):
                C[i, j] *= beta
    for kk in range(k):
        for i in range(m):
            a = A[kk, i] if transpose_a else A[i, kk]
            for j in range(n):
                C[i, j] += a * B[kk, j]


def gemm_signatures(dtype) -> list:
    """The argument types of ``gemm`` that nearly every kernel's compilation needs for arrays of
    ``dtype``: every family's recurrence multiplies C-contiguous rows (A, B, C all 'C'), and
    most backwards sum outer products over a slice of rows (A of any layout: 'A'), each a
    compilation of ``gemm`` of its own (``compile_ahead`` has them compiled first)."""
    rows = types.Array(numba.from_dtype(np.dtype(dtype)), 2, "C")
    return [(types.int64, a, rows, rows, types.boolean, types.float64)
            for a in (rows, rows.copy(layout="A"))]


# --- large products on Numba's threads ----------------------------------------------------------
#: multiply-adds (or copied elements) below which a kernel or a product runs on the calling
#: thread alone (a product: NumPy's own, on one-threaded BLAS).
#: Numba's OpenMP threads wait asleep (``minirnn/__init__.py``: a spinning wait made two runs
#: on one machine many times slower), and waking one costs more than it saves on small work:
#: a whole Elman training step on 2 threads gained nothing below about 1e7 multiply-adds and
#: gained from there on; the products are as fast or faster with the same limit as with one of
#: their own (BENCHMARKS.md, "under load"). Tests set it to 0 to split every kernel and product.
SPLIT_WORK = 1e7


#: the blocks of rows a large kernel or product is cut into in deterministic mode, whatever
#: the thread count (each thread takes whole blocks)
DETERMINISTIC_BLOCKS = 8
_deterministic = os.environ.get("MINIRNN_DETERMINISTIC", "0") not in ("", "0")


def set_deterministic(on: bool = True):
    """Results that do not depend on the thread count (or ``MINIRNN_DETERMINISTIC=1``).

    Which rows one BLAS call computes together changes the rounding of each row (OpenBLAS
    computes a row at the edge of its tiles with other instructions than one inside them), and
    a weight gradient summed over blocks of rows adds the blocks' shares in another grouping;
    so when the rows are cut one block per thread, 1 and 2 threads train to weights ~1e-8
    apart. In deterministic mode the cut depends on the batch alone: min(B, 8) blocks, shared
    out among the threads, and the products split alike even on one thread. It costs up to
    41% of a training step on a 2-core machine (more, smaller products per step; nothing for
    the families without a recurrence kernel), and uses at most 8 threads per kernel
    (BENCHMARKS.md, ``minirnn bench --training --deterministic``)."""
    global _deterministic
    _deterministic = bool(on)


def deterministic() -> bool:
    return _deterministic


def row_blocks(batch: int, work: float = float("inf")) -> int:
    """How many blocks the kernels cut a batch into: one per thread, fewer when the batch is
    smaller, and one when the kernel's ``work`` is below ``SPLIT_WORK``; in deterministic mode
    ``DETERMINISTIC_BLOCKS`` (or the batch, if smaller), whatever the thread count."""
    if work < SPLIT_WORK:
        return 1
    if _deterministic:
        return max(1, min(batch, DETERMINISTIC_BLOCKS))
    return max(1, min(batch, numba.get_num_threads()))


@cpu_jit()
def block_bounds(block, blocks, size):
    """[lo, hi) of ``block`` when ``size`` items are cut into ``blocks`` near-equal blocks."""
    return block * size // blocks, (block + 1) * size // blocks


@cpu_jit(parallel=True)
def _rows_matmul(address, A, B, bias, C, blocks):
    """C = A B (+ bias on every row, if it has any entries), each thread computing a block of
    C's rows and adding the bias to them while they are in its cache."""
    for block in numba.prange(blocks):
        lo, hi = block_bounds(block, blocks, C.shape[0])
        gemm(address, A[lo:hi], B, C[lo:hi], NOT_TRANSPOSED, 0.0)
        if bias.size > 0:
            for r in range(lo, hi):
                row = C[r]
                for j in range(bias.size):
                    row[j] += bias[j]


@cpu_jit(parallel=True)
def _transposed_matmul(address, A, B, partial, blocks):
    """partial[block] = A[rows]^T B[rows], each thread over a block of the shared rows (a
    weight gradient Σ_rows a b^T: the caller adds the blocks' shares)."""
    for block in numba.prange(blocks):
        lo, hi = block_bounds(block, blocks, A.shape[0])
        gemm(address, A[lo:hi], B[lo:hi], partial[block], TRANSPOSED, 0.0)


def block_sum(partial):
    """Σ_block partial[block]: the blocks' shares of a weight gradient added (the one share
    itself when there is one block: NumPy's sum over a first axis of length one costs a
    microsecond, a tenth of a tiny network's BPTT)."""
    return partial[0] if partial.shape[0] == 1 else partial.sum(axis=0)


def column_sums(X):
    """Σ_rows X for a 2-D array (a bias gradient), as the product 1^T X: BLAS's matrix-vector
    product reads X once, in order (5x faster than NumPy's ``sum(axis=0)`` on (3200, 64))."""
    if on_device(X):  # a CuPy array: the GPU's own reduction
        return X.sum(axis=0)
    if X.shape[0] == 1:  # a shared initial state's gradient over a batch of one: the row
        return X[0].copy()
    return np.ones(X.shape[0], dtype=X.dtype) @ X


def _rows(X):
    """X itself when each of its rows is contiguous (gemm takes any row stride, e.g. a slice of
    packed states), else a contiguous copy."""
    ok = X.strides[1] == X.itemsize and X.strides[0] >= X.shape[1] * X.itemsize
    return X if ok else np.ascontiguousarray(X)


def _outer(A, B, bias):
    """A @ B (+ bias) for A (m, 1), B (1, n): the outer product, by ``gemm``. NumPy's matmul
    runs a product over one term in its own loop rather than BLAS (its strides do not suit
    BLAS), 10-20x slower: 0.5-1 ms for the (3200, 1) x (1, 64) of an output layer of one
    unit's backward, more than the rest of a sliding window's training step (BENCHMARKS.md)."""
    out = np.empty((A.shape[0], B.shape[1]), dtype=A.dtype)
    gemm(gemm_address(A.dtype), _rows(A), _rows(B), out, NOT_TRANSPOSED, 0.0)
    if bias is not None:
        out += bias
    return out


def matmul(A, B, bias=None):
    """A @ B (+ bias, broadcast over the rows) for 2-D arrays, cut over Numba's threads with
    one-threaded BLAS in each when it is large; ``A`` may be the transpose of a row-major array
    (``X.T @ Y``: a weight gradient). NumPy's ``A @ B`` when small, or when NumPy's BLAS
    cannot be called. Each thread adds the bias to its own rows right after their product:
    added afterwards by NumPy, in one more pass over the output, it cost 40% of the product.

    Arrays on the GPU (CuPy, the cuda engine's device-resident training) are multiplied there,
    by cuBLAS through CuPy."""
    # small products (most of a small model's), and products on the GPU: the array library's
    # own, asked first: each check before the split costs a microsecond, per product
    if A.shape[0] * A.shape[1] * B.shape[1] < SPLIT_WORK or on_device(A) or on_device(B):
        if A.shape[1] == 1 and not on_device(A) and A.dtype == B.dtype:
            return _outer(A, B, bias)
        out = A @ B
        if bias is not None:
            out += bias
        return out
    threads = numba.get_num_threads()
    address = gemm_address(np.result_type(A, B)) if A.dtype == B.dtype else 0
    if (threads < 2 and not _deterministic) or address == 0:
        out = A @ B
        if bias is not None:
            out += bias
        return out
    B = _rows(B)
    if A.strides[0] == A.itemsize and A.strides[1] >= A.shape[0] * A.itemsize:
        X = A.T  # A = X^T with X's rows contiguous (a weight gradient): share X's rows
        blocks = row_blocks(X.shape[0])
        partial = np.empty((blocks, A.shape[0], B.shape[1]), dtype=A.dtype)
        with kernel_threads(blocks):
            _transposed_matmul(address, X, B, partial, blocks)
        out = block_sum(partial)
        if bias is not None:
            out += bias
        return out
    A = _rows(A)
    out = np.empty((A.shape[0], B.shape[1]), dtype=A.dtype)
    no_bias = np.zeros(0, dtype=A.dtype)
    blocks = row_blocks(A.shape[0])
    with kernel_threads(blocks):
        _rows_matmul(address, A, B, no_bias if bias is None else np.ascontiguousarray(bias),
                     out, blocks)
    return out
