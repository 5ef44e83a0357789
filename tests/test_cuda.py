"""The CUDA engine, checked without a GPU in two ways (and on the GPU when there is one, where
``cuda_device_cases.py`` also checks device-resident training against the numpy engine):

1. its numbers, under Numba's CUDA simulator, against the tape engine (``cudasim_cases.py``, in
   a subprocess with NUMBA_ENABLE_CUDASIM=1);
2. that the kernels compile to real GPU code: PTX for compute capability 9.0 (H100), which
   catches what the simulator lets through (Python-only constructs, type errors).
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
has_numba_cuda = importlib.util.find_spec("numba_cuda") is not None
needs_numba_cuda = pytest.mark.skipif(not has_numba_cuda,
                                      reason="numba-cuda not installed (pip install '.[cuda]')")


def real_gpu() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not has_numba_cuda:
        return False
    from minirnn.kernels.cuda_support import cuda_available

    return cuda_available()


def run_cases(name: str, **env):
    """Run the test file ``name`` in a pytest of its own (the simulator is chosen when
    numba.cuda is first imported); every case must pass, none be skipped."""
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(HERE / name)], cwd=HERE, env=dict(os.environ, **env),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout


@pytest.mark.slow
@needs_numba_cuda
def test_cuda_kernels_in_the_simulator():
    run_cases("cudasim_cases.py", NUMBA_ENABLE_CUDASIM="1")


@pytest.mark.skipif(not real_gpu(), reason="no CUDA GPU on this machine")
def test_cuda_kernels_on_the_gpu():
    run_cases("cudasim_cases.py")


def device_arrays() -> bool:
    if not real_gpu():
        return False
    from minirnn.autograd.arrays import device_arrays_available

    return device_arrays_available()


@pytest.mark.skipif(not device_arrays(), reason="no CUDA GPU with CuPy on this machine")
def test_device_resident_training_on_the_gpu():
    run_cases("cuda_device_cases.py")


@pytest.mark.slow
@needs_numba_cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_kernels_compile_to_ptx_for_cc90(dtype):
    code = f"""
import numba.cuda.dispatcher as dispatcher
from numba import types
from minirnn.kernels.elman import cuda_kernels as k, wide_cuda_kernels as wk
from minirnn.kernels.memory import cuda_kernels as mk
from minirnn.kernels.delay import cuda_kernels as dk
from minirnn.kernels.layered import cuda_kernels as lk
from minirnn.kernels.lstm import cuda_kernels as gl
from minirnn.kernels.gru import cuda_kernels as gg

class H100:  # compile_ptx asks the driver for the device when a kernel calls a device function
    compute_capability = (9, 0)
dispatcher.get_current_device = lambda: H100()

f, i = types.{dtype}, types.int64
a3, a2, a1 = (types.Array(f, n, "C") for n in (3, 2, 1))
i1 = types.Array(i, 1, "C")
kernels = [
    (k.KERNELS["{dtype}"][0], (a3, a2, a2, i1, i, a3)),
    (k.KERNELS["{dtype}"][1], (a3, a3, a2, i1, i, a3, a2)),
    (mk.memory_forward_kernel, (a3, a2, a2, a2, a1, a2, a2, a1, a2, a2, a2, i1, i, i, i,
                                a3, a3, a3)),
    (mk.memory_backward_kernel, (a3, a3, a3, a3, a3, a3, a2, a2, a2, a2, a2, i1, i, i, i,
                                 a3, a3, a3, a2, a2, a2)),
    (wk.KERNELS["{dtype}"][0], (a3, a2, a2, i1, i, a3)),
    (wk.KERNELS["{dtype}"][1], (a3, a3, a2, i1, i, a3, a2, a2)),
    (dk.delay_forward_kernel, (a3, i, i, i, a3)),
    (dk.delay_backward_kernel, (a3, i, i, i, a3)),
    (lk.layered_forward_kernel, (a3, a1, a2, a2, a2, a2, a1, a2, a2, i1, i1, i, i, a3, a3)),
    (lk.layered_backward_kernel, (a3, a3, a3, a3, a2, a2, a2, a2, i1, i1, i, i,
                                  a3, a3, a2, a2)),
]
gated = [  # LSTM and GRU, forward and backward
    (gl.KERNELS["{dtype}"][0], (a3, a2, a1, a2, i1, a3, a3)),
    (gl.KERNELS["{dtype}"][1], (a3, a3, a3, a2, a2, i1, a3, a2)),
    (gg.KERNELS["{dtype}"][0], (a3, a2, a1, a2, i1, a3, a3)),
    (gg.KERNELS["{dtype}"][1], (a3, a3, a3, a2, a2, i1, a3, a3, a2)),
]
for n, (kernel, sig) in enumerate(kernels + gated):
    ptx, _ = k.cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    assert ".target sm_90" in ptx and ".entry" in ptx, ptx[:400]
    if n < 2 or n >= len(kernels):  # the Elman and the gated kernels keep their state (and
        # W_hh when it fits) on chip
        assert ".extern .shared" in ptx and "ld.shared" in ptx, kernel
    if n >= len(kernels) and n % 2 and "{dtype}" == "float32":  # the gated backward kernels:
        # no float64 arithmetic (a bare literal would make it: activations.cast_like)
        assert ".f64" not in ptx, kernel
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr[-3000:]
