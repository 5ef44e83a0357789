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
# # 5. The state-space model and the Elman network
#
# Notebook 4 gave the network a memory $m_t$ next to its hidden layer and let the memory read
# the hidden layer of the step before. The article's next model removes the go-between: the
# hidden layer *is* the memory. Its value $h_t$, the **state**, is computed from the current
# input and the previous state, and the output is read from it:
#
# $$h_t = f(x_t, h_{t-1}), \qquad y_t = g(h_t).$$
#
# The state integrates the whole history: $x_0$ reaches every later $h_t$ through the chain
# $h_0 \to h_1 \to \dots$, an infinite response with a fixed number of weights. Such a model
# must say where the chain starts, the **initial state** $h_{-1}$. This is the standard
# single-hidden-layer RNN; with $h_{-1} = 0$ and the previous state fed back as "context
# units" it is Elman's network (1990), and with $h_{-1}$ learned like any other weight it is
# minirnn's `StateSpaceRNN`. This notebook derives both and their BPTT, checks minirnn against
# the derivation and finite differences, trains them on short sequences to see what a learned
# initial state is for, and then follows the gradient back through time, where it vanishes:
# the problem the gated cells of notebook 8 solve.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minirnn as mr
from minirnn.inside import hidden_states, plot_gradient_norms, plot_states, state_gradient_norms

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)
elman = mr.kernels.elman.reference   # the recurrence in plain NumPy: the code derived here

# %% [markdown]
# ## The forward equations
#
# Sizes: $B$ sequences of $T$ steps, $I$ inputs, $H$ state units, $O$ outputs. With
# $W_{xh} \in \mathbb{R}^{H \times I}$, $W_{hh} \in \mathbb{R}^{H \times H}$,
# $W_{hy} \in \mathbb{R}^{O \times H}$:
#
# $$\begin{aligned}
# z_t &= W_{xh}\, x_t + W_{hh}\, h_{t-1} + b_h, \qquad h_t = f(z_t) && t = 0, \dots, T-1 \\
# o_t &= W_{hy}\, h_t + b_y, \qquad y_t = g(o_t) \\
# h_{-1} &= 0 \ \text{(Elman)} \quad\text{or}\quad h_{-1} = h_0^{\text{learned}} \in
#   \mathbb{R}^H \ \text{(state-space RNN, one for every sequence)}
# \end{aligned}$$
#
# with $f = \tanh$ and $g$ the identity by default. Compared with the explicit memory of
# notebook 4, $m_t = h_{t-1}$: the memory is the previous state itself, with no weights or
# activation of its own, and the output no longer feeds back.
#
# Only $h_t$ is sequential. The input part $a_t = W_{xh} x_t + b_h$ of every step is one
# batched product before the loop, and the output layer one batched product after it; the loop
# that remains, minirnn's NumPy reference, is two lines per step:

# %%
print(inspect.getsource(elman.elman_forward))

# %% [markdown]
# The two models differ only in where $h_{-1}$ comes from: `Elman` keeps a constant zero
# vector, `StateSpaceRNN` a parameter `h0` (initialised at zero, then trained), which
# `initial_state()` returns and the forward broadcasts to every row of the batch:

# %%
print(inspect.getsource(mr.models.StateSpaceRNN))
print(inspect.getsource(mr.models.Elman.initial_state))

# %% [markdown]
# ## The architecture unrolled in time
#
# The same $W_{xh}$, $W_{hh}$, $W_{hy}$ at every step; the only connection between steps is
# the state (green arrows). The chain starts at $h_{-1}$: a constant zero for Elman (grey), a
# learned vector for the state-space RNN (gold, with its own gradient).

