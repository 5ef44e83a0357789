"""The training loop: truncated BPTT over a long series, early stopping, checkpoints.

The training rows are cut into ``batch`` contiguous streams; each epoch walks through them in
chunks of ``bptt`` steps, carrying every stream's state from one chunk to the next but cutting
the gradient between chunks (truncated BPTT). After each epoch the whole series is predicted in
one pass (state warm from the start) and scored on the validation rows (the task's metric:
RMSE for series, accuracy for text); the best weights so far are kept (and written to the
checkpoint, atomically), and training stops when validation has not improved for ``patience``
epochs, or at once if the loss stops being finite.

On the cuda engine with CuPy and a GPU, training is device-resident: the model is moved to the
GPU for the whole run (``Module.to_device``), so the parameters, the activations, the gradients
and the optimiser's moments stay there from the first forward to the last update; each chunk's
inputs go over, and the loss value comes back. The validation pass runs on the host copy of
the weights (the same kernels, reading and returning host arrays), and the model is back in
host memory when ``fit`` returns.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .autograd import ops
from .autograd.arrays import device_arrays_available
from .optim import OPTIMIZERS, clip_grad_norm
from .optim.lm import LevenbergMarquardt


@dataclass
class TrainConfig:
    epochs: int = 30
    batch: int = 8
    bptt: int = 50
    lr: float = 0.01
    optimizer: str = "adam"
    clip: float = 1.0          # global gradient-norm limit; 0 turns clipping off
    patience: int = 5          # epochs without validation improvement before stopping
    weight_decay: float = 0.0
    open_loop_epochs: int = 0  # NARX in closed loop: its first epochs train in open loop
    train_horizon: int = 1     # K > 1: train on K-step free runs (``task.multi_step``)
    iterations: int = 20       # a second-order optimiser's iterations per epoch (full batch)

    def check(self):
        for name in ("epochs", "batch", "bptt", "patience", "train_horizon", "iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("lr", "clip", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                    or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.clip < 0:
            raise ValueError(f"clip must be >= 0, got {self.clip}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        value = self.open_loop_epochs
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"open_loop_epochs must be a non-negative integer, got {value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of "
                             f"{', '.join(OPTIMIZERS)}")
        if self.weight_decay and OPTIMIZERS[self.optimizer].full_batch:
            raise ValueError(f"weight_decay is for the first-order optimisers, not "
                             f"{self.optimizer}")


def default_lr(optimizer: str) -> float:
    """The learning rate an optimiser gets when none is given: 0.01 for the first-order ones,
    1 (Newton's step, the first tried) for L-BFGS; Levenberg-Marquardt reads none."""
    return 1.0 if OPTIMIZERS[optimizer].full_batch else 0.01


#: a chunk length longer than any series: a full-batch optimiser gets every stream whole
WHOLE = 2 ** 62


def check_optimizer_fits(optimizer: str, task):
    """Levenberg-Marquardt minimises a sum of squares: a ValueError for a task whose loss is
    not one (the text task's cross-entropy)."""
    if OPTIMIZERS[optimizer] is LevenbergMarquardt and not getattr(task, "least_squares", False):
        raise ValueError(f"Levenberg-Marquardt needs a least-squares loss; the {task.kind} "
                         f"task's is not (use lbfgs or a first-order optimiser)")


def make_optimizer(config: TrainConfig, params):
    """The optimiser ``config`` names, over ``params``: a first-order one with its learning
    rate and weight decay; L-BFGS with ``lr`` as its first step length and ``iterations`` per
    epoch; Levenberg-Marquardt with ``iterations`` per epoch (no learning rate: μ sets the
    step)."""
    kind = OPTIMIZERS[config.optimizer]
    if kind is LevenbergMarquardt:
        return kind(params, max_iter=config.iterations)
    if kind.full_batch:
        return kind(params, lr=config.lr, max_iter=config.iterations)
    return kind(params, lr=config.lr, weight_decay=config.weight_decay)


#: ``TrainResult.stopped`` of a run that has not ended: what a checkpoint written during the
#: run says (a run killed there says it too)
NOT_FINISHED = "not finished: resume the checkpoint to go on"


@dataclass
class TrainResult:
    """Where a run stands: after it ends, and after each epoch (what a checkpoint keeps so
    that ``fit(..., start=result)`` continues exactly where it stopped)."""

    history: list = field(default_factory=list)  # per epoch: train_loss, val_<metric>, grad_norm
    best_epoch: int = -1
    best_state: dict | None = None     # the weights of the best epoch
    stopped: str = NOT_FINISHED        # why the run ended (what a mid-run checkpoint says)
    diverged: bool = False
    epoch: int = 0                     # epochs completed
    best_score: float | None = None    # the best epoch's validation value of the task's metric
    waited: int = 0                    # epochs since the best one (early stopping's count)
    last_state: dict | None = None     # the weights after the last completed epoch
    optimizer_state: dict | None = None  # the optimiser's state then (Optimizer.state_dict)


def trains_on_device(model) -> bool:
    """Whether ``fit`` keeps this model on the GPU: the cuda engine, with CuPy and a GPU."""
    return getattr(model, "backend", None) == "cuda" and device_arrays_available()


def evaluate(model, task) -> dict:
    """The task's metrics per split (train, validation, test) for the model and for the task's
    naive baseline: {split: {"model": {metric: value}, "naive": {…}}}."""
    return task.score(task.predict(model))


def fit(model, task, config: TrainConfig, on_chunk=None, on_epoch=None,
        on_improve=None, start: TrainResult | None = None) -> TrainResult:
    """Train ``model`` on the task's training rows.

    Callbacks: ``on_chunk(epoch, chunk, chunks, loss, grad_norm, steps)`` after each update
    (``steps``: the time steps of all rows in the chunk, for throughput),
    ``on_epoch(epoch, record, result)`` after each validation (``result``: the run so far,
    with the weights and the optimiser's state after this epoch: write the checkpoint there),
    ``on_improve(epoch, record)`` when the validation score is the best so far.

    A first-order optimiser steps once per chunk of ``bptt`` steps (truncated BPTT, the
    gradient clipped to ``clip``); a second-order one (``Optimizer.full_batch``) is handed the
    whole training set once per epoch, every stream as one chunk (exact BPTT, no clipping), and
    makes ``iterations`` iterations on it; the run ends early when it says it has converged.
    Where a NARX closes its loop, the optimiser is told its objective changed.

    ``start``: a run to continue (a checkpoint's): training goes on at its next epoch from its
    last weights, its optimiser's state, its best score and its early-stopping count, and does
    bit for bit what the uninterrupted run would have done (the chunks of epoch e depend on e
    alone). ``config.epochs`` counts from the run's first epoch.
    """
    config.check()
    check_optimizer_fits(config.optimizer, task)
    resident = trains_on_device(model)
    if resident:
        model.to_device()  # before the optimiser, whose moments are made beside the weights
    try:
        return _fit(model, task, config, on_chunk, on_epoch, on_improve, start, resident)
    finally:
        if resident:
            model.to_host()


def _evaluate(model, task, resident: bool) -> dict:
    """``evaluate`` on the host copy of the weights (see the module docstring)."""
    if not resident:
        return evaluate(model, task)
    model.to_host()
    try:
        return evaluate(model, task)
    finally:
        model.to_device()


def _fit(model, task, config, on_chunk, on_epoch, on_improve, start, resident) -> TrainResult:
    optimizer = make_optimizer(config, model.parameters())
    result = TrainResult() if start is None else _continued(start, model, optimizer)
    sign = 1.0 if task.lower_is_better else -1.0  # compare scores as "lower is better"
    best = np.inf if result.best_score is None else sign * result.best_score
    if not resident and result.epoch < config.epochs:
        _kernels_compiled(task, model, config, result.epoch, optimizer.full_batch)
    for epoch in range(result.epoch, config.epochs):
        if result.waited >= config.patience:
            break
        # closed-loop NARX: its first epochs fit one-step predictions from the true past
        # outputs (series-parallel), the loop is then closed and the same weights fine-tuned
        opened = epoch < config.open_loop_epochs and hasattr(model, "open_loop")
        stepped = model.open_loop() if opened else model
        if 0 < epoch == config.open_loop_epochs and hasattr(model, "open_loop"):
            optimizer.objective_changed()
        losses_seen, norms = _epoch_updates(optimizer, task, stepped, config, epoch, on_chunk)
        if not np.isfinite(losses_seen[-1]):
            return _diverged(model, result, f"the loss became {losses_seen[-1]} at epoch "
                                            f"{epoch + 1}")
        scores = _evaluate(model, task, resident)
        watched = scores["validation"]["model"][task.metric]
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses_seen)),
                  "grad_norm": float(np.mean(norms)), f"val_{task.metric}": watched}
        if not np.isfinite(watched):
            result.history.append(record)
            return _diverged(model, result, f"the validation {task.metric} became {watched} "
                                            f"at epoch {epoch + 1}")
        result.history.append(record)
        result.epoch = epoch + 1
        if sign * watched < best:
            best, result.waited = sign * watched, 0
            result.best_epoch, result.best_state = epoch + 1, model.state_dict()
            result.best_score = float(watched)
            if on_improve is not None:
                on_improve(epoch + 1, record)
        elif not opened:  # early stopping counts from the closing of the loop
            result.waited += 1
        result.last_state, result.optimizer_state = model.state_dict(), optimizer.state_dict()
        if optimizer.converged and not opened:
            result.stopped = f"converged: {optimizer.converged}"
        if on_epoch is not None:
            on_epoch(epoch + 1, record, result)
        if optimizer.converged and not opened:
            return _finish(model, result)
    if result.waited >= config.patience:
        result.stopped = (f"early stop: validation {task.metric} did not improve for "
                          f"{config.patience} epochs")
    else:
        result.stopped = "finished all epochs"
    return _finish(model, result)


