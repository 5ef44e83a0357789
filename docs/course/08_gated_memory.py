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
# # 8. Long-term dependency and gated memory: the LSTM and the GRU
#
# "The kind of meat we need to cook steak is __": the word that decides the answer lies many
# steps back. An Elman network's state carries every past input (its response is infinite,
# notebook 2), so in principle it can answer. In practice it does not learn to: the gradient
# that would teach it how an early input mattered shrinks by about the same factor at every
# step it travels back, and after a few dozen steps nothing is left of it. This is the
# **vanishing gradient**, and the article's memory units, made to learn *when* to write, keep
# and show what they hold, are the way out: the **LSTM** (Hochreiter and Schmidhuber, 1997;
# the forget gate of Gers et al., 2000) and the **GRU** (Cho et al., 2014).
#
# This notebook recalls why Elman's gradient vanishes, writes both gated cells and their BPTT
# gate by gate (with the LSTM's cell-state carry, the line that makes the difference), checks
# minirnn's LSTM against hand-written equations and finite differences, makes the vanishing
# gradient visible, and trains an Elman network, an LSTM and a GRU on the adding problem,
# a task built to need a memory of fifty steps.

# %%
import inspect
import time

import matplotlib.pyplot as plt
import numpy as np

import minirnn as mr
from minirnn.inside import plot_gradient_norms, plot_states, state_gradient_norms

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)
lstm_ref = mr.kernels.lstm.reference   # the LSTM recurrence and its BPTT, in plain NumPy
gru_ref = mr.kernels.gru.reference     # the GRU's


def sigmoid(v):
    return 1 / (1 + np.exp(-v))

# %% [markdown]
# ## Why Elman's gradient vanishes
#
# Notebook 5 derived it and measured it. Elman: $h_t = \tanh(z_t)$,
# $z_t = W_{xh} x_t + W_{hh} h_{t-1} + b_h$. With the loss at the last step alone,
# $L = \ell(y_{T-1})$, as in the task below, $h_t$ for $t < T-1$ reaches the loss only through
# $h_{t+1}$, and BPTT reads
#
# $$\bar h_{t} = W_{hh}^\top \operatorname{diag}\!\big(\tanh'(z_{t+1})\big)\, \bar h_{t+1}
# \quad\Longrightarrow\quad
# \lVert \bar h_{T-1-k} \rVert \le \sigma_{\max}(W_{hh})^k\, \lVert \bar h_{T-1} \rVert ,$$
#
# since $0 < \tanh' \le 1$: $k$ steps back the gradient has been multiplied by $k$ such
# matrices, and it falls (or, where their product grows, explodes) geometrically, a straight
# line on a log scale. Notebook 5 scaled $W_{hh}$ and watched the line tilt from vanishing to
# exploding, level only on a knife-edge that training cannot hold for every input. The
# gradient of a weight is a sum over steps, $\bar W_{hh} = \sum_t \bar z_t h_{t-1}^\top$, so its
# terms from the early steps, the ones that could teach the network to keep an early input,
# are vanishingly small next to those of the last few steps: the network learns the short
# dependencies and never the long one. What is needed is a path along which the state is
# *copied* from one step to the next, with a Jacobian near the identity, and that the network
# can open and close as the input requires.
#
# ## The LSTM
#
# The LSTM keeps, beside $h_t$, a **cell state** $c_t$ (the memory $m_t$ of the article's
# explicit-memory model, notebook 4), written through gates. With $\sigma$ the logistic
# sigmoid, four pre-activations from the input and the previous hidden state, in PyTorch's
# order and layout ($W_{xh} \in \mathbb{R}^{4H \times I}$, $W_{hh} \in \mathbb{R}^{4H \times H}$,
# two biases):
#
# $$\begin{aligned}
# p_t &= W_{xh}\, x_t + b_{xh} + W_{hh}\, h_{t-1} + b_{hh}
#   = [p^i_t;\ p^f_t;\ p^g_t;\ p^o_t] \\
# i_t &= \sigma(p^i_t) && \text{input gate: how much of the candidate is written} \\
# f_t &= \sigma(p^f_t) && \text{forget gate: how much of the old cell is kept} \\
# g_t &= \tanh(p^g_t) && \text{the candidate} \\
# o_t &= \sigma(p^o_t) && \text{output gate: how much of the cell is shown} \\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
# h_t &= o_t \odot \tanh(c_t), \qquad y_t = g(W_{hy}\, h_t + b_y)
# \end{aligned}$$
#
# from $(h_{-1}, c_{-1})$, zero or learned (the parameters `h0` and `c0`: the state before
# step 0, as in notebook 5, not $h_0$, the state after it). The line that matters is the cell's
# update: the old cell is carried over by an elementwise product with $f_t$, not by a matrix
# and a squashing function. Its Jacobian along that path is
# $\partial c_t / \partial c_{t-1} = \operatorname{diag}(f_t)$ plus the terms through $h_{t-1}$:
# with the forget gate near 1 and the input gate near 0, the cell holds its value, and its
# gradient, for as long as the gates say.
#
# Unrolled in time (below, with the GRU of the next section beside it): the thick green line
# is the carry, the only path from one step's memory to the next that goes through no weight
# matrix and no squashing function, just an elementwise product with a gate.

