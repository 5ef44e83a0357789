"""minirnn.kernels.blas: NumPy's BLAS from the compiled kernels, and its threads.

``gemm(address, A, B, C, transpose_a, beta)`` computes C = beta C + op(A) B with NumPy's own
BLAS when ``address`` is its ``?gemm`` and with a plain loop when it is 0; both must equal
NumPy, on the strided row blocks the kernels pass (one time step of a (B, T, H) array)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from minirnn.kernels import blas
from minirnn.kernels.blas import gemm, gemm_address


def paths(dtype):
    return [0] + ([gemm_address(dtype)] if gemm_address(dtype) else [])


def test_numpys_blas_is_found_on_linux():
    import sys

    if sys.platform.startswith("linux"):  # NumPy's Linux wheels bundle OpenBLAS
        assert gemm_address(np.float32) != 0 and gemm_address(np.float64) != 0
    with blas.loops_only():
        assert gemm_address(np.float32) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [0.0, 1.0, 0.5])
@pytest.mark.parametrize("m,k,n", [(5, 6, 4), (1, 3, 1), (7, 1, 9), (3, 0, 2), (1, 33, 31),
                                   (40, 33, 17)])
def test_gemm_equals_numpy(dtype, beta, m, k, n):
    """Products of at most ``SMALL_PRODUCT`` multiply-adds run the loop on either path (a
    call into BLAS costs more than they do); the last two shapes are above it, so BLAS runs."""
    rng = np.random.default_rng(0)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    steps = rng.standard_normal((m, 3, k)).astype(dtype)  # steps[:, 1]: rows 3 k apart
    B = rng.standard_normal((k, n)).astype(dtype)
    At = rng.standard_normal((k, 2, m)).astype(dtype)[:, 0]  # A^T given, rows 2 m apart
    C0 = rng.standard_normal((m, n)).astype(dtype)
    for address in paths(dtype):
        C = C0.copy()
        gemm(address, steps[:, 1], B, C, False, beta)
        np.testing.assert_allclose(C, beta * C0 + steps[:, 1] @ B, rtol=tol, atol=tol)
        C = C0.copy()
        gemm(address, At, B, C, True, beta)
        np.testing.assert_allclose(C, beta * C0 + At.T @ B, rtol=tol, atol=tol)


def test_blas_threads_is_restored_after_the_block():
    before = blas.get_blas_threads()
    with blas.blas_threads(1):
        assert blas.get_blas_threads() in (None, 1)
    assert blas.get_blas_threads() == before


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_matmul_equals_numpy(monkeypatch, dtype):
    """Large products are cut over Numba's threads: by rows of A, or, for a weight gradient
    X^T Y, by the rows X and Y share (each thread's share summed after). Products below
    ``SPLIT_WORK`` are NumPy's own: the limit is lowered to 0 to split these, then raised past
    them for the small ones."""
    monkeypatch.setattr(blas, "SPLIT_WORK", 0)
    rng = np.random.default_rng(0)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    A = rng.standard_normal((1001, 130)).astype(dtype)  # odd rows: uneven blocks
    B = rng.standard_normal((130, 70)).astype(dtype)
    Y = rng.standard_normal((1001, 70)).astype(dtype)
    out = blas.matmul(A, B)
    assert out.shape == (1001, 70) and out.dtype == dtype
    np.testing.assert_allclose(out, A @ B, rtol=tol, atol=tol)
    gradient = blas.matmul(A.T, Y)
    np.testing.assert_allclose(gradient, A.T @ Y, rtol=tol, atol=tol)
    W = B.T.copy()  # B given as a transposed view, as in x W^T
    np.testing.assert_allclose(blas.matmul(A, W.T), A @ B, rtol=tol, atol=tol)
    packed = np.concatenate([A, Y], axis=1)  # rows of A and Y side by side, as in packed states
    np.testing.assert_allclose(blas.matmul(packed[:, 130:].T, packed[:, :130]), Y.T @ A,
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(blas.matmul(packed[:, :130], B), A @ B, rtol=tol, atol=tol)
    bias = rng.standard_normal(70).astype(dtype)  # added by each thread to its rows
    np.testing.assert_allclose(blas.matmul(A, B, bias), A @ B + bias, rtol=tol, atol=tol)
    monkeypatch.setattr(blas, "SPLIT_WORK", 1e7)
    small = blas.matmul(A[:3], B)  # too small to split: plain A @ B
    np.testing.assert_array_equal(small, A[:3] @ B)
    np.testing.assert_allclose(blas.matmul(A[:3], B, bias), A[:3] @ B + bias, rtol=tol,
                               atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n", [(1, 1), (3200, 64), (7, 5)])
def test_a_product_over_one_term_equals_numpy(dtype, m, n):
    """``matmul`` of A (m, 1) and B (1, n), the outer product an output layer of one unit sends
    back, goes to ``gemm`` (NumPy's own loop is slow there): NumPy's numbers, with and without
    the bias, from a column of a wider array too."""
    rng = np.random.default_rng(4)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    wide = rng.standard_normal((m, 3)).astype(dtype)
    B = rng.standard_normal((1, n)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    for A in (np.ascontiguousarray(wide[:, 1:2]), wide[:, 1:2]):
        np.testing.assert_allclose(blas.matmul(A, B), A @ B, rtol=tol, atol=tol)
        np.testing.assert_allclose(blas.matmul(A, B, bias), A @ B + bias, rtol=tol, atol=tol)
        assert blas.matmul(A, B).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_column_sums_equal_numpy(dtype):
    X = np.random.default_rng(2).standard_normal((3201, 7)).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(blas.column_sums(X), X.sum(axis=0), rtol=tol, atol=tol)
    assert blas.column_sums(X[:1]).shape == (7,)


@pytest.mark.parametrize("program_sets,after", [("blas.set_blas_threads(2)", "1"),
                                                ("mr.kernels.blas.prepare_cpu(2)", "2")])
def test_the_cpu_engine_prepares_the_process_unless_the_program_did(program_sets, after):
    """Before its first kernel the cpu engine puts NumPy's BLAS on one thread for good (its
    own threads do the parallel work), unless the program called prepare_cpu itself. A fresh
    process each, since other tests have run kernels."""
    import subprocess
    import sys

    code = f"""
from minirnn.kernels import blas
import minirnn as mr, numpy as np
if blas.get_blas_threads() is None:
    print("no OpenBLAS"); raise SystemExit
{program_sets}
mr.models.Elman(input_size=2, hidden_size=3, output_size=1, backend="cpu")(
    np.zeros((2, 4, 2)))
print(blas.get_blas_threads())
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() in (after, "no OpenBLAS")


@pytest.mark.parametrize("B,T", [(1, 1), (1, 5), (4, 1), (3, 7), (40, 60)])
def test_recurrent_weight_gradient_without_the_shifted_copy(B, T):
    """sum_outer_previous(d, s0, s) = Σ_{b,t} d_t s_{t-1}^T with s_{-1} = s0, computed from the
    states as they lie (no concatenated copy), also on column slices of packed states; the
    largest case is cut over threads."""
    from minirnn.kernels.fused import sum_outer_previous

    rng = np.random.default_rng(B * 100 + T)
    d = rng.standard_normal((B, T, 5))
    packed = rng.standard_normal((B, T, 9))
    initial = rng.standard_normal((B, 9))
    for cols in (slice(0, 9), slice(2, 6)):  # all of it, and a block of columns
        states, s0 = packed[:, :, cols], initial[:, cols]
        previous = np.concatenate([s0[:, None], states[:, :-1]], axis=1)
        expected = np.einsum("bti,btj->ij", d, previous)
        np.testing.assert_allclose(sum_outer_previous(d, s0, states), expected, rtol=1e-12,
                                   atol=1e-12)


def test_cached_kernels_are_cleared_when_a_source_changes(tmp_path):
    """Numba would keep a kernel whose callee in another file changed; minirnn deletes its
    cache when the hash of its compiled sources changes, and only then."""
    from minirnn.kernels.kernel_cache import clear_stale_kernels

    (tmp_path / "__pycache__").mkdir(parents=True)
    (tmp_path / "blas.py").write_text("x = 1\n")
    (tmp_path / "activations.py").write_text("y = 1\n")
    cached = tmp_path / "__pycache__" / "elman_cpu._elman_forward-26.py311.nbi"
    cached.write_bytes(b"index")
    assert clear_stale_kernels(tmp_path)  # no stamp yet
    assert not cached.exists()
    cached.write_bytes(b"index")
    (tmp_path / "notes.txt").write_text("z = 1\n")  # not code: no effect
    assert not clear_stale_kernels(tmp_path) and cached.exists()
    (tmp_path / "activations.py").write_text("y = 2\n")
    assert clear_stale_kernels(tmp_path) and not cached.exists()


def test_a_cached_kernel_loads_without_numbas_registries_and_compiling_still_works():
    """A kernel from Numba's disk cache is machine code: loading it starts Numba's runtime but
    imports none of the modules whose registries Numba fills for compiling (its array
    functions among them), which cost a sixth of a warm one-epoch run. The numbers are those
    of the tape engine, and a compilation afterwards fills the registries and works. A fresh
    process, after this one has put the kernels in the cache."""
    code = "\n".join([
        "import sys, numpy as np, minirnn as mr",
        "x = np.random.default_rng(0).standard_normal((1, 4, 2))",
        "y = {b: mr.models.Elman(input_size=2, hidden_size=3, output_size=1, backend=b)(x).data",
        "     for b in ('cpu', 'tape')}",
        "print('numba.np.arraymath' in sys.modules)",
        "print(np.allclose(y['cpu'], y['tape'], rtol=1e-12, atol=1e-12))",
        "from minirnn.kernels.elman.cpu import _elman_forward",
        "print(type(_elman_forward.serial._cache).__name__)",
        "import numba",
        "print(numba.njit(lambda a: a.sum())(np.arange(4.0)), 'numba.np.arraymath' in sys.modules)",
    ])
    for _ in range(2):  # the first run may compile the kernels, the second loads them
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["False", "True", "CacheLoadingWithoutRegistries",
                                       "6.0 True"]


@pytest.mark.parametrize("damaged", ["nbc", "nbi"])
def test_a_damaged_cache_entry_is_compiled_again_and_written_over(tmp_path, damaged):
    """A kernel's cache file cut short (its data, or its function's index) failed every later
    run with Numba's unpickling error; now that run compiles the kernel again, with the same
    numbers, and the next one loads it from the cache."""
    code = "\n".join([
        "import numpy as np",
        "from minirnn.kernels import linalg_cpu",
        "x, out = np.arange(3.0), np.zeros(3)",
        "linalg_cpu.copy_into(x, out)",
        "print(out.tolist(), sum(linalg_cpu.copy_into.stats.cache_hits.values()))"])
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))

    def run():
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert run() == ["[0.0,", "1.0,", "2.0]", "0"]  # compiled into the empty cache
    files = [p for p in tmp_path.rglob(f"*copy_into*.{damaged}")]
    assert len(files) == 1
    files[0].write_bytes(files[0].read_bytes()[:40])
    assert run() == ["[0.0,", "1.0,", "2.0]", "0"]  # compiled again, not an error
    assert run() == ["[0.0,", "1.0,", "2.0]", "1"]  # and loaded from the cache after


