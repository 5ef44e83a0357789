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
# # 3. NARX: open loop, closed loop, and the "full" NARX
#
# A sliding window forgets everything older than $N$ steps. If what happens today may affect
# every future output, the model needs an *infinite* response,
# $y_t = F(x_t, x_{t-1}, \dots, x_0)$, and the article's first way to get one cheaply is to feed
# the model's own past outputs back in:
#
# $$y_t = F(x_t, y_{t-1}).$$
#
# $y_{t-1}$ summarises all the inputs before it, so $x_0$ still reaches $y_t$ through the chain
# $y_0 \to y_1 \to \dots \to y_{t-1}$. This is the **NARX** network (nonlinear autoregressive
# network with exogenous inputs). Its general form reads $L$ past inputs and $K$ past outputs:
#
# $$y_t = F(x_t, x_{t-1}, \dots, x_{t-L},\ y_{t-1}, \dots, y_{t-K}).$$
#
# Which past outputs? In **open loop** (series-parallel) the *true* past outputs, measured: the
# model is then a sliding predictor over two delay lines, with no recursion. In **closed loop**
# (parallel) its *own* predictions: the model then runs free, as a simulation of the system,
# and training must differentiate through the feedback. This notebook derives both, checks
# minirnn's `NARX` against the derivation, trains it in both modes on a nonlinear plant, and
# measures why the article calls the "full" NARX (every past output, $K = t$) impractical.

# %%
import inspect
import time

import matplotlib.pyplot as plt
import numpy as np

import minirnn as mr

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## The forward equations
#
# With $f = \tanh$, $g$ the identity, and $W_{xh} \in \mathbb{R}^{H \times (L+1)I}$,
# $W_{yh} \in \mathbb{R}^{H \times KO}$, $W_{hy} \in \mathbb{R}^{O \times H}$:
#
# $$\begin{aligned}
# e_t &= [x_t;\ x_{t-1};\ \dots;\ x_{t-L}] && \text{input delay line} \\
# r_t &= [\tilde y_{t-1};\ \dots;\ \tilde y_{t-K}] && \text{output delay line} \\
# z_t &= W_{xh}\, e_t + W_{yh}\, r_t + b_h, \qquad h_t = f(z_t) \\
# y_t &= g(W_{hy}\, h_t + b_y)
# \end{aligned}$$
#
# where $\tilde y = d$, the measured outputs, in open loop, and $\tilde y = y$, the model's own
# outputs, in closed loop. Values before $t = 0$ come from the initial state (zeros by
# default).
#
# **Open loop** is two delay lines (the `delay_embed` op of notebook 2, with first lag 0 for
# the inputs and 1 for the outputs) and an ordinary network (whose hidden layer reads both
# delay lines in the one `window_layer` op of notebook 2). **Closed loop** cannot be computed
# for all steps at once: $y_t$ needs $y_{t-1}$. minirnn writes the output delay line as a
# *memory* $m_t = r_t = [y_{t-1}; \dots; y_{t-K}]$ updated by two constant matrices,
#
# $$m_t = W_{ym}\, y_{t-1} + W_{mm}\, m_{t-1},
# \qquad W_{ym} = \begin{bmatrix} I_O \\ 0 \end{bmatrix},
# \qquad W_{mm} = \begin{bmatrix} 0 & 0 \\ I_{(K-1)O} & 0 \end{bmatrix}$$
#
# ($W_{ym}$ puts the newest output in front, $W_{mm}$ shifts the older ones back one block and
# drops the oldest), so that closed-loop NARX is a special case of the explicit-memory
# recurrence of notebook 4, computed by the fused `memory_recurrence` op:
#
# $$m_t = W_{ym} y_{t-1} + W_{hm} h_{t-1} + W_{mm} m_{t-1} + b_m,\quad
# h_t = f(a_t + W_{mh} m_t),\quad y_t = g(W_{hy} h_t + b_y)$$
#
# with $a_t = W_{xh} e_t + b_h$, $W_{mh} = W_{yh}$, and $W_{hm} = 0$, $b_m = 0$. Its NumPy
# reference, the loop that runs on the `numpy` engine:

# %%
memory = mr.kernels.memory.reference
print(inspect.getsource(memory.memory_forward))