# %%
def draw_gated(ax, cell, T=3):
    ax.set_aspect("equal")

    def node(X, Y, label, colour, width=0.36):
        if width > 0.36:
            ax.add_patch(plt.Rectangle((X - width, Y - 0.3), 2 * width, 0.6, color=colour,
                                       ec="k", zorder=2))
        else:
            ax.add_patch(plt.Circle((X, Y), width, color=colour, ec="k", zorder=2))
        ax.text(X, Y, label, ha="center", va="center", fontsize=9, zorder=3)

    def arrow(a, b, rad=0.0, **style):
        ax.annotate("", b, a, arrowprops=dict(arrowstyle="->", shrinkA=14, shrinkB=14,
                                              connectionstyle=f"arc3,rad={rad}",
                                              **{"lw": 1.0, "color": "k", **style}))

    carry = {"lw": 3.2, "color": "#2a8f2a"}
    for t in range(T):
        X = 2.6 * t
        node(X - 0.5, 0, f"$x_{t}$", "#dbe9f6")
        gates = r"$i_{t}\ f_{t}\ g_{t}\ o_{t}$" if cell == "LSTM" else r"$r_{t}\ z_{t}\ n_{t}$"
        node(X - 0.5, 1.2, gates.replace("{t}", str(t)), "#fde9c9", width=0.75)
        arrow((X - 0.5, 0), (X - 0.5, 1.2))
        if cell == "LSTM":
            node(X + 0.9, 3.4, f"$c_{t}$", "#d5f0d5")
            node(X + 0.2, 2.3, f"$h_{t}$", "#cfe8cf")
            arrow((X - 0.5, 1.2), (X + 0.9, 3.4), rad=0.3)               # i_t ⊙ g_t written
            arrow((X + 0.9, 3.4), (X + 0.2, 2.3))                        # h_t = o_t tanh(c_t)
            arrow((X - 0.5, 1.2), (X + 0.2, 2.3), color="0.5")           # o_t
            if t > 0:
                arrow((X - 1.7, 3.4), (X + 0.9, 3.4), **carry)
                ax.text(X - 0.4, 3.55, rf"$\odot f_{t}$", color=carry["color"], ha="center")
                arrow((X - 2.4, 2.3), (X - 0.5, 1.2), color="0.35")     # h_{t-1} → gates
        else:
            node(X + 0.5, 2.9, f"$h_{t}$", "#cfe8cf")
            arrow((X - 0.5, 1.2), (X + 0.5, 2.9), rad=0.2)               # (1 - z_t) ⊙ n_t
            if t > 0:
                arrow((X - 2.1, 2.9), (X + 0.5, 2.9), **carry)
                ax.text(X - 0.8, 3.05, rf"$\odot z_{t}$", color=carry["color"], ha="center")
                arrow((X - 2.1, 2.9), (X - 0.5, 1.2), color="0.35")     # h_{t-1} → gates
    ax.set_xlim(-1.4, 2.6 * T - 1.0)
    ax.set_ylim(-0.5, 3.9)
    ax.axis("off")
    ax.set_title(f"{cell} unrolled (the output $y_t$ reads $h_t$)", fontsize=11)


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 3.6))
draw_gated(ax1, "LSTM")
draw_gated(ax2, "GRU")
plt.tight_layout()
plt.show()

