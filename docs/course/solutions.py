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


# --- 4. Explicit memory and the Jordan network --------------------------------------------------
def jordan_memory(y: np.ndarray, mu: float, m0: np.ndarray) -> np.ndarray:
    """Jordan's memory m_t = μ m_{t-1} + (1-μ) y_{t-1} for t = 0 … T-1, from the outputs y
    (B, T, O), the initial memory m_{-1} = m0 (B, O) and y_{-1} = 0: (B, T, O)."""
    m = np.zeros_like(y, dtype=np.float64)
    previous_m, previous_y = m0, np.zeros_like(m0)
    for t in range(y.shape[1]):
        m[:, t] = mu * previous_m + (1 - mu) * previous_y
        previous_m, previous_y = m[:, t], y[:, t]
    return m


def jordan_as_explicit_memory(jordan):
    """An ExplicitMemory computing the same function as ``jordan``: M = O, r the identity,
    W_ym = (1-μ) I, W_mm = μ I, W_hm = 0, b_m = 0, and Jordan's own W_xh, b_h, W_mh, W_hy, b_y."""
    O, H = jordan.output_size, jordan.hidden_size
    mu = float(jordan.mu.data)
    model = mr.models.ExplicitMemory(input_size=jordan.input_size, hidden_size=H, output_size=O,
                                     memory_size=O, memory_activation="identity",
                                     activation=jordan.activation,
                                     output_activation=jordan.output_activation,
                                     backend=jordan.backend, dtype=jordan.dtype)
    weights = {"W_ym": (1 - mu) * np.eye(O), "W_hm": np.zeros((O, H)), "W_mm": mu * np.eye(O),
               "b_m": np.zeros(O)}
    for name in ("W_xh", "b_h", "W_mh", "W_hy", "b_y"):
        weights[name] = getattr(jordan, name).data
    for name, value in weights.items():
        getattr(model, name).data[...] = value
    return model


def explicit_memory_parameter_count(I: int, H: int, O: int, M: int) -> int:
    """W_xh (H, I) + b_h (H) + W_ym (M, O) + W_hm (M, H) + W_mm (M, M) + b_m (M) + W_mh (H, M)
    + W_hy (O, H) + b_y (O). With I = 1, H = M = 16, O = 1: 16 + 16 + 16 + 256 + 256 + 16 + 256
    + 16 + 1 = 849 weights, against Jordan's W_xh, b_h, W_mh, W_hy, b_y: 16 + 16 + 16 + 16 + 1 =
    65 (66 with μ)."""
    return H * I + H + M * O + M * H + M * M + M + H * M + O * H + O


# --- 5. The state-space model and the Elman network ---------------------------------------------
def state_space_simulate(model, x: np.ndarray) -> np.ndarray:
    """y (B, T, O) of an Elman or StateSpaceRNN (tanh state, identity output) in plain NumPy:
    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h) from h_{-1} = the model's initial state,
    y_t = W_hy h_t + b_y."""
    W_xh, W_hh, b_h, W_hy, b_y = (p.data for p in (model.W_xh, model.W_hh, model.b_h,
                                                    model.W_hy, model.b_y))
    B, T, _ = x.shape
    h = np.broadcast_to(model.initial_state().data, (B, W_hh.shape[0]))
    y = np.zeros((B, T, W_hy.shape[0]))
    for t in range(T):
        h = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)
        y[:, t] = h @ W_hy.T + b_y
    return y


def initial_state_gradient(model, x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """∂L/∂h_{-1} (B, H) for L = mse(model(x), d), by BPTT: ō_t = 2 (y_t - d_t) / size,
    h̄_t = W_hyᵀ ō_t + W_hhᵀ z̄_{t+1}, z̄_t = h̄_t ⊙ (1 - h_t²), and h̄_{-1} = W_hhᵀ z̄_0. A learned
    h0 is the same vector for every row, so its gradient is the sum of these rows."""
    W_xh, W_hh, b_h, W_hy, b_y = (p.data for p in (model.W_xh, model.W_hh, model.b_h,
                                                    model.W_hy, model.b_y))
    B, T, _ = x.shape
    H = W_hh.shape[0]
    hs = np.zeros((B, T + 1, H))                 # hs[:, t + 1] = h_t, hs[:, 0] = h_{-1}
    hs[:, 0] = model.initial_state().data
    for t in range(T):
        hs[:, t + 1] = np.tanh(x[:, t] @ W_xh.T + hs[:, t] @ W_hh.T + b_h)
    y = hs[:, 1:] @ W_hy.T + b_y
    o_bar = 2 * (y - d) / y.size
    z_next = np.zeros((B, H))
    for t in reversed(range(T)):
        h_bar = o_bar[:, t] @ W_hy + z_next @ W_hh
        z_next = h_bar * (1 - hs[:, t + 1] ** 2)
    return z_next @ W_hh


def state_jacobian(model, x: np.ndarray, t: int, k: int) -> np.ndarray:
    """∂h_t/∂h_{t-k} (B, H, H) of an Elman or StateSpaceRNN (tanh state): the product
    diag f'(z_t) W_hh · diag f'(z_{t-1}) W_hh ⋯ diag f'(z_{t-k+1}) W_hh, with f'(z) = 1 - h²."""
    W_xh, W_hh, b_h = model.W_xh.data, model.W_hh.data, model.b_h.data
    B = x.shape[0]
    H = W_hh.shape[0]
    h = np.broadcast_to(model.initial_state().data, (B, H))
    hs = []
    for s in range(t + 1):
        h = np.tanh(x[:, s] @ W_xh.T + h @ W_hh.T + b_h)
        hs.append(h)
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for s in range(t - k + 1, t + 1):            # oldest factor first: J ← diag f'(z_s) W_hh J
        J = (1 - hs[s] ** 2)[:, :, None] * (W_hh @ J)
    return J
