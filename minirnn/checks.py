"""Gradient checks of whole models: ``gradcheck`` (``mr.gradcheck``) for one model, and the
table ``minirnn gradcheck`` prints.

For each model and engine: build the model with small random sizes in float64, compare the
analytic gradient of every parameter, the initial state and the input with central finite
differences, and compare the engine's outputs and gradients with the ``tape`` engine's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import losses
from .autograd import GradcheckReport, Tensor, check_gradients
from .inside import state_gradient_norms
from .models.module import Module
from .models.registry import get_model_info
from .models.seq2seq import Seq2Seq

def gradcheck(model, x, target, loss=None, mode: str = "full", check_input: bool = True,
              forward: dict | None = None, **options) -> GradcheckReport:
    """Gradient-check a model: every parameter (and the input x) of
    ``loss(model(x, **forward), target)``.

    ``loss`` defaults to :func:`minirnn.losses.mse`. The model must be float64. ``forward``:
    what else the model's forward needs, e.g. ``{"y": y_true}`` for an open-loop NARX or
    ``{"target": y}`` for a delayed Seq2Seq (teacher forcing). Extra keyword options (eps,
    rtol, atol, directions, seed) go to :func:`check_gradients`.
    """
    forward = forward or {}
    loss = losses.mse if loss is None else loss
    tensors = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if check_input:
        x = Tensor(np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64),
                   requires_grad=True)
        tensors["x"] = x
    return check_gradients(lambda: loss(model(x, **forward), target), tensors, mode=mode,
                           **options)


#: small sizes: (batch, time, input, hidden, output); odd on purpose
CHECK_SHAPE = (2, 5, 3, 4, 2)
#: engines agree when outputs and gradients match the tape's to this relative tolerance
ENGINE_RTOL = 1e-10


@dataclass
class CheckRow:
    """One tensor of one model on one engine: its gradient against finite differences
    (``fd_*``, None for the output y) and against the tape engine (``tape_rel_error``, None on
    the tape engine itself)."""

    model: str
    backend: str
    tensor: str
    fd_abs_error: float | None
    fd_rel_error: float | None
    tape_rel_error: float | None
    passed: bool

    def as_dict(self):
        return asdict(self)


def _build(name, backend, seed, options=None):
    B, T, I, H, O = CHECK_SHAPE
    info = get_model_info(name)
    model = info.build(input_size=I, hidden_size=H, output_size=O, backend=backend,
                     dtype="float64", seed=seed, **info.check_options, **(options or {}))
    randomize(model, seed + 1)
    return TeacherForced(model, O) if isinstance(model, Seq2Seq) else model


def randomize(model, seed: int):
    """Every learned parameter drawn from ±0.8, so that biases and initial states are not zero
    and their gradients matter; a scalar coefficient (Jordan's mu) from [0.1, 0.9). The same
    seed gives the same values on every engine."""
    rng = np.random.default_rng(seed)
    for _, p in model.named_parameters():
        if p.ndim == 0:
            p.data[...] = rng.uniform(0.1, 0.9)
        elif p.requires_grad:
            p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    return model


class TeacherForced(Module):
    """A delayed Seq2Seq as a function of x alone, for the checks: the decoder is fed a fixed
    random target sequence (teacher forcing), so L(model(x)) has the same parameters."""

    def __init__(self, seq2seq, output_size: int):
        self.seq2seq = seq2seq
        self.decoder_target = np.random.default_rng(7).standard_normal(
            (CHECK_SHAPE[0], CHECK_SHAPE[1], output_size))

    def named_parameters(self):
        return self.seq2seq.named_parameters()

    def forward(self, x):
        return self.seq2seq(x, self.decoder_target)


def _problem(seed):
    B, T, I, H, O = CHECK_SHAPE
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, T, I)), rng.standard_normal((B, T, O))


def outputs_and_gradients(model, x, target, **forward_options):
    """y and the gradient of every parameter (None for a fixed one) and of x ("x"), for
    L = mse(model(x), target)."""
    x = Tensor(x, requires_grad=True)
    model.zero_grad()
    y = model(x, **forward_options)
    losses.mse(y, target).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    return y.data, dict(grads, x=x.grad)


def _learned_gradients(model, x, target):
    """``outputs_and_gradients`` for the learned parameters; a parameter that the output does
    not depend on (a Seq2Seq encoder's output layer) gets no gradient: compared as zeros."""
    y, grads = outputs_and_gradients(model, x, target)
    learned = {n for n, p in model.named_parameters() if p.requires_grad} | {"x"}
    params = dict(model.named_parameters())
    return y, {n: np.zeros_like(params[n].data) if g is None else g
               for n, g in grads.items() if n in learned}


def check_model(name: str, backend: str, mode: str = "full", seed: int = 0) -> list[CheckRow]:
    """One row per tensor (every parameter, the input x, and the output y) for one engine, for
    each variant of the model (``multilayer``: each connectivity), labelled ``name:variant``."""
    variants = get_model_info(name).variants or (("", {}),)
    rows = []
    for label, options in variants:
        rows += _check_variant(f"{name}:{label}" if label else name, name, options, backend,
                               mode, seed)
    return rows


def _check_variant(label, name, options, backend, mode, seed) -> list[CheckRow]:
    x, target = _problem(seed)
    model = _build(name, backend, seed, options)
    report = gradcheck(model, x, target, mode=mode)
    rows = {c.name: CheckRow(label, backend, c.name, c.max_abs_error, c.max_rel_error, None,
                             c.passed) for c in report.checks}
    if backend != "tape":
        y, grads = _learned_gradients(model, x, target)
        y_ref, grads_ref = _learned_gradients(_build(name, "tape", seed, options), x,
                                                  target)
        rows = {"y": CheckRow(label, backend, "y", None, None, None, True), **rows}
        for tensor, value, ref in [("y", y, y_ref)] + [(n, grads[n], grads_ref[n]) for n in grads]:
            diff = np.abs(value - ref)
            row = rows[tensor]
            row.tape_rel_error = float((diff / np.maximum(np.abs(ref), 1e-300)).max())
            row.passed &= bool(np.allclose(value, ref, rtol=ENGINE_RTOL, atol=1e-14))
    return list(rows.values())


def per_step_gradient_norms(name: str, backend: str = "cpu", steps: int = 30, seed: int = 0):
    """{"x": ‖∂L/∂x_t‖, and for each state of the model, e.g. "h": ‖∂L/∂h_t‖} for every t,
    when L = Σ y_{T-1}² is the loss at the last step only: how far back the gradient reaches
    (it vanishes or explodes geometrically through the recurrence). The states' norms come
    from ``minirnn.inside.state_gradient_norms``; a model without the states' protocol gives
    ‖∂L/∂x_t‖ alone."""
    B, _, I, H, O = CHECK_SHAPE
    rng = np.random.default_rng(seed)
    info = get_model_info(name)
    model = info.build(input_size=I, hidden_size=H, output_size=O, backend=backend,
                     dtype="float64", seed=seed, **info.check_options)
    x = rng.standard_normal((1, steps, I))
    return state_gradient_norms(model, x, np.zeros((1, O)), loss=sum_of_squares, at="last")


def sum_of_squares(y, target):
    """Σ (y - target)²."""
    difference = y - target
    return (difference * difference).sum()
