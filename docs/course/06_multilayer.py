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
# # 6. Multi-layer RNNs: stacked, skip, feedback, output feedback
#
# One recurrent layer computes its state from the input and its own past. The article then
# stacks them: "multiple recurrent layer RNN", drawn in four ways. Layers one above the other,
# each reading the states of the layer below (**stacked**); the same with the input fed to
# every layer and every layer fed to the output (**skip** connections); a layer also reading
# the state of the layer *above* it at the previous step (top-down **feedback**); and the
# network's output fed back into the first layer (**output feedback**, "other recursions").
#
# The four differ in one respect that decides how they are computed and differentiated: in
# the first two, the information flows upwards at every step and forwards in time, so each
# layer can be run over the whole sequence before the next one starts; in the last two, a
# layer's state at step $t$ depends on the layers *above* it at step $t-1$, so the whole
# stack is one recurrence. This notebook writes the four sets of equations, derives their
# backward pass, checks minirnn's `MultiLayerRNN` against a hand-written BPTT and finite
# differences, and trains all four on a nonlinear plant.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minirnn as mr

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)
elman = mr.kernels.elman.reference       # one layer's recurrence, in plain NumPy
layered = mr.kernels.layered.reference   # the whole stack as one recurrence, in plain NumPy

# %% [markdown]
# ## The forward equations
#
# Layers $l = 0, \dots, L-1$ with $H_l$ units and states $h^l_t$, each with its own learned
# initial state $h^l_{-1}$ (the state-space model of notebook 5, once per layer), $f = \tanh$,
# $g$ the identity. Write $h^{-1}_t = x_t$ for the input, seen as "layer $-1$".
#
# **Stacked.** Each layer is an Elman layer whose input is the layer below:
#
# $$h^l_t = f\big(W^l_{xh}\, h^{l-1}_t + W^l_{hh}\, h^l_{t-1} + b^l_h\big),
# \qquad y_t = g\big(W_{hy}\, h^{L-1}_t + b_y\big).$$
#
# **Skip.** The input also reaches every layer, and every layer reaches the output:
#
# $$h^l_t = f\big(W^l_{xh}\, [x_t;\ h^{l-1}_t] + W^l_{hh}\, h^l_{t-1} + b^l_h\big)\ (l > 0),
# \qquad y_t = g\big(W_{hy}\, [h^0_t;\ \dots;\ h^{L-1}_t] + b_y\big).$$
#
# **Feedback** (top-down). As stacked, and every layer but the last also reads the layer
# above, one step back:
#
# $$h^l_t = f\big(W^l_{xh}\, h^{l-1}_t + W^l_{hh}\, h^l_{t-1} + W^l_{fb}\, h^{l+1}_{t-1}
# + b^l_h\big) \qquad (l < L-1).$$
#
# **Output feedback.** As stacked, and the first layer reads the last output,
# $y_{-1} = 0$:
#
# $$h^0_t = f\big(W^0_{xh}\, x_t + W^0_{hh}\, h^0_{t-1} + W_{yh}\, y_{t-1} + b^0_h\big).$$
#
# In the first two, $h^l_t$ depends on the layer below at the same step and on its own past:
# the states of layer 0 over the whole sequence can be computed first, then layer 1's, and so
# on. minirnn does exactly that (`MultiLayerRNN` with `stacked` or `skip`): one fused Elman
# recurrence per layer, whose NumPy reference is the loop of notebook 5,

# %%
print(inspect.getsource(elman.elman_forward))

