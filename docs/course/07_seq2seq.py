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
# # 7. Sequence to sequence: synchronous and delayed
#
# The article ends its tour with the two ways a recurrent network maps one sequence to
# another. **Synchronous**: one output per input step, $y_t$ from $x_0, \dots, x_t$, as in
# stock prediction or labelling every word: that is what every model of notebooks 2-6 already
# does. **Delayed**, as in machine translation: the output can only start once the whole input
# has been read, because its first word may depend on the input's last. A network then needs
# two parts: an **encoder** that reads the input and summarises it in its final state, and a
# **decoder** that starts from that state and emits the output one step at a time, each step
# reading the output before it.
#
# This notebook writes the encoder-decoder's equations, its two ways of running (teacher
# forcing in training, greedy generation at inference), derives its backward pass (one
# gradient crosses from the decoder into the encoder, through one state), checks minirnn's
# `Seq2Seq` against a hand-written BPTT and finite differences, and trains it twice: to
# forecast a series many steps ahead, and on a toy translation that a synchronous model
# cannot learn.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minirnn as mr
from minirnn.models.registry import seq2seq_forecaster

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## The forward equations
#
# An input sequence $x_0, \dots, x_{T-1}$ and an output sequence $d_0, \dots, d_{K-1}$, of
# another length. With $f = \tanh$ and $g$ the identity:
#
# $$\begin{aligned}
# \text{encoder:}\quad & h_t = f(W_{xh}\, x_t + W_{hh}\, h_{t-1} + b_h),
#   \quad h_{-1} = h_0 \text{ (learned)}, \quad t = 0, \dots, T-1 \\
# & s = h_{T-1} \qquad\text{(the whole input, summarised)} \\
# \text{decoder:}\quad & k_j = f(U_{xh}\, \hat y_{j-1} + U_{hh}\, k_{j-1} + c_h),
#   \quad k_{-1} = s, \quad \hat y_{-1} = 0 \ \text{(a "start" symbol)} \\
# & y_j = g(U_{hy}\, k_j + c_y), \qquad j = 0, \dots, K-1
# \end{aligned}$$
#
# The encoder is the state-space model of notebook 5 whose outputs are never used; the decoder
# is an Elman network whose initial state is the encoder's final state and whose input is the
# previous output. Which previous output $\hat y_{j-1}$?
#
# - **Teacher forcing** (training): the *true* one, $\hat y_{j-1} = d_{j-1}$. The decoder's
#   inputs are then known in advance, $[0, d_0, \dots, d_{K-2}]$, the target shifted one step
#   right behind the start symbol, and all $K$ steps run as one recurrence, like the open-loop
#   NARX of notebook 3.
# - **Greedy generation** (inference, where no target exists): its *own*,
#   $\hat y_{j-1} = y_{j-1}$, computed one step at a time (for classes, the one-hot vector
#   of the most likely class).
#
# minirnn's `Seq2Seq` is these few lines around any two recurrent models whose states have
# the same size; `seq2seq_forecaster` builds the one above (a `StateSpaceRNN` encoder, an
# `Elman` decoder):

# %%
print(inspect.getsource(mr.models.Seq2Seq.forward))
print(inspect.getsource(mr.models.Seq2Seq.generate))

# %% [markdown]
# Both models run the fused Elman recurrence of notebook 5 (`elman_forward` in
# `mr.kernels.elman.reference`); the encoder's final state goes in as the decoder's `h`.
#
# ## The two variants unrolled in time
#
# Synchronous: each output is produced as its input arrives. Delayed: the encoder reads
# four inputs and says nothing; its state $s$ (red) is all the decoder knows of the input;
# the decoder then emits three outputs, each fed to the next step (dashed: $d_{j-1}$ in
# training, $y_{j-1}$ in generation).

