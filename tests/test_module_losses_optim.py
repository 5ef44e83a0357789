"""Modules, losses and optimisers: a small MLP learns a fixed task with each optimiser."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.models import Module, Parameter
from minirnn.optim import SGD, Adam, AdamW, clip_grad_norm


class MLP(Module):
    """y = W2 tanh(W1 x + b1) + b2."""

    def __init__(self, sizes=(2, 8, 1), seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = Parameter(rng.standard_normal((sizes[0], sizes[1])) / np.sqrt(sizes[0]))
        self.b1 = Parameter(np.zeros(sizes[1]))
        self.W2 = Parameter(rng.standard_normal((sizes[1], sizes[2])) / np.sqrt(sizes[1]))
        self.b2 = Parameter(np.zeros(sizes[2]))

    def forward(self, x):
        return (x @ self.W1 + self.b1).tanh() @ self.W2 + self.b2


class Stack(Module):
    def __init__(self):
        self.layers = [MLP(seed=1), MLP(seed=2)]
        self.head = MLP((1, 3, 1))


def test_parameters_are_found_in_submodules_with_dotted_names():
    names = [n for n, _ in Stack().named_parameters()]
    assert names[:4] == ["layers0.W1", "layers0.b1", "layers0.W2", "layers0.b2"]
    assert "layers1.W2" in names and "head.b2" in names and len(names) == 12


def test_parameters_are_found_again_when_the_modules_change():
    """``parameters()`` is kept between calls (a training step asks for it twice), and found
    again when a parameter, a sub-module or a list of them is assigned anywhere below."""
    stack = Stack()
    first = stack.parameters()
    assert len(first) == 12 and all(a is b for a, b in zip(first, stack.parameters(), strict=True))
    stack.head.b2 = Parameter(np.ones(1))  # replaced in a sub-module
    assert stack.parameters()[-1] is stack.head.b2
    assert all(p is not stack.head.b2 for p in first)
    stack.layers = stack.layers[:1]  # a list of sub-modules assigned again
    assert len(stack.parameters()) == 8
    stack.head.extra = Parameter(np.zeros(2))  # a new one
    assert stack.parameters()[-1] is stack.head.extra
    stack.parameters().clear()  # the caller's copy, not the kept list
    assert len(stack.parameters()) == 9
    del stack.head.extra  # one deleted
    assert len(stack.parameters()) == 8 and stack.parameters()[-1] is stack.head.b2


def test_state_dict_round_trip():
    a, b = MLP(seed=0), MLP(seed=1)
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    state = a.state_dict()
    state["W1"][...] = 0  # a copy: changing it does not change the model
    assert np.any(a.W1.data != 0)


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(extra=np.zeros(1)), "unknown parameter"),
    (lambda d: d.pop("b1"), "missing parameter"),
    (lambda d: d.update(W1=np.zeros((3, 8))), r"W1 has shape \(3, 8\), expected \(2, 8\)"),
    (lambda d: d.update(W1=d["W1"].astype(np.float32)), "W1 has dtype float32"),
])
def test_load_state_dict_rejects_bad_dictionaries_and_changes_nothing(change, message):
    model = MLP()
    before = model.state_dict()
    state = MLP(seed=5).state_dict()
    change(state)
    with pytest.raises((ValueError, TypeError), match=message):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_losses_match_their_formulas():
    y = mr.Tensor([[1.0, 2.0], [3.0, 5.0]])
    t = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert mr.losses.mse(y, t).item() == pytest.approx((0 + 1 + 4 + 16) / 4)
    assert mr.losses.mae(y, t).item() == pytest.approx((0 + 1 + 2 + 4) / 4)
    logits = mr.Tensor(np.log([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]]))
    assert mr.losses.cross_entropy(logits, [[0, 1]]).item() == pytest.approx(
        -(np.log(0.5) + np.log(0.8)) / 2)
    # a masked (padded) step counts neither in the sum nor in the mean
    assert mr.losses.cross_entropy(logits, [[0, 2]], mask=[[1, 0]]).item() == pytest.approx(
        -np.log(0.5))


def test_masked_mse_counts_only_unmasked_steps():
    y = mr.Tensor(np.array([[[1.0], [2.0], [9.0]]]))
    mask = mr.losses.length_mask([2], 3)
    np.testing.assert_array_equal(mask, [[1, 1, 0]])
    assert mr.losses.mse(y, np.zeros((1, 3, 1)), mask=mask).item() == pytest.approx(2.5)
    assert mr.losses.mae(y, np.zeros((1, 3, 1)), mask=mask).item() == pytest.approx(1.5)


def test_cross_entropy_gradient_with_mask():
    rng = np.random.default_rng(3)
    logits = mr.Tensor(rng.standard_normal((2, 4, 5)), requires_grad=True)
    target = rng.integers(0, 5, (2, 4))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    report = mr.autograd.check_gradients(
        lambda: mr.losses.cross_entropy(logits, target, mask=mask), {"logits": logits})
    assert report.passed, str(report)
    assert np.all(logits.grad[0, 3] == 0) and np.all(logits.grad[1, 2:] == 0)


def test_loss_shape_mismatch_is_clear():
    with pytest.raises(ValueError, match=r"mse: prediction has shape \(2, 1\) but target"):
        mr.losses.mse(mr.Tensor(np.ones((2, 1))), np.ones(2))


def xor_task():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    return x, y


@pytest.mark.parametrize("make_optimizer,steps", [
    (lambda p: SGD(p, lr=0.1, momentum=0.9), 600),
    (lambda p: Adam(p, lr=0.05), 400),
    (lambda p: AdamW(p, lr=0.05, weight_decay=1e-4), 400),
])
def test_mlp_learns_xor_with_each_optimizer(make_optimizer, steps):
    x, y = xor_task()
    model = MLP()
    opt = make_optimizer(model.parameters())
    first = mr.losses.mse(model(x), y).item()
    for _ in range(steps):
        opt.zero_grad()
        loss = mr.losses.mse(model(x), y)
        loss.backward()
        clip_grad_norm(model.parameters(), 5.0)
        opt.step()
    assert loss.item() < 1e-3 < first


def test_clip_grad_norm_scales_to_the_limit():
    p, q = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    p.grad, q.grad = np.array([3.0, 0.0]), np.array([4.0])
    assert clip_grad_norm([p, q], 1.0) == pytest.approx(5.0)
    total = np.sqrt(np.sum(p.grad ** 2) + np.sum(q.grad ** 2))
    assert total == pytest.approx(1.0)
    np.testing.assert_allclose(p.grad, [0.6, 0.0])


def test_optimizer_rejects_a_bad_learning_rate():
    with pytest.raises(ValueError, match="learning rate must be positive"):
        Adam(MLP().parameters(), lr=-1)


def test_the_fused_mse_has_the_gradient_of_its_formula():
    """mse is one tape op (without a mask): its value and gradient are those of
    mean((y - t)²) written with primitive ops, and finite differences agree."""
    from minirnn.autograd import check_gradients

    rng = np.random.default_rng(3)
    y = mr.Tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    t = rng.standard_normal((3, 4, 2))
    loss = mr.losses.mse(y, t)
    assert loss._entry.name == "mse"  # one op on the tape
    loss.backward()
    fused = y.grad.copy()
    y.grad = None
    diff = y - mr.Tensor(t)
    composed = (diff * diff).mean()
    composed.backward()
    assert loss.item() == pytest.approx(composed.item(), rel=1e-14)
    np.testing.assert_allclose(fused, y.grad, rtol=1e-14)
    assert check_gradients(lambda: mr.losses.mse(y, t), {"y": y}).passed
