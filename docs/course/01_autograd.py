# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Autograd on a tape, from scratch
#
# Every model of this course is trained by gradient descent, and every gradient is computed
# the same way: the forward computation is **recorded** on a tape, operation by operation, and
# the tape is then **replayed backwards**, each operation turning the gradient of its output
# into the gradients of its inputs. Backpropagation through time (BPTT), the training algorithm
# of recurrent networks, is nothing more than this, applied to a network unrolled over the time
# steps of a sequence.
#
# This notebook builds such a tape in about fifty lines of NumPy, derives the backward rule of
# each operation, checks the result against finite differences, uses it to run BPTT through a
# tiny recurrence, and then does the same with minirnn's own `Tensor`.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minirnn as mr

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## The chain rule, backwards
#
# A program is a sequence of operations $v_k = \phi_k(v_{p_1(k)}, v_{p_2(k)}, \dots)$, each
# reading values computed before it (its *parents*). The last value is the loss $L$. Write
# $\bar v = \partial L / \partial v$ for the gradient of the loss with respect to a value $v$
# (its *adjoint*, an array of $v$'s shape). The loss reaches $v_j$ only through the operations
# that read $v_j$, so by the chain rule
#
# $$\bar v_j \;=\; \sum_{k \,:\, j \in \mathrm{parents}(k)}
# \left(\frac{\partial v_k}{\partial v_j}\right)^{\!\top} \bar v_k ,
# \qquad \bar L = 1 .$$
#
# Every term needs $\bar v_k$ of an operation recorded *after* $v_j$. The order in which the
# operations ran is a topological order of the graph, so replaying the tape **newest first**
# guarantees that $\bar v_k$ is complete before it is used. No operation ever needs its
# Jacobian as a matrix: it only needs the *vector-Jacobian product*
# $\bar v_j \mathrel{+}= J_{kj}^\top \bar v_k$, which for the operations below is one line each.
#
# ### The backward rule of each operation
#
# **Addition** $C = A + B$: $\partial C_{ij}/\partial A_{ij} = 1$, so
# $$\bar A = \bar C, \qquad \bar B = \bar C,$$
# summed over the axes along which an operand was broadcast (a bias $b$ added to every row of
# a batch receives the sum of the rows' gradients).
#
# **Elementwise product** $C = A \odot B$:
# $$\bar A = \bar C \odot B, \qquad \bar B = \bar C \odot A .$$
#
# **Matrix product** $C = AB$, $C_{ik} = \sum_j A_{ij} B_{jk}$. Then
# $\partial L/\partial A_{ij} = \sum_k \bar C_{ik}\, \partial C_{ik}/\partial A_{ij}
# = \sum_k \bar C_{ik} B_{jk}$,
# and likewise for $B$:
# $$\bar A = \bar C B^\top, \qquad \bar B = A^\top \bar C .$$
#
# **Hyperbolic tangent** $Y = \tanh(X)$, elementwise, with $\tanh'(x) = 1 - \tanh^2(x)$:
# $$\bar X = \bar Y \odot (1 - Y \odot Y),$$
# written with the *output* $Y$, which the forward pass already has.
#
# **Sum** $s = \sum_i X_i$: $\partial s/\partial X_i = 1$, so $\bar X = \bar s\,\mathbf{1}$.
#
# The mean squared error $L = \frac{1}{n}\sum_i (y_i - d_i)^2$ is made of these: a
# difference, a product and a sum.

# %% [markdown]
# ## A tape in fifty lines
#
# `Var` holds a value and its gradient; `record` appends an entry to the tape: the output, its
# inputs and the function that maps the output's gradient to one gradient per input. Each
# operation writes its forward and its backward side by side, exactly the formulas above.

# %%
TAPE = []


class Var:
    """A value that remembers the operation that made it (through the tape)."""

    def __init__(self, data):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)

    # operators, so that formulas read as formulas
    def __add__(self, other): return add(self, other)
    def __sub__(self, other): return add(self, mul(other, Var(-1.0)))
    def __mul__(self, other): return mul(self, other)
    def __matmul__(self, other): return matmul(self, other)


