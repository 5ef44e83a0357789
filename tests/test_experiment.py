"""The experiment layer on its own (minirnn.experiment): what a checkpoint holds, how it is
checked on load, how a run continues exactly, and how data are checked against a model."""
import json
import os
from dataclasses import asdict, field, fields, is_dataclass, make_dataclass, replace

import numpy as np
import pytest

from minirnn.checkpoint import CheckpointError, WriterLock, read_archive
from minirnn.data.series import DataError, load_csv
from minirnn.data.sources import load_series
from minirnn.data.text import make_text_task, meat_text
from minirnn.app.tasks import build_task, task_scalers
from minirnn.data.fingerprints import fingerprint
from minirnn.experiment import ADDED, RUN_ARRAYS, DataSpec, Experiment
from minirnn.sizing import memory_estimate, parameter_count
from minirnn.models.registry import MODEL_OPTIONS, build_model, model_config
from minirnn.optim import OPTIMIZERS
from minirnn.train import TrainConfig, TrainResult, evaluate, fit, make_optimizer


def new_experiment(model="elman", data="sine", backend="numpy", epochs=3, length=240,
                   hidden=5, **options):
    """An experiment as ``minirnn train`` makes one: data, task, model, configuration."""
    series = load_series(data, steps=length, seed=0)
    task = build_task(series, model, context=12, horizon=3)
    config = model_config(model, task.model_input_size, task.output_size, hidden,
                          backend=backend, dtype="float64", seed=1, **options)
    spec = DataSpec.describe(data, series, task, length, 0, False, 12, 3)
    train = TrainConfig(epochs=epochs, batch=4, bptt=15, lr=0.02, patience=50)
    return Experiment(model, config, spec, task_scalers(task), train), task


def train(exp, task, start=None, on_epoch=None):
    net = exp.build_model()
    result = fit(net, task, exp.train, start=start, on_epoch=on_epoch)
    exp.run = result
    return net, result


# --- the schema ---------------------------------------------------------------------------
def test_a_checkpoint_round_trips_every_part(tmp_path):
    exp, task = new_experiment("narx", "narendra", mode="open")
    train(exp, task)
    exp.metrics = evaluate(exp.build_model(), task)
    exp.save(tmp_path / "n.npz")
    back = Experiment.load(tmp_path / "n.npz")
    assert (back.model, back.config, back.data, back.scalers, back.train) == \
        (exp.model, exp.config, exp.data, exp.scalers, exp.train)
    assert back.metrics == exp.metrics
    for name in ("epoch", "best_epoch", "best_score", "waited", "history", "stopped"):
        assert getattr(back.run, name) == getattr(exp.run, name), name
    for state in ("best_state", "last_state"):
        for key, value in getattr(exp.run, state).items():
            np.testing.assert_array_equal(getattr(back.run, state)[key], value)
    assert back.run.optimizer_state["step"] == exp.run.optimizer_state["step"] > 0
    for slot in ("m", "v"):
        for a, b in zip(back.run.optimizer_state["slots"][slot],
                        exp.run.optimizer_state["slots"][slot], strict=True):
            np.testing.assert_array_equal(a, b)
    # the data section names the columns, in order, and fingerprints the rows
    assert back.data.target == ["y"] and back.data.inputs == ["u"]
    assert back.data.fingerprint == fingerprint(load_series("narendra", steps=240))
    assert back.scalers["inputs"]["columns"] == ["u"]