# %% [markdown]
# with $a_t = W^l_{xh} h^{l-1}_t + b^l_h$ computed for every step at once by one matrix
# product before the loop. With feedback, layer 0 at step $t$ needs layer 1 at step $t-1$,
# which needed layer 0 at step $t-1$: no layer can run ahead of the others. The whole stack is
# then **one** recurrence on the concatenated state $S_t = [h^0_t; \dots; h^{L-1}_t]$
# ($N = \sum_l H_l$ units):
#
# $$z^l_t = a^l_t + b^l + U^l\, S_t + V^l\, S_{t-1} + Y^l\, y_{t-1}, \qquad
# h^l_t = f(z^l_t), \qquad y_t = g(W_{hy} S_t + b_y),$$
#
# where $U$ holds the same-step weights (block $(l, l-1)$ is $W^l_{xh}$: only the layers
# *below*, already computed at step $t$, are read), $V$ the previous-step weights ($W^l_{hh}$
# on the diagonal, $W^l_{fb}$ right of it) and $Y$ the output feedback ($W_{yh}$ in layer 0's
# rows). $a^0_t = W^0_{xh} x_t$ is the input's share, for layer 0 only. `MultiLayerRNN`
# assembles $U$, $V$, $Y$ from its layers' parameters on the tape, so their gradients flow back
# to those parameters, and runs the fused `layered_recurrence`, whose reference is:

# %%
print(inspect.getsource(layered.layered_forward))

# %% [markdown]
# ## The architectures unrolled in time
#
# Two layers over four steps. Black: what every stack has, bottom-up at each step and
# left to right in time. Blue: the skip connections. Red: what flows *backwards* through the
# stack, from the layer above or the output at step $t-1$ into a lower layer at step $t$.

# %%
def draw_stack(ax, connectivity, T=4):
    ax.set_aspect("equal")
    rows = {"x": 0.0, "h0": 1.4, "h1": 2.8, "y": 4.2}
    labels = {"x": "x_{%d}", "h0": "h^0_{%d}", "h1": "h^1_{%d}", "y": "y_{%d}"}
    colours = {"x": "#dbe9f6", "h0": "#cfe8cf", "h1": "#cfe8cf", "y": "#f4cccc"}

    def arrow(a, b, colour="k", rad=0.0, lw=1.0):
        ax.annotate("", b, a, arrowprops=dict(arrowstyle="->", shrinkA=12, shrinkB=12, lw=lw,
                                              color=colour,
                                              connectionstyle=f"arc3,rad={rad}"))

    for t in range(T):
        X = 1.6 * t
        for key, level in rows.items():
            ax.add_patch(plt.Circle((X, level), 0.36, color=colours[key], ec="k", zorder=2))
            ax.text(X, level, "$" + labels[key] % t + "$", ha="center", va="center",
                    fontsize=9, zorder=3)
        arrow((X, rows["x"]), (X, rows["h0"]))
        arrow((X, rows["h0"]), (X, rows["h1"]))
        arrow((X, rows["h1"]), (X, rows["y"]))
        if t > 0:
            for key in ("h0", "h1"):
                arrow((X - 1.6, rows[key]), (X, rows[key]))
        if connectivity == "skip":
            arrow((X, rows["x"]), (X, rows["h1"]), "#2c6fbb", rad=0.45)
            arrow((X, rows["h0"]), (X, rows["y"]), "#2c6fbb", rad=-0.45)
        if connectivity == "feedback" and t > 0:
            arrow((X - 1.6, rows["h1"]), (X, rows["h0"]), "#c0392b", lw=1.5)
        if connectivity == "output_feedback" and t > 0:
            arrow((X - 1.6, rows["y"]), (X, rows["h0"]), "#c0392b", lw=1.5)
    ax.set_xlim(-0.7, 1.6 * T - 0.8)
    ax.set_ylim(-0.6, 4.8)
    ax.axis("off")
    ax.set_title(connectivity.replace("_", " "), fontsize=11)


fig, axes = plt.subplots(1, 4, figsize=(15, 4.2))
for ax, connectivity in zip(axes, ("stacked", "skip", "feedback", "output_feedback"),
                            strict=True):
    draw_stack(ax, connectivity)