def _stepper(task, config: TrainConfig):
    """How a chunk runs: one step ahead (``task.step``) or, with a training horizon K > 1,
    as free runs of K steps (``task.multi_step``)."""
    if config.train_horizon == 1:
        return task.step
    return lambda model, x, y, state: task.multi_step(model, x, y, state, config.train_horizon)


def _continued(start: TrainResult, model, optimizer) -> TrainResult:
    """The run ``start`` to go on with, its last weights and optimiser state restored."""
    # a diverged epoch's record is kept in the history but was never completed
    result = TrainResult(history=[dict(h) for h in start.history
                                  if h.get("epoch", 0) <= start.epoch],
                         best_epoch=start.best_epoch, best_state=start.best_state,
                         epoch=start.epoch, best_score=start.best_score,
                         waited=start.waited, last_state=start.last_state,
                         optimizer_state=start.optimizer_state)
    if start.last_state is not None:
        model.load_state_dict(start.last_state)
    if start.optimizer_state is not None:
        optimizer.load_state_dict(start.optimizer_state)
    return result


def _epoch_updates(optimizer, task, model, config, epoch, on_chunk) -> tuple:
    """An epoch's updates of ``model`` (the run's, or its open-loop twin): (the losses, the
    gradients' norms), one each per update; they end at a loss that is not finite."""
    step = _stepper(task, config)
    if optimizer.full_batch:
        chunks = task.training_chunks(config.batch, WHOLE, model.dtype, epoch)
        value, norm = _full_batch_step(optimizer, task, model, chunks, step)
        if on_chunk is not None and np.isfinite(value):
            on_chunk(epoch, 0, 1, value, norm, sum(x.shape[0] * x.shape[1] for x, _ in chunks))
        return [value], [norm]
    state, losses, norms = None, [], []
    chunks = task.training_chunks(config.batch, config.bptt, model.dtype, epoch)
    for chunk, (x, y) in enumerate(chunks):
        optimizer.zero_grad()
        out, state = step(model, x, y, state)
        loss = task.loss(out, y)
        value = loss.item()
        losses.append(value)
        if not np.isfinite(value):
            break
        loss.backward()
        norm = clip_grad_norm(model.parameters(), config.clip or np.inf)
        optimizer.step()
        if state is not None:
            state = state.detach()  # carry the state, cut the gradient: truncated BPTT
        norms.append(norm)
        if on_chunk is not None:
            on_chunk(epoch, chunk, len(chunks), value, norm, x.shape[0] * x.shape[1])
    return losses, norms


