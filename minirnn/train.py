"""The training loop: truncated BPTT over a long series, early stopping, checkpoints.

The training rows are cut into ``batch`` contiguous streams; each epoch walks through them in
chunks of ``bptt`` steps, carrying every stream's state from one chunk to the next but cutting
the gradient between chunks (truncated BPTT). After each epoch the whole series is predicted in
one pass (state warm from the start) and scored on the validation rows (the task's metric:
RMSE for series, accuracy for text); the best weights so far are kept (and written to the
checkpoint, atomically), and training stops when validation has not improved for ``patience``
epochs, or at once if the loss stops being finite.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .optim import OPTIMIZERS, clip_grad_norm


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

    def check(self):
        for name in ("epochs", "batch", "bptt", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.clip < 0:
            raise ValueError(f"clip must be >= 0, got {self.clip}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of "
                             f"{', '.join(OPTIMIZERS)}")


@dataclass
class TrainResult:
    history: list = field(default_factory=list)  # per epoch: train_loss, val_<metric>, grad_norm
    best_epoch: int = -1
    best_state: dict | None = None
    stopped: str = "finished all epochs"
    diverged: bool = False


def predict(model, task) -> np.ndarray:
    """The task's predictions by the model (in the model's units): see each task's predict."""
    return task.predict(model)


def evaluate(model, task) -> dict:
    """The task's metrics per split (train, validation, test) for the model and for the task's
    naive baseline: {split: {"model": {metric: value}, "naive": {…}}}."""
    return task.score(predict(model, task))


def fit(model, task, config: TrainConfig, on_chunk=None, on_epoch=None,
        on_improve=None) -> TrainResult:
    """Train ``model`` on the task's training rows.

    Callbacks: ``on_chunk(epoch, chunk, chunks, loss, grad_norm, steps)`` after each update
    (``steps``: the time steps of all rows in the chunk, for throughput),
    ``on_epoch(epoch, record)`` after each validation, ``on_improve(epoch, record)`` when the
    validation RMSE is the best so far (write the checkpoint there).
    """
    config.check()
    optimizer = OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr,
                                             weight_decay=config.weight_decay)
    result = TrainResult()
    best, waited = np.inf, 0
    for epoch in range(config.epochs):
        state, losses_seen, norms = None, [], []
        chunks = task.training_chunks(config.batch, config.bptt, model.dtype, epoch)
        for chunk, (x, y) in enumerate(chunks):
            optimizer.zero_grad()
            out, state = task.step(model, x, y, state)
            loss = task.loss(out, y)
            value = loss.item()
            if not np.isfinite(value):
                return _diverged(model, result, f"the loss became {value} at epoch {epoch + 1}")
            loss.backward()
            norm = clip_grad_norm(model.parameters(), config.clip or np.inf)
            optimizer.step()
            if state is not None:
                state = state.detach()  # carry the state, cut the gradient: truncated BPTT
            losses_seen.append(value)
            norms.append(norm)
            if on_chunk is not None:
                on_chunk(epoch, chunk, len(chunks), value, norm, x.shape[0] * x.shape[1])
        scores = evaluate(model, task)
        watched = scores["validation"]["model"][task.metric]
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses_seen)),
                  "grad_norm": float(np.mean(norms)), f"val_{task.metric}": watched}
        result.history.append(record)
        if not np.isfinite(watched):
            return _diverged(model, result, f"the validation {task.metric} became {watched} "
                                            f"at epoch {epoch + 1}")
        if (watched if task.lower_is_better else -watched) < best:
            best, waited = (watched if task.lower_is_better else -watched), 0
            result.best_epoch, result.best_state = epoch + 1, model.state_dict()
            if on_improve is not None:
                on_improve(epoch + 1, record)
        else:
            waited += 1
        if on_epoch is not None:
            on_epoch(epoch + 1, record)
        if waited >= config.patience:
            result.stopped = (f"early stop: validation {task.metric} did not improve for "
                              f"{config.patience} epochs")
            break
    return _finish(model, result)


def _diverged(model, result: TrainResult, what: str) -> TrainResult:
    result.diverged = True
    kept = "the best weights so far are kept" if result.best_state is not None else \
        "no epoch finished with finite errors, so there are no weights to keep"
    result.stopped = (f"{what}: lower the learning rate (--lr) or clip the gradients (--clip); "
                      f"{kept}")
    return _finish(model, result)


def _finish(model, result: TrainResult) -> TrainResult:
    if result.best_state is not None:
        model.load_state_dict(result.best_state)
    return result

