"""Backpropagation through time, three ways, for one small Elman network over 3 steps.

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h),  h_{-1} = 0
    y_t = W_hy h_t + b_y,                        L = mean_t (y_t - target_t)²

1. the tape: the three steps unrolled with primitive ops, differentiated by reverse-mode autograd;
2. explicit BPTT: the fused kernel's hand-written backward (dh_t = W_hy^T dy_t + W_hh^T dz_{t+1},
   dz_t = dh_t ⊙ (1 - h_t²), ∂L/∂W_hh = Σ_t dz_t h_{t-1}^T);
3. finite differences: (L(W + ε) - L(W - ε)) / 2ε, one weight at a time.

Run: python examples/bptt_by_hand.py
"""
import numpy as np

import minirnn as mr

rng = np.random.default_rng(0)
x = rng.standard_normal((1, 3, 2))       # batch 1, 3 time steps, 2 inputs
target = rng.standard_normal((1, 3, 1))

engines = {}
for backend in ("tape", "numpy"):
    model = mr.models.Elman(input_size=2, hidden_size=3, output_size=1, backend=backend, seed=1)
    loss = mr.losses.mse(model(x), target)
    loss.backward()
    engines[backend] = model

model = engines["numpy"]
W_hh = model.W_hh
report = mr.autograd.check_gradients(lambda: mr.losses.mse(model(x), target), {"W_hh": W_hh})
numeric = np.empty_like(W_hh.data)
flat = W_hh.data.reshape(-1)
eps = 1e-6
for i in range(flat.size):
    saved = flat[i]
    flat[i] = saved + eps
    plus = mr.losses.mse(model(x), target).item()
    flat[i] = saved - eps
    minus = mr.losses.mse(model(x), target).item()
    flat[i] = saved
    numeric.reshape(-1)[i] = (plus - minus) / (2 * eps)

print(f"loss = {loss.item():.6f}\n")
print("∂L/∂W_hh[i, j]      tape            explicit BPTT   finite differences")
for (i, j), _ in np.ndenumerate(W_hh.data):
    print(f"  [{i}, {j}]     {engines['tape'].W_hh.grad[i, j]: .10f}  "
          f"{engines['numpy'].W_hh.grad[i, j]: .10f}  {numeric[i, j]: .10f}")
print()
print(report)
