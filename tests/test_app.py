"""The application layer called as a library, without the command line: train from options,
resume, predict with one model, an ensemble, several series and future inputs, CSV output."""
import csv
import datetime
import io
from dataclasses import replace

import numpy as np
import pytest

from minirnn.app.engines import CUDA_MISSING, available_backends, choose_engine
from minirnn.app.prediction import (PredictOptions, SeriesPrediction, mean_and_spread,
                                    predict_ensemble, predict_model, prediction_rows, save_rows,
                                    series_table, write_rows)
from minirnn.app.training import (TrainOptions, check_out, prepare, range_hint, resumed_run,
                                  train)
from minirnn.data.series import DataError
from minirnn.diagnostics import residual_diagnostics
from minirnn.app.tasks import build_task, load_data
from minirnn.experiment import Experiment

QUICK = dict(epochs=2, hidden=6, bptt=20)
FAST = dict(length=300, **QUICK)  # a built-in data set's


def day(i: int) -> str:
    return (datetime.date(2024, 1, 1) + datetime.timedelta(days=i)).isoformat()


def prices_csv(path, n=120, start=0):
    """date, close (a random walk), volume; the dates one a day from ``start``."""
    rng = np.random.default_rng(0)
    close = 100 + np.cumsum(rng.standard_normal(n))
    volume = rng.uniform(1e5, 2e5, n)
    rows = enumerate(zip(close, volume, strict=True))
    path.write_text("date,close,volume\n" + "".join(f"{day(start + i)},{c:.3f},{v:.1f}\n"
                                                      for i, (c, v) in rows))
    return path


def panel_csv(path, n=90):
    """Two series in long format: date, symbol, close."""
    rows = [f"{day(t)},{name},{level * (1 + 0.1 * np.sin(t / 3 + k)):.4f}\n"
            for t in range(n) for k, (name, level) in enumerate((("A", 10.0), ("B", 50.0)))]
    path.write_text("date,symbol,close\n" + "".join(rows))
    return path


def test_options_set_by_the_user_are_the_given_ones_or_those_off_their_defaults():
    assert TrainOptions(model="elman", data="sine").set_by_user() == {"model", "data"}
    assert TrainOptions(hidden=16, lr=0.1).set_by_user() == {"lr"}  # 16 is the default
    assert TrainOptions(hidden=16, given=frozenset({"hidden"})).set_by_user() == {"hidden"}


def test_train_from_a_csv_file_and_resume_as_the_uninterrupted_run(tmp_path):
    """A run of 2 epochs resumed to 4 ends exactly where a run of 4 epochs does: history and
    scores bit for bit."""
    data = prices_csv(tmp_path / "prices.csv")
    options = TrainOptions(model="elman", data=str(data), target="close", inputs="volume",
                           epochs=2, hidden=6, bptt=20, patience=10)
    notes = []
    first = train(options, out=tmp_path / "m.npz", on_note=notes.append)
    assert first.summary["epochs_done"] == 2 and first.summary["resumed_from_epoch"] is None
    assert first.summary["config"]["input_size"] == 2  # volume and the last close
    assert Experiment.load(tmp_path / "m.npz").metrics == first.summary["metrics"]
    resumed = train(TrainOptions(epochs=4, given=frozenset({"epochs"})),
                    resume=tmp_path / "m.npz", on_note=notes.append)
    whole = train(replace(options, epochs=4))
    assert resumed.summary["resumed_from_epoch"] == 2 and resumed.summary["epochs_done"] == 4
    assert resumed.summary["history"] == whole.summary["history"]
    assert resumed.summary["metrics"] == whole.summary["metrics"]
    assert Experiment.load(tmp_path / "m.npz").run.epoch == 4


def test_an_option_of_another_model_is_refused():
    with pytest.raises(ValueError, match="--window does not apply to elman"):
        prepare(TrainOptions(model="elman", data="sine", window=3, **FAST))
    with pytest.raises(ValueError, match="--missing is for CSV files"):
        prepare(TrainOptions(model="elman", data="sine", missing="drop", **FAST))


