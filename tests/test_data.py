"""The data layer on its own: where a series comes from, how a task is made of it (the split
in time, the scaling fitted on the training rows, the model's inputs), the streams and chunks
of truncated BPTT, the naive baseline and the way back to the data's units."""
import numpy as np
import pytest

from minirnn.data.series import DataError, Series, sine
from minirnn.data.sources import BUILTIN, load_series
from minirnn.data.task import Scaler, make_task, metrics, streams


def ramp(rows=100):
    """y_t = t with one input column u_t = 2t: every number below can be worked out by hand."""
    t = np.arange(rows, dtype=np.float64)
    return Series((2 * t)[:, None], t[:, None], ["u"], ["y"], "ramp")


def test_the_built_in_sources_and_an_unknown_one():
    for name in BUILTIN:
        series = load_series(name, steps=120, seed=1)
        assert len(series) > 0 and series.name
    assert np.array_equal(load_series("sine", steps=50).targets, sine(50).targets)
    with pytest.raises(DataError, match="unknown data source 'nothing'"):
        load_series("nothing")
    with pytest.raises(DataError, match="data file not found: rows.csv"):
        load_series("rows.csv")  # before asking for a target


def test_a_csv_file_needs_a_target(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match="--target is required"):
        load_series(str(path))


def test_the_split_is_in_time_and_the_scalers_see_the_training_rows_only():
    task = make_task(ramp(100), autoregressive=True)
    assert (task.train_end, task.val_end) == (70, 85)
    assert task.target_scaler.mean[0] == pytest.approx(np.arange(70).mean())
    train = task.y[:task.train_end]
    assert train.mean() == pytest.approx(0, abs=1e-12) and train.std() == pytest.approx(1)
    assert task.y[task.val_end:].min() > train.max()  # the test rows lie beyond: not refitted


def test_the_model_reads_the_inputs_and_the_last_target():
    task = make_task(ramp(20), autoregressive=True, split=(0.5, 0.25))
    x = task.x
    assert x.shape == (20, 2)  # [u_t, y_{t-1}]
    np.testing.assert_allclose(x[:, 0], task.u[:, 0])
    np.testing.assert_allclose(x[1:, 1], task.y[:-1, 0])
    assert x[0, 1] == 0  # nothing known before the first row
    narx = make_task(ramp(20), autoregressive=False, split=(0.5, 0.25))
    assert narx.x.shape == (20, 1)  # NARX keeps its own past outputs


def test_streams_and_chunks_of_truncated_bptt():
    values = np.arange(22, dtype=np.float64)[:, None]
    s = streams(values, 4)  # 4 contiguous streams of 5 rows; the last 2 rows do not fit
    assert s.shape == (4, 5, 1)
    np.testing.assert_array_equal(s[1, :, 0], [5, 6, 7, 8, 9])
    with pytest.raises(DataError, match="cannot make 30 streams"):
        streams(values, 30)
    task = make_task(ramp(100), autoregressive=True)
    chunks = task.training_chunks(batch=7, bptt=4, dtype="float32", epoch=0)
    assert [x.shape for x, _ in chunks] == [(7, 4, 2), (7, 4, 2), (7, 2, 2)]  # 70 rows: 7 x 10
    assert all(x.dtype == np.float32 and y.dtype == np.float32 for x, y in chunks)
    # chunk k of stream b continues where chunk k-1 of the same stream stopped
    np.testing.assert_array_equal(chunks[1][1][2, 0], task.y[2 * 10 + 4].astype(np.float32))


def test_scores_in_the_data_units_against_the_naive_forecast():
    task = make_task(ramp(100), autoregressive=True)
    perfect = task.y  # predicting every scaled target exactly
    report = task.score(perfect)
    for split in ("train", "validation", "test"):
        assert report[split]["model"]["rmse"] == pytest.approx(0, abs=1e-9)
    # y_t - y_{t-1} = 1 on a ramp; the first row has no last value and is not scored
    assert report["train"]["naive"]["rmse"] == pytest.approx(1)
    assert report["validation"]["naive"]["rmse"] == pytest.approx(1)
    assert report["test"]["naive"]["rmse"] == pytest.approx(1)
    assert metrics(np.array([1.0, 3.0]), np.array([0.0, 0.0])) == {"rmse": pytest.approx(
        np.sqrt(5)), "mae": 2.0}


def test_differences_go_back_to_levels():
    task = make_task(ramp(100), autoregressive=True, difference=True)
    np.testing.assert_allclose(task.target_scaler.inverse(task.y)[1:, 0], 1)  # Δy_t = 1
    np.testing.assert_allclose(task.to_levels(task.y)[1:], task.series.targets[1:])
    ahead = np.full((3, 1), task.y[5, 0])  # three more steps of +1 after the last row
    np.testing.assert_allclose(task.forecast_levels(ahead)[:, 0], [100, 101, 102])


def test_a_scaler_round_trips_and_leaves_a_constant_column_alone():
    values = np.column_stack([np.linspace(-3, 5, 11), np.full(11, 4.0)])
    scaler = Scaler.fit(values)
    assert scaler.scale[1] == 1.0  # a constant column is not divided by zero
    np.testing.assert_allclose(scaler.inverse(scaler.transform(values)), values)
    again = Scaler.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(again.mean, scaler.mean)


def test_too_few_rows_for_a_split():
    with pytest.raises(DataError, match="has 9 rows: too few"):
        make_task(ramp(9), autoregressive=True)


@pytest.mark.parametrize("dates,expected", [
    (["2024-01-30", "2024-01-31", "2024-02-01"], ["2024-02-02", "2024-02-03"]),  # days
    (["2024-01-07", "2024-01-14"], ["2024-01-21", "2024-01-28"]),                # weeks
    (["2024-01-15", "2024-02-15", "2024-03-15"], ["2024-04-15", "2024-05-15"]),  # months
    (["2023-10-01", "2024-01-01", "2024-04-01"], ["2024-07-01", "2024-10-01"]),  # quarters
    (["2000-01-01", "2001-01-01"], ["2002-01-01", "2003-01-01"]),                # years
    (["2024-01", "2024-02"], ["2024-03", "2024-04"]),
    (["01/10/2023", "01/11/2023"], ["01/12/2023", "01/01/2024"]),  # day first, monthly
    (["2024-01-01 10:00", "2024-01-01 11:00"], ["2024-01-01 12:00", "2024-01-01 13:00"]),
    (["2024-01-01", "2024-01-03", "2024-01-04"], None),  # uneven: no guess
    (["2023-12-21", "2023-12-22", "2023-12-25"], ["2023-12-26", "2023-12-27"]),  # business days
    (["2023-12-28", "2023-12-29", "2024-01-01"], ["2024-01-02", "2024-01-03"]),
    (["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-10"], None),  # a weekday missing
])
def test_the_dates_after_an_evenly_spaced_column(dates, expected):
    from minirnn.data.dates import next_dates

    assert next_dates(dates, 2) == expected


def test_lagged_inputs_are_the_last_step_s():
    """--lag-inputs: row t reads u_{t-1} (0 first, the scaled mean), for forecasting with
    inputs known only once their step is over; the input of the step after the end is kept."""
    now = make_task(ramp(20), autoregressive=True, split=(0.5, 0.25))
    late = make_task(ramp(20), autoregressive=True, split=(0.5, 0.25), lag_inputs=True)
    np.testing.assert_array_equal(late.u[1:], now.u[:-1])
    assert late.u[0, 0] == 0 and late.next_input[0, 0] == now.u[-1, 0]
    np.testing.assert_array_equal(late.x[:, 1], now.x[:, 1])  # the last target: unchanged