# %%
def draw_seq2seq(ax, delayed, T=4, K=3):
    ax.set_aspect("equal")

    def node(X, Y, label, colour):
        ax.add_patch(plt.Circle((X, Y), 0.36, color=colour, ec="k", zorder=2))
        ax.text(X, Y, label, ha="center", va="center", fontsize=10, zorder=3)

    def arrow(a, b, **style):
        ax.annotate("", b, a, arrowprops=dict(arrowstyle="->", shrinkA=13, shrinkB=13,
                                              **{"lw": 1.0, **style}))

    for t in range(T):
        X = 1.4 * t
        node(X, 0, f"$x_{t}$", "#dbe9f6")
        node(X, 1.5, f"$h_{t}$", "#cfe8cf")
        arrow((X, 0), (X, 1.5))
        if t > 0:
            arrow((X - 1.4, 1.5), (X, 1.5))
        if not delayed:
            node(X, 3.0, f"$y_{t}$", "#f4cccc")
            arrow((X, 1.5), (X, 3.0))
    if delayed:
        for j in range(K):
            X = 1.4 * (T + j)
            node(X, 1.5, f"$k_{j}$", "#fde9c9")
            node(X, 3.0, f"$y_{j}$", "#f4cccc")
            node(X, 0, "$0$" if j == 0 else f"$\\hat y_{j - 1}$", "#eeeeee")
            arrow((X, 0), (X, 1.5))
            arrow((X, 1.5), (X, 3.0))
            arrow((X - 1.4, 1.5), (X, 1.5), **({"color": "#c0392b", "lw": 2.2} if j == 0
                                                else {}))
            if j > 0:
                arrow((X - 1.4, 3.0), (X, 0), color="0.45", ls="--")
        ax.text(1.4 * (T - 1) + 0.7, 1.85, "$s$", color="#c0392b", fontsize=12, ha="center")
        ax.axvline(1.4 * T - 0.7, color="0.7", lw=0.8, ls=":")
        ax.text(0.7 * (T - 1), -0.8, "encoder", ha="center")
        ax.text(1.4 * T + 0.7 * (K - 1), -0.8, "decoder", ha="center")
    width = T + (K if delayed else 0)
    ax.set_xlim(-0.7, 1.4 * width - 0.7)
    ax.set_ylim(-1.1, 3.6)
    ax.axis("off")
    ax.set_title("delayed: encoder, then decoder" if delayed else
                 "synchronous: one output per input")


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 3.6), gridspec_kw={"width_ratios": [4, 7]})
draw_seq2seq(ax1, delayed=False)
draw_seq2seq(ax2, delayed=True)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The backward pass
#
# The loss reads the decoder's outputs only, $L = \sum_j \ell_j(y_j)$, with direct gradients
# $\partial_j = \partial\ell_j/\partial y_j$. With teacher forcing the decoder's inputs are data,
# so the decoder is an Elman network and its BPTT is notebook 5's, from $j = K-1$ down to $0$:
#
# $$\bar o_j = \partial_j \odot g'(o_j), \qquad
# \bar k_j = U_{hy}^\top \bar o_j + U_{hh}^\top \bar z_{j+1}, \qquad
# \bar z_j = \bar k_j \odot (1 - k_j \odot k_j), \qquad \bar z_K = 0,$$
#
# $$\bar U_{xh} = \sum_j \bar z_j\, \hat y_{j-1}^\top, \quad
# \bar U_{hh} = \sum_j \bar z_j\, k_{j-1}^\top, \quad \bar c_h = \sum_j \bar z_j, \quad
# \bar U_{hy} = \sum_j \bar o_j\, k_j^\top, \quad \bar c_y = \sum_j \bar o_j .$$
#
# The decoder's initial state is the encoder's final state, $k_{-1} = s = h_{T-1}$, and that
# is the only thing the encoder gives it. So the encoder's whole gradient is the one the
# decoder sends back through its initial state,
#
# $$\bar s = U_{hh}^\top \bar z_0 ,$$
#
# and the encoder's BPTT starts from it. No output reads the encoder's states directly
# (its own $W_{hy}$ is never used and gets no gradient), so for $t = T-1$ down to $0$:
#
# $$\bar h_{T-1} = \bar s, \qquad
# \bar h_t = W_{hh}^\top \bar z^e_{t+1} \ (t < T-1), \qquad
# \bar z^e_t = \bar h_t \odot (1 - h_t \odot h_t),$$
#
# $$\bar W_{xh} = \sum_t \bar z^e_t\, x_t^\top, \quad
# \bar W_{hh} = \sum_t \bar z^e_t\, h_{t-1}^\top, \quad \bar b_h = \sum_t \bar z^e_t, \quad
# \bar h_0 = W_{hh}^\top \bar z^e_0, \quad \bar x_t = W_{xh}^\top \bar z^e_t .$$
#
# Two things to see in these lines. Everything the decoder learns about the input arrives
# through one vector $s$, and everything the encoder learns arrives through $\bar s$: the
# gradient for $x_0$ has to travel back through all $T$ steps of the encoder, the long path
# whose vanishing is the subject of the next notebook. And the gradient never flows from
# $y_{j-1}$ into $y_j$'s input: teacher forcing cuts that path (the decoder is trained in "open
# loop"), while generation runs it closed; that mismatch is measured below.
#
# ### Checked numerically
#
# The equations above in NumPy, against minirnn's gradients on the `numpy` engine:

