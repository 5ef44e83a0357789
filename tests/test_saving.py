"""When a run writes its checkpoint (``minirnn.app.saving``): on improvement (within a share
of the run's time), on a time interval, at the end and on an interrupt; and that fewer writes
keep every resume exact."""
import json
import os
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from minirnn.app.saving import SHARE, CheckpointWriter, WritePolicy
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


def test_writes_on_improvement_take_at_most_their_share_of_the_run():
    """After a write that took 10 ms, an improvement is written once 90 ms have passed (a
    tenth of the time spent writing): at its own epoch's end if that is later, else at the
    first epoch's end after, improved or not, so that it never waits longer. Share 1: every
    improvement; the interval and ``every`` 0 are not held back."""
    clock = FakeClock()
    policy = WritePolicy(every=30, clock=clock, share=0.1)
    assert policy.due(improved=True)  # nothing written yet: nothing to wait for
    policy.wrote(seconds=0.010)
    clock.now += 0.089
    assert not policy.due(improved=True)  # too soon after the last write
    clock.now += 0.001
    assert policy.due(improved=False)  # that improvement, still unwritten, is due now
    policy.wrote(seconds=0.010)
    clock.now += 1.0
    assert not policy.due(improved=False)  # nothing new since the write
    assert policy.due(improved=True)  # long enough after it: at once
    always = WritePolicy(every=30, clock=clock, share=1.0)
    always.wrote(seconds=0.010)
    assert always.due(improved=True)
    every_epoch = WritePolicy(every=0, clock=clock)
    every_epoch.wrote(seconds=1.0)
    assert every_epoch.due(improved=False)
    for share in (0, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"in \(0, 1\]"):
            WritePolicy(share=share)


def test_a_small_model_skips_improvements_to_keep_its_writes_to_their_share(tmp_path):
    """Epochs of 10 ms and writes of 5 ms (by the clock): each write on improvement begins
    (1 - SHARE) / SHARE (39) times the last write's length after it or later, so some
    improvements go unwritten; the file still ends with the last epoch and the run's best
    weights."""
    from minirnn.train import fit

    clock, writes = FakeClock(), []

    class SlowSave(Experiment):
        def save(self, path):
            writes.append((self.run.epoch, clock.now, clock.now + 0.005))
            clock.now += 0.005
            super().save(path)

    run = prepare(TrainOptions(**OPTIONS))
    run.experiment.__class__ = SlowSave
    writer = CheckpointWriter(run.experiment, tmp_path / "m.npz", WritePolicy(3600, clock))

    def on_epoch(epoch, record, result):
        clock.now += 0.010
        writer.on_epoch(epoch, record, result)

    result = fit(run.net, run.task, run.experiment.train, on_epoch=on_epoch)
    writer.flush()
    history = result.history
    improved = [r["epoch"] for i, r in enumerate(history)
                if r["val_rmse"] < min([h["val_rmse"] for h in history[:i]], default=np.inf)]
    written = [epoch for epoch, _, _ in writes]
    assert written[0] == 1 and written[-1] == 12 and len(written) - 1 < len(improved)
    pairs = zip(writes[:-2], writes[1:-1], strict=True)  # (the last write: the end's)
    for (_, began, ended), (_, next_began, _) in pairs:
        assert next_began - ended >= (1 - SHARE) / SHARE * (ended - began) - 1e-12
    exp = Experiment.load(tmp_path / "m.npz")
    assert exp.run.epoch == 12 and exp.run.best_epoch == result.best_epoch


def _writes(tmp_path, every: float, name: str):
    run = prepare(TrainOptions(**OPTIONS))
    saved = []
    result = fit_run(run, tmp_path / name, on_saved=saved.append, every=every, share=1.0)
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
        fit_run(run, path, on_chunk=interrupt, on_saved=saved.append, every=3600, share=1.0)
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


#: the command-line run of the signal tests: OPTIONS as ``minirnn train`` arguments
ARGS = ["elman", "--data", "sine", "--length", "300", "--hidden", "6", "--bptt", "20",
        "--epochs", "12", "--patience", "12", "--lr", "0.03"]


def sigterm_in_epoch(fit, epoch: int):
    """``training.fit`` that sends this process SIGTERM in the second chunk of ``epoch``."""
    def fit_signalled(*a, on_chunk=None, **kw):
        def chunk(at, index, *rest):
            if at == epoch and index == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            on_chunk(at, index, *rest)
        return fit(*a, on_chunk=chunk, **kw)
    return fit_signalled


def test_sigterm_mid_run_leaves_the_last_completed_epoch_and_resumes_exactly(tmp_path,
                                                                             monkeypatch):
    """SIGTERM in the 10th epoch of a run that writes every hour at most: the file holds
    epoch 9 (written on the signal: epochs 8 and 9 did not improve), the command says so in
    one line, and the resumed run ends as the uninterrupted one."""
    from minirnn.app import training

    args = [*ARGS, "--checkpoint-every", "3600"]
    whole = CliRunner().invoke(main, ["train", *args, "--json"])
    assert whole.exit_code == 0, whole.output
    fit = training.fit
    path = tmp_path / "t.npz"
    monkeypatch.setattr(training, "fit", sigterm_in_epoch(fit, 9))
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


def test_a_second_signal_while_the_first_is_reported_keeps_the_resume_advice(tmp_path,
                                                                          monkeypatch):
    """Two quick Ctrl-Cs (or SIGTERMs): the second lands while the command reads back what
    the file holds; the line still says it, instead of a bare "interrupted"."""
    from minirnn.app import training

    load = Experiment.load

    def load_signalled(cls, path):
        os.kill(os.getpid(), signal.SIGTERM)  # the second signal
        return load(path)

    path = tmp_path / "t.npz"
    monkeypatch.setattr(training, "fit", sigterm_in_epoch(training.fit, 4))
    monkeypatch.setattr(Experiment, "load", classmethod(load_signalled))
    result = CliRunner().invoke(main, ["train", *ARGS, "--out", str(path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: interrupted; {path} holds epoch 4: continue with --resume {path}")


def test_the_write_benchmark_finds_a_document_that_does_not_grow_with_the_epochs():
    """``minirnn bench --checkpoint``'s measure: the document is the same size at 10 and 200
    epochs of history; the file grows by the history's columns alone (4 columns of 8 bytes
    an epoch: ``np.savez`` stores them uncompressed)."""
    from minirnn.write_cost import save_costs

    short, long = save_costs(histories=(10, 200), repeat=1)
    assert short["document_bytes"] == long["document_bytes"]
    assert long["file_bytes"] - short["file_bytes"] == 190 * 4 * 8


def test_the_epoch_benchmark_counts_the_writes_and_their_share_of_the_run():
    """``minirnn bench --checkpoint``'s second measure: per case, the files written and the
    share of the run's time spent inside them (none without a file)."""
    from minirnn.write_cost import epoch_costs

    rows = {r["writes"]: r for r in epoch_costs(epochs=3, repeat=1)}
    assert rows["no file"]["files_written"] == 0 and rows["no file"]["writing_share"] == 0
    assert rows["every epoch"]["files_written"] == 3
    assert 0 < rows["every epoch"]["writing_share"] < 1
    assert 1 <= rows["policy (30 s)"]["files_written"] <= 3
