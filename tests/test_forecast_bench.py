"""``minirnn bench --forecast``: minirnn's recommended command against the classical reference
on statsmodels' data sets, and one check that the comparison is fair."""
import json
import math
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from minirnn.cli.main import main


def invoke(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.slow
def test_forecast_bench_compares_minirnn_with_the_classical_reference():
    pytest.importorskip("statsmodels")
    result = invoke("bench", "--forecast", "--data", "nile", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["data"] for r in rows] == ["nile"]
    row = rows[0]
    assert row["command"].startswith("minirnn train ") and "--data nile.csv" in row["command"]
    assert row["rows"] == 100 and row["train_rows"] == 70 and row["test_first"] == 85
    for who in ("minirnn", "reference"):
        for what in ("one_step", "k_step", "free_run"):
            value = row[f"{who}_{what}"]
            assert math.isfinite(value) and value > 0, (who, what, value)

    # the reference's one-step RMSE, recomputed here: the same model fitted on the same
    # training rows, then run over the whole series with those parameters
    from statsmodels.datasets import nile
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    flow = nile.load_pandas().data["volume"].to_numpy(float)
    order, seasonal = tuple(row["order"]), tuple(row["seasonal_order"])
    trend = "c" if order[1] + seasonal[1] == 0 else "n"
    fitted = SARIMAX(flow[:row["train_rows"]], order=order, seasonal_order=seasonal,
                     trend=trend).fit(disp=False)
    whole = SARIMAX(flow, order=order, seasonal_order=seasonal,
                    trend=trend).filter(fitted.params)
    first = row["test_first"]
    expected = np.sqrt(np.mean((whole.fittedvalues[first:] - flow[first:]) ** 2))
    assert row["reference_one_step"] == pytest.approx(expected, rel=1e-6)


def test_forecast_bench_without_statsmodels_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "statsmodels", None)  # import statsmodels fails
    result = invoke("bench", "--forecast", "--data", "nile")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == \
        "Error: --forecast needs statsmodels: pip install 'minirnn[forecast]'"


@pytest.mark.parametrize("args, message", [
    (["--data", "nile"], "--data is an option of --forecast"),
    (["--forecast", "--data", "airline"], "--data airline: not one of"),
    (["--forecast", "--size", "1,2,3"], "--size does not apply to --forecast"),
])
def test_forecast_bench_options_are_checked(args, message):
    result = invoke("bench", *args)
    assert result.exit_code == 1 and message in result.output