def test_a_resumed_run_refuses_options_that_change_the_experiment(tmp_path):
    path = tmp_path / "m.npz"
    train(TrainOptions(model="jordan", data="sine", **FAST), out=path)
    with pytest.raises(ValueError, match=r"--hidden 8 \(it was trained with 6\)"):
        resumed_run(path, TrainOptions(hidden=8, epochs=4))
    with pytest.raises(ValueError, match="has already trained 2 of its 2 epochs"):
        resumed_run(path, TrainOptions())
    run = resumed_run(path, TrainOptions(epochs=3, lr=0.001))
    assert run.resumed_at == 2 and run.experiment.train.lr == 0.001


def test_an_existing_checkpoint_is_replaced_only_when_asked(tmp_path):
    path = tmp_path / "m.npz"
    path.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="is not a minirnn checkpoint"):
        check_out(path)
    check_out(path, overwrite=True)
    check_out(path, resume=path)  # continued where it is
    check_out(tmp_path / "new.npz")


def test_a_trending_series_gets_the_hint_to_model_its_changes():
    run = prepare(TrainOptions(model="elman", data="stock", length=2000, epochs=1))
    assert "(--difference)" in range_hint(run.task)
    run = prepare(TrainOptions(model="elman", data="stock", length=2000, epochs=1,
                               difference=True))
    assert range_hint(run.task) is None


def test_predict_one_model_with_a_free_run_past_the_end(tmp_path):
    """The rows: each observed row's target and one-step prediction, then the free run with
    the dates carried on; the arrays behind them are the task's own predictions."""
    data = prices_csv(tmp_path / "prices.csv")
    path = tmp_path / "m.npz"
    report = train(TrainOptions(model="elman", data=str(data), target="close", **QUICK),
                   out=path)
    prediction = predict_model(path, PredictOptions(steps=3))
    assert prediction.header == ["t", "date", "close", "close_predicted"]
    assert len(prediction.rows) == 123 and prediction.rows[-1][:3] == [122, day(122), None]
    shown = prediction.series[0]
    task = report.run.task
    assert np.array_equal(shown.one_step, task.to_levels(task.predict(report.run.net)))
    assert [row[3] for row in prediction.rows[:120]] == shown.one_step[:, 0].tolist()
    assert [row[3] for row in prediction.rows[120:]] == shown.ahead[:, 0].tolist()
    assert prediction.models == 1 and prediction.diagnostics is None


def test_residual_diagnostics_of_the_series_chosen_from_several(tmp_path):
    """A model of several series: diagnostics of the one ``series`` names, no other."""
    data = panel_csv(tmp_path / "panel.csv")
    path = tmp_path / "m.npz"
    train(TrainOptions(model="elman", data=str(data), target="close", series_id="symbol",
                       **QUICK), out=path)
    with pytest.raises(ValueError, match="take one series; the data have 2"):
        predict_model(path, PredictOptions(diagnostics=True))
    every = predict_model(path)
    assert every.header[0] == "symbol" and {row[0] for row in every.rows} == {"A", "B"}
    chosen = predict_model(path, PredictOptions(series="B", diagnostics=True))
    b = next(p for p in every.series if p.series.name == "B")
    assert [p.series.name for p in chosen.series] == ["B"]
    exp = Experiment.load(path)
    series = load_data(str(data), "close", None, series_id="symbol")
    task = build_task(series, "elman", scalers=exp.scalers)
    member = next(one for one in task.tasks if one.series.name == "B")
    expected = residual_diagnostics(member.series, b.one_step, member)
    assert chosen.diagnostics["autocorrelation"] == expected["autocorrelation"]
    assert chosen.diagnostics["n"] == expected["n"]


def test_an_ensemble_is_the_mean_and_spread_of_its_models(tmp_path):
    data = prices_csv(tmp_path / "prices.csv")
    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"m{seed}.npz")
        train(TrainOptions(model="elman", data=str(data), target="close", inputs="volume",
                           seed=seed, **QUICK), out=paths[-1])
    options = PredictOptions(steps=4)
    notes = []
    ensemble = predict_ensemble(paths, options, on_note=notes.append)
    singles = [predict_model(p, options).series[0] for p in paths]
    shown = ensemble.series[0]
    mean, spread = mean_and_spread([s.one_step for s in singles])
    assert np.array_equal(shown.one_step, mean) and np.array_equal(shown.spread, spread)
    assert np.array_equal(shown.ahead, np.mean([s.ahead for s in singles], axis=0))
    assert ensemble.header == ["t", "date", "close", "close_predicted", "close_spread"]
    assert ensemble.models == 2
    assert sum("held at their last value" in n for n in notes) == 1  # said once, not per model
    with pytest.raises(ValueError, match="one model's residuals"):
        predict_ensemble(paths, PredictOptions(diagnostics=True))


