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
# # 4. Explicit memory and the Jordan network
#
# The "full" NARX of notebook 3 reaches every past output, but it stores them one by one: its
# weights and its cost grow with the length of the sequence. The article's next step keeps a
# **fixed-size memory** instead, a variable $m_t$ that is updated at every step from what the
# network just did and that the hidden layer reads:
#
# $$m_t = r(y_{t-1}, h_{t-1}, m_{t-1}), \qquad h_t = f(x_t, m_t), \qquad y_t = g(h_t).$$
#
# The memory is *explicit*: a separate layer with its own update rule, next to the hidden
# layer, rather than the hidden layer itself (that will be the state-space model of
# notebook 5). The oldest such network is Jordan's (1986), whose memory is a running average of
# the past outputs. This notebook writes the general explicit-memory recurrence (minirnn's
# `ExplicitMemory`) and Jordan's special case (`Jordan`), derives their backward pass through
# time, checks both against that derivation and against finite differences, and trains them on
# a task that shows what a memory of outputs can and cannot hold.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minirnn as mr
from minirnn.inside import hidden_states, plot_states

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)
memory = mr.kernels.memory.reference   # the recurrence in plain NumPy: the code derived here

# %% [markdown]
# ## The forward equations
#
# Sizes: $B$ sequences of $T$ steps, $I$ inputs, $M$ memory units, $H$ hidden units, $O$
# outputs. Writing the article's three functions as one layer each:
#
# $$\begin{aligned}
# q_t &= W_{ym}\, y_{t-1} + W_{hm}\, h_{t-1} + W_{mm}\, m_{t-1} + b_m, \qquad m_t = r(q_t)
#   && \text{the memory} \\
# z_t &= W_{xh}\, x_t + W_{mh}\, m_t + b_h, \qquad h_t = f(z_t) && \text{the hidden layer} \\
# o_t &= W_{hy}\, h_t + b_y, \qquad y_t = g(o_t) && \text{the output}
# \end{aligned}$$
#
# with $W_{ym} \in \mathbb{R}^{M \times O}$, $W_{hm} \in \mathbb{R}^{M \times H}$,
# $W_{mm} \in \mathbb{R}^{M \times M}$, $W_{xh} \in \mathbb{R}^{H \times I}$,
# $W_{mh} \in \mathbb{R}^{H \times M}$, $W_{hy} \in \mathbb{R}^{O \times H}$, and initial states
# $m_{-1}, h_{-1}, y_{-1}$ (zeros by default). minirnn's defaults are $r = f = \tanh$ and $g$
# the identity. The memory reads the previous step's output, hidden layer and memory; the
# hidden layer reads only the current input and the memory. Everything the network knows of the
# past goes through $m_t$.
#
# **Jordan's network** fixes the memory to a running average of the outputs:
#
# $$m_t = \mu\, m_{t-1} + (1 - \mu)\, y_{t-1}, \qquad 0 \le \mu < 1,$$
#
# which is the recurrence above with $M = O$, $r$ the identity, and structured matrices
#
# $$W_{ym} = (1-\mu)\, I_O, \qquad W_{mm} = \mu\, I_O, \qquad W_{hm} = 0, \qquad b_m = 0 .$$
#
# Unrolled, $m_t = (1-\mu)\sum_{k=1}^{t+1} \mu^{k-1}\, y_{t-k} + \mu^{t+1} m_{-1}$: every past
# output counts, with a weight that falls geometrically with its age, and the memory keeps the
# size of one output however long the sequence. (Closed-loop NARX of notebook 3 is another
# special case, with $m_t$ the last $K$ outputs and $W_{mm}$ a shift.)
#
# minirnn runs all of them on one fused operation, `memory_recurrence`. The input part
# $a_t = W_{xh} x_t + b_h$ is one batched product for every step at once, outside the loop; the
# loop is the NumPy reference, three lines per step, one per equation (the `where` keeps a
# finished row of a padded batch where it was):

# %%
print(inspect.getsource(memory.memory_forward))