# %% [markdown]
# minirnn's NumPy reference of the LSTM, the loop the `numpy` engine runs (the input part
# $a_t = W_{xh} x_t + b_{xh}$ computed for all steps before it):

# %%
print(inspect.getsource(lstm_ref.lstm_forward))

# %% [markdown]
# ### The LSTM's BPTT, gate by gate
#
# Write $\bar h_t$, $\bar c_t$ for the *total* derivatives of $L$ (through everything after
# them), and $\partial h_t$ for the direct one (through the output, $W_{hy}^\top \bar o_t$).
# From $t = T-1$ down to $0$, with everything at $T$ zero:
#
# **1. What $h_t$ owes.** $h_t$ is read by the output and by the four pre-activations of the
# next step:
# $$\bar h_t = \partial h_t + W_{hh}^\top\, \bar p_{t+1} .$$
#
# **2. What $c_t$ owes.** $c_t$ is read by $h_t = o_t \odot \tanh(c_t)$ and by the next cell,
# $c_{t+1} = f_{t+1} \odot c_t + \dots$:
# $$\bar c_t = \underbrace{f_{t+1} \odot \bar c_{t+1}}_{\text{the cell-state carry}}
# + \bar h_t \odot o_t \odot \big(1 - \tanh^2(c_t)\big) .$$
# The carry is a product of forget gates: $k$ steps back, $\bar c$ has been multiplied by
# $f_{t+1} \odot \cdots \odot f_{t+k}$, not by $k$ matrices and $k$ derivatives of tanh.
# Where the forget gates stay near 1 it does not vanish.
#
# **3. The gates.** From $c_t = f_t c_{t-1} + i_t g_t$ and $h_t = o_t \tanh(c_t)$:
# $$\bar i_t = \bar c_t \odot g_t, \quad \bar f_t = \bar c_t \odot c_{t-1}, \quad
# \bar g_t = \bar c_t \odot i_t, \quad \bar o_t^{\,\text{gate}} = \bar h_t \odot \tanh(c_t),$$
# and through the activations, $\sigma' = \sigma(1-\sigma)$, $\tanh' = 1 - \tanh^2$, written
# with the saved gate values:
# $$\bar p_t = \big[\bar i_t \odot i_t(1-i_t);\ \ \bar f_t \odot f_t(1-f_t);\ \
# \bar g_t \odot (1 - g_t^2);\ \ \bar o_t^{\,\text{gate}} \odot o_t(1-o_t)\big] .$$
#
# **4. The weights**, sums over the steps as always:
# $$\bar W_{xh} = \sum_t \bar p_t\, x_t^\top, \quad \bar W_{hh} = \sum_t \bar p_t\, h_{t-1}^\top,
# \quad \bar b_{xh} = \bar b_{hh} = \sum_t \bar p_t, \quad \bar x_t = W_{xh}^\top \bar p_t,$$
# $$\bar h_{-1} = W_{hh}^\top \bar p_0, \qquad \bar c_{-1} = f_0 \odot \bar c_0
# \ \ (\text{the carries out of step } 0\text{: the gradients of } h0 \text{ and } c0).$$
#
# The reference's backward is these lines, in this order (`carry_h` is
# $W_{hh}^\top \bar p_{t+1}$, `carry_c` is $f_{t+1} \odot \bar c_{t+1}$):

# %%
source = inspect.getsource(lstm_ref.lstm_backward)
print(source[source.index("    for t in range(T - 1, -1, -1):"):])

