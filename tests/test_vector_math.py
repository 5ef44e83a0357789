"""minirnn.kernels.vector_math: the vectorisable tanh and sigmoid of the CPU kernels, measured
in units in the last place (ulps) against libm's (Python's math module, correctly rounded to
within one ulp), on a dense sample of the line and at the special values."""
import math

import numpy as np
import pytest

from minirnn.kernels.blas import cpu_jit
from minirnn.kernels.vector_math import sigmoid_fast, tanh_fast


@cpu_jit()
def _tanh_all(z, out):
    for i in range(z.size):
        out[i] = tanh_fast(z[i])


@cpu_jit()
def _sigmoid_all(z, out):
    for i in range(z.size):
        out[i] = sigmoid_fast(z[i])


def _libm_sigmoid(z):
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def _sample(dtype):
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.uniform(-30, 30, 40_000), rng.uniform(-1, 1, 40_000),
                        rng.standard_normal(20_000) * 1e-3, np.linspace(-0.7, 0.7, 2001)])
    return z.astype(dtype)


def _ulps(result, reference, dtype):
    """|result - reference| in ulps of the reference, in the result's precision."""
    reference = np.asarray(reference, dtype=np.float64)
    spacing = np.spacing(np.abs(reference).astype(dtype)).astype(np.float64)
    return np.abs(result.astype(np.float64) - reference) / spacing


# float64 is held to a few ulps: the gradient checks and the engine agreement tests compare
# it with NumPy's functions at 1e-10; float32 to Eigen's approximation's few ulps
@pytest.mark.parametrize("dtype,most", [(np.float64, 2), (np.float32, 5)])
def test_tanh_is_within_a_few_ulps(dtype, most):
    z = _sample(dtype)
    out = np.empty_like(z)
    _tanh_all(z, out)
    reference = [math.tanh(v) for v in z.astype(np.float64)]
    assert _ulps(out, reference, dtype).max() <= most


@pytest.mark.parametrize("dtype,most", [(np.float64, 3), (np.float32, 1)])
def test_sigmoid_is_within_a_few_ulps(dtype, most):
    z = _sample(dtype)
    z = z[np.abs(z) < 700]  # below -708 the kernels' sigmoid is 0 (next test)
    out = np.empty_like(z)
    _sigmoid_all(z, out)
    reference = [_libm_sigmoid(v) for v in z.astype(np.float64)]
    assert _ulps(out, reference, dtype).max() <= most


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(dtype):
    z = np.array([0.0, -0.0, 5e-324, 1e-300, -1e-30, 19.5, 20.0, 800.0, -800.0, np.inf,
                  -np.inf, np.nan], dtype=dtype)
    t, s = np.empty_like(z), np.empty_like(z)
    _tanh_all(z, t)
    _sigmoid_all(z, s)
    finite = ~np.isnan(z)
    np.testing.assert_allclose(t[finite], np.tanh(z[finite]), rtol=4 * np.finfo(dtype).eps,
                               atol=0)
    assert np.signbit(t[1]) and np.isnan(t[-1])  # tanh(-0) = -0; NaN stays NaN
    if dtype == np.float64:  # (float32's rational form ends 2 ulps short of ±1, as Eigen's)
        assert t[-3] == 1 and t[-2] == -1  # ±inf
    assert s[0] == s[1] == 0.5 and s[-3] == 1 and s[-2] == 0 and s[8] == 0 and np.isnan(s[-1])
    assert np.all((s[finite] >= 0) & (s[finite] <= 1))
