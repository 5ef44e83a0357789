"""What every CUDA engine needs: numba.cuda (imported on first use only), availability, the
launch shape shared by the kernels (one block per batch row, threads over the units), and
``Placement``: where a fused op's arrays come from and go back to.
"""
from __future__ import annotations

import numpy as np

from ..autograd.arrays import on_device


def cuda_module():
    try:
        from numba import cuda
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise RuntimeError("backend='cuda' needs numba-cuda: "
                           "pip install 'minirnn[cuda]'") from error
    return cuda


def cuda_available() -> bool:
    """True when a CUDA GPU (or Numba's CUDA simulator) can run the kernels."""
    try:
        return bool(cuda_module().is_available())
    except Exception:  # noqa: BLE001 - a broken driver is "not available", never a crash
        return False


def launch_shape(B: int, H: int):
    """(blocks, threads): a block per batch row; up to 256 threads over the units."""
    return B, max(1, min(H, 256))


class Placement:
    """Where a cuda-engine op's arrays live, decided by one of its inputs (``reference``).

    - Device-resident (the inputs are CuPy arrays, a model trained with ``Module.to_device``):
      inputs go to the kernels as they are, outputs are allocated by CuPy (its memory pool)
      and handed back as CuPy arrays. Nothing crosses the PCIe bus.
    - Host (NumPy inputs; also the CUDA simulator): inputs are copied to the device, outputs
      are Numba device arrays, copied back to the host when handed back.

    Kernels get Numba views of CuPy arrays made with ``sync=False``: CuPy and Numba both queue
    their work on the default stream, so it runs in order without the host waiting for the
    GPU at every launch (which Numba otherwise does for an array it did not allocate).
    """

    def __init__(self, reference):
        self.resident = on_device(reference)
        self.cuda = cuda_module()

    def input(self, array):
        """A kernel argument holding ``array``'s values (contiguous, on the device)."""
        if self.resident:
            import cupy
            return self.arg(cupy.ascontiguousarray(cupy.asarray(array)))
        return self.cuda.to_device(np.ascontiguousarray(array))

    def empty(self, shape, dtype):
        """A new array on the device, to pass through ``arg`` and hand back with ``result``."""
        if self.resident:
            import cupy
            return cupy.empty(shape, dtype=dtype)
        return self.cuda.device_array(shape, dtype=dtype)

    def zeros(self, shape, dtype):
        if self.resident:
            import cupy
            return cupy.zeros(shape, dtype=dtype)
        return self.cuda.to_device(np.zeros(shape, dtype=dtype))

    def arg(self, array):
        """``array`` (from ``empty``/``zeros``) as a kernel argument."""
        return self.cuda.as_cuda_array(array, sync=False) if self.resident else array

    def result(self, array):
        """``array`` as the caller's kind: a CuPy array, or a NumPy copy on the host."""
        return array if self.resident else array.copy_to_host()