fig.suptitle("Two recurrent layers unrolled over four steps")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The backward pass
#
# Let $L = \sum_t \ell_t(y_t)$ with direct gradients $\partial_t = \partial\ell_t/\partial y_t$,
# and write $\bar v = \partial L/\partial v$ for the *total* derivative (through everything
# computed after $v$). Each value collects one term per place that reads it, as in every
# notebook so far; the only question is which places those are.
#
# - $y_t$ is read by the loss and, with output feedback, by $z^0_{t+1}$:
#   $$\bar y_t = \partial_t + W_{yh}^\top \bar z^0_{t+1},
#   \qquad \bar o_t = \bar y_t \odot g'(o_t).$$
# - $h^l_t$ is read by its own layer at $t+1$, by the layer above at the same step $t$, by
#   the output (the top layer; every layer with skip), and, with feedback, by the layer below
#   at $t+1$:
#   $$\bar h^l_t = \big(W_{hy}^{[l]}\big)^{\!\top} \bar o_t
#   + \big(W^l_{hh}\big)^{\!\top} \bar z^l_{t+1}
#   + \big(W^{l+1}_{xh}{}^{[h]}\big)^{\!\top} \bar z^{l+1}_t
#   + \big(W^{l-1}_{fb}\big)^{\!\top} \bar z^{l-1}_{t+1},$$
#   $$\bar z^l_t = \bar h^l_t \odot f'(z^l_t) = \bar h^l_t \odot \big(1 - h^l_t \odot h^l_t\big),$$
#   where $W_{hy}^{[l]}$ are the columns of $W_{hy}$ that read $h^l$ (all of them for the top
#   layer, none for the others unless skip), $W^{l+1}_{xh}{}^{[h]}$ the columns of the layer
#   above that read $h^l$ (with skip, the others read $x_t$), and every term that does not
#   exist in a connectivity is zero, as is every $\bar z_{T}$.
# - The weights are read at every step, so their gradients are sums:
#   $$\bar W^l_{xh} = \sum_t \bar z^l_t\, [h^{l-1}_t]^\top, \quad
#   \bar W^l_{hh} = \sum_t \bar z^l_t\, (h^l_{t-1})^\top, \quad
#   \bar W^l_{fb} = \sum_t \bar z^l_t\, (h^{l+1}_{t-1})^\top, \quad
#   \bar W_{yh} = \sum_t \bar z^0_t\, y_{t-1}^\top,$$
#   $\bar b^l_h = \sum_t \bar z^l_t$, $\bar W_{hy} = \sum_t \bar o_t\, [\text{what it reads}]^\top$,
#   and the initial states get what step 0 sends back,
#   $\bar h^l_{-1} = (W^l_{hh})^\top \bar z^l_0 + (W^{l-1}_{fb})^\top \bar z^{l-1}_0$.
#
# **The order.** $\bar h^l_t$ needs $\bar z^{l+1}_t$ (the layer above, same step) and
# $\bar z^{l}_{t+1}, \bar z^{l-1}_{t+1}$ (the next step). So the recursion runs $t = T-1$
# down to $0$ and, within a step, $l = L-1$ down to $0$: backwards in time *and* top-down in
# the stack, the mirror of the forward pass. Without feedback nothing ever comes from the
# layer *below*, and the top layer's whole BPTT can be finished before the layer below starts:
# one fused Elman backward per layer, top first (minirnn's tape does this by itself, since
# each layer is one operation). With feedback it cannot, and the layered kernel does the two
# loops nested. Its reference, where the "top-down within the step" is the inner loop over
# `reversed(bounds)` and `cS = V^T dz_t` carries both the own recurrence and the feedback:

# %%
print(inspect.getsource(layered.layered_backward))

# %% [markdown]
# ### Checked numerically
#
# The equations above for any of the four connectivities, written once in NumPy with a loop
# over the steps and one over the layers (forward bottom-up, backward top-down), against
# minirnn's gradients on the `numpy` engine. Three layers of different sizes, so that a
# mismatched block would show:

# %%
def below(conn, x, hs, l, t):
    """What W^l_xh reads at step t: x_t, h^{l-1}_t, or with skip [x_t, h^{l-1}_t]."""
    if l == 0:
        return x[:, t]
    return np.concatenate([x[:, t], hs[l - 1][:, t + 1]], axis=1) if conn == "skip" \
        else hs[l - 1][:, t + 1]