def test_kernels_compile_uncached_where_numba_has_nowhere_to_keep_them():
    """A read-only install and a read-only home folder leave Numba no folder for its cache
    (``numba.njit(cache=True)`` then raises when a function is defined); the kernels are
    compiled without the disk cache instead, and a ``NoKernelCache`` warning says so once."""
    code = "\n".join([
        "import warnings, numpy as np",
        "from numba.core import caching",
        "impl = getattr(caching, 'CacheImpl', None) or caching._CacheImpl  # (before 0.61)",
        "impl._locator_classes = []  # as if every cache folder were read-only",
        "with warnings.catch_warnings(record=True) as caught:",
        "    warnings.simplefilter('always')",
        "    from minirnn.kernels import blas, linalg_cpu",
        "x, out = np.arange(3.0), np.zeros(3)",
        "linalg_cpu.copy_into(x, out)",
        "print(out.tolist(), 'gemm' in blas.UNCACHED, 'copy_into' in blas.UNCACHED,",
        "      sum(type(w.message).__name__ == 'NoKernelCache' for w in caught))"])
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["[0.0,", "1.0,", "2.0]", "True", "True", "1"]


@pytest.mark.parametrize("model", ["elman", "memory", "multilayer", "narx"])
def test_small_work_on_one_thread_gives_the_numbers_of_the_split_kernels(monkeypatch, model):
    """Below ``SPLIT_WORK`` a kernel runs as one block on the calling thread (no thread is
    woken); the outputs and gradients equal the split kernels' to rounding (BLAS may sum a
    product of 6 rows in another order than two of 3, and the weight gradient's blocks are
    added in another order)."""
    import numba

    from minirnn.kernels import blas
    from minirnn.models.registry import build_model, model_config

    config = model_config(model, 2, 1, 5, backend="cpu", dtype="float64",
                          **({"mode": "closed"} if model == "narx" else {}))
    x = np.random.default_rng(0).standard_normal((6, 7, 2))
    results = []
    for split_work in (0, float("inf")):
        monkeypatch.setattr(blas, "SPLIT_WORK", split_work)
        assert blas.row_blocks(6, 6 * 7 * 25) == (1 if split_work else
                                                  min(6, numba.get_num_threads()))
        net = build_model(model, config)
        out = net(x)
        out.sum().backward()
        results.append((out.data, [p.grad for p in net.parameters()]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-15)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS  # restored after each


def test_a_kernel_call_runs_blas_on_one_thread_and_gives_back_the_programs_count():
    """Around a kernel call of several blocks BLAS is on one thread (the kernels call it from
    Numba's threads); a count the program set (after the cpu engine's own settings,
    ``prepare_cpu``, which the first kernel call makes and which leave BLAS on one thread) is
    put back afterwards, and one already 1 is left alone. A call of one block runs on the
    calling thread alone and leaves the program's count as it is."""
    if blas.get_blas_threads() is None:
        pytest.skip("this BLAS cannot be told its thread count")
    blas.prepare_cpu_once()
    before = blas.get_blas_threads()
    try:
        for count in (2, 1):
            blas.set_blas_threads(count)
            with blas.kernel_threads(2):
                assert blas.get_blas_threads() == 1
            assert blas.get_blas_threads() == count
            with blas.kernel_threads(1):
                assert blas.get_blas_threads() == count
    finally:
        blas.set_blas_threads(before)


def test_a_small_run_compiles_the_serial_kernels_alone_and_starts_no_thread_pool():
    """A kernel over blocks of rows is compiled two ways (``RowBlockKernel``): a call with one
    block, which is every call on small data, runs the serial compilation and leaves Numba's
    thread pool unstarted; a call with several blocks runs the parallel one. Both give the
    numbers of the NumPy reference. A fresh process, since other tests have run kernels."""
    import subprocess
    import sys

    code = """
import numpy as np
from numba.np.ufunc import parallel
import minirnn as mr
from minirnn.kernels import blas
from minirnn.kernels.elman import cpu
model = mr.models.Elman(input_size=2, hidden_size=3, output_size=1, backend="cpu")
model(np.ones((2, 4, 2))).sum().backward()
engine = mr.kernels.thread_count()
print(bool(cpu._elman_forward.serial.signatures), bool(cpu._elman_forward.parallel.signatures),
      parallel._is_initialized, engine)
blas.SPLIT_WORK = 0
model(np.ones((2, 4, 2))).sum().backward()
print(bool(cpu._elman_forward.parallel.signatures), parallel._is_initialized)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    small, split = run.stdout.splitlines()
    import numba

    assert small == f"True False False {numba.config.NUMBA_NUM_THREADS}"
    # cut into blocks, the kernel runs its parallel compilation where there are threads to
    # share the blocks; on one thread every call is one block, still serial; sizing the blocks
    # asked for the thread count, which starts the pool either way
    assert split == f"{numba.config.NUMBA_NUM_THREADS > 1} True"


@pytest.mark.parametrize("B", [1, 3, 8])
def test_the_serial_and_parallel_compilations_of_a_kernel_give_the_same_numbers(B):
    """The same Elman forward kernel run through its serial and its parallel compilation, with
    the batch cut into the same blocks: equal bit for bit (the blocks' arithmetic is the same
    code, only which thread runs a block differs)."""
    from minirnn.kernels.activations import CODES
    from minirnn.kernels.elman import cpu

    rng = np.random.default_rng(B)
    T, I, H = 5, 2, 3
    x = rng.standard_normal((B, T, I))
    W_in, W_hh = rng.standard_normal((H, I)), rng.standard_normal((H, H))
    b, h0 = rng.standard_normal(H), rng.standard_normal((B, H))
    lengths = np.full(B, T, dtype=np.int64)
    c = np.ascontiguousarray
    O = 2
    W_out, b_out = rng.standard_normal((O, H)), rng.standard_normal(O)
    outs = []
    for kernel in (cpu._elman_forward.serial, cpu._elman_forward.parallel):
        hs, y = np.empty((B, T, H)), np.empty((B, T, O))
        with blas.kernel_threads(B):
            kernel(B, x, c(W_in.T), b, c(W_hh.T), h0, lengths, CODES["tanh"],
                   gemm_address(x.dtype), hs, c(W_out.T), b_out, CODES["identity"], y)
        outs.append((hs, y))
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    outs = [hs for hs, _ in outs]
    np.testing.assert_array_equal(outs[0], outs[1])
