"""Hidden activations f, in the three forms the engines need.

Each kernel saves only the activations h = f(z); the derivative is written in terms of h, so BPTT
needs no second array of pre-activations:

    tanh      h = tanh z            f'(z) = 1 - h²
    sigmoid   h = 1 / (1 + e^-z)    f'(z) = h (1 - h)
    relu      h = max(z, 0)         f'(z) = 1 if h > 0 else 0
    identity  h = z                 f'(z) = 1

``activate`` and ``derivative`` are scalar ``numba.njit`` functions: the CPU kernels and the CUDA
kernels call the same two, so the engines cannot drift apart. The kernels receive an integer
code (``CODES``) because a compiled kernel cannot take a Python function as an argument.
Their constants are written ``cast_like(1, h)``: a bare literal is an int64 or a float64 to
Numba, and float32 arithmetic with it is done in float64 (``1 - h * h`` made every float32
delta a float64 one, converted back on the store: more than twice the time).
"""
import numpy as np
from numba import types
from numba.extending import overload

from ..autograd.ops import stable_sigmoid
from .blas import cpu_jit
from .vector_math import sigmoid_fast, tanh_fast

CODES = {"tanh": 0, "sigmoid": 1, "relu": 2, "identity": 3}


def cast_like(value, x):
    """``value`` in the float type of ``x`` (compiled code; the interpreter and the CUDA
    simulator, which run this, see NumPy scalars or Python floats)."""
    return type(x)(value)


@overload(cast_like, target="generic")
def _cast_like(value, x):
    if x == types.float32:
        return lambda value, x: np.float32(value)
    if x == types.float64:
        return lambda value, x: np.float64(value)
    return None  # the kernels run on floats only


@cpu_jit()
def activate(code, z):
    if code == 0:
        return tanh_fast(z)  # vectorisable (vector_math)
    if code == 1:
        return sigmoid_fast(z)
    if code == 2:  # z * 0 rather than 0: NaN stays NaN
        return z if z > 0 else z * cast_like(0, z)
    return z


@cpu_jit()
def derivative(code, h):
    """f'(z) written with h = f(z)."""
    one = cast_like(1, h)
    if code == 0:
        return one - h * h
    if code == 1:
        return h * (one - h)
    if code == 2:  # h * 0 + 1 rather than 1: NaN stays NaN
        zero = cast_like(0, h)
        return h * zero + one if h > 0 else h * zero
    return h * cast_like(0, h) + one


# --- the same functions on whole NumPy arrays (the reference kernels) ---------------------------
def activate_array(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return stable_sigmoid(z)
    if name == "relu":
        return np.maximum(z, 0)
    return z


def derivative_array(name: str, h: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return 1 - h * h
    if name == "sigmoid":
        return h * (1 - h)
    if name == "relu":
        return (h > 0).astype(h.dtype)
    return np.ones_like(h)