# %% [markdown]
# ## The architecture unrolled in time
#
# Left: open loop, the measured $d_{t-1}$ (grey) enters step $t$; nothing connects one step to
# the next. Middle: closed loop, the prediction $y_{t-1}$ itself is fed back (red), which makes
# the network recurrent. Right: the "full" NARX, every past output feeds every later step.

# %%
def draw_narx(ax, mode, T=5):
    ax.set_aspect("equal")

    def node(x, y, label, colour):
        ax.add_patch(plt.Circle((x, y), 0.34, color=colour, ec="k", zorder=2))
        ax.text(x, y, label, ha="center", va="center", fontsize=10, zorder=3)

    def arrow(a, b, **style):
        ax.annotate("", b, a, arrowprops=dict(arrowstyle="->", shrinkA=12, shrinkB=12, **style))

    for t in range(T):
        X = 1.3 * t
        node(X, 0, f"$x_{t}$", "#dbe9f6")
        node(X, 1.5, f"$h_{t}$", "#cfe8cf")
        node(X, 3.0, f"$y_{t}$", "#f4cccc")
        arrow((X, 0), (X, 1.5), lw=1)
        arrow((X, 1.5), (X, 3.0), lw=1)
        if mode == "open":
            node(X - 0.65, 2.25, f"$d_{{{t - 1}}}$" if t else "$d_{-1}$", "#eeeeee")
            arrow((X - 0.65, 2.25), (X, 1.5), lw=1, color="0.4")
        elif mode == "closed" and t > 0:
            arrow((X - 1.3, 3.0), (X, 1.5), lw=1.6, color="#c0392b")
        elif mode == "full":
            for s in range(t):
                arrow((1.3 * s, 3.0), (X, 1.5), lw=0.9, color="#c0392b",
                      connectionstyle=f"arc3,rad={0.08 * (t - s)}")
    ax.set_xlim(-1.0, 1.3 * T - 0.6)
    ax.set_ylim(-0.6, 3.6)
    ax.axis("off")
    ax.set_title({"open": "open loop: the measured $d_{t-1}$",
                  "closed": "closed loop: its own $y_{t-1}$ fed back",
                  "full": "\"full\" NARX: every $y_s$, $s < t$"}[mode], fontsize=11)


fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
for ax, mode in zip(axes, ("open", "closed", "full"), strict=True):
    draw_narx(ax, mode)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The backward pass
#
# Take $L = \sum_t \ell_t(y_t)$ (the mean squared error), and write
# $\partial_t = \partial \ell_t / \partial y_t$
# for its direct gradient at step $t$.
#
# **Open loop.** The fed-back values are data, so the gradient never crosses a step:
#
# $$\bar y_t = \partial_t,\quad \bar o_t = \bar y_t \odot g'(o_t),\quad
# \bar z_t = (W_{hy}^\top \bar o_t) \odot f'(z_t),\quad
# \bar W_{yh} = \sum_t \bar z_t\, r_t^\top,\quad \bar W_{xh} = \sum_t \bar z_t\, e_t^\top,$$
#
# exactly the sliding predictor's backward pass. Training is fast and every step is
# independent, but the model is trained for a situation (true past outputs available) that does
# not hold when it must forecast several steps ahead.
#
# **Closed loop.** Now $y_t$ is read by the loss at $t$ *and* by the next $K$ steps, through
# block $k$ of $r_{t+k}$. The chain rule collects all of them:
#
# $$\bar y_t \;=\; \partial_t \;+\; \sum_{k=1}^{K} \big(W_{yh}^{[k]}\big)^{\!\top} \bar z_{t+k},
# \qquad \bar z_t = \big(W_{hy}^\top (\bar y_t \odot g'(o_t))\big) \odot f'(z_t),$$
#
# with $W_{yh}^{[k]}$ the columns of $W_{yh}$ that read $y_{t-k}$, and $\bar z_u = 0$ for
# $u \ge T$. Computed for $t = T-1$ down to $0$, this is backpropagation through time. The weight
# gradients are the same sums as in open loop, but with $r_t$ made of the model's outputs.
#
# In the memory form the sum over $k$ is carried by the memory's gradient, one step at a time.
# With $q_t$ the memory's pre-activation ($m_t = q_t$ here, the identity) and
# $\bar q_{T} = 0$, the reference's loop reads, for $t = T-1, \dots, 0$:
#
# $$\begin{aligned}
# \bar y_t &= \partial_t + W_{ym}^\top \bar q_{t+1} & \bar o_t &= \bar y_t \odot g'(o_t) \\
# \bar h_t &= W_{hm}^\top \bar q_{t+1} + W_{hy}^\top \bar o_t
#   & \bar z_t &= \bar h_t \odot f'(z_t) \\
# \bar m_t &= W_{mm}^\top \bar q_{t+1} + W_{mh}^\top \bar z_t & \bar q_t &= \bar m_t \odot r'(q_t)
# \end{aligned}$$
#
# Unrolling $\bar q$: $W_{mm}^\top$ shifts the gradient of each block one block *forward*, so
# block $k-1$ of $\bar q_{t+1}$ holds $\sum$ of what $y_t$ owes to $z_{t+k}$, and
# $W_{ym}^\top \bar q_{t+1}$ picks it out: the sum over $k$ above. Here is that loop
# (`memory_backward`), line for line:

