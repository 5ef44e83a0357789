"""The README's results table: every model on two built-in series, with the defaults of
`minirnn train`, against the naive forecast (one-step, 5-step and free run on the test rows);
then, with statsmodels installed, `minirnn bench --forecast`: each of statsmodels' data sets
with its recommended command, and the classical reference (AR / ARIMA / SARIMA).

    python scripts/readme-results.py     # prints the Markdown table (five minutes or so)
"""
import json
import subprocess
import sys

MODELS = [("sliding", []), ("narx", ["--mode", "closed"]), ("jordan", []), ("memory", []),
          ("elman", []), ("statespace", []), ("multilayer", [])]
DATA = ["sine", "narendra"]


def train(model, extra, data):
    run = subprocess.run([sys.executable, "-m", "minirnn.cli", "train", model, "--data", data,
                          *extra, "--json"], capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def cell(model, naive):
    return f"{model:.3f} ({naive:.3f})"


print("| data | model | one-step RMSE (naive) | 5-step RMSE (naive) | free run RMSE (naive) |")
print("| --- | --- | ---: | ---: | ---: |")
for data in DATA:
    for model, extra in MODELS:
        report = train(model, extra, data)
        test = report["metrics"]["test"]
        ahead = report.get("further_ahead") or {}
        one_step = "simulation: see free run" if model == "narx" else \
            cell(test["model"]["rmse"], test["naive"]["rmse"])
        k_step, free = ahead.get("k_step"), ahead.get("free_run")
        print(f"| {data} | {model} | {one_step} | "
              f"{cell(k_step['model'], k_step['naive']) if k_step else '–'} | "
              f"{cell(free['model'], free['naive']) if free else '–'} |")


def forecast_rows():
    """bench --forecast's rows: each data set's command, then its classical reference."""
    try:
        from minirnn.forecast_bench import forecast_table
        import statsmodels  # noqa: F401
    except ImportError:
        return
    for row in forecast_table():
        cells = {who: " | ".join(cell(row[f"{who}_{what}"], row[f"naive_{what}"])
                                 for what in ("one_step", "k_step", "free_run"))
                 for who in ("minirnn", "reference")}
        command = row["command"].replace("minirnn train ", "").replace(
            f"--data {row['data']}.csv ", "")
        print(f"| {row['data']} | {command} | {cells['minirnn']} |")
        print(f"| {row['data']} | {row['reference']} (classical reference) | "
              f"{cells['reference']} |")


forecast_rows()