# %% [markdown]
# Jordan builds its structured matrices on the tape from its parameter $\mu$, so that the
# fused kernel's gradients for $W_{ym}$ and $W_{mm}$ flow on to $\mu$ (`learn_mu=True`):

# %%
print(inspect.getsource(mr.models.Jordan.memory_weights))

# %% [markdown]
# ## The architecture unrolled in time
#
# Left: the explicit memory. The memory layer (orange) reads the previous step's output,
# hidden layer and memory (red arrows: the only connections between steps), and the hidden
# layer reads the memory. Right: Jordan's network, the same picture with two of those arrows
# fixed to $\mu$ and $1 - \mu$ and the one from $h_{t-1}$ gone.

# %%
def draw_memory(ax, jordan, T=4):
    ax.set_aspect("equal")
    rows = {"x": 0.0, "m": 1.4, "h": 2.8, "y": 4.2}
    colours = {"x": "#dbe9f6", "m": "#fde9c9", "h": "#cfe8cf", "y": "#f4cccc"}
    dx = 2.0

    def arrow(a, b, colour="k", lw=1.0, rad=0.0):
        ax.annotate("", b, a, arrowprops=dict(arrowstyle="->", shrinkA=13, shrinkB=13, lw=lw,
                                              color=colour,
                                              connectionstyle=f"arc3,rad={rad}"))

    for t in range(T):
        X = dx * t
        arrow((X, rows["x"]), (X, rows["h"]), rad=0.35)         # x_t -> h_t
        arrow((X, rows["m"]), (X, rows["h"]))                   # m_t -> h_t
        arrow((X, rows["h"]), (X, rows["y"]))                   # h_t -> y_t
        if t > 0:
            back = X - dx
            arrow((back, rows["y"]), (X, rows["m"]), "#c0392b", 1.4)      # y_{t-1} -> m_t
            arrow((back, rows["m"]), (X, rows["m"]), "#c0392b", 1.4)      # m_{t-1} -> m_t
            if not jordan:
                arrow((back, rows["h"]), (X, rows["m"]), "#c0392b", 1.4)  # h_{t-1} -> m_t
            elif t == 1:
                ax.text(back + 0.75, rows["m"] - 0.45, r"$\mu$", color="#c0392b", fontsize=12)
                ax.text(back + 0.95, rows["y"] - 0.9, r"$1-\mu$", color="#c0392b", fontsize=12)
        for key, level in rows.items():
            ax.add_patch(plt.Circle((X, level), 0.36, color=colours[key], ec="k", zorder=2))
            ax.text(X, level, f"${key}_{t}$", ha="center", va="center", fontsize=11, zorder=3)
    ax.set_xlim(-0.7, dx * (T - 1) + 0.7)
    ax.set_ylim(-0.6, 4.8)
    ax.axis("off")
    ax.set_title(r"Jordan: $m_t = \mu m_{t-1} + (1-\mu) y_{t-1}$" if jordan else
                 "explicit memory: $m_t = r(W_{ym} y_{t-1} + W_{hm} h_{t-1} + W_{mm} m_{t-1}"
                 " + b_m)$", fontsize=11)


