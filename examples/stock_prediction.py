"""The seed article's running example: predicting a stock price.

Three answers to "use the past", on a synthetic price series (trend, calm and turbulent
spells, and an exogenous market signal that nudges the next day's return):

- the sliding predictor: a window of the last 8 days (finite memory);
- NARX: 2 past inputs and 2 past outputs; trained in open loop, forecast in closed loop;
- the state-space RNN: a learned state that summarises the whole past.

All three model the daily change (``difference=True``), so the trend never takes them out of
the range they were trained on. Each trains as ``minirnn train`` would train it
(``minirnn.app.training.train``; the same as ``minirnn train sliding --data stock --length
2000 --difference --window 8 --lr 0.005``), and is scored on the test days (the last 15%),
every error the RMSE of the price against the naive forecast "tomorrow's price is today's"
(hard to beat on a random walk):

- one-step: each test day forecast from the true prices of the days before it, over every
  test day;
- free run: from an origin, 10 days forecast, each day's forecast fed back as the next day's
  input (the market signal known; ``mr.forecast.free_run``), from every test day where 10
  days fit before the series ends. Day k of the free run is the k-step forecast; day 1 is the
  one-step forecast from those same origins, so it is printed next to it.

Run: python examples/stock_prediction.py [--out FIGURE.png]   (add --quick for a fast smoke
run). The figure, free-run RMSE against days ahead (needs matplotlib), is the only file
written: stock_prediction.png in the current folder, or --out.
"""
import argparse

import numpy as np

import minirnn as mr
from minirnn.app.training import TrainOptions, train

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
parser.add_argument("--out", default="stock_prediction.png",
                    help="where to write the figure (default: %(default)s)")
args = parser.parse_args()
days, epochs, horizon = (400, 2, 5) if args.quick else (2000, 30, 10)

models = {"sliding predictor": dict(model="sliding", window=8),
          "NARX": dict(model="narx", input_delays=2, output_delays=2, mode="open"),
          "state-space RNN": dict(model="statespace")}
notes = []
trained = {label: train(TrainOptions(data="stock", length=days, difference=True, hidden=16,
                                     horizon=horizon, epochs=epochs, batch=8, bptt=50,
                                     lr=0.005, **options),
                        on_note=notes.append)
           for label, options in models.items()}

first = next(iter(trained.values()))
prices = first.run.task.series.targets[:, 0]  # the same series for every model
test = first.run.task.splits()["test"]
# every test day from which a free run of `horizon` days stays inside the series
origins = np.arange(test.start, test.stop - horizon + 1)


def free_run_rmse(task, net) -> np.ndarray:
    """RMSE by day ahead (horizon,) of the free runs from every origin."""
    errors = [task.forecast_levels(mr.forecast.free_run(net, task, horizon, origin), origin)[:, 0]
              - prices[origin:origin + horizon] for origin in origins]
    return np.sqrt(np.mean(np.square(errors), axis=0))


print(f"{days} days of a synthetic price; train / validation / test = 70 / 15 / 15%;\nthe "
      f"test days: days {test.start} to {test.stop - 1} ({test.stop - test.start} days)\n")
print(f"RMSE of the price. one-step: every test day; free run: from each of the "
      f"{len(origins)} test days\nwhere {horizon} days fit, days 1 … {horizon} ahead (day 1 "
      f"is the one-step forecast from those days)\n")
print(f"{'':<22}{'one-step':>9}   free run, days ahead ({len(origins)} origins)")
print(f"{'':<22}{f'{test.stop - test.start} days':>9}   "
      + " ".join(f"{k:>5}" for k in range(1, horizon + 1)))
curves = {}
for label, report in trained.items():
    task, net = report.run.task, report.run.net
    scores = report.summary["metrics"]["test"]
    curves[label] = free_run_rmse(task, net)
    print(f"{label:<22}{scores['model']['rmse']:>9.3f}   "
          + " ".join(f"{v:>5.2f}" for v in curves[label]))
naive_one_step = first.summary["metrics"]["test"]["naive"]["rmse"]
naive = np.sqrt(np.mean([(prices[o - 1] - prices[o:o + horizon]) ** 2 for o in origins], axis=0))
print(f"{'naive (price held)':<22}{naive_one_step:>9.3f}   "
      + " ".join(f"{v:>5.2f}" for v in naive))
for note in dict.fromkeys(notes):
    print(f"note: {note}")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("\n(matplotlib not installed: no figure; pip install 'minirnn[plot]')")
else:
    fig, ax = plt.subplots(figsize=(7, 4))
    ahead = np.arange(1, horizon + 1)
    for label, curve in curves.items():
        ax.plot(ahead, curve, marker="o", label=label)
    ax.plot(ahead, naive, "k--", label="naive (price held)")
    ax.set_xlabel("days ahead")
    ax.set_ylabel("RMSE of the price")
    ax.set_title(f"free runs from the {len(origins)} test days where {horizon} days fit")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"\nwrote {args.out}")