def _kernels_compiled(task, model, config, epoch, full_batch):
    """On the cpu engine, the kernels of the run's training steps made ready before its first
    step (from ``epoch`` on: the open-loop twin's, and the model's if its loop closes later),
    those not in Numba's cache yet compiled two at a time (``compile_ahead``: a first
    ``minirnn train elman --data sine --epochs 1`` 7.6 → 5.0 s on the 2-core machine of
    BENCHMARKS.md). The steps it records run on copies of the models, on the first chunk."""
    if getattr(model, "backend", None) != "cpu":
        return
    from .compile_ahead import compile_ahead

    stepped = [model]
    if hasattr(model, "open_loop") and epoch < config.open_loop_epochs:
        stepped = [model.open_loop()] + ([model] if config.open_loop_epochs < config.epochs
                                         else [])
    x, y = task.training_chunks(config.batch, WHOLE if full_batch else config.bptt,
                                model.dtype, epoch)[0]
    step = _stepper(task, config)

    def forward(twin):
        return lambda: task.loss(step(twin, x, y, None)[0], y)

    compile_ahead([(forward(copy.deepcopy(m)), lambda loss: loss.backward())
                   for m in stepped])


def _full_batch_step(optimizer, task, model, chunks, step) -> tuple:
    """One ``step`` of a second-order optimiser on the whole training set (``chunks``: the
    rows, each chunk from a zero state); (the loss before it, its gradient's norm).

    L-BFGS gets the closure of the total loss, each chunk's mean loss weighted by its share of
    the targets and back-propagated in turn (one chunk's graph alive at a time);
    Levenberg-Marquardt gets the residuals (ŷ - y)/√n of all chunks, whose squares sum to the
    mean squared error."""
    total = sum(y.size for _, y in chunks)
    seen = []

    def closure():
        optimizer.zero_grad()
        value = 0.0
        for x, y in chunks:
            out, _ = step(model, x, y, None)
            loss = task.loss(out, y) * (y.size / total)
            loss.backward()
            value += loss.item()
        if not seen:
            seen.append(clip_grad_norm(optimizer.params, np.inf))
        return value

    def residuals():
        parts = [(step(model, x, y, None)[0] - y).reshape(-1) for x, y in chunks]
        return ops.concatenate(parts, axis=0) * (1 / np.sqrt(total))

    if isinstance(optimizer, LevenbergMarquardt):
        value = optimizer.step(residuals)
        return value, optimizer.grad_norm
    value = optimizer.step(closure)
    return value, seen[0] if seen else float("nan")


def _diverged(model, result: TrainResult, what: str) -> TrainResult:
    result.diverged = True
    kept = "the best weights so far are kept" if result.best_state is not None else \
        "no epoch finished with finite errors, so there are no weights to keep"
    result.stopped = (f"{what}: lower the learning rate (lr) or clip the gradients (clip); "
                      f"{kept}")
    return _finish(model, result)


def _finish(model, result: TrainResult) -> TrainResult:
    if result.best_state is not None:
        model.load_state_dict(result.best_state)
    return result