# %%
source = inspect.getsource(memory.memory_backward)
print(source[source.index("    for t in range(T - 1, -1, -1):"):])

# %% [markdown]
# ### Checked numerically
#
# The closed-loop equations written out directly, with the output delay line as an explicit
# list and the backward sum over $k$ as written above (no memory matrices), against minirnn's
# `NARX(mode="closed")` on the `numpy` engine:

# %%
B, T, I, H, O, L, K = 2, 10, 1, 6, 1, 1, 3
x = rng.normal(size=(B, T, I))
d = rng.normal(size=(B, T, O))
narx = mr.models.NARX(input_size=I, hidden_size=H, output_size=O, input_delays=L, output_delays=K,
                      mode="closed", backend="numpy", dtype="float64", seed=2)
W_xh, W_yh, b_h, W_hy, b_y = (p.data for p in (narx.W_xh, narx.W_yh, narx.b_h, narx.W_hy, narx.b_y))

# forward, step by step
e = mr.kernels.delay.reference.delay_forward(x, 0, L + 1, 0)   # [x_t, …, x_{t-L}]
y = np.zeros((B, T, O))
h = np.zeros((B, T, H))
r = np.zeros((B, T, K * O))
for t in range(T):
    past = [y[:, t - k] if t - k >= 0 else np.zeros((B, O)) for k in range(1, K + 1)]
    r[:, t] = np.concatenate(past, axis=1)                      # [y_{t-1}, …, y_{t-K}]
    h[:, t] = np.tanh(e[:, t] @ W_xh.T + r[:, t] @ W_yh.T + b_h)
    y[:, t] = h[:, t] @ W_hy.T + b_y
# backward through time
direct = 2 * (y - d) / y.size                                   # ∂_t of the mean squared error
y_bar = np.zeros_like(y)
z_bar = np.zeros_like(h)
for t in reversed(range(T)):
    y_bar[:, t] = direct[:, t] + sum(z_bar[:, t + k] @ W_yh[:, (k - 1) * O:k * O]
                                     for k in range(1, K + 1) if t + k < T)
    z_bar[:, t] = (y_bar[:, t] @ W_hy) * (1 - h[:, t] ** 2)    # g = identity: ō_t = ȳ_t
grads = {"W_xh": np.einsum("bth,btk->hk", z_bar, e), "W_yh": np.einsum("bth,btk->hk", z_bar, r),
         "b_h": z_bar.sum(axis=(0, 1)), "W_hy": np.einsum("bto,bth->oh", y_bar, h),
         "b_y": y_bar.sum(axis=(0, 1))}

out = narx(x)
mr.losses.mse(out, d).backward()
print(f"outputs: max |by hand - minirnn| = {np.abs(out.numpy() - y).max():.1e}")
for name, mine in grads.items():
    error = np.abs(mine - getattr(narx, name).grad).max()
    print(f"{name:5s} max |by hand - minirnn| = {error:.1e}")
    assert error < 1e-12

# %% [markdown]
# and both modes against finite differences (the open-loop model reads the measured outputs,
# passed to the gradient check with `forward={"y": d}`):

# %%
print(mr.gradcheck(narx, x, d))
print(mr.gradcheck(narx.open_loop(), x, d, forward={"y": d}))
assert mr.gradcheck(narx, x, d).passed
assert mr.gradcheck(narx.open_loop(), x, d, forward={"y": d}).passed

