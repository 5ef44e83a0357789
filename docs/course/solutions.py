"""Solutions to the course's exercises, one function per exercise, checked by
``tests/test_course.py``. Read a notebook's exercise before its solution."""
from __future__ import annotations

import numpy as np

import minirnn as mr


# --- 1. Autograd on a tape ----------------------------------------------------------------------
def numeric_gradient(f, theta: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(θ + ε e_i) - f(θ - ε e_i)) / 2ε of the scalar ``f()`` for every
    element i of ``theta``, which ``f`` reads and which is perturbed in place and restored."""
    grad = np.zeros_like(theta, dtype=np.float64)
    for i in np.ndindex(theta.shape):
        old = theta[i]
        theta[i] = old + eps
        plus = float(f())
        theta[i] = old - eps
        minus = float(f())
        theta[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def sigmoid_backward(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """x̄ of y = σ(x) from the output y and its gradient g: σ'(x) = σ(x)(1 - σ(x)) = y(1 - y)."""
    return g * y * (1 - y)


def softmax_backward(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """x̄ of y = softmax(x) over the last axis, from y and its gradient g.

    ∂y_i/∂x_j = y_i (δ_ij - y_j), so x̄_j = Σ_i g_i y_i (δ_ij - y_j) = y_j (g_j - Σ_i g_i y_i).
    """
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def topological_order(root, parents) -> list:
    """Every node ``root`` depends on (itself included), each before all of its parents: the
    order in which a backward pass visits them. Iterative (an explicit stack and a count of
    each node's unvisited children, as HIPS autograd does), so a chain of any length works.
    ``parents(node)`` lists a node's inputs; nodes must be hashable."""
    children = {root: 0}  # node -> how many of its children (readers) are still to be visited
    stack, seen = [root], {root}
    while stack:  # first pass: count, for every node, the nodes that read it
        node = stack.pop()
        for p in parents(node):
            children[p] = children.get(p, 0) + 1
            if p not in seen:
                seen.add(p)
                stack.append(p)
    order, ready = [], [root]
    while ready:  # second pass: a node is ready once all its readers have been visited
        node = ready.pop()
        order.append(node)
        for p in parents(node):
            children[p] -= 1
            if children[p] == 0:
                ready.append(p)
    return order


# --- 2. The sliding predictor -------------------------------------------------------------------
def delay_window(x: np.ndarray, N: int) -> np.ndarray:
    """e_t = [x_t, x_{t-1}, …, x_{t-N+1}] (zeros before t = 0) for x (B, T, I): (B, T, N·I)."""
    B, T, I = x.shape
    e = np.zeros((B, T, N * I), dtype=x.dtype)
    for t in range(T):
        for j in range(N):
            if t - j >= 0:
                e[:, t, j * I:(j + 1) * I] = x[:, t - j]
    return e


def sliding_parameter_count(I: int, H: int, O: int, N: int) -> int:
    """W_xh (H, N·I) + b_h (H) + W_hy (O, H) + b_y (O). Reaching 10,000 days back with I = 8,
    H = 64 takes 64·80,000 + 64 + 64 + 1 ≈ 5.1 million weights, all read at every step."""
    return H * N * I + H + O * H + O


def response_band(model, steps: int, seed: int = 0) -> set:
    """The lags t - u for which ∂y_t/∂x_u ≠ 0, for a one-input, one-output model: one backward
    pass per output step, on the tape."""
    x = mr.Tensor(np.random.default_rng(seed).normal(size=(1, steps, 1)), requires_grad=True)
    lags = set()
    for t in range(steps):
        x.grad = None
        model(x)[0, t, 0].backward()
        lags |= {t - u for u in np.nonzero(x.grad[0, :, 0])[0]}
    return lags


# --- 3. NARX ------------------------------------------------------------------------------------
def narx_parameter_count(I: int, H: int, O: int, L: int, K: int) -> int:
    """W_xh (H, (L+1)·I) + W_yh (H, K·O) + b_h (H) + W_hy (O, H) + b_y (O). A full NARX over a
    year of daily prices (K = T = 365, I = 2, H = 32, O = 1, L = 2) has 32·6 + 32·365 + 32 +
    32 + 1 = 11,937 weights; K = 5 needs 417."""
    return H * (L + 1) * I + H * K * O + H + O * H + O


def narx_memory_matrices(K: int, O: int):
    """(W_ym (K·O, O), W_mm (K·O, K·O)) with m_t = W_ym y_{t-1} + W_mm m_{t-1} = [y_{t-1}; …;
    y_{t-K}]: W_ym puts the newest output in block 0, W_mm moves block k-1 to block k and drops
    the oldest."""
    W_ym = np.zeros((K * O, O))
    W_ym[:O] = np.eye(O)
    W_mm = np.eye(K * O, k=-O)
    return W_ym, W_mm


def narx_simulate(model, x: np.ndarray) -> np.ndarray:
    """A closed-loop NARX (tanh hidden layer, identity output, zero initial state) run over x
    (B, T, I) in plain NumPy: h_t = tanh(W_xh [x_t … x_{t-L}] + W_yh [y_{t-1} … y_{t-K}] + b_h),
    y_t = W_hy h_t + b_y, each y_t fed back. Returns y (B, T, O)."""
    W_xh, W_yh, b_h, W_hy, b_y = (p.data for p in (model.W_xh, model.W_yh, model.b_h,
                                                    model.W_hy, model.b_y))
    L, K = model.input_delays, model.output_delays
    B, T, I = x.shape
    O = W_hy.shape[0]
    y = np.zeros((B, T, O))
    for t in range(T):
        inputs = [x[:, t - j] if t - j >= 0 else np.zeros((B, I)) for j in range(L + 1)]
        outputs = [y[:, t - k] if t - k >= 0 else np.zeros((B, O)) for k in range(1, K + 1)]
        h = np.tanh(np.concatenate(inputs, axis=1) @ W_xh.T
                    + np.concatenate(outputs, axis=1) @ W_yh.T + b_h)
        y[:, t] = h @ W_hy.T + b_y
    return y