fig, axes = plt.subplots(1, 2, figsize=(14, 4.6))
draw_memory(axes[0], jordan=False)
draw_memory(axes[1], jordan=True)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The backward pass, step by step
#
# Take a loss $L = \sum_t \ell_t(y_t)$ and write $\partial_t = \partial \ell_t/\partial y_t$ for
# its direct gradient at step $t$, $\bar v = \partial L/\partial v$ for the total one. Each
# state of step $t$ is read by step $t$ itself and by the memory of step $t+1$, through
# $q_{t+1} = W_{ym} y_t + W_{hm} h_t + W_{mm} m_t + b_m$. So each total gradient is its share
# within step $t$ plus what $q_{t+1}$ sends back, $W^\top \bar q_{t+1}$ with $W$ the matrix
# that read it. Going backwards through the three equations, output first, from $t = T-1$ down
# to $0$ with $\bar q_T = 0$:
#
# $$\begin{aligned}
# \bar y_t &= \partial_t + W_{ym}^\top\, \bar q_{t+1}
#   & \bar o_t &= \bar y_t \odot g'(o_t) \\
# \bar h_t &= W_{hy}^\top\, \bar o_t + W_{hm}^\top\, \bar q_{t+1}
#   & \bar z_t &= \bar h_t \odot f'(z_t) \\
# \bar m_t &= W_{mh}^\top\, \bar z_t + W_{mm}^\top\, \bar q_{t+1}
#   & \bar q_t &= \bar m_t \odot r'(q_t)
# \end{aligned}$$
#
# The order within a step matters: $\bar m_t$ needs $\bar z_t$, which needs $\bar o_t$, so the
# step is walked from the output down to the memory, and its $\bar q_t$ is then what step $t-1$
# needs. This is the whole sequential part. Every weight is read at every step, so its
# gradient is a sum over the steps (and the batch) of the gradient of its layer's
# pre-activation times what the weight multiplied:
#
# $$\begin{aligned}
# \bar W_{ym} &= \textstyle\sum_t \bar q_t\, y_{t-1}^\top, &
# \bar W_{hm} &= \textstyle\sum_t \bar q_t\, h_{t-1}^\top, &
# \bar W_{mm} &= \textstyle\sum_t \bar q_t\, m_{t-1}^\top, &
# \bar b_m &= \textstyle\sum_t \bar q_t, \\
# \bar W_{xh} &= \textstyle\sum_t \bar z_t\, x_t^\top, &
# \bar W_{mh} &= \textstyle\sum_t \bar z_t\, m_t^\top, &
# \bar b_h &= \textstyle\sum_t \bar z_t, &
# \bar x_t &= W_{xh}^\top\, \bar z_t, \\
# \bar W_{hy} &= \textstyle\sum_t \bar o_t\, h_t^\top, &
# \bar b_y &= \textstyle\sum_t \bar o_t, &
# \bar y_{-1} &= W_{ym}^\top \bar q_0, & \bar h_{-1} &= W_{hm}^\top \bar q_0, \quad
#   \bar m_{-1} = W_{mm}^\top \bar q_0 .
# \end{aligned}$$
#
# **Jordan's $\mu$.** $\mu$ enters only through $W_{ym} = (1-\mu) I$ and $W_{mm} = \mu I$, so
# by the chain rule
#
# $$\bar\mu = \sum_{ij} \bar W_{mm,ij}\, \frac{\partial W_{mm,ij}}{\partial \mu}
#   + \sum_{ij} \bar W_{ym,ij}\, \frac{\partial W_{ym,ij}}{\partial \mu}
#   = \operatorname{tr} \bar W_{mm} - \operatorname{tr} \bar W_{ym}
#   = \sum_t \bar q_t^\top (m_{t-1} - y_{t-1}),$$
#
# which is what the tape computes from the fused kernel's $\bar W_{ym}$ and $\bar W_{mm}$ (the
# gradients of the products `(1 - mu) * eye` and `mu * eye` shown above).
#
# The reference's backward loop, line for line the six equations above (`cy`, `ch`, `cm` carry
# $W_{ym}^\top \bar q_{t+1}$, $W_{hm}^\top \bar q_{t+1}$, $W_{mm}^\top \bar q_{t+1}$ from one
# step to the previous; `gy`, `gh`, `gm` are the direct gradients, $\partial_t$ and zeros here):

# %%
source = inspect.getsource(memory.memory_backward)
print(source[source.index("    for t in range(T - 1, -1, -1):"):])

# %% [markdown]
# ### Checked numerically
#
# The derivation above, written directly in NumPy for a whole batch (each line one equation;
# the activations are those of the model, $r$ given as its function and its derivative written
# with its output), against the gradients minirnn's `ExplicitMemory` leaves in its parameters
# on the `numpy` engine, whose loop is the reference just shown:

# %%
B, T, I, H, M, O = 3, 9, 2, 5, 4, 2
x = rng.normal(size=(B, T, I))
d = rng.normal(size=(B, T, O))