# %%
def draw_state_space(ax, learned, T=5):
    ax.set_aspect("equal")
    rows = {"x": 0.0, "h": 1.5, "y": 3.0}
    colours = {"x": "#dbe9f6", "h": "#cfe8cf", "y": "#f4cccc"}
    dx = 1.6

    def arrow(a, b, colour="k", lw=1.0):
        ax.annotate("", b, a, arrowprops=dict(arrowstyle="->", shrinkA=13, shrinkB=13, lw=lw,
                                              color=colour))

    start = (-dx, rows["h"])
    ax.add_patch(plt.Circle(start, 0.38, color="#f6d55c" if learned else "#e6e6e6", ec="k",
                            zorder=2))
    ax.text(*start, "$h_{-1}$", ha="center", va="center", fontsize=10, zorder=3)
    ax.text(start[0], start[1] - 0.7, "learned" if learned else "= 0", ha="center", fontsize=10)
    for t in range(T):
        X = dx * t
        arrow((X, rows["x"]), (X, rows["h"]))
        arrow((X, rows["h"]), (X, rows["y"]))
        arrow((X - dx, rows["h"]), (X, rows["h"]), "#2a6f2a", 1.6)
        for key, level in rows.items():
            ax.add_patch(plt.Circle((X, level), 0.36, color=colours[key], ec="k", zorder=2))
            ax.text(X, level, f"${key}_{t}$", ha="center", va="center", fontsize=11, zorder=3)
    ax.text(0.5 * dx, rows["h"] + 0.2, "$W_{hh}$", color="#2a6f2a", fontsize=11)
    ax.text(0.12, 0.6, "$W_{xh}$", fontsize=10)
    ax.text(0.12, 2.1, "$W_{hy}$", fontsize=10)
    ax.set_xlim(-dx - 0.6, dx * (T - 1) + 0.6)
    ax.set_ylim(-0.6, 3.6)
    ax.axis("off")
    ax.set_title("state-space RNN: $h_{-1}$ learned" if learned else "Elman: $h_{-1} = 0$",
                 fontsize=11)


fig, axes = plt.subplots(1, 2, figsize=(14, 3.6))
draw_state_space(axes[0], learned=False)
draw_state_space(axes[1], learned=True)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The backward pass, step by step
#
# Take $L = \sum_t \ell_t(y_t)$, with $\partial_t = \partial \ell_t/\partial y_t$ its direct
# gradient at step $t$ and $\bar v = \partial L/\partial v$. The output layer has no recursion:
#
# $$\bar o_t = \partial_t \odot g'(o_t), \qquad
# \bar W_{hy} = \textstyle\sum_t \bar o_t\, h_t^\top, \qquad \bar b_y = \sum_t \bar o_t .$$
#
# The state $h_t$ is read twice: by the output $o_t$ and by the next step's $z_{t+1}$. So its
# total gradient is the sum of both, and the recursion runs backwards in time, from
# $t = T-1$ down to $0$ with $\bar z_T = 0$:
#
# $$\boxed{\;\bar h_t = W_{hy}^\top\, \bar o_t + W_{hh}^\top\, \bar z_{t+1}, \qquad
# \bar z_t = \bar h_t \odot f'(z_t) = \bar h_t \odot (1 - h_t \odot h_t)\;}$$
#
# Every weight of the recurrence is read at every step, so its gradient is a sum over the steps
# (and the batch):
#
# $$\bar W_{xh} = \textstyle\sum_t \bar z_t\, x_t^\top, \qquad
# \bar W_{hh} = \sum_t \bar z_t\, h_{t-1}^\top, \qquad \bar b_h = \sum_t \bar z_t, \qquad
# \bar x_t = W_{xh}^\top\, \bar z_t .$$
#
# **The initial state.** $h_{-1}$ is read by $z_0$ alone, so its gradient is what the last line
# of the recursion would pass one step further back,
#
# $$\bar h_{-1} = W_{hh}^\top\, \bar z_0 \quad\text{for each sequence}, \qquad
# \bar h_0^{\text{learned}} = \sum_{b} W_{hh}^\top\, \bar z_0^{(b)},$$
#
# summed over the batch because every sequence starts from the same learned vector. Elman
# computes the same $\bar h_{-1}$ and throws it away (or hands it to the previous chunk of a
# long series cut into chunks).
#
# The reference computes only the sequential part, $\bar z_t$ and $\bar h_{-1}$; `carry` is
# $W_{hh}^\top \bar z_{t+1}$, and `dhs` holds the gradients $W_{hy}^\top \bar o_t$ that the
# output layer sends (the op adds the weight gradients as one product each):

# %%
print(inspect.getsource(elman.elman_backward))

