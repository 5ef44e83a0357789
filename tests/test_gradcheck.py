"""The gradient checker itself: it passes right gradients and catches wrong ones."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.autograd import check_gradients, record

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py


def wrong_square(a):
    """a² with a deliberately wrong backward (forgets the factor 2)."""
    return record("wrong_square", a.data ** 2, (a,), lambda g: (g * a.data,))


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_checker_fails_on_a_wrong_gradient(mode):
    a = mr.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    report = check_gradients(lambda: wrong_square(a).sum(), {"a": a}, mode=mode)
    assert not report.passed
    assert report["a"].max_rel_error > 0.3
    assert "FAIL" in str(report)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_checker_passes_a_right_gradient(mode):
    a = mr.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    report = check_gradients(lambda: (a ** 2).tanh().sum(), {"a": a}, mode=mode)
    assert report.passed, str(report)
    assert report["a"].max_abs_error < 1e-8


def test_checker_leaves_values_unchanged():
    data = np.random.default_rng(1).standard_normal(5)
    a = mr.Tensor(data.copy(), requires_grad=True)
    check_gradients(lambda: (a * a).sum(), {"a": a})
    np.testing.assert_array_equal(a.data, data)


def test_checker_needs_float64():
    a = mr.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        check_gradients(lambda: a.sum(), {"a": a})