def forward_and_bptt(W, x, d, r, r_prime):
    """The forward equations and their backward pass for the loss mse(y, d), by hand.
    ``W``: the weights by name; r, r_prime: the memory's activation and its derivative, as a
    function of r's output. Returns y, the gradients by name, and q̄ (B, T, M)."""
    B, T, _ = x.shape
    M, H, O = W["b_m"].size, W["b_h"].size, W["b_y"].size
    m, h, y = np.zeros((B, T + 1, M)), np.zeros((B, T + 1, H)), np.zeros((B, T + 1, O))
    for t in range(T):               # index t + 1 holds step t; index 0 the initial state (zero)
        m[:, t + 1] = r(y[:, t] @ W["W_ym"].T + h[:, t] @ W["W_hm"].T + m[:, t] @ W["W_mm"].T
                        + W["b_m"])
        h[:, t + 1] = np.tanh(x[:, t] @ W["W_xh"].T + m[:, t + 1] @ W["W_mh"].T + W["b_h"])
        y[:, t + 1] = h[:, t + 1] @ W["W_hy"].T + W["b_y"]
    direct = 2 * (y[:, 1:] - d) / d.size                        # ∂_t of the mean squared error
    q_bar, z_bar, o_bar = np.zeros((B, T + 1, M)), np.zeros((B, T, H)), np.zeros((B, T, O))
    for t in reversed(range(T)):     # q_bar[:, t + 1] is q̄_t; q_bar[:, T + 1] would be zero
        after = q_bar[:, t + 2] if t + 1 < T else np.zeros((B, M))      # q̄_{t+1}
        y_bar = direct[:, t] + after @ W["W_ym"]                # ȳ_t = ∂_t + W_ymᵀ q̄_{t+1}
        o_bar[:, t] = y_bar                                     # ō_t = ȳ_t ⊙ g'(o_t), g = id
        h_bar = o_bar[:, t] @ W["W_hy"] + after @ W["W_hm"]     # h̄_t = W_hyᵀ ō_t + W_hmᵀ q̄_{t+1}
        z_bar[:, t] = h_bar * (1 - h[:, t + 1] ** 2)            # z̄_t = h̄_t ⊙ f'(z_t)
        m_bar = z_bar[:, t] @ W["W_mh"] + after @ W["W_mm"]     # m̄_t = W_mhᵀ z̄_t + W_mmᵀ q̄_{t+1}
        q_bar[:, t + 1] = m_bar * r_prime(m[:, t + 1])          # q̄_t = m̄_t ⊙ r'(q_t)
    q_bar = q_bar[:, 1:]

    def outer(a, b):                                            # Σ_{b,t} a_t b_tᵀ
        return np.einsum("bti,btj->ij", a, b)

    grads = {"W_ym": outer(q_bar, y[:, :-1]), "W_hm": outer(q_bar, h[:, :-1]),
             "W_mm": outer(q_bar, m[:, :-1]), "b_m": q_bar.sum(axis=(0, 1)),
             "W_xh": outer(z_bar, x), "W_mh": outer(z_bar, m[:, 1:]), "b_h": z_bar.sum(axis=(0, 1)),
             "W_hy": outer(o_bar, h[:, 1:]), "b_y": o_bar.sum(axis=(0, 1)),
             "x": z_bar @ W["W_xh"]}
    return y[:, 1:], grads, q_bar, m, y


model = mr.models.ExplicitMemory(input_size=I, hidden_size=H, output_size=O, memory_size=M,
                                 backend="numpy", dtype="float64", seed=1)
W = {name: p.data for name, p in model.named_parameters()}
y_hand, grads, _, _, _ = forward_and_bptt(W, x, d, np.tanh, lambda m: 1 - m ** 2)

xt = mr.Tensor(x, requires_grad=True)
out = model(xt)
mr.losses.mse(out, d).backward()
print(f"outputs: max |by hand - minirnn| = {np.abs(out.numpy() - y_hand).max():.1e}")
for name, mine in grads.items():
    theirs = xt.grad if name == "x" else getattr(model, name).grad
    error = np.abs(mine - theirs).max()
    print(f"{name:5s} max |by hand - minirnn| = {error:.1e}")
    assert error < 1e-12