def record(out_data, inputs, backward):
    out = Var(out_data)
    TAPE.append((out, inputs, backward))
    return out


def unbroadcast(g, shape):
    """Sum g over the axes along which an operand of `shape` was broadcast."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def add(a, b):        # C = A + B:  Ā = C̄,  B̄ = C̄  (unbroadcast)
    return record(a.data + b.data, (a, b),
                  lambda g: (unbroadcast(g, a.data.shape), unbroadcast(g, b.data.shape)))


def mul(a, b):        # C = A ⊙ B:  Ā = C̄ ⊙ B,  B̄ = C̄ ⊙ A
    return record(a.data * b.data, (a, b),
                  lambda g: (unbroadcast(g * b.data, a.data.shape),
                             unbroadcast(g * a.data, b.data.shape)))


def matmul(a, b):     # C = A B:  Ā = C̄ Bᵀ,  B̄ = Aᵀ C̄
    return record(a.data @ b.data, (a, b), lambda g: (g @ b.data.T, a.data.T @ g))


def tanh(x):          # Y = tanh X:  X̄ = Ȳ ⊙ (1 - Y²)
    y = np.tanh(x.data)
    return record(y, (x,), lambda g: (g * (1 - y * y),))


def total(x):         # s = Σ X:  X̄ = s̄ 1
    return record(x.data.sum(), (x,), lambda g: (g * np.ones_like(x.data),))


def backward(loss):
    """Replay the tape newest first: every output's gradient is complete when it is used."""
    loss.grad = np.ones_like(loss.data)
    for out, inputs, fn in reversed(TAPE):
        for x, g in zip(inputs, fn(out.grad), strict=True):
            x.grad = x.grad + g
    TAPE.clear()

# %% [markdown]
# ### Checked against finite differences
#
# A central difference
# $\big(L(\theta + \varepsilon e_i) - L(\theta - \varepsilon e_i)\big)/2\varepsilon$
# approximates $\partial L/\partial\theta_i$ with an error $O(\varepsilon^2)$ (plus rounding,
# $O(u/\varepsilon)$, $u \approx 10^{-16}$ in float64): with $\varepsilon = 10^{-6}$ the two
# should agree to about $10^{-9}$ relative. The test function is one tanh layer and a squared
# error, $L = \sum \big(\tanh(XW + b) - D\big)^2$.

# %%
rng = np.random.default_rng(0)
X, D = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
W0, b0 = rng.normal(size=(3, 2)), rng.normal(size=(1, 2))


def layer_loss(W, b):
    """L as a function of the tape's variables."""
    r = tanh(Var(X) @ W + b) - Var(D)
    return total(r * r)


W, b = Var(W0), Var(b0)
backward(layer_loss(W, b))


