"""L-BFGS: exact in n steps on a quadratic with exact line searches, the Rosenbrock valley,
PyTorch's iterates, SciPy's minimum of a small network, and a state that resumes exactly."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.losses import mse
from minirnn.models import NARX, Module, Parameter
from minirnn.optim import LBFGS


def quadratic(n=6, seed=0):
    """f(x) = ½ xᵀA x - bᵀx with A symmetric positive definite: its minimum is A⁻¹b."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    return A @ A.T + n * np.eye(n), rng.standard_normal(n)


def minimise(f, x0, **options):
    """An LBFGS over one tensor x, its closure the PyTorch way; (x, optimiser)."""
    x = mr.Tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    opt = LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss
    return x, opt, closure


def rosenbrock(x):
    """(1 - x₀)² + 100 (x₁ - x₀²)²: a curved valley, its minimum at (1, 1)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def test_a_quadratic_is_solved_in_n_iterations_with_exact_line_searches():
    A, b = quadratic()
    n = len(b)
    # c2 tiny: the strong Wolfe search finds the exact minimum along each direction, and
    # with exact line searches L-BFGS generates conjugate directions. (At c2 = 1e-9 a search
    # stops where the slope along the direction is 1e-9 of its start, not yet at the minimum:
    # that left the answer 6.6e-10 off with NumPy 2.4's OpenBLAS, inside 1e-10 with earlier
    # ones, by the luck of the rounding; at 1e-11 it is 2e-15 off.)
    options = dict(max_eval=1000, tolerance_grad=0, tolerance_change=0, wolfe=(1e-12, 1e-11))
    f = lambda x: 0.5 * (x @ (mr.Tensor(A) @ x)) - (x * mr.Tensor(b)).sum()  # noqa: E731
    x, opt, closure = minimise(f, np.zeros(n), max_iter=n - 1, **options)
    opt.step(closure)
    assert np.abs(x.data - np.linalg.solve(A, b)).max() > 1e-6   # not there after n - 1
    x, opt, closure = minimise(f, np.zeros(n), max_iter=n, **options)
    opt.step(closure)
    assert opt.n_iter == n
    np.testing.assert_allclose(x.data, np.linalg.solve(A, b), rtol=0, atol=1e-10)


def test_the_rosenbrock_valley_is_followed_to_its_minimum():
    x, opt, closure = minimise(rosenbrock, [-1.5, 2.0], max_iter=200, max_eval=1000,
                               tolerance_grad=1e-10, tolerance_change=0)
    opt.step(closure)
    np.testing.assert_allclose(x.data, [1.0, 1.0], rtol=0, atol=1e-6)
    assert "gradient" in opt.converged


def test_the_iterates_are_pytorchs():
    torch = pytest.importorskip("torch")
    start = [-1.2, 1.0]
    x, opt, closure = minimise(rosenbrock, start, max_iter=15, history_size=5)
    opt.step(closure)
    t = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([t], max_iter=15, history_size=5, line_search_fn="strong_wolfe")

    def tclosure():
        topt.zero_grad()
        loss = (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2
        loss.backward()
        return loss
    topt.step(tclosure)
    np.testing.assert_allclose(x.data, t.detach().numpy(), rtol=1e-9)
    assert opt.func_evals == topt.state[topt._params[0]]["func_evals"]


def small_network():
    """An open-loop NARX with 3 hidden units on 80 rows of the Narendra plant, float64."""
    series = mr.data.narendra(81, seed=1)
    u, y = series.inputs[None, 1:], series.targets[None, 1:]
    net = NARX(input_size=1, hidden_size=3, output_size=1, input_delays=1, output_delays=2,
               mode="open", backend="numpy", dtype="float64", seed=2)
    return net, (lambda: mse(net(u, y=y), y))


class MLP(Module):
    """y = W2 tanh(W1 x + b1) + b2, 2 inputs, 4 hidden units."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = Parameter(rng.standard_normal((2, 4)) / np.sqrt(2))
        self.b1 = Parameter(np.zeros(4))
        self.W2 = Parameter(rng.standard_normal((4, 1)) / 2)
        self.b2 = Parameter(np.zeros(1))

    def forward(self, x):
        return (x @ self.W1 + self.b1).tanh() @ self.W2 + self.b2


def test_a_small_network_reaches_scipys_minimum():
    """Noisy data and a small L2 penalty (without it the weights drift off to infinity as
    the network fits the noise: there is no minimum to reach)."""
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (40, 2))
    y = np.sin(2 * x[:, :1]) * x[:, 1:] + 0.1 * rng.standard_normal((40, 1))
    net = MLP()
    opt = LBFGS(net.parameters(), max_iter=3000, max_eval=10000, tolerance_grad=1e-11,
                tolerance_change=0, history_size=10)
    start = opt.flat.values()

    def closure():
        opt.zero_grad()
        value = mse(net(x), y) + 1e-3 * sum((p * p).sum() for p in net.parameters())
        value.backward()
        return value
    opt.step(closure)
    ours = (closure().item(), opt.flat.values())

    def value_and_grad(theta):
        opt.flat.assign(theta)
        return closure().item(), opt.flat.grad()
    found = optimize.minimize(value_and_grad, start, jac=True, method="L-BFGS-B",
                              options=dict(maxiter=10000, ftol=0, gtol=1e-11))
    assert found.success
    assert abs(ours[0] - found.fun) <= 1e-12 * found.fun
    np.testing.assert_allclose(ours[1], found.x, rtol=0, atol=1e-5)


def test_the_state_resumes_exactly():
    """Two steps in a row, or one, the state saved, a new optimiser loading it and one more:
    the same parameters to the last bit."""
    def run(split):
        net, loss = small_network()
        opt = LBFGS(net.parameters(), max_iter=7, history_size=4)

        def closure():
            opt.zero_grad()
            value = loss()
            value.backward()
            return value
        opt.step(closure)
        if split:
            state = opt.state_dict()
            assert set(state["slots"]) == {"last_step", "last_grad"} | {
                f"{k}{i:03d}" for i in range(len(opt.s)) for k in "sy"}
            opt = LBFGS(net.parameters(), max_iter=7, history_size=4)
            opt.load_state_dict(state)
        opt.step(closure)
        return opt.flat.values()
    np.testing.assert_array_equal(run(False), run(True))


def test_a_bad_state_is_refused_in_one_line():
    net, _ = small_network()
    opt = LBFGS(net.parameters())
    with pytest.raises(ValueError, match="needs slot"):
        opt.load_state_dict({"step": 1, "slots": {"s000": [p.data for p in net.parameters()]}})


@pytest.mark.parametrize("options, message", [
    (dict(line_search="armijo"), "unknown line search"),
    (dict(max_iter=0), "max_iter must be a positive integer"),
    (dict(wolfe=(0.9, 0.1)), "0 < c1 < c2 < 1"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        LBFGS([mr.Tensor(np.zeros(2), requires_grad=True)], **options)