# %% [markdown]
# ### Checked against hand-written equations
#
# The LSTM written out once more, directly from the equations above (no minirnn code, no
# PyTorch), forward and backward, against minirnn's output, its parameters' gradients and the
# total derivatives $\bar h_t$, $\bar c_t$ that `return_states=True` exposes: the LSTM returns
# its states $h_t$ and $c_t$ as tensors on the tape, and after `retain_grad()` and `backward()`
# their `.grad` is $\partial L/\partial h_t$ and $\partial L/\partial c_t$, the quantities of
# steps 1 and 2.

# %%
B, T, I, H, O = 3, 7, 2, 4, 2
x = rng.normal(size=(B, T, I))
d = rng.normal(size=(B, T, O))
lstm = mr.models.LSTM(input_size=I, hidden_size=H, output_size=O, learn_initial_state=True,
                      backend="numpy", seed=1)
for p in lstm.parameters():      # non-zero initial states, larger weights: every term matters
    p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
W_xh, W_hh, b_xh, b_hh, W_hy, b_y, h_init, c_init = (
    getattr(lstm, n).data for n in ("W_xh", "W_hh", "b_xh", "b_hh", "W_hy", "b_y", "h0", "c0"))

# forward, keeping every gate
hs, cs = np.zeros((B, T + 1, H)), np.zeros((B, T + 1, H))  # [:, t + 1] = step t, [:, 0] = -1
hs[:, 0], cs[:, 0] = h_init, c_init
gate = {k: np.zeros((B, T, H)) for k in "ifgo"}
for t in range(T):
    p = x[:, t] @ W_xh.T + b_xh + hs[:, t] @ W_hh.T + b_hh
    gate["i"][:, t], gate["f"][:, t] = sigmoid(p[:, :H]), sigmoid(p[:, H:2 * H])
    gate["g"][:, t], gate["o"][:, t] = np.tanh(p[:, 2 * H:3 * H]), sigmoid(p[:, 3 * H:])
    cs[:, t + 1] = gate["f"][:, t] * cs[:, t] + gate["i"][:, t] * gate["g"][:, t]
    hs[:, t + 1] = gate["o"][:, t] * np.tanh(cs[:, t + 1])
y = hs[:, 1:] @ W_hy.T + b_y

# backward, steps 1-4
o_bar = 2 * (y - d) / y.size                     # the mean squared error, every step
h_bar, c_bar = np.zeros((B, T, H)), np.zeros((B, T, H))
p_bar = np.zeros((B, T + 1, 4 * H))              # p̄_T = 0
carry_c = np.zeros((B, H))                       # f_{t+1} ⊙ c̄_{t+1}
for t in reversed(range(T)):
    i, f, g, o = (gate[k][:, t] for k in "ifgo")
    tanh_c = np.tanh(cs[:, t + 1])
    h_bar[:, t] = o_bar[:, t] @ W_hy + p_bar[:, t + 1] @ W_hh                  # 1
    c_bar[:, t] = carry_c + h_bar[:, t] * o * (1 - tanh_c ** 2)               # 2
    i_bar, f_bar = c_bar[:, t] * g, c_bar[:, t] * cs[:, t]                    # 3
    g_bar, og_bar = c_bar[:, t] * i, h_bar[:, t] * tanh_c
    p_bar[:, t] = np.concatenate([i_bar * i * (1 - i), f_bar * f * (1 - f),
                                  g_bar * (1 - g ** 2), og_bar * o * (1 - o)], axis=1)
    carry_c = f * c_bar[:, t]
p_bar = p_bar[:, :T]
grads = {"W_xh": np.einsum("btg,bti->gi", p_bar, x),                           # 4
         "W_hh": np.einsum("btg,btk->gk", p_bar, hs[:, :T]),
         "b_xh": p_bar.sum(axis=(0, 1)), "b_hh": p_bar.sum(axis=(0, 1)),
         "W_hy": np.einsum("bto,bth->oh", o_bar, hs[:, 1:]), "b_y": o_bar.sum(axis=(0, 1)),
         "h0": (p_bar[:, 0] @ W_hh).sum(axis=0), "c0": carry_c.sum(axis=0),
         "x": p_bar @ W_xh}

