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
# # 2. The sliding predictor: a finite response
#
# The article's first answer to "the output depends on the past": give an ordinary network the
# last $N$ inputs at once. To predict a stock price at day $t$, read the days
# $t, t-1, \dots, t-N+1$; to predict day $t+1$, slide the window one day on. The same weights
# are used at every position, so the model is a one-dimensional convolution over time, also
# called a *time-delay neural network*. What happened more than $N$ steps ago has no effect on
# the output at all: the model has a **finite response**,
#
# $$y_t = F(x_t, x_{t-1}, \dots, x_{t-N+1}).$$
#
# This notebook writes its equations, derives its gradients (no recursion in time is needed:
# the gradient at step $t$ comes from at most $N$ outputs), checks minirnn's
# `SlidingPredictor` against them and against finite differences, shows the finite response
# as a picture, and trains the model on the built-in noisy sine.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minirnn as mr

np.set_printoptions(precision=4, suppress=True)
delay = mr.kernels.delay.reference   # the delay line in plain NumPy: the code this notebook derives

# %% [markdown]
# ## The forward equations
#
# Sizes: a batch of $B$ sequences of $T$ steps, $I$ input features, $H$ hidden units, $O$
# outputs, a window of $N$ steps. At every step $t$:
#
# $$\begin{aligned}
# e_t &= [x_t;\ x_{t-1};\ \dots;\ x_{t-N+1}] \in \mathbb{R}^{N I}
#   && \text{(the window; } x_u = 0 \text{ for } u < 0) \\
# z_t &= W_{xh}\, e_t + b_h, \qquad h_t = f(z_t) && W_{xh} \in \mathbb{R}^{H \times N I} \\
# o_t &= W_{hy}\, h_t + b_y, \qquad y_t = g(o_t) && W_{hy} \in \mathbb{R}^{O \times H}
# \end{aligned}$$
#
# with $f = \tanh$ and $g$ the identity here. The window is a *delay line*: the sequence copied
# $N$ times, each copy shifted one more step into the past. minirnn computes it as one fused
# operation, `delay_embed` (one tape entry), whose NumPy reference is short enough to read
# whole. The general form is $e_t = [v_{t-s}, \dots, v_{t-s-n+1}]$ with a first lag $s$ (0 here;
# NARX, in the next notebook, uses $s = 1$ for its past outputs):

# %%
print(inspect.getsource(delay.delay_forward))

# %% [markdown]
# The rest of the model is two batched matrix products, one for every step at once
# (`SlidingPredictor.forward`: a known past goes in front of the sequence and the delay line
# starts after it; then the hidden layer and the output layer). On the numpy and cpu engines
# the delay line, the first product and $f$ are one fused op, `window_layer`
# (`minirnn.kernels.window`, its reference beside `delay_embed`'s); on the tape engine they
# are `delay_embed`'s shifted copies, `linear` and `tanh`, the same numbers:

# %%
print(inspect.getsource(mr.models.SlidingPredictor.forward))

# %% [markdown]
# ## The architecture unrolled in time
#
# Each output sees a window of $N$ inputs (here $N = 3$); the same $W_{xh}$ and $W_{hy}$ at
# every step. Nothing flows from one step to the next: there are no horizontal arrows.

# %%
def draw_sliding(T=7, N=3, highlight=4):
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.set_aspect("equal")
    rows = {"x": 0.0, "h": 1.6, "y": 3.2}
    colours = {"x": "#dbe9f6", "h": "#cfe8cf", "y": "#f4cccc"}
    for t in range(T):
        for j in range(N):
            if t - j >= 0:
                hot = t == highlight
                ax.annotate("", (t * 1.4, rows["h"]), ((t - j) * 1.4, rows["x"]),
                            arrowprops=dict(arrowstyle="->", shrinkA=13, shrinkB=13,
                                            lw=2.0 if hot else 0.8,
                                            color="#c0392b" if hot else "0.55"))
        ax.annotate("", (t * 1.4, rows["y"]), (t * 1.4, rows["h"]),
                    arrowprops=dict(arrowstyle="->", shrinkA=13, shrinkB=13, lw=1.0))
        for key, level in rows.items():
            ax.add_patch(plt.Circle((t * 1.4, level), 0.36, color=colours[key], ec="k", zorder=2))
            ax.text(t * 1.4, level, f"${key}_{t}$", ha="center", va="center", fontsize=11, zorder=3)
    ax.text(-1.3, 0.8, "$W_{xh}$", fontsize=12)
    ax.text(-1.3, 2.4, "$W_{hy}$", fontsize=12)
    ax.text(highlight * 1.4 + 0.5, 0.75, f"window of\n$N = {N}$ inputs", color="#c0392b",
            fontsize=10)
    ax.set_xlim(-1.6, T * 1.4)
    ax.set_ylim(-0.6, 3.8)
    ax.axis("off")
    ax.set_title("Sliding predictor (time-delay network) unrolled: "
                 "$y_t$ reads $x_t, x_{t-1}, x_{t-2}$")
    plt.show()


