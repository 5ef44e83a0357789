"""Seasons and transforms through the command: the seasonal period read from a monthly date
column, the seasonal naive forecast beside the naive one in the report, a Box-Cox model kept
in its checkpoint so that ``predict`` and ``--resume`` give exactly what training gave."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from minirnn.cli.main import main
from minirnn.data.transforms import fit_boxcox_lambda
from minirnn.experiment import Experiment

FAST = ["--epochs", "2", "--hidden", "6", "--bptt", "24", "--batch", "2"]
P = 12


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def monthly_csv(path, rows=120):
    """A monthly file of passengers whose seasonal swings grow with the level; returns the
    path and the values as written (read back, they are these numbers)."""
    rng = np.random.default_rng(3)
    t = np.arange(rows)
    y = np.exp(5 + 0.01 * t + 0.2 * np.sin(2 * np.pi * t / P) + 0.02 * rng.standard_normal(rows))
    y = np.round(y, 3)
    path.write_text("month,passengers\n" + "".join(
        f"{2000 + i // 12}-{i % 12 + 1:02d},{y[i]}\n" for i in t))
    return path, y


def train_json(*args):
    result = invoke("train", "elman", *FAST, *args, "--json")  # args may override FAST
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result


def test_a_monthly_box_cox_model_is_scored_and_predicts_in_passengers(tmp_path):
    data, y = monthly_csv(tmp_path / "passengers.csv")
    model = tmp_path / "m.npz"
    summary, result = train_json("--data", data, "--target", "passengers", "--transform",
                                 "boxcox", "--seasonal-difference", "--out", model)
    assert "the dates step by the month: seasonal period 12" in " ".join(result.stderr.split())
    assert summary["seasonal_period"] == P
    exp = Experiment.load(model)
    assert (exp.data.seasonal_period, exp.data.seasonal_difference, exp.data.transform) == \
        (P, True, "boxcox")
    train_end = exp.data.train_rows
    assert exp.scalers["targets"]["lambda"][0] == pytest.approx(
        fit_boxcox_lambda(y[:train_end]), abs=1e-12)  # fitted on the training rows alone
    test = np.arange(int(round(len(y) * 0.85)), len(y))
    metrics = summary["metrics"]["test"]
    assert metrics["seasonal_naive"]["rmse"] == pytest.approx(
        np.sqrt(np.mean((y[test] - y[test - P]) ** 2)))
    # predict rebuilds the task from the checkpoint: its rows score exactly as training did
    result = invoke("predict", model, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    predicted = np.array([np.nan if r[3] is None else r[3] for r in rows])
    assert np.isnan(predicted[:P]).all()  # no season before them to undo the difference
    assert metrics["model"]["rmse"] == pytest.approx(
        np.sqrt(np.mean((predicted[test] - y[test]) ** 2)), rel=1e-12)
    assert np.all(predicted[P:] > 0)  # passengers, not scaled seasonal changes


def test_a_resumed_seasonal_box_cox_run_ends_as_the_uninterrupted_one(tmp_path):
    data, _ = monthly_csv(tmp_path / "passengers.csv")
    options = ["--data", data, "--target", "passengers", "--transform", "boxcox",
               "--seasonal-difference", "--difference"]
    whole, _ = train_json(*options, "--epochs", "4", "--out", tmp_path / "whole.npz")
    train_json(*options, "--out", tmp_path / "half.npz")  # FAST: 2 epochs
    result = invoke("train", "--resume", tmp_path / "half.npz", "--epochs", "4", "--json")
    assert result.exit_code == 0, result.output
    resumed = json.loads(result.stdout)
    assert resumed["history"] == whole["history"] and resumed["metrics"] == whole["metrics"]
    refused = invoke("train", "--resume", tmp_path / "half.npz", "--transform", "log",
                     "--epochs", "5")
    assert refused.exit_code == 1 and "--transform log (it was trained with boxcox)" in \
        refused.output


def test_a_period_of_0_turns_the_season_off_and_a_transform_refuses_a_zero(tmp_path):
    data, y = monthly_csv(tmp_path / "passengers.csv")
    summary, _ = train_json("--data", data, "--target", "passengers", "--seasonal-period", "0")
    assert summary["seasonal_period"] == 0
    assert "seasonal_naive" not in summary["metrics"]["test"]
    zero = tmp_path / "zero.csv"
    zero.write_text(data.read_text().replace(f",{y[40]}\n", ",0\n", 1))
    result = invoke("train", "elman", "--data", zero, "--target", "passengers", "--transform",
                    "log")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: zero: the log transform needs positive values; column 'passengers' has 0 at "
        "row 40")


def test_the_readme_s_own_csv_command_runs_and_says_what_the_readme_says(tmp_path):
    """README's "Your own CSV": its command, run as written (its checkpoint put aside), beats
    both baselines, whose test RMSEs are the ones the README quotes."""
    import os
    import shlex
    from pathlib import Path

    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    section = readme[readme.index("## Your own CSV"):]
    line = next(li for li in section.splitlines() if li.startswith(".venv/bin/minirnn train"))
    args = shlex.split(line)[1:]
    args[args.index("--out") + 1] = str(tmp_path / "passengers.npz")
    here = os.getcwd()
    os.chdir(root)  # the data's path is the repository's
    try:
        result = invoke(*args, "--json")
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    test = json.loads(result.stdout)["metrics"]["test"]
    said = " ".join(section.split())
    assert f"{test['naive']['rmse']:.4g} (naive)" in said
    assert f"{test['seasonal_naive']['rmse']:.4g} (seasonal naive)" in said
    assert test["model"]["rmse"] < min(test["naive"]["rmse"], test["seasonal_naive"]["rmse"])
