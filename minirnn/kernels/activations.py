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
"""
import numpy as np

from ..autograd import ops
from ..autograd.ops import stable_sigmoid
from ..blas import cpu_jit
from .vector_math import sigmoid_fast, tanh_fast

CODES = {"tanh": 0, "sigmoid": 1, "relu": 2, "identity": 3}
OUTPUT_ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu", "softmax")


def check_activation(name: str, allowed=tuple(CODES)) -> str:
    if name not in allowed:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(allowed)}")
    return name


@cpu_jit()
def activate(code, z):
    if code == 0:
        return tanh_fast(z)  # vectorisable (vector_math)
    if code == 1:
        return sigmoid_fast(z)
    if code == 2:
        return z if z > 0 else z * 0
    return z


@cpu_jit()
def derivative(code, h):
    """f'(z) written with h = f(z)."""
    if code == 0:
        return 1 - h * h
    if code == 1:
        return h * (1 - h)
    if code == 2:
        return h * 0 + 1 if h > 0 else h * 0
    return h * 0 + 1


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


# --- and as tape ops (the tape engine and the output layers) ------------------------------------
def activate_tensor(name: str, z):
    if name == "identity":
        return z
    if name == "softmax":
        return ops.softmax(z, axis=-1)
    return getattr(ops, name)(z)
