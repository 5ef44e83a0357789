"""When a run writes its checkpoint (``minirnn.app.saving``): on improvement, on a time
interval, at the end and on an interrupt; and that fewer writes keep every resume exact."""
import json
import os
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from minirnn.app.saving import CheckpointWriter, WritePolicy
from minirnn.app.training import TrainOptions, fit_run, prepare
from minirnn.cli.main import main
from minirnn.experiment import Experiment

#: a run whose validation does not improve at every epoch (epochs 8, 9 and 12 do not)
OPTIONS = dict(model="elman", data="sine", length=300, hidden=6, bptt=20, epochs=12,
               patience=12, lr=0.03)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_policy_writes_on_improvement_and_on_its_interval_alone():
    clock = FakeClock()
    policy = WritePolicy(every=30, clock=clock)
    assert policy.due(improved=True)
    assert not policy.due(improved=False)
    clock.now += 29.9
    assert not policy.due(improved=False)
    clock.now += 0.1  # 30 s since the policy was made, with no write yet
    assert policy.due(improved=False)
    policy.wrote()
    clock.now += 10
    assert not policy.due(improved=False) and policy.due(improved=True)
    clock.now += 20
    assert policy.due(improved=False)
    every_epoch = WritePolicy(every=0, clock=clock)
    assert every_epoch.due(improved=False)
    with pytest.raises(ValueError, match=">= 0 seconds"):
        WritePolicy(every=-1)


def test_the_writer_keeps_a_snapshot_and_writes_it_when_due_or_flushed(tmp_path):
    """Between writes the snapshot lives in the experiment, a copy the next epoch leaves
    alone; ``flush`` writes it once."""
    run = prepare(TrainOptions(**{**OPTIONS, "epochs": 1}))
    result = fit_run(run)
    saved, never = [], WritePolicy(60, FakeClock())
    never.due = lambda improved: False
    writer = CheckpointWriter(run.experiment, tmp_path / "m.npz", never, on_saved=saved.append)
    writer.on_epoch(1, result.history[-1], result)
    assert saved == [] and not (tmp_path / "m.npz").exists()
    result.history.append({"epoch": 2})  # the live result goes on; the snapshot does not
    assert len(run.experiment.run.history) == 1
    writer.flush()
    writer.flush()
    assert saved == [1] and writer.writes == 1
    assert Experiment.load(tmp_path / "m.npz").run.epoch == 1


def _writes(tmp_path, every: float, name: str):
    run = prepare(TrainOptions(**OPTIONS))
    saved = []
    result = fit_run(run, tmp_path / name, on_saved=saved.append, every=every)
    return result, saved


def test_a_run_writes_when_validation_improves_and_at_the_end_not_every_epoch(tmp_path):
    result, saved = _writes(tmp_path, 3600, "a.npz")
    best, improved = np.inf, []
    for record in result.history:
        if record["val_rmse"] < best:
            best = record["val_rmse"]
            improved.append(record["epoch"])
    assert len(improved) < 11  # the case holds epochs that do not improve
    assert saved == sorted(set(improved) | {12})  # each improvement, and the last epoch
    every, saved_every = _writes(tmp_path, 0, "b.npz")
    assert saved_every == list(range(1, 13))
    assert every.history == result.history
    for name in ("a.npz", "b.npz"):  # either file: the last epoch, the best weights
        exp = Experiment.load(tmp_path / name)
        assert exp.run.epoch == 12 and exp.run.best_epoch == result.best_epoch
        for key, value in result.best_state.items():
            np.testing.assert_array_equal(exp.run.best_state[key], value)


def test_an_interrupt_writes_the_last_completed_epoch_and_the_resume_is_exact(tmp_path):
    """Interrupted in its 10th epoch, long before its interval, a run writes the state at the
    end of its 9th (which, like the 8th, did not improve: not written until then); resumed,
    it ends bit for bit as the uninterrupted run."""
    whole = fit_run(prepare(TrainOptions(**OPTIONS)))
    path = tmp_path / "m.npz"
    run = prepare(TrainOptions(**OPTIONS))

    def interrupt(epoch, chunk, *args):
        if epoch == 9 and chunk == 1:
            raise KeyboardInterrupt

    saved = []
    with pytest.raises(KeyboardInterrupt):
        fit_run(run, path, on_chunk=interrupt, on_saved=saved.append, every=3600)
    assert saved == [1, 2, 3, 4, 5, 6, 7, 9]  # the improvements, then the interrupt's
    kept = Experiment.load(path)
    assert kept.run.epoch == 9 and [h["epoch"] for h in kept.run.history] == list(range(1, 10))
    assert kept.run.best_epoch == 7 and kept.run.waited == 2
    resumed = prepare(TrainOptions(epochs=12), resume=path)
    assert resumed.resumed_at == 9
    result = fit_run(resumed, path, every=3600)
    assert result.history == whole.history and result.best_epoch == whole.best_epoch
    for key, value in whole.last_state.items():
        np.testing.assert_array_equal(result.last_state[key], value)


def test_sigterm_mid_run_leaves_the_last_completed_epoch_and_resumes_exactly(tmp_path,
                                                                             monkeypatch):
    """SIGTERM in the 10th epoch of a run that writes every hour at most: the file holds
    epoch 9 (written on the signal: epochs 8 and 9 did not improve), the command says so in
    one line, and the resumed run ends as the uninterrupted one."""
    from minirnn.app import training

    args = ["elman", "--data", "sine", "--length", "300", "--hidden", "6", "--bptt", "20",
            "--epochs", "12", "--patience", "12", "--lr", "0.03", "--checkpoint-every", "3600"]
    whole = CliRunner().invoke(main, ["train", *args, "--json"])
    assert whole.exit_code == 0, whole.output
    fit = training.fit

    def fit_signalled(*a, on_chunk=None, **kw):
        def chunk(epoch, index, *rest):
            if epoch == 9 and index == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            on_chunk(epoch, index, *rest)
        return fit(*a, on_chunk=chunk, **kw)

    path = tmp_path / "t.npz"
    monkeypatch.setattr(training, "fit", fit_signalled)
    result = CliRunner().invoke(main, ["train", *args, "--out", str(path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: interrupted; {path} holds epoch 9: continue with --resume {path}")
    monkeypatch.setattr(training, "fit", fit)
    resumed = CliRunner().invoke(main, ["train", "--resume", str(path), "--json"])
    assert resumed.exit_code == 0, resumed.output
    a, b = json.loads(whole.stdout), json.loads(resumed.stdout)
    assert b["resumed_from_epoch"] == 9
    assert a["history"] == b["history"] and a["metrics"] == b["metrics"]


def test_the_write_benchmark_finds_a_document_that_does_not_grow_with_the_epochs():
    """``minirnn bench --checkpoint``'s measure: the document is the same size at 10 and 200
    epochs of history; the file grows by the history's columns alone (4 columns of 8 bytes
    an epoch: ``np.savez`` stores them uncompressed)."""
    from minirnn.write_cost import save_costs

    short, long = save_costs(histories=(10, 200), repeat=1)
    assert short["document_bytes"] == long["document_bytes"]
    assert long["file_bytes"] - short["file_bytes"] == 190 * 4 * 8