def _same(a, b, where):
    """Equal values, or equal arrays in equal containers (a run's weights and slots)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)) and any(isinstance(v, np.ndarray) for v in a):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{k}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(b, a, err_msg=where)
    else:
        assert b == a, where


def test_every_field_of_the_record_round_trips_and_names_its_section(tmp_path):
    """The document is the record's fields, nothing listed by hand: each section is a field of
    ``Experiment``, each key of a dataclass section one of its fields (the run's arrays aside),
    and every field of every part reads back equal."""
    exp, task = new_experiment("narx", "narendra", mode="open")
    train(exp, task)
    exp.metrics = evaluate(exp.build_model(), task)
    exp.trained_with = {"engine": "numpy", "threads": 1}
    exp.save(tmp_path / "n.npz")
    document, arrays = read_archive(tmp_path / "n.npz")
    assert set(document) == {"format", "schema"} | {f.name for f in fields(Experiment)}
    assert set(document["data"]) == {f.name for f in fields(DataSpec)}
    assert set(document["train"]) == {f.name for f in fields(TrainConfig)}
    assert set(document["run"]) == {f.name for f in fields(TrainResult)
                                    if f.name not in RUN_ARRAYS} | {"optimizer_step",
                                                                     "optimizer_scalars"}
    assert {k.split("/")[0] for k in arrays} == set(RUN_ARRAYS.values())
    back = Experiment.load(tmp_path / "n.npz")
    for f in fields(Experiment):
        value, again = getattr(exp, f.name), getattr(back, f.name)
        if is_dataclass(value):
            assert type(again) is type(value), f.name
            for g in fields(value):
                _same(getattr(value, g.name), getattr(again, g.name), f"{f.name}.{g.name}")
        else:
            _same(value, again, f.name)


def test_a_field_added_to_the_record_is_saved_and_loaded_with_no_other_edit(tmp_path,
                                                                             monkeypatch):
    """Save and load cannot drift: a new field of the data, of the run or of the experiment
    itself is in the document and back in the loaded record, with nothing else changed."""
    import minirnn.experiment as experiment

    Data = make_dataclass("Data", [("note", str, field(default=""))], bases=(DataSpec,))
    Run = make_dataclass("Run", [("seconds", float, field(default=0.0))],
                         bases=(TrainResult,))
    Wider = make_dataclass("Wider", [("tags", list, field(default_factory=list))],
                           bases=(Experiment,))
    monkeypatch.setattr(experiment, "DataSpec", Data)
    monkeypatch.setattr(experiment, "TrainResult", Run)
    exp, task = new_experiment(epochs=1)
    train(exp, task)
    run = {f.name: getattr(exp.run, f.name) for f in fields(TrainResult)}
    wider = Wider(exp.model, exp.config, Data(**asdict(exp.data), note="from a test"),
                  exp.scalers, exp.train, Run(**run, seconds=1.5), exp.metrics,
                  exp.trained_with, tags=["a", "b"])
    wider.save(tmp_path / "w.npz")
    document, _ = read_archive(tmp_path / "w.npz")
    assert document["data"]["note"] == "from a test"
    assert document["run"]["seconds"] == 1.5
    assert document["tags"] == ["a", "b"]
    back = Wider.load(tmp_path / "w.npz")
    assert (back.data.note, back.run.seconds, back.tags) == ("from a test", 1.5, ["a", "b"])
    assert back.data == wider.data and back.run.history == wider.run.history
    # a file without the new field is a clear error, unless the field is marked ADDED
    old = damaged(tmp_path / "w.npz", tmp_path, _drop("data", "note"), name="old.npz")
    with pytest.raises(CheckpointError, match="data.note is missing"):
        Wider.load(old)
    monkeypatch.setattr(experiment, "DataSpec", make_dataclass(
        "Data", [("note", str, field(default="", metadata=ADDED))], bases=(DataSpec,)))
    assert Wider.load(old).data.note == ""


def test_the_file_gets_the_umask_mode_and_no_temporary_survives(tmp_path):
    exp, task = new_experiment(epochs=1)
    train(exp, task)
    stale = tmp_path / ".m.npz.999999999.tmp"  # left by a killed process (no such pid)
    stale.write_bytes(b"half")
    old = os.umask(0o022)
    try:
        exp.save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644


def test_one_writer_per_checkpoint(tmp_path):
    """The lock is the operating system's: held while a run writes, gone with its process."""
    import subprocess
    import sys

    path = tmp_path / "m.npz"
    with WriterLock(path):
        assert (tmp_path / ".m.npz.lock").read_text() == str(os.getpid())
        other = subprocess.run([sys.executable, "-c",
                                "import sys; from minirnn.checkpoint import WriterLock\n"
                                "try:\n    WriterLock(sys.argv[1]).__enter__()\n"
                                "except Exception as e:\n    print(e)", str(path)],
                               capture_output=True, text=True, timeout=60)
        assert f"another minirnn run (process {os.getpid()}) is writing" in other.stdout
    assert list(tmp_path.iterdir()) == []
    # a lock file left by a killed run (its process gone, its lock with it) is taken over
    (tmp_path / ".m.npz.lock").write_text("1")
    with WriterLock(path):
        pass
    assert list(tmp_path.iterdir()) == []


def damaged(path, tmp_path, change_document=None, change_arrays=None, name="bad.npz"):
    """A copy of checkpoint ``path`` with its document or arrays edited."""
    document, arrays = read_archive(path)
    if change_document:
        change_document(document)
    if change_arrays:
        change_arrays(arrays)
    out = tmp_path / name
    np.savez(out, meta=np.array(json.dumps(document)), **arrays)
    return out


def _set(section, key, value):
    def change(document):
        document[section][key] = value
    return change


def _drop(section, key=None):
    def change(document):
        if key is None:
            del document[section]
        else:
            del document[section][key]
    return change


def _nan_weight(arrays):
    arrays["best/W_hh"] = np.full_like(arrays["best/W_hh"], np.nan)


LOAD_DEFECTS = [
    (_drop("config"), None, "has no 'config' section"),
    (_drop("data"), None, "has no 'data' section"),
    (_drop("run"), None, "has no 'run' section"),
    (_drop("data", "fingerprint"), None, "data.fingerprint is missing"),
    (_set("data", "rows", "many"), None, "data.rows must be int"),
    (_set("data", "target", ["y", "y"]), None, "data.target must be distinct column names"),
    (_set("config", "hidden_size", 10 ** 9), None, "needs ~"),
    (_set("config", "hidden_size", 0), None, "config.hidden_size must be a positive integer"),
    (_set("config", "dtype", "float16"), None, "config.dtype 'float16' is not one of"),
    (_set("config", "backend", "tpu"), None, "config.backend 'tpu' is not one of"),
    (_set("config", "colour", "red"), None, "config has unknown key(s) colour"),
    (_drop("config", "activation"), None, "config lacks activation"),
    (_set("scalers", "targets", {"columns": ["y"], "mean": [0.0], "scale": [-1.0]}), None,
     "scalers.targets.scale must be positive"),
    (_set("scalers", "inputs", {"columns": ["q"], "mean": [0.0], "scale": [1.0]}), None,
     "scalers.inputs is for columns ['q']"),
    (_set("train", "lr", -1), None, "train: lr must be positive"),
    (_set("train", "speed", 3), None, "train has unknown key(s) speed"),
    (_set("run", "epoch", 1.5), None, "run.epoch must be int"),
    (_set("run", "history", [1, 2]), None, "run.history must be a list of records"),
    (lambda d: d.update(schema=1), None, "an older minirnn wrote it"),
    (lambda d: d.update(schema=99), None, "a newer minirnn wrote it"),
    (lambda d: d.update(format="other"), None, "not a minirnn checkpoint"),
    (lambda d: d.update(model="transformer"), None, "unknown model 'transformer'"),
    (None, _nan_weight, "best weights: W_hh holds NaN or infinite values"),
    (None, lambda a: a.pop("best/W_hh"), "best weights: missing parameter(s) W_hh"),
    (None, lambda a: a.update({"best/W_hh": np.zeros((2, 2))}), "W_hh has shape (2, 2)"),
    (None, lambda a: a.pop("optimizer/m/b_y"), "optimizer slot 'm' lacks b_y"),
    (None, lambda a: a.update({"junk": np.zeros(1)}), "unknown array(s) junk"),
    (None, lambda a: a["optimizer/v/W_hh"].fill(np.nan),
     "optimizer slot 'v': W_hh holds NaN or infinite values"),
    (None, lambda a: a["last/b_h"].fill(np.inf), "last weights: b_h holds NaN or infinite"),
    (None, lambda a: a.update({"history/grad_norm": np.zeros(5)}),
     "the history's arrays must be columns of numbers, all of one length"),
    (None, lambda a: a.update({"history/note": np.array(["x"])}),
     "the history's arrays must be columns of numbers"),
    (None, lambda a: a.pop("history/epoch"), "must hold the epochs, as integers"),
    (None, lambda a: a.update({"history/epoch": a["history/epoch"] * 1.0}),
     "must hold the epochs, as integers"),
    (_set("run", "history", [{"epoch": 1}]), None,
     "the history is both in the document and in the arrays"),
]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    exp, task = new_experiment("elman", epochs=1)
    train(exp, task)
    path = tmp_path_factory.mktemp("saved") / "elman.npz"
    exp.save(path)
    return path


@pytest.mark.parametrize("change_document,change_arrays,message", LOAD_DEFECTS)
def test_every_defect_of_a_checkpoint_is_one_clear_error(saved, tmp_path, change_document,
                                                         change_arrays, message):
    bad = damaged(saved, tmp_path, change_document, change_arrays)
    with pytest.raises((CheckpointError, MemoryError)) as error:
        Experiment.load(bad)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_checkpoint_from_before_lagged_inputs_still_loads(saved, tmp_path):
    """A schema-2 file written before ``data.lag_inputs`` existed reads as inputs at time t;
    a wrong value in one written since is a clear error."""
    old = damaged(saved, tmp_path, lambda d: d["data"].pop("lag_inputs"))
    assert Experiment.load(old).data.lag_inputs is False
    bad = damaged(saved, tmp_path, _set("data", "lag_inputs", "yes"), name="worse.npz")
    with pytest.raises(CheckpointError, match="data.lag_inputs must be bool"):
        Experiment.load(bad)


def test_the_history_is_arrays_and_the_document_does_not_grow_with_the_epochs(saved,
                                                                              tmp_path):
    """The history is a column per metric among the arrays (8 bytes a value), not in the
    document: a run of 1,000 epochs has the document of a run of 10 (less the digits of its
    epoch count), and the records read back as they were, a diverged epoch's NaN included."""
    exp = Experiment.load(saved)
    record = exp.run.history[-1]
    sizes = {}
    for n in (10, 1000):
        exp.run.history = [dict(record, epoch=i + 1) for i in range(n)]
        exp.run.history[-1]["val_rmse"] = float("nan")  # as a diverged epoch leaves it
        exp.run.epoch = n
        exp.save(tmp_path / f"{n}.npz")
        document, arrays = read_archive(tmp_path / f"{n}.npz")
        assert "history" not in document["run"] and document["schema"] == 3
        assert {k for k in arrays if k.startswith("history/")} == {
            f"history/{key}" for key in record}
        assert all(arrays[f"history/{key}"].nbytes == 8 * n for key in record)
        sizes[n] = len(json.dumps(document))
        back = Experiment.load(tmp_path / f"{n}.npz").run.history
        assert [list(h) for h in back] == [list(record)] * n  # the keys in their order
        assert back[:-1] == exp.run.history[:-1] and np.isnan(back[-1]["val_rmse"])
        assert type(back[0]["epoch"]) is int and type(back[0]["train_loss"]) is float
    assert 0 <= sizes[1000] - sizes[10] <= 2  # "epoch": 10 -> 1000


def test_a_schema_2_checkpoint_with_its_history_in_the_document_still_loads(saved, tmp_path):
    """Before the history became arrays (schema 2) it was the document's run.history, a NaN
    written as null: such a file loads, resumes, and is written back as schema 3."""
    history = Experiment.load(saved).run.history

    def schema_2(document):
        document.update(schema=2)
        document["run"]["history"] = [dict(h, val_rmse=None) for h in history]

    def no_history_arrays(arrays):
        for key in [k for k in arrays if k.startswith("history/")]:
            arrays.pop(key)

    old = damaged(saved, tmp_path, schema_2, no_history_arrays, name="old.npz")
    exp = Experiment.load(old)
    assert exp.run.history == [dict(h, val_rmse=None) for h in history]
    exp.save(tmp_path / "new.npz")
    document, arrays = read_archive(tmp_path / "new.npz")
    assert document["schema"] == 3 and np.isnan(arrays["history/val_rmse"]).all()
    assert [h["epoch"] for h in Experiment.load(tmp_path / "new.npz").run.history] == \
        [h["epoch"] for h in history]


@pytest.mark.parametrize("content,message", [
    (b"", "is empty (0 bytes)"),
    (b"hello, not a zip", "not an .npz archive"),
    (None, "not an .npz archive, or a truncated one"),  # the first kilobyte of a good one
])
def test_files_that_are_not_checkpoints(saved, tmp_path, content, message):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(saved.read_bytes()[:1000] if content is None else content)
    with pytest.raises(CheckpointError, match="bad.npz") as error:
        Experiment.load(bad)
    assert message in str(error.value) and "allow_pickle" not in str(error.value)


def test_parameter_count_matches_the_built_models():
    """The memory estimate counts weights without building the model: the count is exact."""
    cases = [("sliding", {"window": 3}), ("narx", {"input_delays": 3, "output_delays": 2}),
             ("elman", {}), ("statespace", {}), ("memory", {"memory_size": 4}), ("memory", {}),
             ("jordan", {}), ("seq2seq", {}), ("lstm", {}), ("gru", {}),
             ("lstm", {"learn_initial_state": True}), ("gru", {"learn_initial_state": True}),
             ("seq2seq", {"cell": "lstm"}), ("seq2seq", {"cell": "gru"})]
    cases += [("multilayer", {"num_layers": 3, "connectivity": c})
              for c in ("stacked", "skip", "feedback", "output_feedback")]
    cases += [("multilayer", {"num_layers": 3, "connectivity": c, "cell": cell})
              for c in ("stacked", "skip") for cell in ("lstm", "gru")]
    for name, options in cases:
        for sizes in ((1, 1, 1), (3, 2, 5)):
            config = model_config(name, sizes[0], sizes[1], sizes[2], backend="numpy",
                                  **options)
            built = sum(p.data.size for p in build_model(name, config).parameters())
            assert parameter_count(name, config) == built, (name, options, sizes)
    assert set(name for name, _ in cases) == set(MODEL_OPTIONS)


def test_memory_estimate_grows_with_the_sizes():
    small = model_config("elman", 1, 1, 16)
    large = model_config("elman", 1, 1, 1600)
    assert memory_estimate("elman", large, 1000) > 100 * memory_estimate("elman", small, 1000)
    assert memory_estimate("elman", small, 10 ** 6) > memory_estimate("elman", small, 1000)


def test_memory_estimate_counts_a_second_order_optimisers_needs():
    """Full batch: every row's states at once; L-BFGS: 200 copies of the weights; LM: its
    Jacobian, a float64 row of P weights per residual, twice."""
    config = model_config("narx", 1, 1, 20, input_delays=1, output_delays=2, mode="closed")
    P, rows = parameter_count("narx", config), 10_000
    adam = memory_estimate("narx", config, rows, 8, 50)
    assert memory_estimate("narx", config, rows, 8, 50, "lbfgs") >= adam + 200 * P * 8
    assert memory_estimate("narx", config, rows, 8, 50, "lm") >= adam + 2 * rows * P * 8


# --- a true resume ------------------------------------------------------------------------
@pytest.mark.parametrize("model,data,backend,options", [
    ("elman", "sine", "numpy", {}),
    ("statespace", "sine", "cpu", {}),
    ("narx", "narendra", "cpu", {"mode": "open"}),
    ("jordan", "sine", "numpy", {"learn_mu": True}),
    ("seq2seq", "sine", "numpy", {}),  # windows shuffled anew each epoch
    ("lstm", "sine", "cpu", {"learn_initial_state": True}),  # the state [h | c] carried
    ("gru", "stock", "cpu", {}),
])
def test_resume_equals_the_uninterrupted_run_bit_for_bit(tmp_path, model, data, backend,
                                                         options):
    """Train 4 epochs in one go; train 2, save, load and continue to 4: every weight, the
    optimiser's state, the history and the best score are identical."""
    whole, task = new_experiment(model, data, backend, epochs=4, **options)
    net_whole, _ = train(whole, task)

    first, task = new_experiment(model, data, backend, epochs=4, **options)
    first.train.epochs = 2
    train(first, task)
    first.save(tmp_path / "half.npz")
    resumed = Experiment.load(tmp_path / "half.npz")
    resumed.train.epochs = 4
    net_resumed, _ = train(resumed, task, start=resumed.run)

    assert resumed.run.history == whole.run.history
    assert (resumed.run.best_epoch, resumed.run.best_score) == \
        (whole.run.best_epoch, whole.run.best_score)
    for key, value in whole.run.last_state.items():
        np.testing.assert_array_equal(resumed.run.last_state[key], value)
    for key, value in net_whole.state_dict().items():
        np.testing.assert_array_equal(net_resumed.state_dict()[key], value)
    assert resumed.run.optimizer_state["step"] == whole.run.optimizer_state["step"]


@pytest.mark.parametrize("optimizer", ["lbfgs", "lm"])
def test_a_second_order_run_resumes_bit_for_bit(tmp_path, optimizer):
    """A closed-loop NARX, full batch: 2 epochs in open loop, then the loop closes (the
    optimiser told so) just where the run is cut; the checkpoint holds L-BFGS's pairs and
    last step, or Levenberg-Marquardt's μ, and the resumed run is the uninterrupted one."""
    def experiment():
        exp, task = new_experiment("narx", "narendra", "cpu", epochs=4, mode="closed")
        exp.train = replace(exp.train, optimizer=optimizer, lr=1.0, batch=1,
                            open_loop_epochs=2, iterations=3)
        return exp, task
    whole, task = experiment()
    net_whole, _ = train(whole, task)
    first, task = experiment()
    first.train.epochs = 2
    train(first, task)
    first.save(tmp_path / "half.npz")
    resumed = Experiment.load(tmp_path / "half.npz")
    assert resumed.run.optimizer_state["scalars"] == first.run.optimizer_state["scalars"]
    resumed.train.epochs = 4
    net_resumed, _ = train(resumed, task, start=resumed.run)
    assert resumed.run.history == whole.run.history
    for key, value in net_whole.state_dict().items():
        np.testing.assert_array_equal(net_resumed.state_dict()[key], value)
    assert resumed.run.optimizer_state["step"] == whole.run.optimizer_state["step"] > 0


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_state_round_trip(name):
    exp, task = new_experiment(epochs=1)
    exp.train.optimizer = name
    _, result = train(exp, task)
    state = result.optimizer_state
    net = exp.build_model()
    other = make_optimizer(exp.train, net.parameters())
    other.load_state_dict(state)
    again = other.state_dict()
    assert again["step"] == state["step"] and again["scalars"] == state["scalars"]
    for slot, arrays in state["slots"].items():
        for a, b in zip(arrays, again["slots"][slot], strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="slot"):
        other.load_state_dict({"step": 1, "slots": {"nonsense": []}})


def test_the_best_weights_are_only_replaced_by_better_ones(tmp_path):
    """A run continued with a learning rate that ruins it: every epoch is saved, and the best
    weights and score in the file never get worse."""
    exp, task = new_experiment(epochs=3)
    train(exp, task)
    path = tmp_path / "m.npz"
    exp.save(path)
    best_before = Experiment.load(path)
    resumed = Experiment.load(path)
    resumed.train.epochs, resumed.train.lr = 7, 5.0
    scores = []

    def save(epoch, record, run):
        resumed.run = run
        resumed.save(path)
        stored = Experiment.load(path)
        scores.append((record["val_rmse"], stored.run.best_score))
        assert stored.run.best_score <= best_before.run.best_score

    train(resumed, task, start=resumed.run, on_epoch=save)
    assert len(scores) == 4
    assert any(val > best for val, best in scores)  # the run got worse, the file did not
    final = Experiment.load(path)
    if final.run.best_epoch == best_before.run.best_epoch:
        for key, value in best_before.run.best_state.items():
            np.testing.assert_array_equal(final.run.best_state[key], value)


# --- data checked against the model --------------------------------------------------------
def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_columns_are_checked_by_name_and_order():
    spec = DataSpec("x.csv", ["a"], ["b", "c"], 10, "f", 7, "g")
    spec.check_columns(None, None)
    spec.check_columns("a", "b,c")
    for target, inputs in (("a", "b"), ("a", "c,b"), ("a", "b,b"), ("b", "b,c"), (None, "")):
        with pytest.raises(DataError, match="trained on target a; inputs b, c"):
            spec.check_columns(target, inputs)


def test_other_rows_are_other_data():
    series = load_series("sine", steps=200)
    spec = DataSpec.describe("sine", series, build_task(series, "elman"), 200, 0, False, 20, 5)
    spec.check_same_data(series, "m.npz")
    for other in (load_series("sine", steps=201), load_series("sine", steps=200, seed=1)):
        with pytest.raises(DataError, match="m.npz was trained on other data"):
            spec.check_same_data(other, "m.npz")


def test_the_same_values_under_other_dates_are_other_data(tmp_path):
    """A fingerprint covers the dates. One of the first version (a bare digest, of the values
    alone) is still checked as it was made: such checkpoints keep loading."""
    rows = "".join(f"2024-01-{d:02d},{d % 5},{d % 3}\n" for d in range(1, 29))
    series = load_csv(write(tmp_path / "a.csv", "date,a,b\n" + rows), "a", "b")
    later = load_csv(write(tmp_path / "b.csv", "date,a,b\n" + rows.replace("2024", "2025")),
                     "a", "b")
    spec = DataSpec.describe(str(tmp_path / "a.csv"), series, build_task(series, "elman"),
                             None, None, False, 20, 5)
    assert spec.fingerprint.startswith("2:")
    spec.check_same_data(series, "m.npz")
    with pytest.raises(DataError, match="m.npz was trained on other data"):
        spec.check_same_data(later, "m.npz")
    spec.fingerprint = fingerprint(series, version=1)  # as a checkpoint of the first version
    assert len(spec.fingerprint) == 64
    spec.check_same_data(later, "m.npz")  # which never saw the dates


def test_stored_scalers_must_name_the_columns_of_the_data(tmp_path):
    exp, _ = new_experiment("narx", "narendra", mode="open")
    wrong = load_series("stock", steps=240)  # other column names
    with pytest.raises(DataError, match="scaler is for columns u; this data has market"):
        build_task(wrong, "narx", scalers=exp.scalers)


# --- reading people's CSV files ------------------------------------------------------------
def test_csv_with_a_byte_order_mark_and_a_date_column(tmp_path):
    rows = "".join(f"2024-01-{d:02d},{d * 1.5},{d % 3}\n" for d in range(1, 29))
    path = write(tmp_path / "bom.csv", "\ufeffdate,sales,promo\n" + rows)
    series = load_csv(path, "sales", "promo")
    assert series.date_column == "date" and series.targets[0, 0] == 1.5


@pytest.mark.parametrize("values,is_date", [
    (["5.0", "1707.4", "3.25"], False), (["1999", "2000", "2001"], False),
    (["2024-01-31", "2024-02-29"], True), (["31.01.2024", "29.02.2024"], True),
    (["2024/01/31 10:00", "2024/01/31 11:00"], True), (["10:15", "10:30:00"], True),
    (["1.2.3", "4.5.6"], False), (["2024-13-45"], False),
])
def test_only_real_dates_make_a_date_column(values, is_date):
    from minirnn.data.dates import is_date_column

    assert is_date_column(values) is is_date


def test_a_date_column_is_read_with_one_layout_and_in_time_order(tmp_path):
    """Month-first dates whose first days are all <= 12 read day-first until a 13th shows
    which they are: the column is read with the one layout that fits every value."""
    days = ["01/05/2024", "01/12/2024", "01/13/2024", "02/01/2024"]  # m/d/Y
    path = write(tmp_path / "us.csv", "when,y\n" + "".join(f"{d},{i}\n"
                                                           for i, d in enumerate(days)))
    series = load_csv(path, "y")
    assert series.date_column == "when" and series.dates == days


def test_a_column_of_decimals_is_data_not_dates(tmp_path):
    """Sunspot numbers such as 5.0 and 1707.4 once looked like dates and were hidden."""
    path = write(tmp_path / "sun.csv", "YEAR,SUN\n1700,5.0\n1701,11.0\n1707,1707.4\n")
    with pytest.raises(DataError, match="column 'sun' not in sun.csv; columns: YEAR, SUN"):
        load_csv(path, "sun")
    assert load_csv(path, "SUN", "YEAR").date_column is None


def test_errors_name_the_line_of_the_file(tmp_path):
    path = write(tmp_path / "gaps.csv", "a,b\n1,2\n\n\n3,4\n5,oops\n")
    with pytest.raises(DataError, match=r"gaps.csv, line 6, column 'b': 'oops' is not a number"):
        load_csv(path, "a", "b")


def test_semicolon_and_tab_separated_files(tmp_path):
    for sep in (";", "\t"):
        body = "".join(f"2024-01-{d:02d}{sep}{d}{sep}{d % 2}\n" for d in range(1, 11))
        path = write(tmp_path / "s.csv", f"date{sep}y{sep}u\n" + body)
        series = load_csv(path, "y", "u")
        assert series.targets[-1, 0] == 10 and series.date_column == "date"


def test_trailing_empty_fields_are_not_extra_values(tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n1,2,\n3,4,,\n")
    np.testing.assert_array_equal(load_csv(path, "a", "b").targets[:, 0], [1, 3])


# --- the text task's perplexity -------------------------------------------------------------
def test_perplexity_is_e_to_the_mean_cross_entropy_of_the_next_word():
    """Hand-computed: with logits that give the true next word probability p_t, perplexity
    over a split is exp(-mean(log p_t)); uniform logits give the vocabulary size."""
    task = make_text_task(meat_text(300, seed=0))
    V, T = task.vocabulary_size, len(task.y)
    uniform = task.score(np.zeros((T, V)))
    for split in uniform.values():
        assert split["model"]["perplexity"] == pytest.approx(V, rel=1e-12)
    # the true next word gets logit log(3), every other word 0: p = 3 / (V + 2)
    logits = np.zeros((T, V))
    logits[np.arange(T), task.y[:, 0]] = np.log(3.0)
    for split in task.score(logits).values():
        assert split["model"]["perplexity"] == pytest.approx((V + 2) / 3, rel=1e-12)


def test_a_run_that_diverges_when_resumed_keeps_its_state_to_resume_from(tmp_path):
    """Continued with a learning rate that blows up at once, the run still hands back the
    state it started from: the checkpoint written after it can be resumed again."""
    exp, task = new_experiment(epochs=2, activation="identity")
    train(exp, task)
    start = exp.run
    exp.train.epochs, exp.train.lr, exp.train.clip = 4, 1e8, 0.0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow is the point
        _, result = train(exp, task, start=start)
    assert result.diverged and result.epoch == 2
    assert result.last_state is start.last_state
    assert result.optimizer_state is start.optimizer_state
    exp.save(tmp_path / "d.npz")
    assert Experiment.load(tmp_path / "d.npz").run.last_state is not None


def test_resume_across_the_closing_of_the_loop_is_exact(tmp_path):
    """Closed-loop NARX trains its first epochs in open loop; a run resumed before the loop
    closes goes on in open loop, then closes it at the same epoch as the uninterrupted run."""
    whole, task = new_experiment("narx", "narendra", "cpu", epochs=5, mode="closed")
    whole.train.open_loop_epochs = 3
    net_whole, _ = train(whole, task)
    first, task = new_experiment("narx", "narendra", "cpu", epochs=2, mode="closed")
    first.train.open_loop_epochs = 3
    train(first, task)
    first.save(tmp_path / "half.npz")
    resumed = Experiment.load(tmp_path / "half.npz")
    assert resumed.train.open_loop_epochs == 3
    resumed.train.epochs = 5
    net_resumed, _ = train(resumed, task, start=resumed.run)
    assert resumed.run.history == whole.run.history
    for key, value in net_whole.state_dict().items():
        np.testing.assert_array_equal(net_resumed.state_dict()[key], value)


def test_missing_values_error_drop_or_interpolate(tmp_path):
    path = write(tmp_path / "gaps.csv", "t,y,u\n1,1.0,10\n2,,20\n3,3.0,NA\n4,7.0,40\n5,?,50\n")
    with pytest.raises(DataError, match=r"gaps.csv, line 3, column 'y': a missing value \(''\); "
                                        r"--missing drop or --missing interpolate"):
        load_csv(path, "y", "u")
    dropped = load_csv(path, "y", "u", missing="drop")  # rows 2, 3, 5 have a gap in y or u
    np.testing.assert_array_equal(dropped.targets[:, 0], [1.0, 7.0])
    np.testing.assert_array_equal(dropped.inputs[:, 0], [10, 40])
    filled = load_csv(path, "y", "u", missing="interpolate")  # linear between neighbours;
    np.testing.assert_allclose(filled.targets[:, 0], [1, 2, 3, 7, 7])  # the last held
    np.testing.assert_allclose(filled.inputs[:, 0], [10, 20, 30, 40, 50])
    with pytest.raises(DataError, match="infinite values cannot be used"):
        load_csv(write(tmp_path / "inf.csv", "y\n1\ninf\n"), "y", missing="interpolate")