draw_sliding()

# %% [markdown]
# ## The backward pass, step by step
#
# Take the mean squared error over all $B \cdot T \cdot O$ outputs,
# $L = \frac{1}{BTO}\sum_{b,t} \lVert y_t - d_t \rVert^2$ with targets $d_t$. Going backwards
# through the equations above, one line per equation, with $\bar v = \partial L/\partial v$:
#
# $$\begin{aligned}
# \bar y_t &= \tfrac{2}{BTO}\,(y_t - d_t) \\
# \bar o_t &= \bar y_t \odot g'(o_t) && (= \bar y_t \text{ for the identity}) \\
# \bar W_{hy} &= \textstyle\sum_{b,t} \bar o_t\, h_t^\top, \qquad \bar b_y = \sum_{b,t} \bar o_t \\
# \bar h_t &= W_{hy}^\top\, \bar o_t \\
# \bar z_t &= \bar h_t \odot f'(z_t) = \bar h_t \odot (1 - h_t \odot h_t) \\
# \bar W_{xh} &= \textstyle\sum_{b,t} \bar z_t\, e_t^\top, \qquad \bar b_h = \sum_{b,t} \bar z_t \\
# \bar e_t &= W_{xh}^\top\, \bar z_t
# \end{aligned}$$
#
# The last step goes back through the delay line. Input $x_u$ was copied into the windows of
# steps $u, u+1, \dots, u+N-1$, in block $j = t - u$ of $e_t$, so its gradient gathers those
# copies back (the transpose of a copy is a sum):
#
# $$\bar x_u = \sum_{j=0}^{N-1} \bar e_{u+j}\big[\text{block } j\big] \qquad (u + j < T).$$
#
# **No recursion in time.** $\bar z_t$ depends on step $t$ alone, and $\bar x_u$ on the $N$
# steps $u, \dots, u+N-1$. There is no $\bar h_{t+1}$ in $\bar h_t$: the backward pass has the
# same finite reach as the forward pass. minirnn's delay-line backward is that sum, block by
# block:

# %%
print(inspect.getsource(delay.delay_backward))

# %% [markdown]
# ### Checked numerically
#
# The equations above, written directly in NumPy (each line is one line of the derivation),
# against the gradients that minirnn's `SlidingPredictor` leaves in its parameters on the
# `numpy` engine, whose delay line is the reference just shown:

# %%
rng = np.random.default_rng(0)
B, T, I, H, O, N = 2, 9, 2, 5, 1, 3
x = rng.normal(size=(B, T, I))
d = rng.normal(size=(B, T, O))
model = mr.models.SlidingPredictor(input_size=I, hidden_size=H, output_size=O, window=N,
                                   backend="numpy", dtype="float64", seed=1)
W_xh, b_h, W_hy, b_y = (p.data for p in (model.W_xh, model.b_h, model.W_hy, model.b_y))