def test_future_inputs_drive_the_free_run_and_date_it(tmp_path):
    data = prices_csv(tmp_path / "prices.csv")
    path = tmp_path / "m.npz"
    train(TrainOptions(model="elman", data=str(data), target="close", inputs="volume",
                       **QUICK), out=path)
    future = tmp_path / "future.csv"
    future.write_text("date,volume\n" + "".join(f"{day(120 + k)},{1e5 * (1 + k)}\n"
                                                for k in range(3)))
    held = predict_model(path, PredictOptions(steps=3))
    known = predict_model(path, PredictOptions(steps=3, future_inputs=str(future)))
    assert [row[1] for row in known.rows[-3:]] == [day(120), day(121), day(122)]
    assert [row[1] for row in held.rows[-3:]] == [day(120), day(121), day(122)]
    assert not np.array_equal(known.series[0].ahead, held.series[0].ahead)
    stale = tmp_path / "stale.csv"
    stale.write_text("date,volume\n" + "".join(f"{day(k)},1.0\n" for k in range(3)))
    with pytest.raises(DataError, match="not after the data's last row"):
        predict_model(path, PredictOptions(steps=3, future_inputs=str(stale)))
    late = tmp_path / "late.csv"  # the days after the end are the steps ahead, none skipped
    late.write_text("date,volume\n" + "".join(f"{day(130 + k)},1.0\n" for k in range(3)))
    with pytest.raises(DataError, match=f"starts at {day(130)}, further after the data's last"):
        predict_model(path, PredictOptions(steps=3, future_inputs=str(late)))


def test_predict_options_refuse_what_they_cannot_do_alone():
    with pytest.raises(ValueError, match="give --steps"):
        PredictOptions(future_inputs="f.csv").check()
    with pytest.raises(ValueError, match="--length is the size of a built-in data set"):
        PredictOptions(length=100).check()
    with pytest.raises(ValueError, match="--missing applies to a CSV file"):
        PredictOptions(missing="drop", data="sine").check()
    PredictOptions(length=100, data="sine").check()


def test_rows_as_csv_read_back_as_the_same_numbers(tmp_path):
    values = [0.1, 1 / 3, 2.5e-17]
    header, rows = ["t", "y"], [[k, v] for k, v in enumerate(values)] + [[3, None]]
    text = io.StringIO()
    write_rows(text, header, rows)
    assert text.getvalue().endswith("3,\n") and "\r" not in text.getvalue()
    save_rows(tmp_path / "p.csv", header, rows)
    read = list(csv.reader(open(tmp_path / "p.csv")))
    assert read[0] == header and [float(r[1]) for r in read[1:4]] == values
    assert read[4] == ["3", ""]


def test_rows_of_several_series_carry_their_names_first(tmp_path):
    series = load_data(str(panel_csv(tmp_path / "panel.csv", n=30)), "close", None,
                       series_id="symbol")
    predictions = [SeriesPrediction(m, m.targets * 2) for m in series.members]
    header, rows = series_table(predictions, "symbol")
    assert header == ["symbol", "t", "date", "close", "close_predicted"]
    assert len(rows) == 60 and rows[30][:2] == ["B", 0]
    assert rows[30][4] == 2 * rows[30][3]
    alone, _ = prediction_rows(series.members[0], predictions[0].one_step, None)
    assert header[1:] == alone


def test_the_engine_is_the_one_asked_for_or_the_models_where_this_machine_has_it():
    notes = []
    assert choose_engine("numpy") == "numpy"
    assert choose_engine(None, "numpy", notes.append) == "numpy" and not notes
    if "cuda" not in available_backends():
        assert choose_engine(None, "cuda", notes.append) == "cpu"
        assert "which this machine lacks" in notes[0]
        with pytest.raises(ValueError, match="needs an NVIDIA GPU"):
            choose_engine("cuda")
        assert CUDA_MISSING.startswith("backend 'cuda'")
