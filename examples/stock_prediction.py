"""The seed article's running example: predicting a stock price.

Three answers to "use the past", on a synthetic price series (trend, calm and turbulent
spells, and an exogenous market signal that nudges the next day's return):

- the sliding predictor: a window of the last 8 days (finite memory);
- NARX: 2 past inputs and 2 past outputs; trained in open loop, forecast in closed loop;
- the state-space RNN: a learned state that summarises the whole past.

All three model the daily change (``difference=True``), so the trend never takes them out of
the range they were trained on. They are scored one step ahead and over a 10-day free run
(each day's forecast fed back as the next day's input, the market signal known), against the
naive forecast "tomorrow's price is today's", which is hard to beat on a random walk.

Run: python examples/stock_prediction.py   (add --quick for a fast smoke run; writes
stock_prediction.png when matplotlib is installed)
"""
import argparse

import numpy as np

from minirnn.data.series import stock
from minirnn.data.task import make_task
from minirnn.forecast import free_run
from minirnn.models.registry import build_model, model_config
from minirnn.train import TrainConfig, evaluate, fit

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
args = parser.parse_args()
rows, epochs, horizon = (400, 2, 5) if args.quick else (2000, 30, 10)

series = stock(steps=rows, seed=0)
models = {"sliding predictor": ("sliding", {"window": 8}),
          "NARX": ("narx", {"input_delays": 2, "output_delays": 2, "mode": "open"}),
          "state-space RNN": ("statespace", {})}
print(f"{rows} days of a synthetic price; train / validation / test = 70 / 15 / 15%\n")
print(f"{'model':<20}{'one-step RMSE':>15}{'naive':>8}   free-run RMSE by day 1 … {horizon}")

curves = {}
for label, (name, options) in models.items():
    task = make_task(series, autoregressive=name != "narx", difference=True)
    config = model_config(name, task.model_input_size, 1, 16, dtype="float32", **options)
    model = build_model(name, config)
    fit(model, task, TrainConfig(epochs=epochs, batch=8, bptt=50, lr=0.005))
    test = evaluate(model, task)["test"]
    # free runs of `horizon` days from origins all through the test rows
    origins = range(task.val_end, len(series) - horizon, max(1, horizon // 2))
    errors = []
    for origin in origins:
        forecast = task.forecast_levels(free_run(model, task, horizon, origin), origin)
        errors.append((forecast - series.targets[origin:origin + horizon]) ** 2)
    curves[label] = np.sqrt(np.mean(errors, axis=0))[:, 0]
    print(f"{label:<20}{test['model']['rmse']:>15.3f}{test['naive']['rmse']:>8.3f}   "
          + " ".join(f"{v:.2f}" for v in curves[label]))

naive = np.sqrt(np.mean([(series.targets[o - 1] - series.targets[o:o + horizon]) ** 2
                         for o in origins], axis=0))[:, 0]
print(f"{'naive (flat)':<20}{'':>23}   " + " ".join(f"{v:.2f}" for v in naive))

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("\n(matplotlib not installed: no picture)")
else:
    fig, ax = plt.subplots(figsize=(7, 4))
    days = np.arange(1, horizon + 1)
    for label, curve in curves.items():
        ax.plot(days, curve, marker="o", label=label)
    ax.plot(days, naive, "k--", label="naive (flat)")
    ax.set_xlabel("days ahead")
    ax.set_ylabel("RMSE of the price")
    ax.set_title("free-run forecasts on the test days")
    ax.legend()
    fig.tight_layout()
    fig.savefig("stock_prediction.png", dpi=100)
    print("\nwrote stock_prediction.png")