# forward
e = delay.delay_forward(x, 0, N, 0)                      # (B, T, N·I): e_t = [x_t, …, x_{t-N+1}]
z = e @ W_xh.T + b_h
h = np.tanh(z)                    # z_t = W_xh e_t + b_h, h_t = f(z_t)
o = h @ W_hy.T + b_y
y = o                             # o_t = W_hy h_t + b_y, y_t = g(o_t)
L = ((y - d) ** 2).mean()
# backward, one line per equation of the derivation
y_bar = 2 * (y - d) / y.size                             # ȳ_t = 2 (y_t - d_t) / BTO
o_bar = y_bar                                            # ō_t = ȳ_t ⊙ g'(o_t), g = identity
W_hy_bar = np.einsum("bto,bth->oh", o_bar, h)            # W̄_hy = Σ ō_t h_tᵀ
b_y_bar = o_bar.sum(axis=(0, 1))                         # b̄_y = Σ ō_t
h_bar = o_bar @ W_hy                                     # h̄_t = W_hyᵀ ō_t
z_bar = h_bar * (1 - h * h)                              # z̄_t = h̄_t ⊙ f'(z_t)
W_xh_bar = np.einsum("bth,btk->hk", z_bar, e)            # W̄_xh = Σ z̄_t e_tᵀ
b_h_bar = z_bar.sum(axis=(0, 1))                         # b̄_h = Σ z̄_t
e_bar = z_bar @ W_xh                                     # ē_t = W_xhᵀ z̄_t
x_bar = delay.delay_backward(e_bar, 0, N, 0, I)          # x̄_u = Σ_j ē_{u+j}[block j]

xt = mr.Tensor(x, requires_grad=True)
loss = mr.losses.mse(model(xt), d)
loss.backward()
for name, mine, theirs in [("L", L, loss.item()), ("W_hy", W_hy_bar, model.W_hy.grad),
                           ("b_y", b_y_bar, model.b_y.grad), ("W_xh", W_xh_bar, model.W_xh.grad),
                           ("b_h", b_h_bar, model.b_h.grad), ("x", x_bar, xt.grad)]:
    error = np.abs(mine - theirs).max()
    print(f"{name:5s} max |by hand - minirnn| = {error:.1e}")
    assert error < 1e-12

# %% [markdown]
# and the model against central finite differences, every parameter and the input
# (`mr.gradcheck`):

# %%
report = mr.gradcheck(model, x, d)
print(report)
assert report.passed

# %% [markdown]
# ## The finite response, seen
#
# The response of output $y_t$ to input $x_u$ is $\partial y_t / \partial x_u$. For the sliding
# predictor it is zero unless $t - N < u \le t$: a band of width $N$ below the diagonal. For
# comparison, the same picture for an Elman network (notebook 5), whose state $h_t$ carries
# every past input: $\partial y_t/\partial x_u \ne 0$ for every $u \le t$, an *infinite*
# response that fades but never stops.

# %%
def response(model, steps):
    """|∂y_t/∂x_u| for a one-input, one-output model: one backward pass per output step."""
    x = mr.Tensor(rng.normal(size=(1, steps, 1)), requires_grad=True)
    J = np.zeros((steps, steps))
    for t in range(steps):
        x.grad = None
        model(x)[0, t, 0].backward()
        J[t] = np.abs(x.grad[0, :, 0])
    return J


steps = 16
sliding = mr.models.SlidingPredictor(input_size=1, hidden_size=8, output_size=1, window=4,
                                     backend="numpy", seed=0)
elman = mr.models.Elman(input_size=1, hidden_size=8, output_size=1, backend="numpy", seed=0)
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (title, m) in zip(axes, [("sliding predictor, N = 4: finite", sliding),
                                 ("Elman network: infinite", elman)], strict=True):
    J = response(m, steps)
    ax.imshow(np.log10(J + 1e-12), vmin=-6, vmax=0, cmap="magma")
    ax.set_xlabel("input step $u$")
    ax.set_ylabel("output step $t$")
    ax.set_title(r"$\log_{10} |\partial y_t / \partial x_u|$" + f"\n{title}")
plt.tight_layout()
plt.show()
rows_t, cols_u = np.nonzero(response(sliding, steps))
print("sliding predictor: nonzero lags t-u:", sorted(set((rows_t - cols_u).tolist())))

# %% [markdown]
# ## Training on built-in data
#
# The built-in `sine` series (two periods, a slow drift of the amplitude, a little noise) is
# the task: predict $y_t$ from the values before it, so the model's input at step $t$ is
# $x_t = y_{t-1}$ and its window reads $y_{t-1}, \dots, y_{t-N}$. `mr.data.make_task` splits
# the rows in time (70% train, 15% validation, 15% test), scales them with the training rows'
# mean and spread, and scores one-step predictions in the data's own units next to the naive
# forecast (the last value, held). The model is trained on the whole training part at once (one
# sequence, full-batch Adam) for several window widths.

