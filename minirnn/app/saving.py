"""When a training run writes its checkpoint.

A write (``Experiment.save``: the archive, an fsync, a rename) costs about as much as a small
model's epoch (1.3-9 ms against 1.2-5 ms for the default Elman run's on the 2-core machine of
BENCHMARKS.md, as busy as the machine is), so a run does not write after every epoch. It
writes:

- when validation improves (the file's best weights are then the run's best, and they are only
  ever replaced by better ones), keeping the writes to at most ``SHARE`` of the run's time: an
  improvement is written at the end of the first epoch, its own or a later one, by which the
  time since the last write is (1 - SHARE) / SHARE times what that write took (39 times). A
  model whose epochs outlast that has every improvement written at once; a small one that
  improves at every epoch has one written every few epochs, and never waits longer than that;
- when ``every`` seconds have passed since the last write (0: after every epoch, whatever the
  cost);
- when the run ends, and when it is interrupted (a signal, as ``KeyboardInterrupt``).

At the end of each epoch the run's state (weights, optimiser state, history, early-stopping
count) is kept in memory as a snapshot, copies of arrays and no disk; an interrupted run writes
that snapshot, so the file holds the last completed epoch. A run killed outright (SIGKILL)
leaves the last write, and resuming it redoes the epochs since then: training is deterministic
from the saved state, so it still ends bit for bit as the uninterrupted run.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import replace
from typing import Callable

#: seconds between two writes of a run whose validation does not improve
DEFAULT_EVERY = 30.0
#: the most of a run's time that its writes on improvement take (between two of them)
# 0.05 left a run's epochs 7-12% slower than with no file: each write costs the epochs
# around it too (the system writing the file back), about as much again
SHARE = 0.025


class WritePolicy:
    """Whether an epoch's end is a time to write: when validation has improved since the last
    write and the time since that write is (1 - share) / share times what it took (``wrote``),
    or when ``every`` seconds (by ``clock``) have passed since the last write, or since the
    policy was made for a run that has not written yet; ``every`` 0: at every epoch. ``share``
    1: every improvement, whatever the writes cost."""

    def __init__(self, every: float = DEFAULT_EVERY, clock: Callable[[], float] = time.monotonic,
                 share: float = SHARE):
        if not every >= 0:
            raise ValueError(f"the time between checkpoint writes must be >= 0 seconds, got "
                             f"{every!r}")
        if not 0 < share <= 1:
            raise ValueError(f"the share of a run's time for checkpoint writes must be in "
                             f"(0, 1], got {share!r}")
        self.every, self.clock, self.share = float(every), clock, float(share)
        self.last = clock()
        self.spacing = 0.0  # after the last write, how long an improvement waits
        self.improved = False  # since the last write (its best weights not in the file yet)

    def due(self, improved: bool) -> bool:
        self.improved = self.improved or improved
        since = self.clock() - self.last
        return self.every == 0 or since >= self.every or \
            (self.improved and since >= self.spacing)

    def wrote(self, seconds: float = 0.0):
        """A write that took ``seconds`` has just ended: the interval counts from now."""
        self.last = self.clock()
        self.spacing = seconds * (1 - self.share) / self.share
        self.improved = False


class CheckpointWriter:
    """The checkpoint of one run: ``on_epoch`` (``fit``'s callback) keeps the epoch's snapshot
    in ``experiment.run`` and writes it to ``out`` when ``policy`` says so; ``flush`` writes a
    snapshot not yet written (at the end, on an interrupt). Each write runs inside the context
    ``writing()`` makes (the command's: a signal waits for it), then ``on_saved(epoch)``
    is called; ``writes`` counts them."""

    def __init__(self, experiment, out=None, policy: WritePolicy | None = None,
                 writing=nullcontext, on_saved=None):
        self.experiment, self.out = experiment, out
        self.policy = policy or WritePolicy()
        self.writing, self.on_saved = writing, on_saved
        self.unwritten, self.writes = False, 0

    def on_epoch(self, epoch, record, result):
        # the result goes on changing in the next epoch: keep a copy of its record (the
        # weights and optimiser state in it are fresh copies each epoch, never changed after)
        snapshot = replace(result, history=list(result.history))
        self.experiment.run, self.experiment.metrics = snapshot, None  # scores: the end's
        self.unwritten = True
        if self.policy.due(improved=result.best_epoch == epoch):
            self.flush()

    def flush(self):
        """Write the last epoch's snapshot, unless it is written already (or there is no
        ``out``)."""
        if not (self.unwritten and self.out):
            return
        with self.writing():
            start = self.policy.clock()
            self.experiment.save(self.out)
            self.unwritten = False
            self.writes += 1
            self.policy.wrote(self.policy.clock() - start)
            if self.on_saved is not None:
                self.on_saved(self.experiment.run.epoch)