# %% [markdown]
# The same hand-written pass for Jordan's network, with its structured matrices and $r$ the
# identity, and $\bar\mu = \operatorname{tr}\bar W_{mm} - \operatorname{tr}\bar W_{ym}
# = \sum_t \bar q_t^\top (m_{t-1} - y_{t-1})$ both ways, against `Jordan(learn_mu=True)`:

# %%
jordan = mr.models.Jordan(input_size=I, hidden_size=H, output_size=O, mu=0.6, learn_mu=True,
                          backend="numpy", dtype="float64", seed=2)
mu = float(jordan.mu.data)
W = {"W_ym": (1 - mu) * np.eye(O), "W_hm": np.zeros((O, H)), "W_mm": mu * np.eye(O),
     "b_m": np.zeros(O), "W_xh": jordan.W_xh.data, "W_mh": jordan.W_mh.data,
     "b_h": jordan.b_h.data, "W_hy": jordan.W_hy.data, "b_y": jordan.b_y.data}
y_hand, grads, q_bar, m_all, y_all = forward_and_bptt(W, x, d, lambda q: q, np.ones_like)
mu_bar_traces = np.trace(grads["W_mm"]) - np.trace(grads["W_ym"])
mu_bar_sum = np.einsum("bti,bti->", q_bar, m_all[:, :-1] - y_all[:, :-1])

out = jordan(x)
mr.losses.mse(out, d).backward()
print(f"outputs: max |by hand - minirnn| = {np.abs(out.numpy() - y_hand).max():.1e}")
for name in ("W_xh", "W_mh", "b_h", "W_hy", "b_y"):
    error = np.abs(grads[name] - getattr(jordan, name).grad).max()
    print(f"{name:5s} max |by hand - minirnn| = {error:.1e}")
    assert error < 1e-12
print(f"dL/dmu: traces {mu_bar_traces:.12f}   Σ q̄ᵀ(m - y) {mu_bar_sum:.12f}   "
      f"minirnn {float(jordan.mu.grad):.12f}")
assert abs(mu_bar_traces - jordan.mu.grad) < 1e-12 and abs(mu_bar_sum - jordan.mu.grad) < 1e-12

# %% [markdown]
# and both models against central finite differences, every parameter ($\mu$ included) and the
# input (`mr.gradcheck`):

# %%
for m_ in (model, jordan):
    report = mr.gradcheck(m_, x, d)
    print(type(m_).__name__, report)
    assert report.passed

# %% [markdown]
# ## How far back a running average reaches
#
# In Jordan's memory the output of $k$ steps ago weighs $(1-\mu)\mu^{k-1}$: half of the
# memory is made of the last $\log 2 / \log(1/\mu)$ outputs, and the mean age of what it holds
# is $1/(1-\mu)$ steps. A $\mu$ near 1 reaches far back, but blurs everything it holds into
# one average; a $\mu$ near 0 holds the last output alone. The memory states of a Jordan
# network (`return_states=True` gives every step's $m_t$, $h_t$, $y_t$) follow that rule
# exactly:

# %%
probe = mr.models.Jordan(input_size=1, hidden_size=4, output_size=1, mu=0.8, backend="numpy",
                         seed=0)
with mr.no_grad():
    _, states = probe(rng.normal(size=(1, 30, 1)), return_states=True)
ys, ms = states["y"].numpy()[0, :, 0], states["m"].numpy()[0, :, 0]
weights = (1 - 0.8) * 0.8 ** np.arange(30)               # (1-μ) μ^{k-1}, k = 1 … 30
by_formula = [weights[:t] @ ys[:t][::-1] for t in range(30)]
print(f"m_t against (1-μ) Σ μ^(k-1) y_(t-k): max difference {np.abs(ms - by_formula).max():.1e}")
assert np.allclose(ms, by_formula, rtol=0, atol=1e-12)