def top(conn, hs, t):
    """What W_hy reads at step t: the top layer, or with skip every layer."""
    return np.concatenate([h[:, t + 1] for h in hs], axis=1) if conn == "skip" \
        else hs[-1][:, t + 1]


def forward_by_hand(model, x):
    """Every layer's states hs[l] (B, T + 1, H_l), [:, t + 1] = h^l_t and [:, 0] = h^l_{-1},
    and the outputs ys (B, T + 1, O), [:, t + 1] = y_t and [:, 0] = y_{-1} = 0: in time,
    bottom-up (tanh layers, identity output)."""
    conn, P = model.connectivity, model.layer
    B, T, _ = x.shape
    hs = [np.zeros((B, T + 1, p.W_hh.shape[0])) for p in P]
    for h, p in zip(hs, P, strict=True):
        h[:, 0] = p.h0.data
    ys = np.zeros((B, T + 1, model.output_size))
    for t in range(T):
        for l, p in enumerate(P):
            z = (below(conn, x, hs, l, t) @ p.W_xh.data.T + hs[l][:, t] @ p.W_hh.data.T
                 + p.b_h.data)
            if hasattr(p, "W_fb"):
                z += hs[l + 1][:, t] @ p.W_fb.data.T          # the layer above, one step back
            if hasattr(p, "W_yh"):
                z += ys[:, t] @ p.W_yh.data.T                 # the last output
            hs[l][:, t + 1] = np.tanh(z)
        ys[:, t + 1] = top(conn, hs, t) @ model.W_hy.data.T + model.b_y.data
    return hs, ys


def h_bar_of(model, dz, from_output, l, t, I):
    """h̄^l_t: what the output, the own layer at t+1, the layer above at t and (feedback) the
    layer below at t+1 send back to h^l_t."""
    conn, P = model.connectivity, model.layer
    h_bar = dz[l][:, t + 1] @ P[l].W_hh.data                   # own layer, next step
    if conn == "skip":
        h_bar += from_output[:, model.offsets[l]:model.offsets[l + 1]]  # every layer feeds y
    elif l == len(P) - 1:
        h_bar += from_output                                   # the top layer feeds y
    if l < len(P) - 1:                                         # the layer above, same step
        W_above = P[l + 1].W_xh.data
        h_bar += dz[l + 1][:, t] @ (W_above[:, I:] if conn == "skip" else W_above)
    if l > 0 and hasattr(P[l - 1], "W_fb"):                    # the layer below, next step
        h_bar += dz[l - 1][:, t + 1] @ P[l - 1].W_fb.data
    return h_bar


