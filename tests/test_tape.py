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