# %%
task = mr.data.make_task(mr.data.sine(1000, seed=0), autoregressive=True)
x_all, y_all = task.x[None], task.y[None]           # (1, T, 1): x_t = y_{t-1} (scaled), target y_t
train = slice(0, task.train_end)


def fit_sliding(window, steps=300, seed=0):
    model = mr.models.SlidingPredictor(input_size=1, hidden_size=16, output_size=1, window=window,
                                       backend="numpy", seed=seed)
    opt = mr.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        loss = mr.losses.mse(model(x_all[:, train]), y_all[:, train])
        loss.backward()
        opt.step()
    with mr.no_grad():
        predicted = model(x_all).numpy()[0]        # one-step predictions for every row
    return model, predicted


results = {}
for window in (1, 2, 4, 8, 16):
    _, predicted = fit_sliding(window)
    results[window] = (predicted, task.score(predicted))
    s = results[window][1]
    print(f"N = {window:2d}: one-step RMSE  validation {s['validation']['model']['rmse']:.3f}  "
          f"test {s['test']['model']['rmse']:.3f}   (naive, last value held: test "
          f"{s['test']['naive']['rmse']:.3f})")

# %%
levels = {w: task.to_levels(p) for w, (p, _) in results.items()}
truth = task.series.targets[:, 0]
rows = np.arange(task.val_end, len(truth))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [2, 1]})
ax1.plot(rows, truth[rows], "k.", ms=3, label="the series")
for w in (1, 16):
    ax1.plot(rows, levels[w][rows, 0], label=f"window N = {w}")
ax1.set_xlim(rows[0], rows[0] + 120)
ax1.set_xlabel("t (test rows)")
ax1.legend()
ax1.set_title("One-step predictions on the test rows")
widths = list(results)
ax2.plot(widths, [results[w][1]["test"]["model"]["rmse"] for w in widths], "o-",
         label="sliding predictor")
ax2.axhline(results[1][1]["test"]["naive"]["rmse"], color="gray", ls="--",
            label="naive (last value)")
ax2.set_xscale("log", base=2)
ax2.set_xlabel("window N")
ax2.set_ylabel("test RMSE")
ax2.legend()
ax2.set_title("A wider window sees more of the period")
plt.tight_layout()
plt.show()

# %% [markdown]
# A window of one value can only say "about where the last value was"; a window of 16 steps
# covers a full period of the fast component (13 steps), so the model can read the phase of
# the oscillation and its one-step error drops towards the noise. What it cannot do is reach
# further than $N$: the slow drift of the amplitude (700 steps) or, in the article's sentence
# "the kind of meat we need to cook steak is __", a clue many words back. Growing $N$ costs
# $H \cdot N \cdot I$ weights and as many multiplications per step, and the next notebooks look
# for a memory that does not grow with the reach: feeding the outputs back (NARX), then a state.
#
# ## Exercises
#
# Solutions: `docs/course/solutions.py` (functions `delay_window`, `sliding_parameter_count`,
# `response_band`), checked by `tests/test_course.py`.
#
# 1. **The delay line by hand.** Write `delay_window(x, N)` that builds
#    $e_t = [x_t, \dots, x_{t-N+1}]$
#    (zeros before $t = 0$) for x of shape (B, T, I) with a plain loop over the steps, and check
#    it equals `mr.kernels.delay.reference.delay_forward(x, 0, N, 0)`.
# 2. **The price of reach.** Write `sliding_parameter_count(I, H, O, N)`, the number of weights
#    of a sliding predictor, check it against `sum(p.size for p in model.parameters())`, and say
#    how many weights a window reaching back 10,000 days would need with $I = 8$, $H = 64$.
# 3. **Measuring the response.** Write `response_band(model, steps)` that returns the set of
#    lags $t - u$ for which $\partial y_t/\partial x_u \ne 0$ (a one-input, one-output model),
#    and show that it is $\{0, \dots, N-1\}$ for a sliding predictor and $\{0, \dots, T-1\}$
#    for an Elman network.
