"""tanh and sigmoid written so that LLVM vectorises them: the activations of the CPU kernels.

A libm call per element (``math.tanh``, ``math.exp``) does not vectorise, and it took most of a
forward kernel's time, several times what the code below takes (BENCHMARKS.md). Every form is
branch-free (a branch per element would stop the vectoriser: both sides are computed and one
selected) and compiled with NumPy's error model (``blas.cpu_jit``: Python's model puts a zero
check on every division, which keeps the loop scalar).

- float32: the rational approximation of Eigen's float tanh, z p(z²) / q(z²) on
  |z| <= 7.9053 (±1 beyond, where float32 tanh is 1), within a few float32 ulps.
- float64: Cephes' tanh, within 2 ulps of libm's (``tests/test_vector_math.py`` measures it,
  and sigmoid, against Python's math module): for |z| < 0.625,
  z + z³ P(z²) / Q(z²); above, 1 - 2 / (e^{2|z|} + 1), with the sign of z. |z| is clamped to
  20, beyond which tanh is 1 in double precision; NaN stays NaN.
- sigmoid, from e = e^{-|z|} <= 1 (so nothing overflows): 1 / (1 + e) for z >= 0, e / (1 + e)
  below, and 0 below -708 (where sigmoid is under the smallest normal double). float32 is
  computed in float64 and rounded.
- ``gate_sigmoid``, the gated cells' (three per unit and step in an LSTM): ``sigmoid_fast`` in
  float64; in float32 the same formula computed in float32, with Cephes' float e^-|z| (k =
  round(|z| / ln 2), r in two parts, e^r a degree-7 polynomial, 2^-k from its bits; |z| clamped
  to 87, 0 below -87), within 3 ulps instead of 1 and about 5x faster than the float64 route:
  twice the lanes per instruction, no conversions, a shorter polynomial.
- e^y (float64, -708 <= y <= 709) is 2^k e^r with k = round(y / ln 2), r = y - k ln 2 in two
  parts (Cody and Waite: k ln2_hi is exact), e^r its Taylor polynomial to r^13 (the next term
  is below 5e-18 for |r| <= ln2 / 2), and 2^k made from its bits.

The Python functions ``tanh_fast``, ``sigmoid_fast`` and ``gate_sigmoid`` are what the CUDA
simulator and the interpreter run; compiled code gets the overloads below, for the CPU and CUDA
targets alike.
"""
import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

_TANH32_CLAMP = 7.90531110763549805
_TANH32_P = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
             5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
             -2.76076847742355e-16)
_TANH32_Q = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
             1.19825839466702e-06)

_TANH64_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TANH64_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
_TANH64_CLAMP = 20.0
_SIGMOID_CLAMP = 708.0  # sigmoid(-708) = e^-708, near the smallest normal double; 0 below
_LOG2E = 1.44269504088896338700e0
_LN2_HI = 6.93147180369123816490e-01  # its low bits are zero: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))  # 1/0!, …, 1/13!
# Cephes' expf: ln 2 in two parts (k * _LN2_HI32 is exact for k < 2^15) and e^r = 1 + r +
# r² P(r) on |r| <= ln 2 / 2
_LN2_HI32, _LN2_LO32 = 0.693359375, -2.12194440e-4
_EXP32_P = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
            1.6666665459e-1, 5.0000001201e-1)
_SIGMOID32_CLAMP = 87.0  # e^-87 is just above the smallest normal float