fig, ax = plt.subplots(figsize=(7, 3))
for mu_ in (0.3, 0.7, 0.9, 0.97):
    k = np.arange(1, 41)
    ax.plot(k, (1 - mu_) * mu_ ** (k - 1), "o-", ms=3, label=f"μ = {mu_}: mean age "
            f"{1 / (1 - mu_):.0f}")
ax.set_xlabel("age k of the output $y_{t-k}$")
ax.set_ylabel("its weight in $m_t$")
ax.legend()
ax.set_title("Jordan's memory: a geometric average of the past outputs")
plt.show()

# %% [markdown]
# ## Training: what a memory of outputs can hold
#
# The built-in `memory` task is the plainest test of a memory: the input $x_t$ is uniform noise
# on $[-1, 1]$ and the target is the input of `delay` steps ago, $d_t = x_{t-3}$ here. No
# function of the current input helps (the noise is independent), so a network scores better
# than predicting zero (an error of $1/\sqrt 3 \approx 0.58$, the spread of the series) only
# if it holds the last three inputs.
#
# Jordan's memory holds its *outputs*. An output that gives the right answer is the input of
# three steps ago, so the inputs $x_{t-1}$, $x_{t-2}$ that the next two answers need are in no
# right output: to carry them, the outputs would have to be wrong, and no $\mu$ can bring them
# back. The explicit memory reads $h_{t-1}$ as well, and the hidden layer reads $x_{t-1}$: a
# learned $W_{hm}$ can carry the inputs along. Both are trained the same way: the first 800
# steps cut into 16 sequences of 50 (a batch), full-batch Adam, the first three steps of each
# sequence left out of the loss (their answer lies before the sequence began); then run over
# the whole series, scored on its last 200 steps.

# %%
delay = 3
series = mr.data.memory_task(1200, seed=0, delay=delay)
x_all, d_all = series.inputs[None], series.targets[None]            # (1, 1200, 1)
x_train = series.inputs[:800].reshape(16, 50, 1)
d_train = series.targets[:800].reshape(16, 50, 1)
test = slice(1000, None)


def fit(model, steps=400, lr=0.01):
    opt = mr.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = mr.losses.mse(model(x_train)[:, delay:], d_train[:, delay:])
        loss.backward()
        opt.step()
        history.append(loss.item())
    with mr.no_grad():
        predicted = model(x_all).numpy()[0, :, 0]
    rmse = float(np.sqrt(((predicted[test] - series.targets[test, 0]) ** 2).mean()))
    return history, predicted, rmse


trained = {
    "Jordan (μ learned)": mr.models.Jordan(input_size=1, hidden_size=16, output_size=1,
                                           learn_mu=True, backend="numpy", seed=0),
    "explicit memory (M = 8)": mr.models.ExplicitMemory(input_size=1, hidden_size=16,
                                                        output_size=1, memory_size=8,
                                                        backend="numpy", seed=0),
}
results = {name: fit(m_) for name, m_ in trained.items()}
print(f"test RMSE, target x_(t-{delay}); predicting 0 scores {series.targets[test].std():.3f}")
for name, (history, _, rmse) in results.items():
    print(f"  {name:24s} {rmse:.3f}   (final training MSE {history[-1]:.4f})")
print(f"Jordan's learned μ: {float(trained['Jordan (μ learned)'].mu.data):.3f}")

# %%
rows = np.arange(1000, 1060)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.6), gridspec_kw={"width_ratios": [1, 2]})
for name, (history, _, _) in results.items():
    ax1.semilogy(history, label=name)
ax1.set_xlabel("Adam step")
ax1.set_ylabel("training MSE")
ax1.legend()
ax1.set_title("Training")
ax2.plot(rows, series.targets[rows, 0], "k.-", lw=0.6, label=f"target $x_{{t-{delay}}}$")
for name, (_, predicted, _) in results.items():
    ax2.plot(rows, predicted[rows], label=name)
ax2.set_xlabel("t (test rows)")
ax2.legend(ncol=3, fontsize=9)
ax2.set_title("Recalling the input of three steps ago")
plt.tight_layout()
plt.show()