# %% [markdown]
# ## Training on a nonlinear plant: open loop, then closed loop
#
# The built-in `narendra` series is a classic system-identification benchmark (Narendra and
# Parthasarathy, 1990): a plant driven by a known random input $u_t$,
#
# $$y_t = \frac{y_{t-1}}{1 + y_{t-1}^2} + u_{t-1}^3 .$$
#
# Real measurements are noisy, so we add measurement noise (standard deviation 0.15) to the
# outputs the model sees; the noise-free output stays aside to judge the models by. A NARX with
# $L = 1$, $K = 2$ is trained first in open loop (fast, no recursion), then the same weights
# (`closed_loop()` shares them) are trained on in closed loop with exact BPTT. Two scores on
# the test rows: the **one-step** error (open loop: the measured past fed in) and the
# **simulation** error (closed loop from the first row: the model's own outputs fed back over
# the whole series, which is what a forecast many steps ahead needs).

# %%
plant = mr.data.narendra(1000, seed=0)
clean = plant.targets.copy()
plant.targets = clean + 0.15 * np.random.default_rng(1).standard_normal(clean.shape)
task = mr.data.make_task(plant, autoregressive=False)
u, meas = task.x[None], task.y[None]          # scaled (1, T, 1): the input u_t, the measured y_t
train = slice(0, task.train_end)
test = slice(task.val_end, None)


def fit(model, steps, lr):
    opt = mr.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        if model.mode == "open":
            predicted = model(u[:, train], y=meas[:, train])     # the measured past fed in
        else:
            predicted = model(u[:, train])                       # its own outputs fed back
        loss = mr.losses.mse(predicted, meas[:, train])
        loss.backward()
        opt.step()
    return model


def evaluate(model):
    with mr.no_grad():
        one_step = task.to_levels(model.open_loop()(u, y=meas).numpy()[0])
        simulation = task.to_levels(model.closed_loop()(u).numpy()[0])

    def rmse(a, b):
        return float(np.sqrt(((a[test] - b[test]) ** 2).mean()))

    return one_step, simulation, {"one-step vs measured": rmse(one_step, plant.targets),
                                  "simulation vs measured": rmse(simulation, plant.targets),
                                  "simulation vs noise-free": rmse(simulation, clean)}


start = time.perf_counter()
model = mr.models.NARX(input_size=1, hidden_size=10, output_size=1, input_delays=1, output_delays=2,
                       mode="open", backend="numpy", seed=0)
fit(model, 300, lr=0.01)
open_one, open_sim, open_scores = evaluate(model)
print(f"open loop, 300 steps ({time.perf_counter() - start:.1f} s)")
start = time.perf_counter()
closed = fit(model.closed_loop(), 100, lr=0.005)
closed_one, closed_sim, closed_scores = evaluate(closed)
print(f"then closed loop, 100 steps ({time.perf_counter() - start:.1f} s)\n")
naive = float(np.sqrt(((plant.targets[test][1:] - plant.targets[test][:-1]) ** 2).mean()))
print(f"{'test rows, RMSE':28s} {'open loop':>10s} {'+ closed':>10s}")
for key in open_scores:
    print(f"{key:28s} {open_scores[key]:10.3f} {closed_scores[key]:10.3f}")
print(f"(naive one-step forecast, the last measured value held: {naive:.3f}; noise alone: 0.15)")

# %%
rows = np.arange(task.val_end, task.val_end + 80)
fig, ax = plt.subplots(figsize=(12, 3.8))
ax.plot(rows, plant.targets[rows], "k.", ms=4, label="measured (noisy)")
ax.plot(rows, clean[rows], "k-", lw=0.8, alpha=0.5, label="noise-free plant")
ax.plot(rows, open_sim[rows], label="simulation, trained in open loop")
ax.plot(rows, closed_sim[rows], "--", label="simulation, then trained in closed loop")
ax.set_xlabel("t (test rows)")
ax.legend(ncol=2, fontsize=9)
ax.set_title("NARX run as a simulation of the plant: only the input $u_t$ is known")
plt.show()

