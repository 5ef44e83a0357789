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
import math

import numpy as np
from numba import types
from numba.extending import overload

from ..autograd import ops
from ..autograd.ops import stable_sigmoid
from ..blas import cpu_jit

CODES = {"tanh": 0, "sigmoid": 1, "relu": 2, "identity": 3}
OUTPUT_ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu", "softmax")


def check_activation(name: str, allowed=tuple(CODES)) -> str:
    if name not in allowed:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(allowed)}")
    return name


# tanh(z) ≈ z p(z²) / q(z²) on |z| <= 7.9053 (±1 beyond, where float32 tanh is 1): the rational
# approximation of Eigen's float tanh, within a few float32 ulps. A libm call per element does
# not vectorise; this does (in code compiled with NumPy's error model, ``blas.cpu_jit``: the
# division's zero check of Python's model would keep it scalar), and the scalar tanh took most
# of the float32 forward kernel's time (BENCHMARKS.md). float64 keeps the exact math.tanh, so
# gradient checks see the true function.
_TANH_CLAMP = 7.90531110763549805
_TANH_P = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
           5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
           -2.76076847742355e-16)
_TANH_Q = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
           1.19825839466702e-06)


def tanh_fast32(z):
    """tanh for float32 (a rational approximation), exact math.tanh for float64."""
    return math.tanh(z)


@overload(tanh_fast32, target="generic")
def _tanh_fast32(z):
    if z != types.float32:
        return lambda z: math.tanh(z)
    c = np.float32(_TANH_CLAMP)
    p = [np.float32(v) for v in _TANH_P]
    q = [np.float32(v) for v in _TANH_Q]
    p0, p1, p2, p3, p4, p5, p6 = p
    q0, q1, q2, q3 = q

    def impl(z):
        x = min(max(z, -c), c)
        x2 = x * x
        num = x * (p0 + x2 * (p1 + x2 * (p2 + x2 * (p3 + x2 * (p4 + x2 * (p5 + x2 * p6))))))
        den = q0 + x2 * (q1 + x2 * (q2 + x2 * q3))
        return num / den

    return impl


@cpu_jit()
def activate(code, z):
    if code == 0:
        return tanh_fast32(z)
    if code == 1:
        if z >= 0:
            return 1 / (1 + math.exp(-z))
        e = math.exp(z)
        return e / (1 + e)
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