# %%
B, T, K, I, H, O = 3, 7, 5, 2, 4, 2
x = rng.normal(size=(B, T, I))
d = rng.normal(size=(B, K, O))
model = seq2seq_forecaster(I, H, O, backend="numpy", seed=1)
enc, dec = model.encoder, model.decoder
for p in enc.parameters():          # the learned initial state too, non-zero
    p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
W_xh, W_hh, b_h, h_init = (enc.W_xh.data, enc.W_hh.data, enc.b_h.data, enc.h0.data)
U_xh, U_hh, c_h, U_hy, c_y = (dec.W_xh.data, dec.W_hh.data, dec.b_h.data, dec.W_hy.data,
                              dec.b_y.data)

# forward: the encoder, then the teacher-forced decoder
h = np.zeros((B, T + 1, H))
h[:, 0] = h_init                                        # h[:, t + 1] = h_t
for t in range(T):
    h[:, t + 1] = np.tanh(x[:, t] @ W_xh.T + h[:, t] @ W_hh.T + b_h)
y_prev = np.concatenate([np.zeros((B, 1, O)), d[:, :-1]], axis=1)   # ŷ_{j-1}: 0, d_0, …
k = np.zeros((B, K + 1, H))
k[:, 0] = h[:, T]                                       # k_{-1} = s = h_{T-1}
for j in range(K):
    k[:, j + 1] = np.tanh(y_prev[:, j] @ U_xh.T + k[:, j] @ U_hh.T + c_h)
y = k[:, 1:] @ U_hy.T + c_y

# backward: the decoder from j = K-1 down, then the encoder from s̄
o_bar = 2 * (y - d) / y.size                            # ∂_j of the mean squared error
grads = {"decoder.W_hy": np.einsum("bjo,bjh->oh", o_bar, k[:, 1:]),
         "decoder.b_y": o_bar.sum(axis=(0, 1))}
z_bar = np.zeros((B, K + 1, H))                         # z̄_j, z̄_K = 0
for j in reversed(range(K)):
    k_bar = o_bar[:, j] @ U_hy + z_bar[:, j + 1] @ U_hh
    z_bar[:, j] = k_bar * (1 - k[:, j + 1] ** 2)
z_bar = z_bar[:, :K]
grads["decoder.W_xh"] = np.einsum("bjh,bji->hi", z_bar, y_prev)
grads["decoder.W_hh"] = np.einsum("bjh,bjk->hk", z_bar, k[:, :K])
grads["decoder.b_h"] = z_bar.sum(axis=(0, 1))
s_bar = z_bar[:, 0] @ U_hh                              # s̄ = U_hhᵀ z̄_0
ze_bar = np.zeros((B, T + 1, H))
for t in reversed(range(T)):
    h_bar = s_bar if t == T - 1 else ze_bar[:, t + 1] @ W_hh
    ze_bar[:, t] = h_bar * (1 - h[:, t + 1] ** 2)