# %% [markdown]
# The one-step error hardly moves: it cannot go below the noise (0.15), and open-loop training
# already minimises it. The simulation error is the one closed-loop training aims at. Against
# the noisy measurements it can only approach the same noise floor; against the noise-free
# plant, which a synthetic example lets us see, it falls markedly (here by about half). Trained
# in open loop, the model learned to lean on the measured $d_{t-1}$, noise included; in a free
# run it reads its own $y_{t-1}$ instead, which is not what it was trained on. Closed-loop
# training removes that mismatch, at the price of a sequential, recurrent training that is far
# slower per step (see the timings printed above).
#
# ## The "full" NARX and its cost
#
# The article's "full" NARX reads *every* past output,
# $y_t = F(x_t, \dots, x_0, y_{t-1}, \dots, y_{-1})$:
# $K$ grows with the sequence. minirnn builds it with `output_delays="all"` and a `max_steps`
# that fixes $K$. Its weights $W_{yh} \in \mathbb{R}^{H \times T O}$ grow with $T$, step $t$
# reads $t$ of them, and the whole sequence costs $\sum_t H t O \approx H O T^2/2$
# multiplications, against $H K O T$ for a fixed $K$: quadratic against linear. (The `numpy`
# engine applies the shift $W_{mm}$ as a dense $KO \times KO$ product, which makes its own cost
# cubic; the `cpu` kernel recognises the shift and applies it in $O(K)$.)

# %%
sizes = [50, 100, 200, 300]
timings = {"full": [], "K = 2": []}
counts = {"full": [], "K = 2": []}
for T_ in sizes:
    xs, ds = rng.normal(size=(4, T_, 1)), rng.normal(size=(4, T_, 1))
    for label, delays in (("full", "all"), ("K = 2", 2)):
        m = mr.models.NARX(input_size=1, hidden_size=8, output_size=1, output_delays=delays,
                           max_steps=T_ if delays == "all" else None, backend="numpy")
        best = np.inf
        for _ in range(3):  # the best of three: the machine may be busy
            start = time.perf_counter()
            mr.losses.mse(m(xs), ds).backward()
            best = min(best, time.perf_counter() - start)
        timings[label].append(best)
        counts[label].append(sum(p.size for p in m.parameters()))
for label in timings:
    print(f"{label:6s} weights {counts[label]}   "
          f"forward+backward (s) {np.round(timings[label], 4)}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
for label in timings:
    ax1.loglog(sizes, counts[label], "o-", label=label)
    ax2.loglog(sizes, timings[label], "o-", label=label)
ax1.set_xlabel("sequence length T")
ax1.set_ylabel("weights")
ax1.legend()
ax1.set_title("Weights grow with T")
ax2.set_xlabel("sequence length T")
ax2.set_ylabel("seconds (numpy engine)")
ax2.legend()
ax2.set_title("Time of one forward + backward")
plt.tight_layout()
plt.show()

# %% [markdown]
# The full NARX's reach is unbounded, but so is its price, and each of its $T$ output weights
# is trained on fewer and fewer examples as the lag grows. The way out, in the next notebooks,
# is to stop storing the past outputs one by one and keep a fixed-size summary instead: an
# explicit memory (Jordan), then a hidden state (Elman and the state-space model).
#
# ## Exercises
#
# Solutions: `docs/course/solutions.py` (functions `narx_parameter_count`,
# `narx_memory_matrices`, `narx_simulate`), checked by `tests/test_course.py`.
#
# 1. **Counting.** Write `narx_parameter_count(I, H, O, L, K)` and check it against
#    `sum(p.size for p in model.parameters())`. How many weights does a full NARX over a year
#    of daily prices ($T = 365$, $I = 2$, $H = 32$, $O = 1$, $L = 2$) have, and how many does
#    $K = 5$ need?
# 2. **The shift as matrices.** Write `narx_memory_matrices(K, O)` returning $(W_{ym}, W_{mm})$
#    such that $m_t = W_{ym} y_{t-1} + W_{mm} m_{t-1}$ is $[y_{t-1}; \dots; y_{t-K}]$ when
#    $m_{t-1} = [y_{t-2}; \dots; y_{t-K-1}]$, and check it on a random sequence.
# 3. **A simulation in plain NumPy.** Write `narx_simulate(model, x)`: the closed-loop forward
#    pass as a loop over the steps, from the model's weights `W_xh`, `W_yh`, `b_h`, `W_hy`,
#    `b_y` (tanh hidden layer, identity output, zero initial state), and check that it equals
#    `model.closed_loop()(x)`.