def by_hand(model, x, d):
    """Forward and BPTT of a MultiLayerRNN (tanh layers, identity output, the mean squared
    error), straight from the equations. Returns y and {parameter name: gradient}, with x's."""
    conn, P = model.connectivity, model.layer
    B, T, I = x.shape
    hs, ys = forward_by_hand(model, x)
    y = ys[:, 1:]
    grads = {name: np.zeros_like(p.data) for name, p in model.named_parameters()}
    grads["x"] = np.zeros_like(x)
    dz = [np.zeros_like(h) for h in hs]           # dz[l][:, t] = z̄^l_t, dz[l][:, T] = 0
    direct = 2 * (y - d) / y.size                 # ∂_t of the mean squared error
    for t in reversed(range(T)):                  # backward: in time, top-down
        y_bar = direct[:, t]
        if hasattr(P[0], "W_yh"):
            y_bar = y_bar + dz[0][:, t + 1] @ P[0].W_yh.data    # ȳ_t = ∂_t + W_yhᵀ z̄⁰_{t+1}
        grads["W_hy"] += y_bar.T @ top(conn, hs, t)
        grads["b_y"] += y_bar.sum(axis=0)
        from_output = y_bar @ model.W_hy.data                   # W_hyᵀ ō_t (g = identity)
        for l in reversed(range(len(P))):
            g = dz[l][:, t] = h_bar_of(model, dz, from_output, l, t, I) * (1 - hs[l][:, t + 1] ** 2)
            grads[f"layer{l}.W_xh"] += g.T @ below(conn, x, hs, l, t)
            grads[f"layer{l}.W_hh"] += g.T @ hs[l][:, t]
            grads[f"layer{l}.b_h"] += g.sum(axis=0)
            if hasattr(P[l], "W_fb"):
                grads[f"layer{l}.W_fb"] += g.T @ hs[l + 1][:, t]
            if hasattr(P[l], "W_yh"):
                grads[f"layer{l}.W_yh"] += g.T @ ys[:, t]
            if l == 0 or conn == "skip":
                grads["x"][:, t] += g @ P[l].W_xh.data[:, :I]
    for l, p in enumerate(P):                     # h^l_{-1}, shared by every row
        h_bar = dz[l][:, 0] @ p.W_hh.data
        if l > 0 and hasattr(P[l - 1], "W_fb"):
            h_bar += dz[l - 1][:, 0] @ P[l - 1].W_fb.data
        grads[f"layer{l}.h0"] = h_bar.sum(axis=0)
    return y, grads


B, T, I, O = 3, 8, 2, 2
x = rng.normal(size=(B, T, I))
d = rng.normal(size=(B, T, O))
for connectivity in ("stacked", "skip", "feedback", "output_feedback"):
    model = mr.models.MultiLayerRNN(input_size=I, hidden_sizes=[4, 3, 5], output_size=O,
                                    connectivity=connectivity, backend="numpy", seed=1)
    for p in model.parameters():   # non-zero initial states, so that their gradient shows
        p.data[...] = rng.uniform(-0.7, 0.7, p.shape)
    y, grads = by_hand(model, x, d)
    xt = mr.Tensor(x, requires_grad=True)
    out = model(xt)
    mr.losses.mse(out, d).backward()
    theirs = {**dict(model.named_parameters()), "x": xt}
    errors = {"y": np.abs(out.numpy() - y).max()}
    errors.update({name: np.abs(g - theirs[name].grad).max() for name, g in grads.items()})
    worst = max(errors, key=errors.get)
    print(f"{connectivity:16s} {len(errors) - 1:2d} gradients, max |by hand - minirnn| "
          f"= {errors[worst]:.1e} ({worst})")
    assert errors[worst] < 1e-12

# %% [markdown]
# and every connectivity against central finite differences (`mr.gradcheck`), on the `cpu`
# engine this time (Numba kernels, the one that trains below; the engines compute the same
# function):

# %%
for connectivity in ("stacked", "skip", "feedback", "output_feedback"):
    model = mr.models.MultiLayerRNN(input_size=I, hidden_sizes=[4, 3], output_size=O,
                                    connectivity=connectivity, backend="cpu", seed=2)
    report = mr.gradcheck(model, x, d)
    print(f"{connectivity:16s}", report)
    assert report.passed

# %% [markdown]
# ## Training on a nonlinear plant
#
# The `narendra` plant of notebook 3, $y_t = y_{t-1}/(1 + y_{t-1}^2) + u_{t-1}^3$: the network
# reads only the input $u_t$ and must keep the plant's state itself. Each connectivity, two
# layers of 8 units, trains on the training rows as one sequence (full-batch Adam, 400 steps,
# the `cpu` engine), next to a single Elman layer of 16 units; then every model runs over the
# whole series from its initial state, a simulation of the plant, scored on the test rows.

# %%
plant = mr.data.narendra(1000, seed=0)
task = mr.data.make_task(plant, autoregressive=False)
u, meas = task.x[None], task.y[None]   # scaled (1, T, 1): the input u_t, the output y_t
train = slice(0, task.train_end)
test = slice(task.val_end, None)