ze_bar = ze_bar[:, :T]
grads["encoder.W_xh"] = np.einsum("bth,bti->hi", ze_bar, x)
grads["encoder.W_hh"] = np.einsum("bth,btk->hk", ze_bar, h[:, :T])
grads["encoder.b_h"] = ze_bar.sum(axis=(0, 1))
grads["encoder.h0"] = (ze_bar[:, 0] @ W_hh).sum(axis=0)
grads["x"] = ze_bar @ W_xh

xt = mr.Tensor(x, requires_grad=True)
out = model(xt, d)                                      # teacher forcing on d
mr.losses.mse(out, d).backward()
theirs = {**dict(model.named_parameters()), "x": xt}
print(f"outputs: max |by hand - minirnn| = {np.abs(out.numpy() - y).max():.1e}")
for name, mine in grads.items():
    error = np.abs(mine - theirs[name].grad).max() / np.abs(mine).max()
    print(f"{name:13s} max |by hand - minirnn| / max |gradient| = {error:.1e}")
    assert error < 1e-12
print("the encoder's own output layer, never used:", enc.W_hy.grad, enc.b_y.grad)

# %% [markdown]
# and the whole model against central finite differences on the `cpu` engine, teacher forcing
# passed to the check with `forward={"target": d}` (the encoder's unused output layer has a
# zero gradient both ways):

# %%
report = mr.gradcheck(seq2seq_forecaster(I, H, O, seed=3), x, d, forward={"target": d})
print(report)
assert report.passed

# %% [markdown]
# ## Forecasting many steps ahead
#
# The built-in `sine` series (two periods, a slow drift of the amplitude, noise), scaled with
# the training rows' statistics by `mr.data.make_task`. Every window of $C = 32$ steps is an
# input sequence and the $K = 16$ steps after it the output sequence: read a month, forecast
# the next two weeks. The encoder-decoder (24 units each) trains with teacher forcing on
# random batches of the training windows; on the test windows it then forecasts greedily,
# feeding its own outputs back.

# %%
task = mr.data.make_task(mr.data.sine(1000, seed=0), autoregressive=False)
series = task.y[:, 0]
C, K = 32, 16


def windows(first, end, stride=1):
    starts = np.arange(first, end - C - K + 1, stride)
    return (np.stack([series[i:i + C] for i in starts])[..., None],
            np.stack([series[i + C:i + C + K] for i in starts])[..., None])


x_train, d_train = windows(0, task.train_end)
x_test, d_test = windows(task.val_end, len(series), stride=2)
print(f"{len(x_train)} training windows, {len(x_test)} test windows")

forecaster = seq2seq_forecaster(1, 24, 1, seed=0)
opt = mr.optim.Adam(forecaster.parameters(), lr=0.01)
losses = []
for _ in range(600):
    batch = rng.integers(0, len(x_train), 64)
    opt.zero_grad()
    loss = mr.losses.mse(forecaster(x_train[batch], d_train[batch]), d_train[batch])
    loss.backward()
    mr.optim.clip_grad_norm(forecaster.parameters(), 1.0)
    opt.step()
    losses.append(loss.item())

generated = forecaster.generate(x_test, K)                  # greedy: its own outputs fed back
with mr.no_grad():
    forced = forecaster(x_test, d_test).numpy()             # the true outputs fed back
held = np.repeat(x_test[:, -1:], K, axis=1)                 # naive: the last value held


def rmse_by_step(p):
    return np.sqrt(((p - d_test) ** 2).mean(axis=(0, 2)))


curves = {"generated (greedy)": rmse_by_step(generated),
          "teacher-forced (true past fed in)": rmse_by_step(forced),
          "last value held": rmse_by_step(held)}
