"""The kernels: the four fused recurrent operations, the models' linear layer, and the cpu
runtime they share. Everything here that Numba compiles lives in this package.

Each fused op is ONE entry on the tape whose backward is hand-written BPTT (``fused.py`` says
how a kernel becomes a tape op), on three engines that compute the same function:

    family   the op, in              reference       cpu (Numba)   cuda (Numba CUDA)
    Elman    elman_recurrence,       elman_numpy     elman_cpu     elman_cuda, elman_cuda_kernels,
             elman.py                                              elman_wide_cuda_kernels
    memory   memory_recurrence,      memory_numpy    memory_cpu    memory_cuda,
             memory.py                                             memory_cuda_kernels
    layered  layered_recurrence,     layered_numpy   layered_cpu   layered_cuda,
             layered.py                                            layered_cuda_kernels
    delay    delay_embed, delay.py   delay_numpy     delay_cpu     delay_cuda_kernels

Read a family in that order: the op (which engine does what), the NumPy reference (the
equations and the BPTT derivation, in plain loops), then the cpu kernel and the cuda kernel
(the same function, compiled). ``linear.py`` is the models' projection layer on the threaded
products.

The shared parts: ``activations.py`` (f and f' as the kernels use them), ``vector_math.py``
(vectorisable tanh and sigmoid), ``linalg_cpu.py`` (the cpu kernels' row loops), ``blas.py``
(NumPy's BLAS called from compiled code, and threads), ``process.py`` (memory settings),
``kernel_cache.py`` (Numba's disk cache kept in step with these sources), ``cuda_support.py``
and ``cuda_device.py`` (the CUDA side).
"""
from .kernel_cache import clear_stale_kernels

clear_stale_kernels()  # before any kernel is loaded from Numba's cache (kernel_cache says why)

from .delay import delay_embed  # noqa: E402
from .elman import elman_recurrence  # noqa: E402
from .layered import layered_recurrence  # noqa: E402
from .linear import linear  # noqa: E402
from .memory import memory_recurrence  # noqa: E402

__all__ = ["elman_recurrence", "memory_recurrence", "layered_recurrence", "delay_embed",
           "linear"]