def fit(model, steps=400, lr=0.01):
    opt = mr.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = mr.losses.mse(model(u[:, train]), meas[:, train])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with mr.no_grad():
        simulation = task.to_levels(model(u).numpy()[0])
    rmse = float(np.sqrt(((simulation[test] - plant.targets[test]) ** 2).mean()))
    return losses, simulation, rmse


models = {"one Elman layer (16)": mr.models.StateSpaceRNN(input_size=1, hidden_size=16,
                                                          output_size=1, seed=0)}
for connectivity in ("stacked", "skip", "feedback", "output_feedback"):
    models[connectivity] = mr.models.MultiLayerRNN(input_size=1, hidden_size=8, output_size=1,
                                                   num_layers=2, connectivity=connectivity,
                                                   seed=0)
results = {}
for name, model in models.items():
    results[name] = fit(model)
    weights = sum(p.size for p in model.parameters())
    print(f"{name:22s} {weights:4d} weights   training MSE {results[name][0][-1]:.4f}   "
          f"simulation RMSE on the test rows {results[name][2]:.3f}")
spread = float(plant.targets[test].std())
print(f"(the test rows' standard deviation, what a constant scores: {spread:.3f})")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1, 2]})
for name, (losses, _, _) in results.items():
    ax1.semilogy(losses, label=name)
ax1.set_xlabel("Adam step")
ax1.set_ylabel("training MSE (scaled)")
ax1.legend(fontsize=8)
ax1.set_title("Training")
rows = np.arange(task.val_end, task.val_end + 80)
ax2.plot(rows, plant.targets[rows], "k.-", lw=0.6, label="the plant")
for name in ("one Elman layer (16)", "stacked", "skip", "output_feedback"):
    ax2.plot(rows, results[name][1][rows], color=f"C{list(results).index(name)}", label=name)
ax2.set_xlabel("t (test rows)")
ax2.legend(ncol=3, fontsize=8)
ax2.set_title("Simulations of the plant from its input alone")
plt.tight_layout()
plt.show()

# %% [markdown]
# What the numbers say (printed above; they move a little with the seeds). Stacking a second
# layer on top of the first lengthens the path from the input to the output, $u_t \to h^0_t
# \to h^1_t \to y_t$, and the gradient's path back: the plain stack trains more slowly and
# ends worse than one layer of the same 16 units. The skip connections give back the short
# paths, $u_t \to h^1_t$ and $h^0_t \to y_t$, and the stack then does as well as the single
# layer, with fewer weights. Output feedback hands the first layer $y_{t-1}$, which is what the
# plant's own equation reads, and helps too. Top-down feedback gives the lower layer the upper
# layer's state, a richer recurrence, but on this plant no better a model, at the price of a
# stack that can only run as one recurrence.
#
# ## Exercises
#
# Solutions: `docs/course/solutions.py` (functions `multilayer_parameter_count`,
# `layered_weights`, `stack_layer_by_layer`), checked by `tests/test_course.py`.
#
# 1. **Counting.** Write `multilayer_parameter_count(I, H, O, L, connectivity)`, the number
#    of weights of a `MultiLayerRNN` of $L$ Elman layers of $H$ units (initial states
#    included), for each of the four connectivities, and check it against
#    `sum(p.size for p in model.parameters())`.
# 2. **The stack as one recurrence.** Write `layered_weights(model)` returning the block
#    matrices $(U, V, Y, W)$ of a `stacked`, `feedback` or `output_feedback` model
#    ($N \times N$, $N \times N$, $N \times O$, and $W_{hy}$ widened to $O \times N$), and
#    check that `mr.kernels.layered.reference.layered_forward` with them,
#    $a_t = W^0_{xh} x_t$, the biases and the initial states side by side, gives the model's
#    outputs. (Why can a `skip` stack not be written this way?)
# 3. **Layer by layer.** Write `stack_layer_by_layer(model, x)`: a `stacked` or `skip`
#    model's outputs computed with one call of `mr.kernels.elman.reference.elman_forward` per
#    layer, bottom to top, then the output layer, and check it equals `model(x)`.