for name, curve in curves.items():
    print(f"{name:34s} test RMSE, steps 1-{K}: {curve.mean():.3f}  "
          f"(step 1 {curve[0]:.3f}, step {K} {curve[-1]:.3f})")

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.6), gridspec_kw={"width_ratios": [1, 1, 2]})
axes[0].semilogy(losses)
axes[0].set_xlabel("Adam step")
axes[0].set_ylabel("training MSE (teacher forcing)")
axes[0].set_title("Training")
for name, curve in curves.items():
    axes[1].plot(np.arange(1, K + 1), curve, "o-", ms=3, label=name)
axes[1].set_xlabel("steps ahead")
axes[1].set_ylabel("test RMSE (scaled)")
axes[1].legend(fontsize=8)
axes[1].set_title("Error by horizon")
for n, i in enumerate((0, 20, 40)):
    base = n * (C + K + 6)
    axes[2].plot(base + np.arange(C), x_test[i, :, 0], "k-", lw=1,
                 label="input (read by the encoder)" if n == 0 else None)
    axes[2].plot(base + C + np.arange(K), d_test[i, :, 0], "k.", label="truth" if n == 0 else None)
    axes[2].plot(base + C + np.arange(K), generated[i, :, 0], "C0-", lw=2,
                 label="generated" if n == 0 else None)
axes[2].set_xticks([])
axes[2].legend(fontsize=8)
axes[2].set_title("Three test windows: read 32 steps, then forecast 16")
plt.tight_layout()
plt.show()

# %% [markdown]
# The greedy forecast follows the oscillation for all sixteen steps, far below the "last
# value held". It is worse than the teacher-forced run of the same model, and the gap grows
# with the horizon: trained only ever on true past values, the decoder at inference reads its
# own, slightly wrong ones, and each error is fed into the next step (*exposure bias*, the
# open-loop versus closed-loop question of notebook 3 again). Exercise 3 trains the decoder
# in closed loop instead.
#
# ## Why delay: a toy translation
#
# The article's example of a delayed task is translation. A toy one: a "sentence" of 2 to 5
# symbols from `abcdef` is to be written *reversed* in another alphabet (a→Z, b→Y, …):
# `abc` → `XYZ`. The first output symbol is the *last* input symbol. A synchronous model
# (one output per input, $y_t$ from $x_0 \dots x_t$) must say the first output symbol when
# it has read only the first input symbol: it can only be right where the symbol it needs is
# already behind it (and only if it can tell which one, without knowing yet how long the
# sentence is), by luck elsewhere. The delayed model reads the whole sentence first. Both
# have 48 units and train with Adam on 400 batches of 64 random sentences of unequal lengths
# (padded; `lengths` stops each row's encoder at its end, and the loss is masked); classes are
# fed back as one-hot vectors (`feedback="argmax"`).

# %%
V, MAX_LEN = 7, 5                       # symbol 0 pads; SOURCE and TARGET spell 1 … 6
SOURCE, TARGET = "_abcdef", "_ZYXWVU"


def sentences(rng, size=64):
    lengths = rng.integers(2, MAX_LEN + 1, size)
    source = np.zeros((size, MAX_LEN), dtype=np.int64)
    target = np.zeros_like(source)
    for b, n in enumerate(lengths):
        source[b, :n] = rng.integers(1, V, n)
        target[b, :n] = source[b, :n][::-1]
    return np.eye(V)[source], source, target, lengths     # one-hot inputs, ids, ids, lengths


delayed = mr.models.Seq2Seq(
    mr.models.Elman(input_size=V, hidden_size=48, output_size=V, seed=1),
    mr.models.Elman(input_size=V, hidden_size=48, output_size=V, seed=2),
    mode="delayed", feedback="argmax")
synchronous = mr.models.Seq2Seq(
    mr.models.StateSpaceRNN(input_size=V, hidden_size=48, output_size=V, seed=3),
    mode="synchronous")