xt = mr.Tensor(x, requires_grad=True)
out, states = lstm(xt, return_states=True)      # states: {"h": (B, T, H), "c": (B, T, H)}
for s in states.values():
    s.retain_grad()
mr.losses.mse(out, d).backward()
theirs = {**dict(lstm.named_parameters()), "x": xt}
checks = {"y": (y, out.numpy()), "h_t": (hs[:, 1:], states["h"].numpy()),
          "c_t": (cs[:, 1:], states["c"].numpy()),
          "∂L/∂h_t": (h_bar, states["h"].grad), "∂L/∂c_t": (c_bar, states["c"].grad),
          **{name: (g, theirs[name].grad) for name, g in grads.items()}}
for name, (mine, minirnn) in checks.items():
    error = np.abs(mine - minirnn).max() / np.abs(mine).max()
    print(f"{name:8s} max |by hand - minirnn| / max |value| = {error:.1e}")
    assert error < 1e-12

# %% [markdown]
# ## The GRU
#
# The GRU merges the cell and the hidden state, and the forget and input gates into one
# **update gate** $z_t$ that interpolates between the old state and a candidate (PyTorch's
# equations and layout, rows $[r \mid z \mid n]$, $u_t = W_{hh} h_{t-1} + b_{hh}$):
#
# $$\begin{aligned}
# r_t &= \sigma(a^r_t + u^r_t), \quad z_t = \sigma(a^z_t + u^z_t)
#   && a_t = W_{xh}\, x_t + b_{xh} \\
# n_t &= \tanh\big(a^n_t + r_t \odot u^n_t\big) && \text{the candidate; } r_t
#   \text{, the reset gate, decides how much of the past it sees} \\
# h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
# \end{aligned}$$
#
# BPTT, with $\partial h_t$ the direct gradient: $h_t$ is read by the output, by the three
# recurrent parts $u_{t+1}$, and directly by the next state through $z_{t+1}$:
#
# $$\bar h_t = \partial h_t + \underbrace{z_{t+1} \odot \bar h_{t+1}}_{\text{the GRU's carry}}
# + W_{hh}^\top\, \bar u_{t+1},$$
#
# $$\bar n_t = \bar h_t \odot (1 - z_t), \quad \bar z_t = \bar h_t \odot (h_{t-1} - n_t), \quad
# \bar q_t = \bar n_t \odot (1 - n_t^2), \quad \bar r_t = \bar q_t \odot u^n_t,$$
#
# $$\bar a_t = \big[\bar r_t \odot r_t(1-r_t);\ \bar z_t \odot z_t(1-z_t);\ \bar q_t\big], \qquad
# \bar u_t = \big[\bar r_t \odot r_t(1-r_t);\ \bar z_t \odot z_t(1-z_t);\ \bar q_t \odot r_t\big],$$
#
# and $\bar W_{xh} = \sum_t \bar a_t x_t^\top$, $\bar W_{hh} = \sum_t \bar u_t h_{t-1}^\top$,
# the biases the sums of $\bar a_t$ and $\bar u_t$. Where $z \approx 1$ the state and its
# gradient pass unchanged, as the LSTM's cell does where $f \approx 1$. The reference:

# %%
source = inspect.getsource(gru_ref.gru_backward)
print(source[source.index("    for t in range(T - 1, -1, -1):"):])

# %% [markdown]
# Both cells against central finite differences, every parameter (the learned initial states
# too) and the input, on the `cpu` engine (Numba kernels, the one that trains below), and
# the `cpu` engine's LSTM against the NumPy reference's gradients just checked by hand:

# %%
for cls in (mr.models.LSTM, mr.models.GRU):
    model = cls(input_size=I, hidden_size=H, output_size=O, learn_initial_state=True, seed=2)
    report = mr.gradcheck(model, x, d)
    print(cls.__name__, report)
    assert report.passed
on_cpu = mr.models.LSTM(input_size=I, hidden_size=H, output_size=O, learn_initial_state=True,
                        backend="cpu", seed=1)
