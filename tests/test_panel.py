"""Several series, one model: a long-format CSV file (a column naming each row's series) read
with --series-id as a Panel, trained as streams of one batch, scored per series and pooled,
kept in the checkpoint, resumed and predicted on other files."""
import json
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from minirnn.checkpoint import CheckpointError
from minirnn.cli.main import main
from minirnn.data.series import DataError, Panel, load_csv
from minirnn.data.task import make_panel_task, make_task, metrics
from minirnn.app.tasks import build_task, load_data
from minirnn.data.fingerprints import fingerprint
from minirnn.experiment import Experiment
from minirnn.forecast import multi_step_errors, pooled_errors

FAST = ["--epochs", "2", "--hidden", "6", "--bptt", "20"]
LEVELS = {"AAA": 100.0, "BB": 10.0, "C": 50.0}  # series of very different levels


def long_csv(path, lengths=None, gaps=(), interleaved=True, ids=LEVELS):
    """A long-format file: date, symbol, close, volume; the series' rows interleaved by date
    (or one series after the other); ``gaps``: (symbol, t) whose close is empty."""
    lengths = lengths or {name: 120 for name in ids}
    rng = np.random.default_rng(0)
    rows = []
    for name, level in ids.items():
        for t in range(lengths[name]):
            close = level * (1 + 0.1 * np.sin(2 * np.pi * t / 17)) + rng.normal() * level / 100
            cell = "" if (name, t) in gaps else f"{close:.5f}"
            rows.append((t, name, f"{date(2021, 1, 1) + timedelta(days=t)},{name},{cell},"
                                  f"{np.cos(t / 5):.4f}"))
    if interleaved:
        rows.sort(key=lambda row: row[0])
    path.write_text("date,symbol,close,volume\n" + "".join(r[2] + "\n" for r in rows))
    return path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def train_json(*args):
    result = invoke("train", *args, *FAST, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- reading ------------------------------------------------------------------------------
def test_a_long_file_is_grouped_into_its_series_in_time_order(tmp_path):
    path = long_csv(tmp_path / "long.csv", {"AAA": 40, "BB": 30, "C": 35})
    panel = load_csv(path, "close", "volume", series_id="symbol")
    assert isinstance(panel, Panel) and panel.ids == ["AAA", "BB", "C"]  # in the ids' order
    assert [len(m) for m in panel.members] == [40, 30, 35] and len(panel) == 105
    one = panel.members[1]
    assert one.dates[:2] == ["2021-01-01", "2021-01-02"] and one.target_names == ["close"]
    lines = path.read_text().splitlines()[1:]
    bb = [line.split(",") for line in lines if line.split(",")[1] == "BB"]
    assert np.array_equal(one.targets[:, 0], [float(r[2]) for r in bb])
    assert np.array_equal(one.inputs[:, 0], [float(r[3]) for r in bb])


def test_each_series_is_checked_on_its_own(tmp_path):
    # gaps are filled within a series, never from a neighbour in the file
    path = long_csv(tmp_path / "gaps.csv", gaps={("BB", 5)})
    with pytest.raises(DataError, match=r"line \d+, column 'close': a missing value"):
        load_csv(path, "close", series_id="symbol")
    filled = load_csv(path, "close", series_id="symbol", missing="interpolate").members[1]
    assert filled.targets[5, 0] == pytest.approx((filled.targets[4, 0] + filled.targets[6, 0]) / 2)
    dropped = load_csv(path, "close", series_id="symbol", missing="drop")
    assert [len(m) for m in dropped.members] == [120, 119, 120]
    assert [m.dropped for m in dropped.members] == [0, 1, 0]
    result = invoke("train", "elman", "--data", path, "--target", "close", "--series-id",
                    "symbol", "--missing", "drop", *FAST)
    assert result.exit_code == 0 and "note: 1 row with a missing value left out" in \
        result.output
    # a date out of order within a series names the series and both lines
    text = path.read_text().splitlines()
    swapped = [text[0], *text[1:4], text[7], *text[5:7], text[4], *text[8:]]
    (tmp_path / "order.csv").write_text("\n".join(swapped) + "\n")
    with pytest.raises(DataError, match=r"line 8: series 'AAA' has date '2021-01-02' after "
                                        r"'2021-01-03' \(line 5\)"):
        load_csv(tmp_path / "order.csv", "close", series_id="symbol")
    # a missing id is named by its line
    (tmp_path / "noid.csv").write_text("date,symbol,close\n2021-01-01,A,1\n2021-01-02,,2\n")
    with pytest.raises(DataError, match=r"noid.csv, line 3, column 'symbol': no series id"):
        load_csv(tmp_path / "noid.csv", "close", series_id="symbol")


def test_without_series_id_a_long_file_says_how_to_read_it(tmp_path):
    path = long_csv(tmp_path / "long.csv")
    with pytest.raises(DataError, match="give --series-id"):
        load_csv(path, "close")


# --- the task -----------------------------------------------------------------------------
def test_each_series_is_scaled_on_its_own_training_rows(tmp_path):
    panel = load_csv(long_csv(tmp_path / "long.csv"), "close", "volume", series_id="symbol")
    task = build_task(panel, "elman")
    for one, member in zip(task.tasks, panel.members, strict=True):
        alone = make_task(member, autoregressive=True)
        assert np.array_equal(one.x, alone.x) and np.array_equal(one.y, alone.y)
        assert one.target_scaler.mean == pytest.approx(member.targets[:84].mean(axis=0))


@pytest.mark.parametrize("lengths", [{"AAA": 120, "BB": 60, "C": 97},
                                     {"AAA": 301, "BB": 301, "C": 301}])
@pytest.mark.parametrize("batch", [1, 3, 6, 8, 16])
def test_streams_waste_few_rows_and_the_batch_is_what_was_asked(tmp_path, batch, lengths):
    """Streams of one length L (set by the shortest series), as many per series as waste the
    fewest rows: overlapping, or leaving out its oldest, at most L / 2 rows either way; series
    of equal length fill S ⌊B / S⌋ batch rows. The chunks are those streams, in time order."""
    panel = load_csv(long_csv(tmp_path / "long.csv", lengths), "close", "volume",
                     series_id="symbol")
    task = build_task(panel, "elman")
    length, parts = task.stream_length(batch), max(1, batch // 3)
    assert length == min(-(-t.train_end // parts) for t in task.tasks)
    chunks = task.training_chunks(batch, 7, np.float64, epoch=0)
    x = np.concatenate([c[0] for c in chunks], axis=1)
    y = np.concatenate([c[1] for c in chunks], axis=1)
    assert x.shape[1] == length and all(c[0].shape[1] <= 7 for c in chunks)
    expected_x, expected_y = [], []
    for one, starts in zip(task.tasks, task.stream_starts(batch), strict=True):
        n = one.train_end
        covered = np.zeros(n, dtype=int)
        for s in starts:
            covered[s:s + length] += 1
        assert covered[-1] == 1 and covered.max() <= 2  # the latest row always; none thrice
        assert (covered == 0).sum() <= length / 2 and (covered == 2).sum() <= length / 2
        expected_x += [one.x[s:s + length] for s in starts]
        expected_y += [one.y[s:s + length] for s in starts]
    assert np.array_equal(x, np.stack(expected_x)) and np.array_equal(y, np.stack(expected_y))
    if len(set(lengths.values())) == 1:  # equal series: S ⌊B / S⌋ streams, a row or two over
        assert x.shape[0] == 3 * parts
        assert all(((np.bincount(np.concatenate([np.arange(s, s + length) for s in starts]))
                     == 2).sum() <= parts) for starts in task.stream_starts(batch))


def test_pooled_scores_are_the_errors_of_every_series_rows_together(tmp_path):
    panel = load_csv(long_csv(tmp_path / "long.csv", {"AAA": 120, "BB": 60, "C": 97}),
                     "close", series_id="symbol")
    task = build_task(panel, "elman")
    rng = np.random.default_rng(1)
    predicted = [rng.normal(size=one.y.shape) for one in task.tasks]
    pooled, each = task.score(predicted), task.score_each(predicted)
    assert list(each) == ["AAA", "BB", "C"]
    def scored(one, split):  # a series' first row has no last value: it is not scored
        rows = one.splits()[split]
        return slice(max(rows.start, 1), rows.stop)

    for split in ("train", "validation", "test"):
        levels = np.concatenate([one.to_levels(p)[scored(one, split)]
                                 for one, p in zip(task.tasks, predicted, strict=True)])
        truth = np.concatenate([one.series.targets[scored(one, split)] for one in task.tasks])
        expected = metrics(levels, truth)
        assert {k: pooled[split]["model"][k] for k in expected} == pytest.approx(expected,
                                                                                 rel=1e-12)
        sizes = [scored(one, split).stop - scored(one, split).start for one in task.tasks]
        mse = np.average([each[s][split]["model"]["rmse"] ** 2 for s in each], weights=sizes)
        assert pooled[split]["model"]["rmse"] == pytest.approx(np.sqrt(mse), rel=1e-12)


def test_early_stopping_watches_errors_in_each_series_own_scale(tmp_path):
    """In the data's units the series of the largest values (AAA, ~100) would outweigh the
    others (BB, ~10) whatever they do; the scaled RMSE divides each error by its series'
    target scale, so 10% of BB's scale counts as much as 10% of AAA's."""
    panel = load_csv(long_csv(tmp_path / "long.csv"), "close", series_id="symbol")
    task = build_task(panel, "elman")
    predicted = [one.y + 0.1 * (1 if one.series.name == "BB" else 0) for one in task.tasks]
    scores = task.score(predicted)
    assert task.metric == "scaled_rmse"
    test = [one.splits()["test"] for one in task.tasks]
    share = (test[1].stop - test[1].start) / sum(r.stop - r.start for r in test)
    assert scores["test"]["model"]["scaled_rmse"] == pytest.approx(np.sqrt(share * 0.01))
    bb_scale = task.tasks[1].target_scaler.scale[0]
    assert scores["test"]["model"]["rmse"] == pytest.approx(np.sqrt(share) * 0.1 * bb_scale)


def test_pooled_errors_further_ahead_weigh_each_series_by_its_origins_and_rows():
    a = {"k": 3, "origins": 10, "k_step": {"model": 1.0, "naive": 2.0},
         "free_run": {"model": 3.0, "naive": 4.0, "steps": 30}}
    b = {"k": 3, "origins": 30, "k_step": {"model": 2.0, "naive": 2.0},
         "free_run": {"model": 1.0, "naive": 1.0, "steps": 10}}
    pooled = pooled_errors([a, b])
    assert pooled["origins"] == 40 and pooled["free_run"]["steps"] == 40
    assert pooled["k_step"]["model"] == pytest.approx(np.sqrt((10 * 1 + 30 * 4) / 40))
    assert pooled["free_run"]["naive"] == pytest.approx(np.sqrt((30 * 16 + 10 * 1) / 40))
    # a series with fewer test rows than k has no k-step errors, but its free run counts
    short = {**b, "origins": 0, "k_step": None}
    pooled = pooled_errors([a, short])
    assert pooled["k_step"] == a["k_step"] and pooled["free_run"]["steps"] == 40


def test_a_panel_of_one_series_is_that_series(tmp_path):
    path = long_csv(tmp_path / "one.csv", ids={"AAA": 100.0})
    panel = load_csv(path, "close", "volume", series_id="symbol")
    alone = load_csv(path, "close", "volume")
    task, single = build_task(panel, "elman"), build_task(alone, "elman")
    for (x, y), (x1, y1) in zip(task.training_chunks(1, 20, np.float64, 0),
                                single.training_chunks(1, 20, np.float64, 0), strict=True):
        assert np.array_equal(x, x1) and np.array_equal(y, y1)
    predicted = [single.y * 0.5]
    pooled, alone = task.score(predicted), single.score(predicted[0])
    for split in alone:
        for who in ("model", "naive"):
            assert {k: pooled[split][who][k] for k in ("rmse", "mae")} == alone[split][who]


def test_seq2seq_and_built_in_data_refuse_a_series_id(tmp_path):
    panel = load_csv(long_csv(tmp_path / "long.csv"), "close", series_id="symbol")
    with pytest.raises(DataError, match="seq2seq reads windows of one series"):
        build_task(panel, "seq2seq")
    with pytest.raises(DataError, match="the built-in data set 'sine' is one series"):
        load_data("sine", series_id="symbol")


def test_a_too_short_series_is_named(tmp_path):
    path = long_csv(tmp_path / "long.csv", {"AAA": 120, "BB": 5, "C": 120})
    with pytest.raises(DataError, match="long, series 'BB', has 5 rows: too few"):
        make_panel_task(load_csv(path, "close", series_id="symbol"), True)


# --- the command line -----------------------------------------------------------------------
def test_train_reports_every_series_and_the_pooled_errors(tmp_path):
    path = long_csv(tmp_path / "long.csv", {"AAA": 120, "BB": 60, "C": 97}, gaps={("C", 50)})
    summary = train_json("elman", "--data", path, "--target", "close", "--inputs", "volume",
                         "--series-id", "symbol", "--missing", "interpolate", "--horizon", "3")
    assert summary["series_id"] == "symbol" and list(summary["by_series"]) == ["AAA", "BB", "C"]
    each = summary["by_series"]
    assert [each[s]["rows"]["test"] for s in each] == [18, 9, 15]
    for split in ("train", "validation", "test"):  # pooled = every series' rows together
        # (but each series' first row, which has no last value and is not scored)
        sizes = [each[s]["rows"][split] - (split == "train") for s in each]
        for who in ("model", "naive"):
            mse = np.average([each[s]["metrics"][split][who]["rmse"] ** 2 for s in each],
                             weights=sizes)
            assert summary["metrics"][split][who]["rmse"] == pytest.approx(np.sqrt(mse))
    assert summary["further_ahead"] == pooled_errors([each[s]["further_ahead"] for s in each])
    assert summary["further_ahead"]["k"] == 3
    # the numbers are the model's own: rebuilt from the checkpoint's weights, they agree
    result = invoke("train", "elman", "--data", path, "--target", "close", "--inputs", "volume",
                    "--series-id", "symbol", "--missing", "interpolate", "--horizon", "3",
                    *FAST, "--out", tmp_path / "m.npz")
    assert result.exit_code == 0, result.output
    exp = Experiment.load(tmp_path / "m.npz")
    net = exp.build_model()
    task = build_task(load_data(str(path), "close", "volume", missing="interpolate",
                                series_id="symbol"), "elman", scalers=exp.scalers)
    bb = task.tasks[1]
    assert each["BB"]["metrics"] == bb.score(bb.predict(net))
    assert each["BB"]["further_ahead"] == multi_step_errors(net, bb, k=3)
    # the table: a row per series with its one-step, 3-step and free-run errors and naive's
    lines = result.output.splitlines()
    cells = next(line.split() for line in lines if line.split()[:1] == ["BB"])
    f = each["BB"]["further_ahead"]
    test = each["BB"]["metrics"]["test"]
    assert cells[1:] == [str(9), *(f"{v:.4g}" for v in (
        test["model"]["rmse"], test["naive"]["rmse"], f["k_step"]["model"], f["k_step"]["naive"],
        f["free_run"]["model"], f["free_run"]["naive"]))]
    assert all(len(line) <= 80 for line in lines if str(tmp_path) not in line)


def test_a_panel_checkpoint_resumes_exactly_and_refuses_another_id(tmp_path):
    path = long_csv(tmp_path / "long.csv")
    args = ["elman", "--data", path, "--target", "close", "--series-id", "symbol",
            "--hidden", "6", "--bptt", "20", "--patience", "50", "--json"]
    whole = invoke("train", *args, "--epochs", "4", "--out", tmp_path / "whole.npz")
    half = invoke("train", *args, "--epochs", "2", "--out", tmp_path / "half.npz")
    assert whole.exit_code == 0 and half.exit_code == 0, whole.output + half.output
    rest = invoke("train", "--resume", tmp_path / "half.npz", "--epochs", "4", "--json")
    assert rest.exit_code == 0, rest.output
    a, b = json.loads(whole.stdout), json.loads(rest.stdout)
    assert a["history"] == b["history"] and a["metrics"] == b["metrics"]
    assert a["by_series"] == b["by_series"]
    assert Experiment.load(tmp_path / "half.npz").data.series_id == "symbol"
    other = invoke("train", "--resume", tmp_path / "half.npz", "--epochs", "6",
                   "--series-id", "date")
    assert other.exit_code == 1 and "--series-id date (it was trained with symbol)" in \
        other.output


def test_predict_gives_a_row_per_series_and_time_on_another_file(tmp_path):
    path = long_csv(tmp_path / "long.csv")
    result = invoke("train", "elman", "--data", path, "--target", "close", "--inputs", "volume",
                    "--series-id", "symbol", *FAST, "--out", tmp_path / "m.npz")
    assert result.exit_code == 0, result.output
    exp = Experiment.load(tmp_path / "m.npz")
    # new rows of two of the three series, C's first in the file: series come in id order
    newer = long_csv(tmp_path / "newer.csv", {"C": 50, "AAA": 40},
                     ids={"C": 50.0, "AAA": 100.0}, interleaved=False)
    result = invoke("predict", tmp_path / "m.npz", "--data", newer, "--steps", "2", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["columns"] == ["symbol", "t", "date", "close", "close_predicted"]
    rows = document["rows"]
    assert [r[0] for r in rows] == ["AAA"] * 42 + ["C"] * 52
    assert rows[40][2] == "2021-02-10" and rows[40][3] is None  # the forecast carries the dates
    net = exp.build_model()
    task = build_task(load_data(str(newer), "close", "volume", series_id="symbol"), "elman",
                      scalers=exp.scalers)
    c = task.tasks[1]
    assert task.ids == ["AAA", "C"]
    assert np.allclose([r[4] for r in rows[42:92]], c.to_levels(c.predict(net))[:, 0],
                       rtol=1e-12)
    # --series chooses one: then residual diagnostics and a plot can be made of it
    result = invoke("predict", tmp_path / "m.npz", "--data", newer, "--series", "C", "--json",
                    "--diagnostics", "--plot", tmp_path / "c.png")
    assert result.exit_code == 0, result.output
    chosen = json.loads(result.stdout)
    assert chosen["rows"] == rows[42:92] and chosen["diagnostics"]["n"] == 8
    assert (tmp_path / "c.png").stat().st_size > 0
    result = invoke("predict", tmp_path / "m.npz", "--data", newer, "--series", "BB")
    assert result.exit_code == 1 and "--series 'BB' is not in the data; the series (symbol) " \
        "there: 'AAA', 'C'" in result.output
    # a few rows of a series are enough to predict (they are all read as it was trained)
    few = long_csv(tmp_path / "few.csv", {"BB": 3}, ids={"BB": 10.0})
    result = invoke("predict", tmp_path / "m.npz", "--data", few, "--steps", "1", "--json")
    assert result.exit_code == 0, result.output
    assert [r[1] for r in json.loads(result.stdout)["rows"]] == [0, 1, 2, 3]
    # a series the model never saw has no scaler: refused by name
    unseen = long_csv(tmp_path / "unseen.csv", ids={"D": 5.0})
    result = invoke("predict", tmp_path / "m.npz", "--data", unseen)
    assert result.exit_code == 1 and "series 'D' is not one the model was trained on" in \
        result.output
    result = invoke("predict", tmp_path / "m.npz", "--plot", tmp_path / "p.png")
    assert result.exit_code == 1 and "--diagnostics and --plot take one series; the data " \
        "have 3 (symbol): choose one with --series NAME" in result.output


def test_future_inputs_of_a_panel_are_read_per_series(tmp_path):
    path = long_csv(tmp_path / "long.csv")
    assert invoke("train", "elman", "--data", path, "--target", "close", "--inputs", "volume",
                  "--series-id", "symbol", *FAST, "--out", tmp_path / "m.npz").exit_code == 0
    future = tmp_path / "future.csv"
    future.write_text("symbol,volume\n" + "".join(f"{s},{v}\n" for v in (0.5, -0.5, 1.0)
                                                  for s in LEVELS))
    held = json.loads(invoke("predict", tmp_path / "m.npz", "--steps", "3", "--json").stdout)
    known = json.loads(invoke("predict", tmp_path / "m.npz", "--steps", "3", "--future-inputs",
                              future, "--json").stdout)
    assert held["rows"][:120] == known["rows"][:120]  # the one-step predictions: the same
    assert held["rows"][121:123] != known["rows"][121:123]  # the forecast: through the inputs
    future.write_text("symbol,volume\nAAA,1\nBB,1\nAAA,1\nBB,1\nAAA,1\nBB,1\n")
    result = invoke("predict", tmp_path / "m.npz", "--steps", "3", "--future-inputs", future)
    assert result.exit_code == 1 and "has no rows for symbol 'C'" in result.output
    # one series forecast: its future inputs need no id column
    future.write_text("volume\n0.5\n-0.5\n1.0\n")
    one = json.loads(invoke("predict", tmp_path / "m.npz", "--series", "BB", "--steps", "3",
                            "--future-inputs", future, "--json").stdout)
    assert one["rows"][-3:] == known["rows"][243:246]
    # dated future inputs must come after the data's last date
    future.write_text("date,volume\n2021-04-30,1\n2021-05-01,1\n2021-05-02,1\n")
    result = invoke("predict", tmp_path / "m.npz", "--series", "BB", "--steps", "3",
                    "--future-inputs", future)
    assert result.exit_code == 1 and "starts at 2021-04-30, not after the data's last row " \
        "(2021-04-30)" in result.output


def test_the_order_of_a_files_rows_does_not_matter(tmp_path):
    """The same rows interleaved by date or grouped by series: the same panel (series in id
    order), the same fingerprint, and a checkpoint of one resumes on the other."""
    interleaved = long_csv(tmp_path / "a.csv")
    grouped = long_csv(tmp_path / "b.csv", interleaved=False)
    a = load_data(str(interleaved), "close", series_id="symbol")
    b = load_data(str(grouped), "close", series_id="symbol")
    assert a.ids == b.ids and fingerprint(a) == fingerprint(b)
    args = ["elman", "--data", interleaved, "--target", "close", "--series-id", "symbol",
            "--hidden", "6", "--bptt", "20", "--patience", "50", "--json"]
    whole = invoke("train", *args, "--epochs", "3", "--out", tmp_path / "whole.npz")
    half = invoke("train", *args, "--epochs", "2", "--out", tmp_path / "half.npz")
    rest = invoke("train", "--resume", tmp_path / "half.npz", "--data", grouped, "--epochs",
                  "3", "--json")
    assert rest.exit_code == 0, rest.output
    assert json.loads(whole.stdout)["history"] == json.loads(rest.stdout)["history"]
    assert half.exit_code == 0


def test_a_series_with_fewer_test_rows_than_k_still_free_runs(tmp_path):
    path = long_csv(tmp_path / "long.csv", {"AAA": 120, "BB": 40, "C": 120})
    summary = train_json("elman", "--data", path, "--target", "close", "--series-id",
                         "symbol", "--horizon", "10")
    bb, aaa = summary["by_series"]["BB"], summary["by_series"]["AAA"]
    assert bb["rows"]["test"] == 6 and bb["further_ahead"]["k_step"] is None
    assert bb["further_ahead"]["origins"] == 0 and bb["further_ahead"]["free_run"]["steps"] == 6
    assert aaa["further_ahead"]["origins"] == 9
    assert summary["further_ahead"]["free_run"]["steps"] == 18 + 6 + 18
    assert summary["further_ahead"]["origins"] == 9 + 0 + 9


def test_a_panel_checkpoint_is_checked_when_loaded(tmp_path):
    path = long_csv(tmp_path / "long.csv")
    assert invoke("train", "elman", "--data", path, "--target", "close", "--series-id",
                  "symbol", *FAST, "--out", tmp_path / "m.npz").exit_code == 0
    exp = Experiment.load(tmp_path / "m.npz")
    assert list(exp.scalers["series"]) == ["AAA", "BB", "C"]
    assert exp.data.fingerprint == fingerprint(load_data(str(path), "close",
                                                         series_id="symbol"))
    del exp.scalers["series"]["BB"]["targets"]
    exp.save(tmp_path / "bad.npz")
    with pytest.raises(CheckpointError, match="scalers.series.BB.targets is missing"):
        Experiment.load(tmp_path / "bad.npz")
    exp.scalers = {"inputs": {}, "targets": {}}
    exp.save(tmp_path / "bad.npz")
    with pytest.raises(CheckpointError, match="one pair per series under 'series'"):
        Experiment.load(tmp_path / "bad.npz")


def test_numeric_ids_sort_by_value(tmp_path):
    path = long_csv(tmp_path / "ids.csv", ids={"100": 1.0, "7": 2.0, "12": 3.0, "B": 4.0})
    assert load_csv(path, "close", series_id="symbol").ids == ["7", "12", "100", "B"]


def test_predict_shows_the_data_as_observed_and_dates_ahead_from_the_future_inputs(tmp_path):
    """An interpolated target is left empty in predict's rows (it was not observed); the
    forecast's rows take the future inputs' own dates (a weekend skipped, say)."""
    path = long_csv(tmp_path / "gaps.csv", gaps={("BB", 30)})
    assert invoke("train", "elman", "--data", path, "--target", "close", "--inputs", "volume",
                  "--series-id", "symbol", "--missing", "interpolate", *FAST, "--out",
                  tmp_path / "m.npz").exit_code == 0
    future = tmp_path / "future.csv"
    future.write_text("date,volume\n2021-05-03,0.5\n2021-05-04,0.1\n")  # after 04-30
    result = invoke("predict", tmp_path / "m.npz", "--series", "BB", "--steps", "2",
                    "--future-inputs", future, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert rows[30][3] is None and rows[30][4] is not None  # not observed; still predicted
    assert rows[29][3] is not None
    assert [r[2] for r in rows[-2:]] == ["2021-05-03", "2021-05-04"]
    # and the future file cannot be overwritten by the predictions
    result = invoke("predict", tmp_path / "m.npz", "--series", "BB", "--steps", "2",
                    "--future-inputs", future, "--out", future)
    assert result.exit_code == 1 and "is the --future-inputs file" in result.output
    # its own errors do not send the user to options that are not for it
    future.write_text("date,volume\n2021-05-03,\n2021-05-04,0.1\n")
    result = invoke("predict", tmp_path / "m.npz", "--series", "BB", "--steps", "2",
                    "--future-inputs", future)
    assert result.exit_code == 1 and "a missing value (''): the future inputs must all be " \
        "known" in result.output and "--missing" not in result.output


def test_an_ensemble_of_models_of_several_series(tmp_path):
    """Checkpoints of one panel (a sweep's seeds): the mean and spread per series and time."""
    path = long_csv(tmp_path / "long.csv")
    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"s{seed}.npz")
        assert invoke("train", "elman", "--data", path, "--target", "close", "--series-id",
                      "symbol", "--seed", seed, *FAST, "--out", paths[-1]).exit_code == 0
    result = invoke("predict", *paths, "--steps", "2", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["columns"] == ["symbol", "t", "date", "close", "close_predicted",
                                   "close_spread"] and document["members"] == 2
    singles = [json.loads(invoke("predict", p, "--steps", "2", "--json").stdout)["rows"]
               for p in paths]
    for k, row in enumerate(document["rows"]):
        values = [single[k][4] for single in singles]
        assert row[:4] == singles[0][k][:4]
        assert row[4] == pytest.approx(np.mean(values)) and row[5] == pytest.approx(
            np.std(values))
    one = json.loads(invoke("predict", *paths, "--series", "C", "--json").stdout)
    assert [r[0] for r in one["rows"]] == ["C"] * 120


def test_a_killed_run_of_several_series_resumes_and_ends_as_the_uninterrupted_one(tmp_path):
    """SIGKILL a real `minirnn train --series-id` process as soon as its first checkpoint is
    written, then --resume it: it ends with the same history, pooled and per-series scores, bit
    for bit, as a run that was never stopped."""
    import signal
    import subprocess
    import sys
    import time

    path = long_csv(tmp_path / "long.csv", {name: 2500 for name in LEVELS})
    args = [sys.executable, "-m", "minirnn.cli.main", "train", "elman", "--data", str(path),
            "--target", "close", "--inputs", "volume", "--series-id", "symbol", "--hidden",
            "24", "--epochs", "6", "--patience", "50", "--json"]
    whole = subprocess.run([*args, "--out", str(tmp_path / "whole.npz")], capture_output=True,
                           text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    killed = tmp_path / "killed.npz"
    run = subprocess.Popen([*args, "--out", str(killed)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not killed.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.005)
    run.send_signal(signal.SIGSTOP)  # frozen at its first checkpoint, then killed
    run.send_signal(signal.SIGKILL)
    run.wait()
    at = Experiment.load(killed).run.epoch
    assert 1 <= at < 6
    resumed = subprocess.run([sys.executable, "-m", "minirnn.cli.main", "train", "--resume",
                              str(killed), "--json"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    a, b = json.loads(whole.stdout), json.loads(resumed.stdout)
    assert b["resumed_from_epoch"] == at
    assert a["history"] == b["history"] and a["metrics"] == b["metrics"]
    assert a["by_series"] == b["by_series"]


def test_predict_words_other_files_errors_for_the_model_it_has(tmp_path):
    """The data layer's errors carry their kind (``DataError.reason``): predict rewords them
    for the model at hand instead of giving training's advice."""
    path = long_csv(tmp_path / "long.csv")
    one = tmp_path / "one.csv"
    one.write_text("date,close\n" + "".join(f"2021-01-{d:02d},{d}\n" for d in range(1, 29)))
    for data, args, out in ((one, ["--target", "close"], "one.npz"),
                            (path, ["--target", "close", "--series-id", "symbol"], "m.npz")):
        assert invoke("train", "elman", "--data", data, *args, *FAST, "--out",
                      tmp_path / out).exit_code == 0
    result = invoke("predict", tmp_path / "one.npz", "--data", path)
    assert result.exit_code == 1 and "the model was trained on one series; give it a file of " \
        "one series" in " ".join(result.output.split()) and "--series-id" not in result.output
    result = invoke("predict", tmp_path / "m.npz", "--data", one)
    assert result.exit_code == 1 and "(the model was trained on several series, named by " \
        "'symbol')" in " ".join(result.output.split())