# %% [markdown]
# ### Checked numerically
#
# The derivation in NumPy, line by line, against `StateSpaceRNN` on the `numpy` engine, whose
# recurrence is the reference just shown; the learned initial state gets a random value first
# so that it matters:

# %%
B, T, I, H, O = 3, 10, 2, 6, 2
x = rng.normal(size=(B, T, I))
d = rng.normal(size=(B, T, O))
model = mr.models.StateSpaceRNN(input_size=I, hidden_size=H, output_size=O, backend="numpy",
                                dtype="float64", seed=1)
model.h0.data[:] = rng.uniform(-0.8, 0.8, size=H)
W_xh, W_hh, b_h, W_hy, b_y, h0 = (model.W_xh.data, model.W_hh.data, model.b_h.data,
                                  model.W_hy.data, model.b_y.data, model.h0.data)

# forward: h[:, t + 1] is h_t, h[:, 0] is h_{-1}
h = np.zeros((B, T + 1, H))
h[:, 0] = h0
for t in range(T):
    h[:, t + 1] = np.tanh(x[:, t] @ W_xh.T + h[:, t] @ W_hh.T + b_h)   # h_t = f(z_t)
y = h[:, 1:] @ W_hy.T + b_y                                             # y_t = W_hy h_t + b_y
# backward
o_bar = 2 * (y - d) / y.size                      # ō_t = ∂_t ⊙ g'(o_t), mse and g = identity
z_bar = np.zeros((B, T + 1, H))                   # z_bar[:, t] is z̄_t; z_bar[:, T] = z̄_T = 0
for t in reversed(range(T)):
    h_bar = o_bar[:, t] @ W_hy + z_bar[:, t + 1] @ W_hh     # h̄_t = W_hyᵀ ō_t + W_hhᵀ z̄_{t+1}
    z_bar[:, t] = h_bar * (1 - h[:, t + 1] ** 2)             # z̄_t = h̄_t ⊙ f'(z_t)
z_bar = z_bar[:, :T]
grads = {"W_hy": np.einsum("bto,bth->oh", o_bar, h[:, 1:]), "b_y": o_bar.sum(axis=(0, 1)),
         "W_xh": np.einsum("bth,bti->hi", z_bar, x),
         "W_hh": np.einsum("bth,btk->hk", z_bar, h[:, :-1]),       # Σ z̄_t h_{t-1}ᵀ
         "b_h": z_bar.sum(axis=(0, 1)),
         "h0": (z_bar[:, 0] @ W_hh).sum(axis=0),                   # Σ_b W_hhᵀ z̄_0
         "x": z_bar @ W_xh}

xt = mr.Tensor(x, requires_grad=True)
out = model(xt)
mr.losses.mse(out, d).backward()
print(f"outputs: max |by hand - minirnn| = {np.abs(out.numpy() - y).max():.1e}")
for name, mine in grads.items():
    theirs = xt.grad if name == "x" else getattr(model, name).grad
    error = np.abs(mine - theirs).max()
    print(f"{name:5s} max |by hand - minirnn| = {error:.1e}")
    assert error < 1e-12

# %% [markdown]
# and both models against central finite differences, every parameter (the learned $h_{-1}$
# included) and the input:

# %%
plain = mr.models.Elman(input_size=I, hidden_size=H, output_size=O, backend="numpy",
                        dtype="float64", seed=1)
for m_ in (model, plain):
    report = mr.gradcheck(m_, x, d)
    print(type(m_).__name__, report)
    assert report.passed

# %% [markdown]
# ## Training on short sequences: what the initial state is for
#
# When a long series is cut into short sequences that each start afresh, every sequence begins
# with a state that knows nothing of what came before. A zero $h_{-1}$ is an arbitrary such
# state; a learned one is the state that serves the first steps best on average, a learned
# "typical past". The task: the built-in noisy `sine`, one step ahead ($x_t = y_{t-1}$,
# scaled), cut into windows of 20 steps (training windows every 10 rows, test windows every
# 3). An Elman network and a state-space RNN, the same size and the same initial weights,
# are trained alike, and their error on the test windows is measured step by step within the
# window.

# %%
task = mr.data.make_task(mr.data.sine(1400, seed=0), autoregressive=True)
steps = 20


