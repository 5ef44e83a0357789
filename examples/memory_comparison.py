"""How far back can each memory reach? The same long-range task for every model of the article.

Task: y_t = x_{t-d}, x random noise. Only a memory of d steps can predict better than zero.
Each model is trained for each delay d and scored by R² = 1 - MSE / variance on new sequences
(1: perfect recall, 0: no better than predicting 0). Then, for an untrained Elman network, the
norm of ∂L/∂x_t for a loss at the LAST step shows how the gradient fades as it goes back in
time: why long memories are hard to learn with BPTT.

Run: python examples/memory_comparison.py   (add --quick for a fast smoke run)
"""
import argparse

import numpy as np

import minirnn as mr

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
args = parser.parse_args()
steps, delays, T = (20, [1, 3], 12) if args.quick else (400, [1, 2, 4, 8], 30)
H = 16
TEST = 128  # new sequences each model is scored on

models = {
    "sliding (window 4)": lambda: mr.models.SlidingPredictor(input_size=1, hidden_size=H,
                                                             output_size=1, window=4, seed=0),
    "NARX (L=2, K=2)": lambda: mr.models.NARX(input_size=1, hidden_size=H, output_size=1,
                                              input_delays=2, output_delays=2, seed=0),
    "Jordan (mu=0.5)": lambda: mr.models.Jordan(input_size=1, hidden_size=H, output_size=1, mu=0.5,
                                                seed=0),
    "explicit memory": lambda: mr.models.ExplicitMemory(input_size=1, hidden_size=H, output_size=1,
                                                        memory_size=8, seed=0),
    "Elman": lambda: mr.models.Elman(input_size=1, hidden_size=H, output_size=1, seed=0),
    "state-space RNN": lambda: mr.models.StateSpaceRNN(input_size=1, hidden_size=H, output_size=1,
                                                       seed=0),
}


def task(rng, delay, batch=32):
    x = rng.uniform(-1, 1, (batch, T, 1))
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    mask = np.ones((batch, T))
    mask[:, :delay] = 0  # nothing to recall yet
    return x, y, mask


print(f"R² of y_t = x_{{t-d}} on {TEST} new sequences of {T} steps, over every step t >= d, "
      f"after {steps} Adam steps of 32;\neach model reads the inputs x alone (NARX and Jordan "
      f"feed back their own outputs: a free run from step 0)\n")
print(f"{'model':<22}" + "".join(f"{'d=' + str(d):>8}" for d in delays))
for name, make in models.items():
    scores = []
    for delay in delays:
        rng = np.random.default_rng(delay)
        model = make()
        opt = mr.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(steps):
            x, y, mask = task(rng, delay)
            opt.zero_grad()
            loss = mr.losses.mse(model(x), y, mask=mask)
            loss.backward()
            mr.optim.clip_grad_norm(model.parameters(), 1.0)
            opt.step()
        x, y, mask = task(np.random.default_rng(100 + delay), delay, batch=TEST)
        error = mr.losses.mse(model(x), y, mask=mask).item()
        scores.append(1 - error / np.mean(y[:, delay:] ** 2))
    print(f"{name:<22}" + "".join(f"{s:8.2f}" for s in scores))

print("\nThe sliding predictor sees exactly its window (x_t … x_{t-3}); NARX its input window"
      "\n(x_t … x_{t-2}) and a little more through its fed-back outputs; Jordan's memory holds"
      "\nonly an average of past OUTPUTS. Elman, the state-space RNN and the explicit memory keep"
      "\nthe past in a learned state, as far back as BPTT manages to train it:")
model = mr.models.Elman(input_size=1, hidden_size=H, output_size=1, seed=0)
x = mr.Tensor(np.random.default_rng(0).uniform(-1, 1, (1, 40, 1)), requires_grad=True)
y = model(x)
(y[:, -1] * y[:, -1]).sum().backward()
norms = np.abs(x.grad[0, :, 0])
print("\n|∂L/∂x_t| for L = y_39², untrained Elman, t = 39 back to 0:")
for t in range(39, -1, -4):
    bar = "#" * int(max(0, 40 + 4 * np.log10(norms[t] + 1e-30)))  # 4 marks per decade
    print(f"  t = {t:>2}  {norms[t]:.2e}  {bar}")