optimizers = {m: mr.optim.Adam(m.parameters(), lr=0.01) for m in (delayed, synchronous)}
data_rng = np.random.default_rng(1)
for _ in range(400):
    x_words, _, target, lengths = sentences(data_rng)
    mask = mr.losses.length_mask(lengths, MAX_LEN)
    for m, opt in optimizers.items():
        opt.zero_grad()
        logits = (m(x_words, target, lengths=lengths, target_lengths=lengths) if m is delayed
                  else m(x_words, lengths=lengths))
        mr.losses.cross_entropy(logits, target, mask=mask).backward()
        mr.optim.clip_grad_norm(m.parameters(), 1.0)
        opt.step()

x_words, source, target, lengths = sentences(np.random.default_rng(99), size=500)
mask = mr.losses.length_mask(lengths, MAX_LEN) > 0
with mr.no_grad():
    predicted = {"delayed (generated)": delayed.generate(x_words, MAX_LEN, lengths=lengths)
                 .argmax(-1),
                 "synchronous": synchronous(x_words, lengths=lengths).numpy().argmax(-1)}
right_by_position = {}
for name, p in predicted.items():
    right = p == target
    whole = np.mean([right[b, :n].all() for b, n in enumerate(lengths)])
    right_by_position[name] = [right[:, j][mask[:, j]].mean() for j in range(MAX_LEN)]
    print(f"{name:20s} symbols right {right[mask].mean():6.1%}   whole sentences {whole:6.1%}"
          f"   by position {np.round(right_by_position[name], 2)}")
for b in range(4):
    n = lengths[b]

    def spell(ids, alphabet, n=n):
        return "".join(alphabet[i] for i in ids[:n])

    delayed_says = spell(predicted["delayed (generated)"][b], TARGET)
    synchronous_says = spell(predicted["synchronous"][b], TARGET)
    print(f"  {spell(source[b], SOURCE):>5} → delayed {delayed_says:<5} synchronous "
          f"{synchronous_says:<5} (expected {spell(target[b], TARGET)})")

# %%
fig, ax = plt.subplots(figsize=(6, 3.4))
for name, values in right_by_position.items():
    ax.plot(np.arange(1, MAX_LEN + 1), values, "o-", label=name)
ax.axhline(1 / 6, color="gray", ls="--", label="a guess (1 in 6)")
ax.set_xlabel("output position")
ax.set_ylabel("symbols right")
ax.set_ylim(0, 1.05)
ax.legend(fontsize=8)
ax.set_title("Reversing a sentence: the first outputs need the last inputs")
plt.show()

# %% [markdown]
# The synchronous model's first output is a guess: the symbol it needs has not arrived yet.
# Its later outputs improve, as the symbols they need (the first of the sentence) are behind
# it. The delayed model, which hands the whole sentence over through its state $s$ before
# saying anything, gets nearly every symbol right.
#
# ## Exercises
#
# Solutions: `docs/course/solutions.py` (functions `teacher_forcing_inputs`,
# `greedy_forecast`, `free_running_loss`), checked by `tests/test_course.py`.
#
# 1. **Teacher forcing by hand.** Write `teacher_forcing_inputs(target)`: the decoder's inputs
#    $[0, d_0, \dots, d_{K-2}]$ (B, K, O) for a target (B, K, O), and check that
#    `model.decoder(teacher_forcing_inputs(d), h=model.encode(x))` equals `model(x, d)`.
# 2. **Greedy generation in NumPy.** Write `greedy_forecast(model, x, steps)` for a
#    `seq2seq_forecaster` (tanh layers, identity outputs): the encoder from its learned
#    $h_0$, then the decoder from $s$ feeding each output back, from the models' weights in
#    plain NumPy. Check it equals `model.generate(x, steps)`.
# 3. **Training in closed loop.** Write `free_running_loss(model, x, target)`: the mean
#    squared error of the decoder fed its *own* outputs, as `mr.Tensor`s, so that the
#    gradient also flows from each output into the next step (the closed-loop BPTT of
#    notebook 3). Check that its value equals the error of `model.generate`, and that its
#    gradient passes `mr.autograd.check_gradients`.