def windows(lo, hi, stride):
    starts = np.arange(lo, hi - steps, stride)
    return (np.stack([task.x[s:s + steps] for s in starts]),
            np.stack([task.y[s:s + steps] for s in starts]))


x_train, d_train = windows(0, task.train_end, 10)
x_test, d_test = windows(task.val_end, len(task.y), 3)
print(f"{len(x_train)} training windows, {len(x_test)} test windows of {steps} steps")


def fit(cls, iterations=250):
    model = cls(input_size=1, hidden_size=16, output_size=1, backend="numpy", seed=0)
    opt = mr.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(iterations):
        opt.zero_grad()
        loss = mr.losses.mse(model(x_train), d_train)
        loss.backward()
        opt.step()
    with mr.no_grad():
        predicted = model(x_test).numpy()
    return model, predicted


fitted = {"Elman, h₋₁ = 0": fit(mr.models.Elman),
          "state-space RNN, h₋₁ learned": fit(mr.models.StateSpaceRNN)}
by_step = {name: np.sqrt(((p - d_test) ** 2).mean(axis=(0, 2))) for name, (_, p) in
           fitted.items()}
for name, err in by_step.items():
    print(f"{name:30s} test RMSE, steps 0-2: {err[:3]}   steps 5-19: {err[5:].mean():.4f}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.6))
for name, err in by_step.items():
    ax1.plot(err, "o-", ms=4, label=name)
ax1.set_xlabel("step t within the window")
ax1.set_ylabel("test RMSE (scaled units)")
ax1.legend()
ax1.set_title("Error by position: the first steps depend on $h_{-1}$")
row = 5
ax2.plot(d_test[row, :, 0], "k.-", lw=0.7, label="target")
for name, (_, p) in fitted.items():
    ax2.plot(p[row, :, 0], label=name)
ax2.set_xlabel("step t within the window")
ax2.legend(fontsize=9)
ax2.set_title("One test window")
plt.tight_layout()
plt.show()
h0_learned = fitted["state-space RNN, h₋₁ learned"][0].h0.data
print("the learned h_{-1}:", h0_learned)

# %% [markdown]
# After a few steps the two networks are equally good: the state has read enough of the
# window to know where in the oscillation it is, and $h_{-1}$ is forgotten. On the first steps
# the learned initial state helps, since it starts each window from a state that fits a typical
# window rather than from zero. That is all $h_{-1}$ does: it matters as long as the state
# remembers it, which leads to the question of how long a state remembers anything.
#
# ## How far back the gradient reaches
#
# Put the loss at the last step alone, $L = \ell_{T-1}(y_{T-1})$. Then $\bar o_t = 0$ for
# $t < T-1$ and the recursion above reduces to
#
# $$\bar h_{t-1} = W_{hh}^\top\, \operatorname{diag}\!\big(f'(z_t)\big)\, \bar h_t
# \quad\Longrightarrow\quad
# \bar h_{t-k} = \Big(\prod_{j=0}^{k-1} W_{hh}^\top\, \operatorname{diag} f'(z_{t-j})\Big)\,
# \bar h_t .$$
#
# Every step back multiplies the gradient by the same kind of matrix. With $|f'| \le 1$ for
# tanh, its norm shrinks at least as fast as $\sigma_{\max}(W_{hh})^k$ when the largest
# singular value $\sigma_{\max}(W_{hh}) < 1$: the gradient **vanishes** geometrically, and the
# network cannot learn how an input $k$ steps back mattered to the loss. Were the factors
# above 1 it would **explode** instead. `mr.inside.state_gradient_norms` measures
# $\lVert \bar h_t \rVert$ and $\lVert \bar x_t \rVert$ for every step (norms over the batch
# and the units). First, that it computes exactly the recursion above, by hand, on the trained
# Elman network and a sequence of 60 test rows:

# %%
trained = fitted["Elman, h₋₁ = 0"][0]
x_long = task.x[None, task.val_end:task.val_end + 60]   # (1, 60, 1): 60 test rows
d_long = task.y[None, task.val_end + 59]                # (1, 1): the last step's target
norms = state_gradient_norms(trained, x_long, d_long)          # loss at the last step

W_xh, W_hh, b_h, W_hy, b_y = (trained.W_xh.data, trained.W_hh.data, trained.b_h.data,
                              trained.W_hy.data, trained.b_y.data)
T_long = x_long.shape[1]
hs = np.zeros((1, T_long + 1, 16))
for t in range(T_long):
    hs[:, t + 1] = np.tanh(x_long[:, t] @ W_xh.T + hs[:, t] @ W_hh.T + b_h)
h_bar = np.zeros((T_long, 1, 16))
h_bar[-1] = (2 * (hs[:, -1] @ W_hy.T + b_y - d_long)) @ W_hy        # h̄_{T-1} = W_hyᵀ ō_{T-1}
for t in range(T_long - 1, 0, -1):
    h_bar[t - 1] = (h_bar[t] * (1 - hs[:, t + 1] ** 2)) @ W_hh       # W_hhᵀ diag(f') h̄_t
by_hand = np.linalg.norm(h_bar[:, 0], axis=1)
error = np.abs(by_hand - norms["h"]).max() / norms["h"].max()
print(f"‖∂L/∂h_t‖: max relative |by hand - state_gradient_norms| = {error:.1e}")
assert error < 1e-12

# %% [markdown]
# Now the curves. Left: the trained network, $\lVert \bar h_t \rVert$ and
# $\lVert \bar x_t \rVert$ on a log scale (`mr.inside.plot_gradient_norms`), where a
# geometric decay is a straight line. Right: the same network with its $W_{hh}$ multiplied by
# a factor, smaller and larger, to see the per-step factor at work; dashed, the bound
# $\sigma_{\max}(W_{hh})^{k}$ from the last step.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.8))
plot_gradient_norms(norms, ax=ax1, title="Trained Elman, loss at the last step")
print(f"{'W_hh scaled by':>15s} {'σ_max(W_hh)':>12s} {'mean factor per step':>21s} "
      f"{'‖∂L/∂h_0‖ / ‖∂L/∂h_59‖':>24s}")
for scale, colour in ((0.5, "C0"), (1.0, "C1"), (2.0, "C2"), (4.0, "C3")):
    scaled = mr.models.Elman(input_size=1, hidden_size=16, output_size=1, backend="numpy")
    scaled.load_state_dict(trained.state_dict())
    scaled.W_hh.data *= scale
    n = state_gradient_norms(scaled, x_long, d_long)["h"]
    sigma = np.linalg.norm(scaled.W_hh.data, 2)
    per_step = (n[0] / n[-1]) ** (1 / (len(n) - 1))
    print(f"{scale:15.1f} {sigma:12.3f} {per_step:21.3f} {n[0] / n[-1]:24.1e}")
    k = np.arange(len(n))[::-1]
    ax2.semilogy(n, color=colour, label=f"$W_{{hh}}$ × {scale}")
    if sigma < 1:
        ax2.semilogy(n[-1] * sigma ** k, "--", color=colour, lw=0.8)
    assert np.all(n[:-1] <= sigma * n[1:] * (1 + 1e-12))   # the bound, step by step
ax2.set_xlabel("time step t")
ax2.set_ylabel("‖∂L/∂h_t‖")
ax2.legend(fontsize=9)
ax2.set_title(r"The per-step factor $W_{hh}^\top \operatorname{diag} f'(z_t)$")
plt.tight_layout()
plt.show()

# %% [markdown]
# The measured curves follow the analysis. The trained network's gradient falls by a nearly
# constant factor per step (about 0.8 here), a straight line on the log scale: the loss at the
# last step hardly reaches the inputs of thirty steps before. $\sigma_{\max}(W_{hh})$ is above
# 1 for it, yet the gradient vanishes: $\operatorname{diag} f'(z_t)$ shrinks it too, and the
# product of the per-step matrices shrinks faster than the bound says. With $W_{hh}$ halved,
# $\sigma_{\max} < 1$ and the bound applies: the gradient falls by 24 orders of magnitude over
# 60 steps. Doubled, the gradient stays about level; four times, it grows at every step
# backwards: it explodes, although the states themselves stay bounded by the tanh. Training
# moves $W_{hh}$, and with it this factor, but it cannot hold a product of sixty such matrices
# near 1 for every input; a sturdier way is a memory path whose per-step factor is near 1 by
# design.
#
# What the state does over time, drawn with `mr.inside.plot_states` (units down, time across)
# for the trained network on the same 60 test rows; its input, the scaled sine, above:

# %%
states = hidden_states(trained, x_long)[0]               # (60, 16)
fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 5), gridspec_kw={"height_ratios": [1, 2]})
ax1.plot(x_long[0, :, 0], "k.-", lw=0.7)
ax1.set_xlim(-0.5, len(states) - 0.5)
ax1.set_ylabel("$x_t$")
ax1.set_title("The input and the trained Elman network's states $h_t$")
plot_states(states, ax=ax2)
plt.tight_layout()
box, top = ax2.get_position(), ax1.get_position()     # line the input up with the heatmap
ax1.set_position([box.x0, top.y0, box.width, top.height])
plt.show()
follow = [np.corrcoef(states[:, u], x_long[0, :, 0])[0, 1] for u in range(states.shape[1])]
print("correlation of each unit with the input:", np.round(follow, 2))
print(f"largest |h_t| {np.abs(states).max():.2f}; mean f'(z_t) = 1 - h_t² "
      f"{(1 - states ** 2).mean():.2f}")