on_cpu.load_state_dict(lstm.state_dict())
mr.losses.mse(on_cpu(x), d).backward()
error = max(np.abs(grads[n] - getattr(on_cpu, n).grad).max() for n in grads if n != "x")
print(f"cpu engine vs by hand: max |difference| of the gradients = {error:.1e}")
assert error < 1e-12

# %% [markdown]
# ## The carry, in its purest form
#
# Hold an LSTM's forget gate open and its input gate shut, by biases of $\pm 40$
# ($\sigma(40) = 1$ to double precision, $\sigma(-40) \approx 4\cdot10^{-18}$). Then
# $c_t = c_{t-1}$ at every step, whatever the input, and by step 2 of the BPTT,
# $\bar c_{t-1} = f_t \odot \bar c_t = \bar c_t$: the gradient of $L = w \cdot c_{T-1}$ with
# respect to the initial cell state is $w$ itself, after 200 steps. An Elman network's
# gradient with respect to its initial state, through 200 Jacobians, is gone.

# %%
T200, H4 = 200, 4
x200 = rng.normal(size=(1, T200, 2))
w = rng.normal(size=H4)
held = mr.models.LSTM(input_size=2, hidden_size=H4, output_size=1, seed=1)
held.b_xh.data[:H4] = -40            # input gate shut
held.b_xh.data[H4:2 * H4] = 40       # forget gate open
s0 = mr.Tensor(np.concatenate([np.zeros(H4), rng.normal(size=H4)])[None], requires_grad=True)
_, last = held(x200, h=s0, return_state=True)       # last = [h_199 | c_199]
(last[:, H4:] * mr.Tensor(w)).sum().backward()
print("LSTM:  ∂L/∂c_{-1} =", s0.grad[0, H4:], "  w =", w)
assert np.allclose(s0.grad[0, H4:], w, rtol=1e-12)
elman = mr.models.Elman(input_size=2, hidden_size=H4, output_size=1, seed=1)
h0 = mr.Tensor(np.zeros((1, H4)), requires_grad=True)
_, h_last = elman(x200, h=h0, return_state=True)
(h_last * mr.Tensor(w)).sum().backward()
print("Elman: ∂L/∂h_{-1} =", h0.grad[0])
assert np.linalg.norm(h0.grad) < 1e-6 * np.linalg.norm(w)

# %% [markdown]
# ## The adding problem
#
# A task made to need a long memory (Hochreiter and Schmidhuber, 1997), built in:
# `mr.data.adding_problem(count, T)`. Each sequence has $T$ steps of two channels: a value
# $v_t$ uniform in $[0, 1]$, and a marker that is 1 at exactly two steps, one in each half of
# the sequence. The target, read at the last step only, is the sum of the two marked values.
# Nothing near the end says what it is: the network must notice the first marked value, up to
# $T$ steps back, and hold it. Answering the mean (1) scores the variance of a sum of two
# uniform values, $2/12 \approx 0.167$ (`mr.data.BASELINE_MSE`); a network has learned nothing
# until it goes well below that.

# %%
T = 50
x_show, target_show = mr.data.adding_problem(1, T, seed=3)
marked = np.nonzero(x_show[0, :, 1])[0]
fig, ax = plt.subplots(figsize=(9, 2.6))
ax.bar(np.arange(T), x_show[0, :, 0], color="0.75", label="value $v_t$")
ax.bar(marked, x_show[0, marked, 0], color="#c0392b", label="marked")
ax.axvline(T / 2 - 0.5, color="k", ls=":", lw=0.8)
ax.set_xlabel("t")
ax.legend(loc="upper left", fontsize=8)
ax.set_title(f"One sequence of the adding problem: target = "
             f"{x_show[0, marked[0], 0]:.2f} + {x_show[0, marked[1], 0]:.2f} "
             f"= {target_show[0, 0]:.2f}, read at t = {T - 1}")
plt.show()

# %% [markdown]
# ### The gradient, before any training
#
# How much of the last step's gradient reaches each step, for an Elman network, an LSTM and a
# GRU of 32 units as initialised (float32, the `cpu` engine), on 64 sequences. For the LSTM
# both of its states are shown: $\lVert \partial L/\partial h_t \rVert$ and
# $\lVert \partial L/\partial c_t \rVert$.