def numeric_gradient(f, theta, eps=1e-6):
    """Central differences of the scalar f() with respect to every element of the array theta."""
    grad = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        old = theta[i]
        theta[i] = old + eps
        plus = f()
        theta[i] = old - eps
        minus = f()
        theta[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def plain_loss():  # the same function, without the tape (it must not record)
    r = np.tanh(X @ W0 + b0) - D
    return (r * r).sum()


for name, var, theta in [("W", W, W0), ("b", b, b0)]:
    numeric = numeric_gradient(plain_loss, theta)
    error = np.abs(var.grad - numeric).max() / np.abs(numeric).max()
    print(f"{name}: tape {var.grad.ravel()[:3]} ... finite differences {numeric.ravel()[:3]} ... "
          f"max relative error {error:.1e}")
    assert error < 1e-7

# %% [markdown]
# ## Backpropagation through time is the same replay
#
# Take the smallest recurrent network: one unit, $a_t = w\,x_t + u\,h_{t-1}$,
# $h_t = \tanh(a_t)$, $h_{-1} = 0$, and a loss on every step,
# $L = \sum_t (h_t - d_t)^2$. Unrolled over $T$ steps it is an ordinary graph, drawn below: the
# same $w$ and $u$ are read at every step, and each $h_t$ is read twice, by the loss and by the
# next step. The numbers give the order in which the states are computed, and so recorded on
# the tape (each loss term is recorded right after its $h_t$); the backward pass visits them
# from the largest number down.

# %%
def draw_unrolled_scalar_rnn(T=3):
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.set_aspect("equal")
    order = 1
    for t in range(T):
        cx = 1 + 2.6 * t
        nodes = {"x": (cx, 0), "a": (cx, 1.3), "h": (cx, 2.6), "L": (cx + 0.9, 3.6)}
        for key, (px, py) in nodes.items():
            label = {"x": f"$x_{t}$", "a": f"$a_{t}$", "h": f"$h_{t}$", "L": f"$\\ell_{t}$"}[key]
            colour = {"x": "#dbe9f6", "a": "#fde9c9", "h": "#cfe8cf", "L": "#f4cccc"}[key]
            ax.add_patch(plt.Circle((px, py), 0.33, color=colour, ec="k", zorder=2))
            ax.text(px, py, label, ha="center", va="center", fontsize=12, zorder=3)
        arrow = dict(arrowstyle="->", lw=1.2, shrinkA=15, shrinkB=15)
        ax.annotate("", nodes["a"], nodes["x"], arrowprops=arrow)
        ax.text(cx + 0.12, 0.62, "$w$", fontsize=11)
        ax.annotate("", nodes["h"], nodes["a"], arrowprops=arrow)
        ax.annotate("", nodes["L"], nodes["h"], arrowprops=arrow)
        ax.text(cx - 0.55, 1.95, f"#{order + 1}", fontsize=9, color="gray")
        ax.text(cx - 0.55, 0.62, f"#{order}", fontsize=9, color="gray")
        order += 2
        if t > 0:
            ax.annotate("", (cx - 0.3, 1.4), (cx - 2.3, 2.5),
                        arrowprops=dict(arrowstyle="->", lw=1.2, color="#2a6f2a", shrinkA=15,
                                        shrinkB=15))
            ax.text(cx - 1.45, 2.15, "$u$", fontsize=11, color="#2a6f2a")
    ax.annotate("", (1.6, 4.3), (1 + 2.6 * (T - 1) + 0.6, 4.3),
                arrowprops=dict(arrowstyle="->", lw=1.5, color="#b03030", ls="--"))
    ax.text(1 + 1.3 * (T - 1), 4.45, "backward: the tape replayed newest first", color="#b03030",
            ha="center")
    ax.set_xlim(0.2, 2.6 * T + 0.2)
    ax.set_ylim(-0.6, 4.9)
    ax.axis("off")
    ax.set_title("A one-unit recurrence unrolled in time: one graph, "
                 "the same $w$ and $u$ at every step")
    plt.show()


draw_unrolled_scalar_rnn()

# %% [markdown]
# ### The BPTT recursion, derived by hand
#
# Let $\ell_t = (h_t - d_t)^2$. The state $h_t$ reaches the loss directly through $\ell_t$
# and through the next step's $a_{t+1} = w x_{t+1} + u h_t$, so by the chain rule
#
# $$\bar h_t = \underbrace{2(h_t - d_t)}_{\partial \ell_t/\partial h_t} + u\,\bar a_{t+1},
# \qquad \bar a_t = \bar h_t\,(1 - h_t^2), \qquad \bar a_T = 0,$$
#
# computed for $t = T-1$ down to $0$: the gradient flows *backwards in time*. The weights are read
# at every step, so their gradients are sums over the steps (the "one gradient per use, then
# add" of the tape):
#
# $$\bar w = \sum_t \bar a_t\, x_t, \qquad \bar u = \sum_t \bar a_t\, h_{t-1}.$$
#
# The same three lines, in the same order, are the heart of every `reference.py` in minirnn's
# kernels. Below, the tape and the hand-written recursion compute the same numbers.

# %%
T = 12
x_seq, d_seq = rng.normal(size=T), rng.normal(size=T)
w0, u0 = 0.7, -0.9

# the tape: unroll the loop, then replay
w, u = Var(w0), Var(u0)
h, loss = Var(0.0), Var(0.0)
for t in range(T):
    h = tanh(w * Var(x_seq[t]) + u * h)
    r = h - Var(d_seq[t])
    loss = loss + r * r
backward(loss)

# BPTT by hand: forward, keeping the states, then the recursion above
hs = np.zeros(T + 1)               # hs[t + 1] = h_t, hs[0] = h_{-1} = 0
for t in range(T):
    hs[t + 1] = np.tanh(w0 * x_seq[t] + u0 * hs[t])
a_bar_next, w_bar, u_bar = 0.0, 0.0, 0.0
for t in reversed(range(T)):
    h_bar = 2 * (hs[t + 1] - d_seq[t]) + u0 * a_bar_next
    a_bar = h_bar * (1 - hs[t + 1] ** 2)
    w_bar += a_bar * x_seq[t]
    u_bar += a_bar * hs[t]
    a_bar_next = a_bar

print(f"dL/dw: tape {w.grad:.12f}   by hand {w_bar:.12f}")
print(f"dL/du: tape {u.grad:.12f}   by hand {u_bar:.12f}")
assert np.isclose(w.grad, w_bar, rtol=1e-12) and np.isclose(u.grad, u_bar, rtol=1e-12)

# %% [markdown]
# ## The same with minirnn's `Tensor`
#
# minirnn's engine (`minirnn.autograd`) is this tape grown up: the same `record(name, output,
# inputs, backward)` (`tape.py`), each operation's forward and backward side by side
# (`ops.py`), an iterative replay so that 20,000 unrolled steps need no deep recursion, and
# gradients only for what needs them. Here are its `tanh` and its elementwise product, the
# formulas $\bar X = \bar Y \odot (1 - Y^2)$ and $\bar A = \bar C \odot B$,
# $\bar B = \bar C \odot A$
# (`unbroadcast` sums over broadcast axes, as ours does; a constant operand gets no gradient):

# %%
print(inspect.getsource(mr.autograd.ops.tanh))
print(inspect.getsource(mr.autograd.ops.mul))

# %% [markdown]
# The tanh layer again, on minirnn's tape: the gradients equal our tape's, and
# `mr.autograd.check_gradients` compares them with central differences element by element.

# %%
Wt = mr.Tensor(W0.copy(), requires_grad=True)
bt = mr.Tensor(b0.copy(), requires_grad=True)


def layer_loss_mr():
    r = (mr.Tensor(X) @ Wt + bt).tanh() - mr.Tensor(D)
    return (r * r).sum()


layer_loss_mr().backward()
print("same as our tape:", np.allclose(Wt.grad, W.grad, rtol=1e-12),
      np.allclose(bt.grad, b.grad, rtol=1e-12))
report = mr.autograd.check_gradients(layer_loss_mr, {"W": Wt, "b": bt})
print(report)
assert report.passed

# %% [markdown]
# ## Training with the tape
#
# Gradient descent needs nothing more. A one-hidden-layer network predicts the next value of
# the built-in noisy sine (`mr.data.sine`) from the last four:
# $\hat y_t = W_2 \tanh(W_1 [y_{t-1}, \dots, y_{t-4}] + b_1) + b_2$, trained first on our
# fifty-line tape with plain gradient descent, then on minirnn's with Adam. (This window of
# past values is exactly the *sliding predictor* of the next notebook.)

# %%
series = mr.data.sine(500, seed=0).targets[:, 0]
N = 4
# the windows [y_{t-1} … y_{t-N}], one row per predicted y_t
windows = np.stack([series[N - 1 - j:len(series) - 1 - j] for j in range(N)], axis=1)
targets = series[N:, None]
split = 350

params = {"W1": rng.normal(scale=0.5, size=(N, 8)), "b1": np.zeros((1, 8)),
          "W2": rng.normal(scale=0.5, size=(8, 1)), "b2": np.zeros((1, 1))}
losses = []
for _ in range(400):
    v = {k: Var(p) for k, p in params.items()}
    r = tanh(Var(windows[:split]) @ v["W1"] + v["b1"]) @ v["W2"] + v["b2"] - Var(targets[:split])
    loss = total(r * r)
    backward(loss)
    for k in params:
        params[k] -= 0.05 * v[k].grad / split
    losses.append(loss.data / split)

prediction = np.tanh(windows @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
test_rmse = np.sqrt(((prediction[split:] - targets[split:]) ** 2).mean())
naive_rmse = np.sqrt(((windows[split:, :1] - targets[split:]) ** 2).mean())
print(f"our tape, test RMSE {test_rmse:.3f} (the last value held: {naive_rmse:.3f})")

# %%
model = [mr.Tensor(rng.normal(scale=0.5, size=s), requires_grad=True)
         for s in [(N, 8), (1, 8), (8, 1), (1, 1)]]
opt = mr.optim.Adam(model, lr=0.02)
mr_losses = []
for _ in range(400):
    opt.zero_grad()
    W1, b1, W2, b2 = model
    out = (mr.Tensor(windows[:split]) @ W1 + b1).tanh() @ W2 + b2
    loss = mr.losses.mse(out, targets[:split])
    loss.backward()
    opt.step()
    mr_losses.append(loss.item())
with mr.no_grad():
    W1, b1, W2, b2 = model
    mr_prediction = ((mr.Tensor(windows) @ W1 + b1).tanh() @ W2 + b2).numpy()
mr_rmse = np.sqrt(((mr_prediction[split:] - targets[split:]) ** 2).mean())
print(f"minirnn + Adam, test RMSE {mr_rmse:.3f}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
ax1.semilogy(losses, label="our tape, gradient descent")
ax1.semilogy(mr_losses, label="minirnn, Adam")
ax1.set_xlabel("step")
ax1.set_ylabel("training MSE")
ax1.legend()
ax1.set_title("Training")
rows = np.arange(split, len(targets))
ax2.plot(rows, targets[split:], "k.", ms=3, label="the series (test rows)")
ax2.plot(rows, prediction[split:], label="our tape")
ax2.plot(rows, mr_prediction[split:], "--", label="minirnn")
ax2.set_xlabel("t")
ax2.legend()
ax2.set_title("One-step predictions on unseen rows")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Exercises
#
# Solutions: `docs/course/solutions.py` (functions `numeric_gradient`, `sigmoid_backward`,
# `softmax_backward`, `topological_order`), checked by `tests/test_course.py`.
#
# 1. **Finite differences.** Write `numeric_gradient(f, theta, eps=1e-6)` that returns the
#    central-difference gradient of a scalar function `f()` with respect to every element of
#    the array `theta` (perturbed in place and restored), and use it to check the gradient of
#    the tanh layer with respect to `X`.
# 2. **Two more backward rules.** Derive the vector-Jacobian products of the logistic sigmoid
#    $y = \sigma(x)$ ($\bar x = \bar y \odot y \odot (1 - y)$) and of the softmax over the last
#    axis, $y_i = e^{x_i}/\sum_j e^{x_j}$
#    (show that $\bar x = y \odot (\bar y - \langle \bar y, y \rangle)$),
#    and write them as `sigmoid_backward(y, g)` and `softmax_backward(y, g)`, from the output `y`
#    and its gradient `g`. Compare with `mr.Tensor(...).sigmoid()` and `.softmax()`.
# 3. **A tape without the tape.** When a graph was not recorded in order (it is given only by
#    each node's parents), the backward pass first needs a topological order. Write
#    `topological_order(root, parents)` returning every node that `root` depends on, each after
#    all the nodes that read it (the root first), *without recursion*, so that a chain of
#    100,000 nodes (an RNN unrolled over 100,000 steps) works.