# %% [markdown]
# Every unit follows the input, in phase or against it: the state is a smoothed copy of the
# recent input, which is what a one-step forecast of a smooth series needs. No unit saturates
# ($f'$ stays near 1), so here the gradient does not vanish for want of $\tanh'$: it vanishes
# because the product of the $W_{hh}^\top \operatorname{diag} f'(z_t)$ contracts, the
# network having learned a state that forgets the old input quickly.
#
# ## Towards the gated cells
#
# The state-space model carries everything through one product per step,
# $\bar h_{t-1} = W_{hh}^\top \operatorname{diag} f'(z_t)\, \bar h_t$, and the same matrix that
# computes the new state also scales the gradient. The LSTM (notebook 8) adds a second state,
# the cell $c_t = \phi_t \odot c_{t-1} + i_t \odot \tilde c_t$, whose step back is
# $\bar c_{t-1} = \phi_t \odot \bar c_t + \dots$: a diagonal factor, the forget gate $\phi_t$,
# with no $W_{hh}$ and no $\tanh'$ in it, which the network learns to hold near 1 for as long as
# something must be remembered. `state_gradient_norms` measures $\lVert \bar c_t \rVert$ for
# it as it measured $\lVert \bar h_t \rVert$ here, so the two curves can be set side by side.
#
# ## Exercises
#
# Solutions: `docs/course/solutions.py` (functions `state_space_simulate`,
# `initial_state_gradient`, `state_jacobian`), checked by `tests/test_course.py`.
#
# 1. **The forward pass in plain NumPy.** Write `state_space_simulate(model, x)`: the output
#    $y$ (B, T, O) of an `Elman` or a `StateSpaceRNN` (tanh state, identity output) as a loop
#    over the steps, starting from the model's own $h_{-1}$ (`model.initial_state()`), and check
#    that it equals `model(x)`.
# 2. **The gradient of the initial state.** Write `initial_state_gradient(model, x, d)`: BPTT by
#    hand for the loss `mr.losses.mse(model(x), d)` down to $\bar h_{-1} = W_{hh}^\top \bar z_0$
#    for each sequence, (B, H). Check it against the gradient of a state passed to the model,
#    `h = mr.Tensor(h_init, requires_grad=True)`, `model(x, h=h)`, and say why
#    `StateSpaceRNN`'s `h0.grad` is its sum over the rows.
# 3. **The Jacobian through time.** Write `state_jacobian(model, x, t, k)`: the matrices
#    $\partial h_t / \partial h_{t-k} = \prod_{j=0}^{k-1} \operatorname{diag} f'(z_{t-j})\,
#    W_{hh}$ (B, H, H), one per sequence. With the loss at the last step, check that
#    $\bar h_{t-k} = (\partial h_t/\partial h_{t-k})^\top \bar h_t$ for the states' gradients
#    that `model(x, return_states=True)` exposes, and print the largest singular value of the
#    Jacobian as $k$ grows.
