"""Levenberg-Marquardt: its Jacobian against finite differences (through a fused recurrence's
BPTT too), exact answers of least-squares problems, and trainlm's μ and stops."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.models import NARX
from minirnn.optim import LevenbergMarquardt


def finite_difference_jacobian(residuals, opt, eps=1e-6) -> np.ndarray:
    """Central differences of the residuals, one weight at a time."""
    theta = opt.flat.values()
    columns = []
    for j in range(theta.size):
        step = np.zeros_like(theta)
        step[j] = eps
        opt.flat.assign(theta + step)
        plus = residuals().data.ravel().copy()
        opt.flat.assign(theta - step)
        minus = residuals().data.ravel().copy()
        columns.append((plus - minus) / (2 * eps))
    opt.flat.assign(theta)
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("mode, backend", [("open", "numpy"), ("closed", "numpy"),
                                           ("closed", "cpu")])
def test_the_jacobian_is_the_finite_differences_one(mode, backend):
    """Each row from one reverse pass over the graph recorded once; in closed loop the rows
    go back through the memory recurrence's BPTT (the numpy reference and the Numba
    kernel)."""
    series = mr.data.narendra(31, seed=2)
    u, y = series.inputs[None, 1:], series.targets[None, 1:]
    net = NARX(input_size=1, hidden_size=3, output_size=1, input_delays=1, output_delays=2,
               mode=mode, backend=backend, dtype="float64", seed=3)
    opt = LevenbergMarquardt(net.parameters())
    residuals = lambda: net(u, y=y) - y  # noqa: E731
    r, J = opt.jacobian(residuals)
    assert J.shape == (30, opt.flat.size)
    np.testing.assert_array_equal(r, residuals().data.ravel())
    np.testing.assert_allclose(J, finite_difference_jacobian(residuals, opt), rtol=1e-6,
                               atol=1e-8)


def test_a_wrong_jacobian_fails_the_same_check():
    """The check can fail: a Jacobian with two weights' columns swapped does."""
    series = mr.data.narendra(31, seed=2)
    u, y = series.inputs[None, 1:], series.targets[None, 1:]
    net = NARX(input_size=1, hidden_size=3, output_size=1, mode="closed", backend="numpy",
               dtype="float64", seed=3)
    opt = LevenbergMarquardt(net.parameters())
    residuals = lambda: net(u, y=y) - y  # noqa: E731
    _, J = opt.jacobian(residuals)
    J[:, [0, 1]] = J[:, [1, 0]]
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(J, finite_difference_jacobian(residuals, opt), rtol=1e-6,
                                   atol=1e-8)


def test_noise_free_exponential_decay_is_recovered_exactly():
    """y = a e^{b t} sampled without noise: the least-squares fit is (a, b) itself."""
    t = np.linspace(0, 2, 25)
    y = 2.5 * np.exp(-1.3 * t)
    a = mr.Tensor(np.array(1.0), requires_grad=True)
    b = mr.Tensor(np.array(0.0), requires_grad=True)
    opt = LevenbergMarquardt([a, b], max_iter=100)
    opt.step(lambda: a * (b * t).exp() - y)
    assert "gradient" in opt.converged
    np.testing.assert_allclose([a.data, b.data], [2.5, -1.3], rtol=1e-10)


def test_a_linear_model_gets_the_least_squares_solution_and_mu_falls():
    """For r = Xw - y, Gauss-Newton is exact in one step, the damped step nearly so: each
    accepted step divides μ by 10, and two reach numpy's least-squares solution."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), rng.standard_normal(40)
    w = mr.Tensor(np.zeros(4), requires_grad=True)
    opt = LevenbergMarquardt([w], max_iter=2, min_grad=0)
    opt.step(lambda: mr.Tensor(X) @ w - y)
    assert opt.mu == pytest.approx(1e-5)  # two decreases from 10⁻³
    np.testing.assert_allclose(w.data, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-9)


def test_it_stops_when_mu_exceeds_its_limit():
    """At the minimum no step lowers the error: μ grows tenfold per try until it passes
    mu_max, and the weights are those of the minimum."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), rng.standard_normal(40)
    w = mr.Tensor(np.linalg.lstsq(X, y, rcond=None)[0], requires_grad=True)
    start = w.data.copy()
    opt = LevenbergMarquardt([w], max_iter=5, min_grad=0, mu_max=1e3)
    opt.step(lambda: mr.Tensor(X) @ w - y)
    assert opt.converged == "μ exceeded 1000" and opt.mu > 1e3
    np.testing.assert_array_equal(w.data, start)


def test_the_state_is_mu_and_is_refused_without_it():
    w = mr.Tensor(np.zeros(2), requires_grad=True)
    opt = LevenbergMarquardt([w], mu=0.5)
    assert opt.state_dict() == {"step": 0, "slots": {}, "scalars": {"mu": 0.5}}
    with pytest.raises(ValueError, match="positive mu"):
        opt.load_state_dict({"step": 3, "slots": {}, "scalars": {}})