# %% [markdown]
# Jordan's network learns next to nothing: its error stays at the spread of the series (its
# memory, an average of answers that lag behind, carries no trace of the inputs it needs),
# and the learned $\mu$ says only how much of that useless average to keep. The explicit memory
# recalls the input almost exactly, its memory fed by the hidden layer, which had the inputs.
# What it stores is now learned, not fixed: $W_{hm}$, $W_{mm}$ decide what of the past is
# kept. Taking the last step, letting the hidden layer be its own memory ($m_t = h_{t-1}$,
# nothing in between), gives the state-space model and the Elman network of the next notebook.
#
# What is in the memory? If $m_t$ holds the input of $k$ steps ago, a *linear* readout of it
# recovers $x_{t-k}$: a least-squares fit of $x_{t-k}$ on $m_t$ over the test rows, scored by
# its $R^2$ (1: exactly recovered, 0: no trace), for each lag $k$ and both models. Next to it,
# the explicit memory's states drawn with `mr.inside.plot_states` (units down, time across).

# %%
def readout_r2(states, lag):
    """R² of the least-squares fit of x_(t-lag) on [m_t, 1] over the test rows."""
    A = np.c_[states[test], np.ones(len(states[test]))]
    wanted = series.inputs[1000 - lag:1200 - lag, 0]
    coefficients, *_ = np.linalg.lstsq(A, wanted, rcond=None)
    return 1 - ((A @ coefficients - wanted) ** 2).mean() / wanted.var()


lags = np.arange(7)
memories = {name: hidden_states(m_, x_all, "m")[0] for name, m_ in trained.items()}
r2 = {name: [readout_r2(states, k) for k in lags] for name, states in memories.items()}
for name, values in r2.items():
    print(f"{name:24s} R² of x_(t-k) from m_t, k = 0…6: {np.round(values, 3)}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.6), gridspec_kw={"width_ratios": [1, 2]})
for i, (name, values) in enumerate(r2.items()):
    ax1.bar(lags + 0.4 * i - 0.2, values, width=0.4, label=name)
ax1.set_xlabel("lag k")
ax1.set_ylabel("$R^2$ of $x_{t-k}$ read from $m_t$")
ax1.legend(fontsize=9)
ax1.set_title("What the memory holds")
plot_states(memories["explicit memory (M = 8)"][1000:1060], ax=ax2,
            title="The explicit memory's states $m_t$, test rows 1000-1059")
plt.tight_layout()
plt.show()

# %% [markdown]
# The explicit memory has learned a delay line: $x_{t-1}$, $x_{t-2}$, $x_{t-3}$ can be read
# back from $m_t$ almost exactly, fainter lags too, and $x_t$ not at all, since $m_t$ is
# computed before step $t$'s input is read. Jordan's one-number memory holds no input at any lag.

# %% [markdown]
# ## Exercises
#
# Solutions: `docs/course/solutions.py` (functions `jordan_memory`,
# `jordan_as_explicit_memory`, `explicit_memory_parameter_count`), checked by
# `tests/test_course.py`.
#
# 1. **The running average.** Write `jordan_memory(y, mu, m0)` that computes Jordan's memory
#    $m_t = \mu m_{t-1} + (1-\mu) y_{t-1}$ for outputs `y` (B, T, O) and initial memory `m0`
#    (B, O) (the initial output $y_{-1}$ is zero), and check it equals the states
#    `model(x, return_states=True)[1]["m"]` of a `Jordan` model.
# 2. **Jordan is an explicit memory.** Write `jordan_as_explicit_memory(jordan)` that returns an
#    `ExplicitMemory` computing exactly the same function as the given `Jordan` (same sizes, the
#    memory's activation the identity, its weights set from $\mu$ as in the equations above),
#    and check that their outputs agree.
# 3. **Counting.** Write `explicit_memory_parameter_count(I, H, O, M)` and check it against
#    `sum(p.size for p in model.parameters())`. For $I = 1$, $H = 16$, $O = 1$, how many
#    weights does an explicit memory with $M = H$ learn, and how many does Jordan's network
#    ($W_{xh}$, $b_h$, $W_{mh}$, $W_{hy}$, $b_y$, and $\mu$ if it is learned)?
