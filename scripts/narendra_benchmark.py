"""Adam, L-BFGS and Levenberg-Marquardt against a polynomial NARX on the Narendra plant.

The plant (Narendra & Parthasarathy, 1990): y[k+1] = y[k] / (1 + y[k]²) + u[k]³. Training:
1,000 samples, u uniform in [-1, 1], full batch for the second-order methods. Scored in free
run (the model's own predictions fed back, from a zero state) on an input it never saw,
u[k] = 0.5 (sin(2πk/25) + sin(2πk/10)), 500 steps: NRMSE = RMSE / std(y).

The network: NARX with H = 20 tanh units, L = 1 input delay, K = 2 output delays, float64,
trained in open loop (series-parallel: one-step predictions from the true past outputs), and
for Adam then fine-tuned in closed loop. The reference: SysIdentPy's FROLS polynomial NARX
(degree 5, ylag = xlag = 2), when SysIdentPy is installed.

    python scripts/narendra_benchmark.py [--seeds 0 1 2] [--methods adam lbfgs lm]
        [--lbfgs-iterations 3000] [--lm-iterations 300] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import minirnn as mr
from minirnn.losses import mse
from minirnn.models import NARX
from minirnn.optim import LBFGS, Adam, LevenbergMarquardt, clip_grad_norm


def plant(u: np.ndarray) -> np.ndarray:
    """y[k+1] = y[k] / (1 + y[k]²) + u[k]³ from y[0] = 0."""
    y = np.zeros(len(u))
    for k in range(len(u) - 1):
        y[k + 1] = y[k] / (1 + y[k] ** 2) + u[k] ** 3
    return y


def data(train_rows: int = 1000, test_steps: int = 500, seed: int = 0):
    u = np.random.default_rng(seed).uniform(-1, 1, train_rows)
    k = np.arange(test_steps)
    u_test = 0.5 * (np.sin(2 * np.pi * k / 25) + np.sin(2 * np.pi * k / 10))
    return (u, plant(u)), (u_test, plant(u_test))


def network(seed: int) -> NARX:
    return NARX(input_size=1, hidden_size=20, output_size=1, input_delays=1, output_delays=2,
                mode="open", backend="cpu", dtype="float64", seed=seed)


def free_run_nrmse(net: NARX, u_test, y_test) -> float:
    with mr.no_grad():
        y_hat = net.closed_loop()(u_test[None, :, None]).data[0, :, 0]
    return float(np.sqrt(np.mean((y_hat - y_test) ** 2)) / np.std(y_test))


def fit_adam(net, u, y, open_steps=2000, closed_steps=150):
    """Adam (lr 0.01, clipped at 1), full batch: open loop, then closed loop."""
    x, t = u[None, :, None], y[None, :, None]
    opt = Adam(net.parameters(), lr=0.01)
    for step in range(open_steps + closed_steps):
        model = net if step < open_steps else net.closed_loop()
        opt.zero_grad()
        mse(model(x, y=t), t).backward()
        clip_grad_norm(net.parameters(), 1.0)
        opt.step()


def fit_lbfgs(net, u, y, iterations=3000):
    """L-BFGS, full batch, open loop."""
    x, t = u[None, :, None], y[None, :, None]
    opt = LBFGS(net.parameters(), max_iter=iterations, max_eval=2 * iterations,
                tolerance_grad=1e-10, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = mse(net(x, y=t), t)
        loss.backward()
        return loss
    opt.step(closure)


def fit_lm(net, u, y, iterations=300):
    """Levenberg-Marquardt (trainlm's μ), open loop."""
    x, t = u[None, :, None], y[None, :, None]
    opt = LevenbergMarquardt(net.parameters(), max_iter=iterations)
    opt.step(lambda: (net(x, y=t) - t) * (1 / np.sqrt(t.size)))


def polynomial_reference(u, y, u_test, y_test):
    """SysIdentPy's FROLS polynomial NARX, degree 5, ylag = xlag = 2; None without it."""
    try:
        from sysidentpy.basis_function import Polynomial
        from sysidentpy.model_structure_selection import FROLS
        from sysidentpy.parameter_estimation import LeastSquares
    except ImportError:
        return None
    started = time.perf_counter()
    model = FROLS(order_selection=True, ylag=2, xlag=2, info_criteria="aic",
                  estimator=LeastSquares(), basis_function=Polynomial(degree=5))
    model.fit(X=u[:, None], y=y[:, None])
    seconds = time.perf_counter() - started
    y_hat = model.predict(X=u_test[:, None], y=np.zeros((2, 1)))[:, 0]  # zero state
    return float(np.sqrt(np.mean((y_hat - y_test) ** 2)) / np.std(y_test)), seconds


METHODS = {"adam": fit_adam, "lbfgs": fit_lbfgs, "lm": fit_lm}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--lbfgs-iterations", type=int, default=3000)
    parser.add_argument("--lm-iterations", type=int, default=300)
    parser.add_argument("--no-reference", action="store_true", help="skip the polynomial NARX")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    budgets = {"adam": {}, "lbfgs": {"iterations": args.lbfgs_iterations},
               "lm": {"iterations": args.lm_iterations}}
    (u, y), (u_test, y_test) = data()
    rows = []
    reference = None if args.no_reference else polynomial_reference(u, y, u_test, y_test)
    if reference is not None:
        rows.append({"method": "FROLS polynomial NARX (SysIdentPy)", "seed": None,
                     "nrmse": reference[0], "seconds": reference[1]})
        print(f"FROLS polynomial: NRMSE {reference[0]:.4f}, {reference[1]:.2f} s", flush=True)
    for name in args.methods:
        for seed in args.seeds:
            net = network(seed)
            started = time.perf_counter()
            METHODS[name](net, u, y, **budgets[name])
            seconds = time.perf_counter() - started
            score = free_run_nrmse(net, u_test, y_test)
            rows.append({"method": name, "seed": seed, "nrmse": score, "seconds": seconds,
                         **budgets[name]})
            print(f"{name} seed {seed}: NRMSE {score:.4f}, {seconds:.1f} s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
