"""Seasons and transforms in the data layer: the seasonal naive baseline, seasonal
differencing, the log and Box-Cox transforms and their λ, each number recomputed here from
the rows themselves; the seasonal period read from the dates; a gap in the dates."""
import numpy as np
import pytest

from minirnn.data.dates import infer_period
from minirnn.data.series import DataError, Series, load_csv
from minirnn.data.task import make_task
from minirnn.data.transforms import (TargetSteps, boxcox, boxcox_llf, fit_boxcox_lambda,
                                     inverse_boxcox)

P = 12


def monthly(rows=120, seed=0):
    """A positive monthly series whose seasonal swings grow with its level (like airline
    passengers): y_t = exp(5 + 0.01 t + s_{t mod 12} + noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    season = 0.2 * np.sin(2 * np.pi * t / P)
    y = np.exp(5 + 0.01 * t + season + 0.02 * rng.standard_normal(rows))
    return Series(np.zeros((rows, 0)), y[:, None], [], ["y"], "monthly")


# --- the seasonal naive baseline ------------------------------------------------------------
def test_the_seasonal_naive_forecast_is_the_value_a_season_before():
    series = monthly()
    y = series.targets[:, 0]
    task = make_task(series, autoregressive=True, period=P)
    report = task.score(task.y)  # the model's part does not matter here
    for split, rows in task.splits().items():
        t = np.arange(max(rows.start, P), rows.stop)  # rows with a value a season before
        assert report[split]["seasonal_naive"]["rmse"] == pytest.approx(
            np.sqrt(np.mean((y[t] - y[t - P]) ** 2)))
        assert report[split]["seasonal_naive"]["mae"] == pytest.approx(
            np.mean(np.abs(y[t] - y[t - P])))
        # the naive forecast is scored on the same rows
        assert report[split]["naive"]["rmse"] == pytest.approx(
            np.sqrt(np.mean((y[t] - y[t - 1]) ** 2)))
    assert "seasonal_naive" not in make_task(series, autoregressive=True).score(task.y)["test"]


def test_further_ahead_the_seasonal_naive_forecast_repeats_the_last_season():
    from minirnn.forecast import multi_step_errors
    from minirnn.models import Elman

    series = monthly()
    y = series.targets[:, 0]
    task = make_task(series, autoregressive=True, period=P)
    model = Elman(input_size=1, hidden_size=3, output_size=1, seed=0, backend="numpy",
                  dtype="float64")
    report = multi_step_errors(model, task, k=5)
    rows = task.splits()["test"]
    origins = np.arange(rows.start, rows.stop - 5 + 1)
    t = origins + 4  # the 5th row ahead: the same month a year before the origin's season
    assert report["k_step"]["seasonal_naive"] == pytest.approx(
        np.sqrt(np.mean((y[t] - y[t - P]) ** 2)))
    t = np.arange(rows.start, rows.stop)  # a free run over the split from its first row
    last_season = y[rows.start - P:rows.start]
    guess = last_season[(t - rows.start) % P]
    assert report["free_run"]["seasonal_naive"] == pytest.approx(
        np.sqrt(np.mean((y[t] - guess) ** 2)))


# --- seasonal differencing ------------------------------------------------------------------
def test_seasonal_differences_are_those_of_the_rows_and_go_back_exactly():
    series = monthly()
    y = series.targets[:, 0]
    task = make_task(series, autoregressive=True, period=P, seasonal_difference=True)
    w = task.target_scaler.inverse(task.y)[:, 0]
    np.testing.assert_allclose(w[P:], y[P:] - y[:-P], rtol=1e-12)
    assert np.all(task.y[:P] == 0)  # no season before: the scaled mean
    levels = task.to_levels(task.y)  # a perfect model's one-step predictions
    assert np.isnan(levels[:P]).all()
    np.testing.assert_allclose(levels[P:, 0], y[P:], rtol=1e-12)
    # a free run of no seasonal change at all is the seasonal naive forecast
    no_change = np.full((P + 3, 1), task.target_scaler.transform(np.zeros(1))[0])
    ahead = task.forecast_levels(no_change)[:, 0]
    np.testing.assert_allclose(ahead, np.concatenate([y[-P:], y[-P:-P + 3]]), rtol=1e-12)


def test_seasonal_and_plain_differences_combine():
    """w_t = (y_t - y_{t-1}) - (y_{t-P} - y_{t-P-1}), undone one step ahead from the rows."""
    series = monthly()
    y = series.targets[:, 0]
    task = make_task(series, autoregressive=True, period=P, difference=True,
                     seasonal_difference=True)
    w = task.target_scaler.inverse(task.y)[:, 0]
    t = np.arange(P + 1, len(y))
    np.testing.assert_allclose(w[t], y[t] - y[t - 1] - y[t - P] + y[t - P - 1], rtol=1e-10)
    np.testing.assert_allclose(task.to_levels(task.y)[P + 1:, 0], y[P + 1:], rtol=1e-12)
    # a free run undone by w_t + y_{t-1} + y_{t-P} - y_{t-P-1}, its own values once past
    # the end: two steps of a scaled 0.5
    step = np.full((2, 1), 0.5)
    ahead = task.forecast_levels(step)[:, 0]
    w_ahead = task.target_scaler.inverse(step)[:, 0]
    first = w_ahead[0] + y[-1] + y[-P] - y[-P - 1]
    second = w_ahead[1] + first + y[-P + 1] - y[-P]
    np.testing.assert_allclose(ahead, [first, second], rtol=1e-12)


def test_seasonal_differencing_needs_a_period_and_the_rows_for_it():
    with pytest.raises(DataError, match="seasonal differencing needs a seasonal period"):
        make_task(monthly(), autoregressive=True, seasonal_difference=True)
    with pytest.raises(DataError, match="too few for a seasonal period of 40 rows"):
        make_task(monthly(60), autoregressive=True, period=40)


# --- transforms -----------------------------------------------------------------------------
def test_box_cox_and_its_inverse_round_trip():
    y = np.array([[0.5, 3.0], [1.0, 7.0], [20.0, 0.01]])
    for lam in (0.0, 0.5, -1.0, 2.0):
        z = boxcox(y, lam)
        expected = np.log(y) if lam == 0 else (y ** lam - 1) / lam
        np.testing.assert_allclose(z, expected, rtol=1e-12)
        np.testing.assert_allclose(inverse_boxcox(z, lam), y, rtol=1e-12)
    both = boxcox(y, np.array([0.0, 0.5]))  # one λ per column
    np.testing.assert_allclose(both, np.column_stack([np.log(y[:, 0]),
                                                      (y[:, 1] ** 0.5 - 1) / 0.5]))


def test_the_box_cox_lambda_maximises_the_likelihood():
    """Rows made normal by λ = 0.3: ℓ(λ) = -(n/2) log σ²(λ) + (λ - 1) Σ log y is highest at
    the fitted λ, which lies near 0.3."""
    rng = np.random.default_rng(1)
    y = (1 + 0.3 * (10 + rng.standard_normal(2000))) ** (1 / 0.3)
    lam = fit_boxcox_lambda(y)

    def llf(lam):
        z = (y ** lam - 1) / lam
        return -len(y) / 2 * np.log(np.var(z)) + (lam - 1) * np.sum(np.log(y))

    assert boxcox_llf(y, 0.7) == pytest.approx(llf(0.7))
    assert abs(lam - 0.3) < 0.1
    assert llf(lam) >= max(llf(lam - 1e-3), llf(lam + 1e-3))
    assert llf(lam) >= max(llf(v) for v in np.linspace(-2, 2, 401) if v != 0)
    assert fit_boxcox_lambda(np.full(5, 3.0)) == 1.0  # a constant: every λ alike


@pytest.mark.parametrize("transform", ["log", "boxcox"])
def test_a_transformed_task_predicts_in_the_data_s_units(transform):
    series = monthly()
    y = series.targets
    task = make_task(series, autoregressive=True, transform=transform, period=P,
                     seasonal_difference=True)
    lam = task.steps.lambdas
    if transform == "log":
        assert lam.tolist() == [0.0]
    else:  # fitted on the training rows alone
        assert lam[0] == pytest.approx(fit_boxcox_lambda(y[:task.train_end, 0]))
    v = np.log(y) if lam[0] == 0 else (y ** lam - 1) / lam
    np.testing.assert_allclose(task.target_scaler.inverse(task.y)[P:], v[P:] - v[:-P],
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(task.to_levels(task.y)[P:], y[P:], rtol=1e-10)
    assert task.score(task.y)["test"]["model"]["rmse"] == pytest.approx(0, abs=1e-8)
    again = make_task(series, True, transform=transform, period=P, seasonal_difference=True,
                      input_scaler=task.input_scaler, target_scaler=task.target_scaler,
                      lambdas=TargetSteps.fit(y, task.train_end, transform).lambdas)
    np.testing.assert_array_equal(again.y, task.y)


def test_a_transform_refuses_values_that_are_not_positive():
    series = monthly()
    series.targets[30, 0] = 0.0
    with pytest.raises(DataError) as error:
        make_task(series, autoregressive=True, transform="log")
    assert str(error.value) == ("monthly: the log transform needs positive values; column 'y' "
                                "has 0 at row 30")


# --- dates ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dates,period", [
    (["2024-01", "2024-02", "2024-03", "2024-04"], 12),
    (["2023-01-01", "2023-04-01", "2023-07-01", "2023-10-01"], 4),
    (["2024-01-07", "2024-01-14", "2024-01-21"], 52),
    (["2024-01-06", "2024-01-07", "2024-01-08"], 7),  # a weekend among them: every day
    (["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 12:00"], 24),
    (["2024-01-04", "2024-01-05", "2024-01-08"], 0),  # business days
    (["2000-01-01", "2001-01-01", "2002-01-01"], 0),  # years: no season within
    (["2024-01-01", "2024-01-03", "2024-01-04"], 0),  # uneven
    (None, 0),
])
def test_the_seasonal_period_of_evenly_spaced_dates(dates, period):
    assert infer_period(dates)[0] == period


def test_a_gap_in_the_dates_is_an_error_or_interpolated(tmp_path):
    """Six months deleted from a monthly file: an error naming the dates on either side, or
    with interpolation the rows put back, their values on the line between."""
    dates = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(36)]
    kept = [i for i in range(36) if not 14 <= i < 20]
    path = tmp_path / "monthly.csv"
    path.write_text("month,y\n" + "".join(f"{dates[i]},{2 * i}\n" for i in kept))
    with pytest.raises(DataError) as error:
        load_csv(path, "y")
    assert str(error.value) == ("monthly.csv, lines 15-16: 6 rows missing between month "
                                "2001-02 and 2001-09 (the rows step by 1 month); add the "
                                "rows, or interpolate them")
    series = load_csv(path, "y", missing="interpolate")
    assert series.dates == dates
    np.testing.assert_allclose(series.targets[:, 0], 2 * np.arange(36))
    assert series.filled[:, 0].tolist() == [14 <= i < 20 for i in range(36)]
    assert len(load_csv(path, "y", missing="drop")) == 30  # rows left out, as asked


def test_seq2seq_windows_undo_the_transform_and_repeat_the_last_season():
    """Windows of 24 rows → 6 values: a perfect forecast (the transformed truth) scores 0 in
    the data's units; the seasonal naive forecast of step j from origin o is y_{o+j-P}."""
    from minirnn.data.task import WindowTask

    series = monthly()
    y = series.targets[:, 0]
    task = WindowTask(make_task(series, True, transform="log", period=P), 24, 6)
    perfect = {split: task.windows(task.origins(split))[1] for split in ("train", "test")}
    report = task.score(perfect)
    origins = task.origins("test")
    assert origins[0] >= P and report["test"]["model"]["rmse"] == pytest.approx(0, abs=1e-9)
    truth = np.stack([y[o:o + 6] for o in origins])
    guess = np.stack([y[o - P:o - P + 6] for o in origins])
    assert report["test"]["seasonal_naive"]["rmse"] == pytest.approx(
        np.sqrt(np.mean((truth - guess) ** 2)))


def test_a_closed_loop_narx_of_seasonal_changes_is_scored_as_its_simulation():
    """A closed-loop NARX simulates the seasonal changes ŵ_t from the first row on: its
    levels are the first year's true values, then ŷ_t = ŵ_t + ŷ_{t-P}, its own all the way
    (not each true value a year before plus a simulated change)."""
    from minirnn.models import NARX

    series = monthly()
    y = series.targets[:, 0]
    task = make_task(series, autoregressive=False, period=P, seasonal_difference=True)
    model = NARX(input_size=1, hidden_size=5, output_size=1, mode="closed", seed=2,
                 backend="numpy")
    changes = task.target_scaler.inverse(model(task.x[None]).data[0])[:, 0]
    expected = list(y[:P])
    for t in range(P, len(y)):
        expected.append(changes[t] + expected[t - P])
    levels = task.to_levels(task.predict(model))[:, 0]
    np.testing.assert_allclose(levels[P:], expected[P:], rtol=1e-9)
