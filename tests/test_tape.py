"""The tape: how gradients are accumulated, freed, and switched off."""
import gc
import sys
import weakref

import numpy as np
import pytest

import minirnn as mr


def test_quickstart_expression():
    x = mr.Tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True)
    W = mr.Tensor(np.ones((3, 2)), requires_grad=True)
    y = (x @ W).tanh().sum()
    y.backward()
    # dy/dW[i, j] = Σ_b x[b, i] (1 - tanh²(z[b, j]))
    z = x.data @ W.data
    np.testing.assert_allclose(W.grad, x.data.T @ (1 - np.tanh(z) ** 2))
    np.testing.assert_allclose(x.grad, (1 - np.tanh(z) ** 2) @ W.data.T)


def test_gradient_accumulates_over_shared_uses_and_calls():
    a = mr.Tensor([2.0], requires_grad=True)
    (a * a + a).sum().backward()  # d/da (a² + a) = 2a + 1 = 5
    np.testing.assert_allclose(a.grad, [5.0])
    (a * 3).sum().backward()  # gradients add up until zero_grad()
    np.testing.assert_allclose(a.grad, [8.0])
    a.zero_grad()
    assert a.grad is None


def test_unrolled_graph_of_20000_steps_needs_no_recursion():
    """An Elman-like scalar recurrence h_t = tanh(w h_{t-1} + x_t) unrolled over 20,000 steps."""
    steps = 20_000
    assert sys.getrecursionlimit() <= 20_000
    w = mr.Tensor([0.5], requires_grad=True)
    xs = [mr.Tensor([v]) for v in np.sin(np.arange(steps) * 0.01)]
    h = mr.Tensor([0.0])
    for x in xs:
        h = (w * h + x).tanh()
    h.sum().backward()
    # the same derivative by forward-mode accumulation: dh_t/dw = (1-h_t²)(h_{t-1} + w dh_{t-1}/dw)
    hv, dh = 0.0, 0.0
    for x in xs:
        new = np.tanh(0.5 * hv + x.data[0])
        dh = (1 - new ** 2) * (hv + 0.5 * dh)
        hv = new
    np.testing.assert_allclose(w.grad, [dh], rtol=1e-10)


def test_backward_frees_the_graph_unless_retained():
    a = mr.Tensor(np.ones(4), requires_grad=True)
    big = a * 2.0
    saved = weakref.ref(big.data)  # mul's backward closure holds its inputs' arrays
    out = (big * big).sum()
    del big
    out.backward()
    gc.collect()
    assert saved() is None, "the tape kept an intermediate array alive after backward()"
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        out.backward()

    np.testing.assert_allclose(a.grad, 8 * np.ones(4))  # d/da Σ (2a)² = 8a
    a.zero_grad()
    out = (a * a).sum()
    out.backward(retain_graph=True)
    out.backward()  # the retained graph gives the same 2a again, accumulated
    np.testing.assert_allclose(a.grad, 4 * np.ones(4))


def test_no_grad_records_nothing():
    a = mr.Tensor([1.0, 2.0], requires_grad=True)
    with mr.no_grad():
        b = a * 2
    assert not b.requires_grad and b._entry is None
    assert (a * 2).requires_grad


def test_detach_stops_the_gradient():
    a = mr.Tensor([3.0], requires_grad=True)
    (a * a.detach()).sum().backward()
    np.testing.assert_allclose(a.grad, [3.0])


def test_backward_needs_a_scalar_or_a_gradient():
    a = mr.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="single-element"):
        (a * 2).backward()
    (a * 2).backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(a.grad, [2.0, 4.0, 6.0])


def test_float32_stays_float32():
    a = mr.Tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    out = ((a @ a).tanh() * 2 + 1).mean()
    out.backward()
    assert out.dtype == np.float32 and a.grad.dtype == np.float32


# --- reading an intermediate gradient ---------------------------------------------------------
def test_retain_grad_keeps_the_gradient_of_an_intermediate_tensor():
    """L = Σ tanh(x W): u = x W is an intermediate; ∂L/∂u = 1 - tanh²(u), elementwise."""
    x = mr.Tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True)
    W = mr.Tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True)
    u = (x @ W).retain_grad()
    v = x * 2  # not retained: its gradient is freed as the pass goes
    loss = (u.tanh().sum() + v.sum())
    loss.backward()
    np.testing.assert_allclose(u.grad, 1 - np.tanh(x.data @ W.data) ** 2, rtol=1e-14)
    assert v.grad is None
    assert u.retains_grad and not u.is_leaf and x.is_leaf


def test_a_retained_gradient_sums_every_use_and_accumulates_like_a_leafs():
    a = mr.Tensor([1.5], requires_grad=True)
    u = (a * 2).retain_grad()
    out = u * u + 3 * u  # ∂/∂u (u² + 3u) = 2u + 3 = 9
    out.sum().backward(retain_graph=True)
    np.testing.assert_allclose(u.grad, [9.0])
    out.sum().backward()
    np.testing.assert_allclose(u.grad, [18.0])


def test_retain_grad_on_a_constant_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mr.Tensor([1.0]).retain_grad()


def test_a_hook_sees_the_summed_gradient_once_and_may_replace_it():
    a = mr.Tensor([1.0, 2.0], requires_grad=True)
    u = a * 3
    seen = []
    u.register_hook(lambda g: seen.append(g.copy()))
    (u * u + u).sum().backward()  # ∂/∂u = 2u + 1
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 2 * u.data + 1)

    # a hook that returns an array replaces the gradient from there on: clip it at 5
    b = mr.Tensor([1.0, 2.0], requires_grad=True)
    w = b * 3
    w.register_hook(lambda g: np.minimum(g, 5.0))
    (w * w).sum().backward()  # ∂/∂w = 2w = [6, 12] → clipped [5, 5]; ∂/∂b = 3 · that
    np.testing.assert_allclose(b.grad, [15.0, 15.0])


def test_a_leaf_hook_sees_the_sum_of_the_pass_and_can_be_removed():
    a = mr.Tensor([2.0], requires_grad=True)
    seen = []
    handle = a.register_hook(lambda g: seen.append(g.copy()))
    (a * a + a).sum().backward()  # two uses of a: one call with 2a + 1
    np.testing.assert_allclose(seen, [[5.0]])
    np.testing.assert_allclose(a.grad, [5.0])
    handle.remove()
    (a * 1).sum().backward()
    assert len(seen) == 1


def test_a_backward_that_returns_too_few_gradients_fails_loudly():
    """One gradient per input, checked: a backward that forgets one is a bug, not a constant."""
    from minirnn.autograd import record

    a = mr.Tensor([1.0], requires_grad=True)
    b = mr.Tensor([2.0], requires_grad=True)
    broken = record("broken_add", a.data + b.data, (a, b), lambda g: (g,))
    with pytest.raises(ValueError, match="'broken_add' returned 1 gradient"):
        broken.sum().backward()
