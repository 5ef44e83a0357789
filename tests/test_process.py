"""minirnn.kernels.process: keeping freed memory for reuse (glibc only; elsewhere it says it did
not), and Numba's CPU target without its probe of SciPy's BLAS, as the command's first compilation
starts."""
import platform
import subprocess
import sys

import numpy as np

from minirnn.kernels.process import keep_freed_memory


def test_keep_freed_memory_on_glibc_and_arrays_still_work():
    done = keep_freed_memory()
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert done == glibc
    a = np.ones((64, 100, 256), dtype=np.float32)  # large blocks: now from the heap
    del a
    b = np.zeros((64, 100, 256), dtype=np.float32)
    assert not b.any()  # reused memory still comes back zero-filled from np.zeros


def test_numba_starts_without_scipys_blas_and_scipy_still_imports_afterwards():
    """The command imports Numba's array functions without their probe of SciPy's BLAS (which
    imports scipy.linalg); nothing of the block is left behind: SciPy, when installed, imports
    as usual afterwards, and a kernel still runs. A fresh process: other tests loaded Numba."""
    code = """
import importlib.util, sys
from minirnn.kernels.process import numba_without_scipy_blas
print(numba_without_scipy_blas(), "scipy.linalg" in sys.modules,
      "scipy.linalg.cython_blas" in sys.modules, numba_without_scipy_blas())
if importlib.util.find_spec("scipy") is not None:
    import scipy.linalg.cython_blas  # noqa: F401
import numpy as np, minirnn as mr
print(mr.models.Elman(input_size=1, hidden_size=2, output_size=1)(np.ones((1, 3, 1))).shape)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["True False False False", "(1, 3, 1)"]


def test_the_first_compilation_loads_numbas_array_functions_without_scipys_blas():
    """The command leaves the probe out at its first compilation, the moment Numba loads its
    array functions (a kernel from the cache loads without them): after a compilation they
    are loaded, SciPy's linear algebra is not, and the listener is registered once."""
    code = """
import sys, numba, numpy as np
from minirnn.kernels import process
process.scipy_blas_unprobed_when_compiling()
process.scipy_blas_unprobed_when_compiling()
print("numba.np.arraymath" in sys.modules, len(process._before_compiling))
print(numba.njit(lambda a: a.sum())(np.arange(3.0)), "numba.np.arraymath" in sys.modules,
      "scipy.linalg" in sys.modules)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["False 1", "3.0 True False"]
