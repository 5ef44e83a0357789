"""ExplicitMemory and Jordan: what is particular to them, as a user would recognise it."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.models import ExplicitMemory, Jordan

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py


@pytest.mark.parametrize("backend", ["tape", "numpy", "cpu"])
def test_jordan_memory_is_exactly_the_running_average_of_past_outputs(backend):
    mu = 0.7
    model = Jordan(input_size=2, hidden_size=4, output_size=3, mu=mu, backend=backend, seed=1)
    x = np.random.default_rng(0).standard_normal((2, 6, 2))
    y, _ = model(x, return_state=True)
    states = model.run_memory(model.input_projection(mr.Tensor(x)), None,
                              np.array([6, 6])).data
    m = states[:, :, :3]  # the packed state is [m_t | h_t | y_t]
    expected = np.zeros((2, 3))  # m_{-1} = 0, y_{-1} = 0
    for t in range(6):
        y_prev = y.data[:, t - 1] if t > 0 else np.zeros((2, 3))
        expected = mu * expected + (1 - mu) * y_prev
        np.testing.assert_allclose(m[:, t], expected, rtol=1e-12, atol=1e-15)


def test_jordan_mu_is_fixed_unless_learned():
    fixed = Jordan(input_size=1, hidden_size=3, output_size=1, mu=0.5)
    learned = Jordan(input_size=1, hidden_size=3, output_size=1, mu=0.5, learn_mu=True)
    x, target = np.ones((1, 4, 1)), np.zeros((1, 4, 1))
    for model in (fixed, learned):
        mr.losses.mse(model(x), target).backward()
    assert fixed.mu.grad is None and learned.mu.grad is not None
    assert "mu" in fixed.state_dict()  # saved either way, so a checkpoint restores it


def test_jordan_rejects_mu_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"mu must lie in \[0, 1\)"):
        Jordan(input_size=1, hidden_size=2, output_size=1, mu=1.0)


def test_feedback_models_refuse_a_softmax_output():
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        ExplicitMemory(input_size=1, hidden_size=2, output_size=3, output_activation="softmax")


def test_explicit_memory_learns_to_recall_the_input_from_three_steps_back():
    """y_t = x_{t-3}: the answer is no longer in the input, only in the memory."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (32, 20, 1))
    target = np.zeros_like(x)
    target[:, 3:] = x[:, :-3]
    mask = np.ones((32, 20))
    mask[:, :3] = 0  # nothing to recall yet
    model = ExplicitMemory(input_size=1, hidden_size=12, output_size=1, memory_size=6,
                           backend="cpu", seed=0)
    opt = mr.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(400):
        opt.zero_grad()
        loss = mr.losses.mse(model(x), target, mask=mask)
        loss.backward()
        mr.optim.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
    baseline = np.mean(target[:, 3:] ** 2)  # predicting 0 everywhere
    assert loss.item() < 0.05 * baseline


def test_structured_weights_are_recognised():
    """Jordan's and NARX's fixed matrices are applied by their structure in the CPU kernel; the
    numbers are the dense products' (the engine-agreement tests check them end to end)."""
    from minirnn.kernels.linalg_cpu import DENSE, DIAGONAL, SHIFT, ZERO, structure_of

    assert structure_of(np.zeros((4, 3)))[0] == ZERO
    code, diagonal, _ = structure_of(0.7 * np.eye(3))
    assert code == DIAGONAL and np.allclose(diagonal, 0.7)
    assert structure_of(np.eye(6, 2))[0] == DIAGONAL  # NARX's [I; 0]
    code, _, shift = structure_of(np.eye(6, k=-2))   # NARX's delay line, K=3, O=2
    assert code == SHIFT and shift == 2
    assert structure_of(2 * np.eye(6, k=-2))[0] == DENSE  # not a pure shift: dense
    holed = np.eye(6, k=-2)
    holed[4, 2] = 0
    assert structure_of(holed)[0] == DENSE  # a shift with a one missing
    assert structure_of(np.eye(4, k=1))[0] == DENSE  # an up-shift is not NARX's delay line
    corner = np.zeros((3, 3))
    corner[0, 2] = 1
    assert structure_of(corner)[0] == DENSE
    code, diagonal, _ = structure_of(np.diag([1.0, 0.0, 2.0]))  # a zero on the diagonal
    assert code == DIAGONAL and np.array_equal(diagonal, [1.0, 0.0, 2.0])
    assert structure_of(np.random.default_rng(0).standard_normal((3, 3)))[0] == DENSE


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_y_only_is_the_packed_outputs_forward_and_backward(backend):
    """memory_recurrence(y_only=True) returns the y columns of the packed [m | h | y] states,
    and its BPTT, started from ∂L/∂y alone, gives the gradients the packed op gives when only
    y is read (padded rows included)."""
    from minirnn.kernels.memory import memory_recurrence

    B, T, M, H, O = 3, 5, 2, 4, 3
    rng = np.random.default_rng(0)

    def tensor(*shape):
        return mr.Tensor(rng.uniform(-0.8, 0.8, shape), requires_grad=True)

    inputs = (tensor(B, T, H), tensor(M, O), tensor(M, H), tensor(M, M), tensor(M),
              tensor(H, M), tensor(O, H), tensor(O), tensor(B, M), tensor(B, H), tensor(B, O))
    weights = rng.standard_normal((B, T, O))
    lengths = np.array([5, 2, 4])
    runs = []
    for y_only in (False, True):
        for t in inputs:
            t.grad = None
        out = memory_recurrence(*inputs, ("tanh", "sigmoid", "tanh"), lengths, backend, y_only)
        y = out if y_only else out[:, :, M + H:]
        (y * weights).sum().backward()
        runs.append((y.data, [t.grad for t in inputs]))
    (y_packed, grads_packed), (y_alone, grads_alone) = runs
    assert y_alone.shape == (B, T, O)
    np.testing.assert_allclose(y_alone, y_packed, rtol=1e-12)
    for alone, packed in zip(grads_alone, grads_packed, strict=True):
        np.testing.assert_allclose(alone, packed, rtol=1e-10, atol=1e-14)
