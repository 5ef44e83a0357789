"""Where a tensor's numbers live: in host memory (a NumPy array) or on a GPU (a CuPy array).

The tape, the operations and the optimisers are written once, against the NumPy API. CuPy
implements the same API, and NumPy's own functions hand a CuPy array over to it (``np.tanh``,
``np.concatenate``, ``np.where`` of CuPy arrays run on the GPU and return CuPy arrays), so the
same code trains a model whose parameters stay on the GPU (the cuda engine's device-resident
training, ``Module.to_device``). Only what cannot be handed over asks here which module to use:
making a new array from a shape (``xp.zeros``), turning a constant into an array next to
another one (``like``), and reading the numbers back (``to_host``).

CuPy is imported only when a CuPy array is met, so the tape itself needs NumPy alone.
"""
from __future__ import annotations

import numpy as np


def on_device(array) -> bool:
    """True for a CuPy array (numbers in GPU memory). Asked by every op: a NumPy array is
    answered without looking further."""
    kind = type(array)
    return kind is not np.ndarray and kind.__module__.startswith("cupy")


def array_module(*arrays):
    """``cupy`` if any of ``arrays`` is a CuPy array, else ``numpy``."""
    for array in arrays:
        if on_device(array):
            import cupy
            return cupy
    return np


def to_host(array):
    """The values as a NumPy array (copied from the GPU when they are there)."""
    return array.get() if on_device(array) else array


def like(value, reference, dtype=None):
    """``value`` (an array, a scalar or a list) as an array where ``reference`` lives: on the
    GPU when ``reference`` is there (a host constant is copied over), else in host memory."""
    xp = array_module(reference)
    if xp is np:
        return np.asarray(value, dtype=dtype)
    return xp.asarray(value, dtype=dtype)


def device_arrays_available() -> bool:
    """True when CuPy is installed and sees a CUDA GPU (not Numba's simulator)."""
    import os

    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy, no driver, no GPU: all mean "not available"
        return False


def contiguous(array):
    """``array`` in C order (itself when it already is), where it lives."""
    return array_module(array).ascontiguousarray(array)


def zeros(shape, dtype, reference):
    """A new array of zeros where ``reference`` lives."""
    return array_module(reference).zeros(shape, dtype=dtype)
