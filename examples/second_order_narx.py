"""Which optimiser for a NARX: Adam, L-BFGS or Levenberg-Marquardt, on the Narendra plant.

System identification fits small networks to a few thousand samples and wants them fitted to
the end: the setting of MATLAB's ``narxnet`` (Levenberg-Marquardt) and PyTorch's LBFGS, not
of mini-batch SGD. The plant, y[k+1] = y[k] / (1 + y[k]²) + u[k]³, is driven by uniform
noise for 1,000 training samples; a NARX (20 tanh units, 1 input delay, 2 output delays) is
trained in open loop, one step ahead from the true past outputs, by each optimiser, and then
run free (its own predictions fed back, from a zero state) on an input it never saw, a sum of
two sines; NRMSE = RMSE / std.

- Adam: one cheap step per mini-batch; the choice for large data, long sequences and big
  networks, where the whole training set is too much for one step. Here it needs thousands
  of steps and still stops short.
- L-BFGS (``mr.optim.LBFGS``): full batch; a curvature model from the last gradients and a
  line search; any smooth loss. The choice for a small network and a data set that fits
  in one batch.
- Levenberg-Marquardt (``mr.optim.LevenbergMarquardt``): full batch, least-squares losses
  only, from the Jacobian of the residuals (one backward pass per residual): the fewest
  iterations, each the dearest; for networks of at most a few hundred weights.

Run: python examples/second_order_narx.py [--out FIGURE.png]   (--quick: a fast smoke run).
The figure, each free run's error against the plant (needs matplotlib), is the only file
written: second_order_narx.png in the current folder, or --out.
"""
import argparse
import time

import numpy as np

import minirnn as mr

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="tiny budgets, for the test suite")
parser.add_argument("--out", default="second_order_narx.png",
                    help="where to write the figure (default: %(default)s)")
args = parser.parse_args()
adam_steps, lbfgs_iterations, lm_iterations = (50, 20, 3) if args.quick else (2000, 1000, 60)


def plant(u):
    y = np.zeros(len(u))
    for k in range(len(u) - 1):
        y[k + 1] = y[k] / (1 + y[k] ** 2) + u[k] ** 3
    return y


u = np.random.default_rng(0).uniform(-1, 1, 1000)
y = plant(u)
k = np.arange(500)
u_test = 0.5 * (np.sin(2 * np.pi * k / 25) + np.sin(2 * np.pi * k / 10))
y_test = plant(u_test)
x, t = u[None, :, None], y[None, :, None]


def network():
    return mr.models.NARX(input_size=1, hidden_size=20, output_size=1, input_delays=1,
                          output_delays=2, mode="open", backend="cpu", dtype="float64", seed=0)


def with_adam(net):
    opt = mr.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(adam_steps):
        opt.zero_grad()
        mr.losses.mse(net(x, y=t), t).backward()
        opt.step()


def with_lbfgs(net):
    # a loss change tolerance below PyTorch's 1e-9 default: it would stop at a few hundred
    opt = mr.optim.LBFGS(net.parameters(), max_iter=lbfgs_iterations,
                         max_eval=2 * lbfgs_iterations, tolerance_change=1e-14)

    def closure():  # PyTorch's convention: zero, loss, backward, return the loss
        opt.zero_grad()
        loss = mr.losses.mse(net(x, y=t), t)
        loss.backward()
        return loss
    opt.step(closure)


def with_lm(net):
    opt = mr.optim.LevenbergMarquardt(net.parameters(), max_iter=lm_iterations)
    opt.step(lambda: net(x, y=t) - t)  # the residuals: E = Σ r²


print(f"trained in open loop on {len(u):,} samples; scored by one free run (closed loop, its own "
      f"outputs fed back)\nfrom a zero state at step 0 over the {len(u_test)} steps of the "
      f"test input: NRMSE = RMSE / std\n")
runs = {}
for name, fit in (("Adam", with_adam), ("L-BFGS", with_lbfgs), ("Levenberg-Marquardt", with_lm)):
    net = network()
    started = time.perf_counter()
    fit(net)
    seconds = time.perf_counter() - started
    with mr.no_grad():
        free = net.closed_loop()(u_test[None, :, None]).data[0, :, 0]
    nrmse = np.sqrt(np.mean((free - y_test) ** 2)) / np.std(y_test)
    runs[name] = free
    print(f"{name:20s} free-run NRMSE {nrmse:.4f}   {seconds:5.1f} s")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("\n(matplotlib not installed: no figure; pip install 'minirnn[plot]')")
else:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for name, free in runs.items():
        ax.semilogy(np.abs(free - y_test) + 1e-12, lw=1, label=name)
    ax.set(xlabel="step", ylabel="|free run - plant|",
           title="free-run error on an unseen input")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