def tanh_fast(z):
    """tanh(z), vectorisable in compiled code (see the module docstring)."""
    return math.tanh(z)


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (a bitcast, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits`` (a bitcast, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@overload(tanh_fast, target="generic")
def _tanh_fast(z):
    if z == types.float32:
        return _tanh32()
    if z == types.float64:
        return _tanh64()
    return None  # the kernels call it on floats only


def _tanh32():
    c = np.float32(_TANH32_CLAMP)
    p0, p1, p2, p3, p4, p5, p6 = (np.float32(v) for v in _TANH32_P)
    q0, q1, q2, q3 = (np.float32(v) for v in _TANH32_Q)

    def impl(z):
        x = min(max(z, -c), c)
        x2 = x * x
        num = x * (p0 + x2 * (p1 + x2 * (p2 + x2 * (p3 + x2 * (p4 + x2 * (p5 + x2 * p6))))))
        den = q0 + x2 * (q1 + x2 * (q2 + x2 * q3))
        return num / den

    return impl


def _exp(y):
    """e^y for -708 <= y <= 709 (normal results), vectorisable in compiled code (float64)."""
    return math.exp(y)


@overload(_exp, target="generic")
def _exp_overload(y):
    c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13 = _EXP_TAYLOR

    def impl(y):
        k = math.floor(y * _LOG2E + 0.5)
        r = (y - k * _LN2_HI) - k * _LN2_LO
        e_r = c0 + r * (c1 + r * (c2 + r * (c3 + r * (c4 + r * (c5 + r * (c6 + r * (
            c7 + r * (c8 + r * (c9 + r * (c10 + r * (c11 + r * (c12 + r * c13))))))))))))
        return e_r * _float64_from_bits((np.int64(k) + 1023) << 52)

    return impl


def _tanh64():
    P0, P1, P2 = _TANH64_P
    Q0, Q1, Q2 = _TANH64_Q

    def impl(z):
        a = min(abs(z), _TANH64_CLAMP)
        a2 = a * a  # |z| < 0.625: the rational form, no cancellation near 0
        small = a + a * a2 * (((P0 * a2 + P1) * a2 + P2) / (((a2 + Q0) * a2 + Q1) * a2 + Q2))
        large = 1.0 - 2.0 / (_exp(2.0 * a) + 1.0)  # |z| >= 0.625
        t = math.copysign(small if a < 0.625 else large, z)
        return t if z == z else z  # NaN in, NaN out

    return impl


def sigmoid_fast(z):
    """1 / (1 + e^-z), vectorisable in compiled code (see the module docstring)."""
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def _sigmoid64(z):
    return sigmoid_fast(z)


@overload(_sigmoid64, target="generic")
def _sigmoid64_overload(z):
    def impl(z):
        e = _exp(-min(abs(z), _SIGMOID_CLAMP))  # e^-|z| <= 1: no overflow either way
        s = 1.0 / (1.0 + e)  # sigmoid(|z|)
        t = s if z >= 0 else (e * s if z > -_SIGMOID_CLAMP else 0.0)
        return t if z == z else z

    return impl


@overload(sigmoid_fast, target="generic")
def _sigmoid_fast(z):
    if z == types.float64:
        return lambda z: _sigmoid64(z)
    if z == types.float32:
        return lambda z: np.float32(_sigmoid64(np.float64(z)))
    return None  # the kernels call it on floats only


def gate_sigmoid(z):
    """σ(z) for the gated cells' kernels: ``sigmoid_fast`` in float64, computed in float32 for
    float32 (see the module docstring)."""
    return sigmoid_fast(z)


def _sigmoid32():
    f = np.float32
    log2e, hi, lo, clamp = f(_LOG2E), f(_LN2_HI32), f(_LN2_LO32), f(_SIGMOID32_CLAMP)
    p0, p1, p2, p3, p4, p5 = (f(v) for v in _EXP32_P)
    zero, half, one = f(0), f(0.5), f(1)

    def impl(z):
        a = min(abs(z), clamp)
        k = np.int32(a * log2e + half)  # round(|z| / ln 2): a >= 0, so truncation rounds
        kf = np.float32(k)
        r = (kf * hi - a) + kf * lo  # -|z| + k ln 2, within ±ln 2 / 2
        e_r = (((((p0 * r + p1) * r + p2) * r + p3) * r + p4) * r + p5) * (r * r) + r + one
        e = e_r * _float32_from_bits(np.int32((np.int32(127) - k) << np.int32(23)))  # e^-|z|
        s = one / (one + e)  # sigmoid(|z|)
        t = s if z >= zero else (e * s if z > -clamp else zero)
        return t if z == z else z

    return impl


@overload(gate_sigmoid, target="generic")
def _gate_sigmoid(z):
    if z == types.float64:
        return lambda z: _sigmoid64(z)
    if z == types.float32:
        return _sigmoid32()
    return None  # the kernels call it on floats only