# %%
H = 32
CELLS = {"Elman": mr.models.Elman, "LSTM": mr.models.LSTM, "GRU": mr.models.GRU}


def build(name):
    return CELLS[name](input_size=2, hidden_size=H, output_size=1, dtype="float32", seed=0)


x_probe, target_probe = mr.data.adding_problem(64, T, seed=7, dtype="float32")


def reach(model):
    """‖∂L/∂s_t‖ for each state s, scaled so that the last step's ‖∂L/∂h_t‖ is 1."""
    norms = state_gradient_norms(model, x_probe, target_probe)
    return {name: v / norms["h"][-1] for name, v in norms.items() if name != "x"}


before = {name: reach(build(name)) for name in CELLS}
fig, ax = plt.subplots(figsize=(8, 3.8))
plot_gradient_norms({f"{name} {s}": v for name, r in before.items() for s, v in r.items()},
                    ax=ax, title="At initialisation: the last step's gradient, step by step")
ax.axvspan(0, T / 2, color="0.93", zorder=0)
plt.show()
for name, r in before.items():
    print(f"{name:5s} ‖∂L/∂h_0‖ / ‖∂L/∂h_49‖ = {r['h'][0]:.1e}")

# %% [markdown]
# At initialisation the three fall alike, by a nearly constant factor per step (about 0.6
# here: straight lines). The gated cells' gates start near $\sigma(0) = 1/2$, their weights
# being small, so the carry $f_{t+1} \odot \bar c_{t+1}$ roughly halves the gradient at every
# step: a gated cell is not better by construction. It is better because training can open
# its gates, and so its carry; Elman's Jacobians, a matrix times the derivatives of a tanh,
# have no such switch.
#
# ### Training
#
# The three networks learn the adding problem at $T = 50$ from the same seed and the same
# batches: Adam, 800 steps of 32 fresh sequences, the loss at the last step only, gradients
# clipped to norm 1 (the story of `examples/long_term_dependency.py` and
# `tests/test_gated.py`, at a size that runs in seconds).

# %%
def train(model, steps=800, batch=32, lr=0.01, seed=1):
    opt = mr.optim.Adam(model.parameters(), lr=lr)
    data = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        xb, tb = mr.data.adding_problem(batch, T, data, dtype="float32")
        opt.zero_grad()
        loss = mr.losses.mse(model(xb)[:, -1], tb)
        loss.backward()
        mr.optim.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses


x_test, target_test = mr.data.adding_problem(1000, T, seed=99, dtype="float32")
trained, curves, errors = {}, {}, {}
for name in CELLS:
    model = build(name)
    start = time.perf_counter()
    curves[name] = train(model)
    with mr.no_grad():
        errors[name] = float(((model(x_test).numpy()[:, -1] - target_test) ** 2).mean())
    trained[name] = model
    print(f"{name:5s} test MSE {errors[name]:.4f} ({errors[name] / mr.data.BASELINE_MSE:5.1%} of "
          f"answering the mean), {time.perf_counter() - start:.1f} s")

# %%
after = {name: reach(model) for name, model in trained.items()}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 3.8))
for name, losses in curves.items():
    smooth = np.convolve(losses, np.ones(25) / 25, mode="valid")
    ax1.semilogy(np.arange(len(smooth)) + 25, smooth, label=name)
ax1.axhline(mr.data.BASELINE_MSE, color="gray", ls="--", label="answering the mean")
ax1.set_xlabel("Adam step")
ax1.set_ylabel("training MSE (running mean of 25)")
ax1.legend(fontsize=8)
ax1.set_title(f"The adding problem, T = {T}")
plot_gradient_norms({f"{name} {s}": v for name, r in after.items() for s, v in r.items()},
                    ax=ax2, title="After training: the last step's gradient, step by step")
