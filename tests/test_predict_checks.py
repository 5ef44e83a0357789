"""What ``predict`` guards and shows: an ensemble of models that predict in different ways is
refused; residual diagnostics of data the model never saw look at every row and say so; the
figure marks where the validation and test rows begin and puts the lags on whole numbers."""
import numpy as np
import pytest

from minirnn.app.prediction import PredictOptions, predict_ensemble, predict_model
from minirnn.app.training import TrainOptions, train
from minirnn.data.series import DataError

QUICK = dict(epochs=2, hidden=6, bptt=20)


def plant_csv(path, n=160, seed=4):
    """u, y with y_t = 0.7 y_{t-1} + u_t + noise: a plant driven by a known input."""
    rng = np.random.default_rng(seed)
    u = np.sin(0.2 * np.arange(n)) + 0.3 * rng.standard_normal(n)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = 0.7 * y[t - 1] + u[t] + 0.05 * rng.standard_normal()
    path.write_text("u,y\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in zip(u, y, strict=True)))
    return path


def trained(tmp_path, name, data, **options):
    path = tmp_path / f"{name}.npz"
    train(TrainOptions(data=str(data), target="y", inputs="u", **QUICK, **options), out=path)
    return path


def test_an_ensemble_of_a_one_step_model_and_a_simulation_is_refused(tmp_path):
    data = plant_csv(tmp_path / "plant.csv")
    elman = trained(tmp_path, "elman", data, model="elman")
    closed = trained(tmp_path, "closed", data, model="narx", mode="closed")
    with pytest.raises(DataError) as error:
        predict_ensemble([elman, closed])
    assert str(error.value) == (f"{closed} predicts by closed-loop simulation, {elman} one step "
                                f"ahead: an ensemble averages predictions of one kind; predict "
                                f"with each apart")
    assert "\n" not in str(error.value)


def test_diagnostics_of_data_the_model_never_saw_look_at_every_row(tmp_path):
    model = trained(tmp_path, "m", plant_csv(tmp_path / "plant.csv"), model="elman")
    own = predict_model(model, PredictOptions(diagnostics=True))
    assert own.diagnostics["rows"] == "test" and own.diagnostics["n"] == 160 - 136
    other = plant_csv(tmp_path / "other.csv", n=100, seed=9)
    notes = []
    new = predict_model(model, PredictOptions(data=str(other), diagnostics=True),
                        on_note=notes.append)
    assert new.diagnostics["rows"] == "all" and new.diagnostics["n"] == 100 - 1  # but the first
    assert any("the diagnostics look at every row" in note for note in notes)
    y = new.series[0].series.targets[1:, 0]
    e = y - new.series[0].one_step[1:, 0]  # the residuals of every row, recomputed
    e = e - e.mean()
    assert new.diagnostics["autocorrelation"][0] == pytest.approx(
        (e[1:] @ e[:-1]) / (e @ e), rel=1e-9)


def test_the_figure_marks_the_splits_and_puts_the_lags_on_whole_numbers(tmp_path):
    from minirnn.cli.present import prediction_figure

    model = trained(tmp_path, "m", plant_csv(tmp_path / "plant.csv"), model="elman")
    shown = predict_model(model, PredictOptions(diagnostics=True, one_series=True))
    one = shown.series[0]
    assert one.splits == {"validation": 112, "test": 136}  # 70% and 85% of 160 rows
    fig = prediction_figure(one.series, one.one_step, one.ahead, shown.diagnostics,
                            splits=one.splits)
    top = fig.axes[0]
    edges = [line.get_xdata()[0] for line in top.get_lines() if line.get_linestyle() == "--"]
    assert edges == [112, 136]
    assert [t.get_text().strip() for t in top.texts] == ["validation", "test"]
    few = {"lags": [1, 2], "autocorrelation": [0.3, -0.1], "band": 0.4, "cross_lags": [],
           "cross_correlation": {}}  # two lags: matplotlib alone would tick 1.25, 1.5, …
    for report in (shown.diagnostics, few):
        acf = prediction_figure(one.series, one.one_step, None, report).axes[1]
        acf.figure.canvas.draw()
        ticks = acf.get_xticks()
        assert len(ticks) > 1 and all(float(t).is_integer() for t in ticks)
    other = predict_model(model, PredictOptions(data=str(plant_csv(tmp_path / "o.csv", seed=2))))
    assert other.series[0].splits is None  # rows it was not trained on: no split to mark


def test_a_text_model_of_another_vocabulary_is_refused_in_one_line(tmp_path, monkeypatch):
    """A checkpoint of the built-in corpus as it was (another vocabulary: the corpus's filler
    phrases changed since) cannot read the corpus as it is: one line that says so, not a
    shape error from inside the model."""
    from minirnn.data import text

    path = tmp_path / "text.npz"
    train(TrainOptions(model="elman", data="text", length=300, epochs=1, hidden=4), out=path)
    monkeypatch.setitem(text.PHRASES, 4, [*text.PHRASES[4][:-1], "on a new barbecue"])
    with pytest.raises(ValueError, match=r"vocabulary of \d+ words and text has \d+: it was "
                                         r"trained on another corpus"):
        predict_model(path, PredictOptions(steps=3))