ax2.axvspan(0, T / 2, color="0.93", zorder=0)
plt.tight_layout()
plt.show()
for name, r in after.items():
    print(f"{name:5s} ‖∂L/∂h_0‖ / ‖∂L/∂h_49‖ = {r['h'][0]:.1e}"
          + (f",  ‖∂L/∂c_0‖ / ‖∂L/∂h_49‖ = {r['c'][0]:.1e}" if "c" in r else ""))

# %% [markdown]
# Elman never leaves the line of answering the mean: the first marked value is up to 50 steps
# back, and its gradient does not get there. The GRU finds the task early and the LSTM after
# a long plateau, but both end far below it, and after training a sizeable share of the last
# step's gradient reaches the first steps: they have opened their carries. (The order and the
# moment of the drop depend on the seeds; the example script and the test run longer, and at
# $T = 200$.)
#
# ### What the LSTM's cell holds
#
# The trained LSTM's cell states on one test sequence whose marks we place ourselves, at
# steps 6 and 38 (`plot_states`: units down, time across). Most of what a cell holds is the
# same for every sequence, so the right panel subtracts the cell states of the same sequence
# with its markers removed: what is left is what the two marked values wrote. Some units
# jump at the first mark and hold their new value through the thirty unmarked steps that
# follow, until the second mark adds to it: the memory the task needs.

# %%
model = trained["LSTM"]
xs, _ = mr.data.adding_problem(1, T, seed=5, dtype="float32")
marks = [6, 38]
xs[0, :, 1] = 0
xs[0, marks, 1] = 1
unmarked = xs.copy()
unmarked[0, :, 1] = 0
with mr.no_grad():
    answer, shown = model(xs, return_states=True)
    _, plain = model(unmarked, return_states=True)
written = shown["c"].numpy() - plain["c"].numpy()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 3.6))
plot_states(shown["c"], ax=ax1, title="LSTM cell states $c_t$")
plot_states(written, ax=ax2, title="what the marks wrote: $c_t$ minus $c_t$ without markers")
for ax in (ax1, ax2):
    for m in marks:
        ax.axvline(m, color="k", lw=1.2, ls="--")
plt.tight_layout()
plt.show()
held_on = np.abs(written[0, marks[0]:marks[1]]).mean(axis=0)
print(f"marked values {xs[0, marks, 0]}, target {xs[0, marks, 0].sum():.3f}, "
      f"the LSTM's answer {answer.numpy()[0, -1, 0]:.3f}")
print(f"units most changed between the marks: {np.argsort(held_on)[::-1][:4]}")

# %% [markdown]
# ## Exercises
#
# Solutions: `docs/course/solutions.py` (functions `gru_by_hand`, `forget_gate_products`,
# `second_value_only`), checked by `tests/test_course.py`.
#
# 1. **The GRU by hand.** Write `gru_by_hand(model, x)`: a GRU's outputs in plain NumPy from
#    its equations and its weights `W_xh`, `b_xh`, `W_hh`, `b_hh` (rows $[r \mid z \mid n]$),
#    `W_hy`, `b_y`, from a zero initial state, and check that it equals `model(x)`.
# 2. **The carry, measured.** In an LSTM whose recurrent weights are zero ($W_{hh} = 0$: the
#    gates read the input alone), $c_t$ reaches $c_{T-1}$ only through the forget gates, so
#    $\partial c_{T-1} / \partial c_t = \operatorname{diag}(f_{t+1} \odot \cdots \odot f_{T-1})$.
#    Write `forget_gate_products(model, x)` returning those products (B, T, H), and check
#    them against the `.grad` of the states "c" (`return_states=True`) for
#    $L = w \cdot c_{T-1}$, with $c_{T-1}$ read from those states, `states["c"][:, -1]`.
# 3. **A plateau to look for.** A network that has learned to hold only the *second* marked
#    value (the nearer one) can do no better than $v_b + 1/2$. Write
#    `second_value_only(x)` returning that answer (count, 1) for `adding_problem` inputs, show
#    that its mean squared error is $\operatorname{Var}(v_a) = 1/12 \approx 0.083$, half of
#    answering the mean, and look for that level in the training curves above.
