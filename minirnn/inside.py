r"""Seeing inside a recurrent network: how far back the gradient reaches, and what the states do.

``state_gradient_norms(model, x, target)`` returns, for every step t,

    ‖∂L/∂x_t‖     and, for each state s of the model, ‖∂L/∂s_t‖

(norms over the batch and the units), for L the loss at the last step by default. Through an
Elman recurrence the gradient travels back one step at a time,

    ∂L/∂h_{t-1} = W_hh^T diag(f'(z_t)) ∂L/∂h_t      (when the loss is at the last step alone),

so its norm changes by about the same factor at every step: a straight line on a log scale,
falling where that factor is below 1 (the vanishing gradient: the network cannot learn how
an early input mattered to a late output) and rising where it is above (exploding). Gated cells
(the LSTM's cell state, carried by a forget gate near 1) keep it level for longer.

It works for any model that follows the states' protocol (``forward(..., return_states=True)``,
``minirnn.models.base``), on every engine, and reports ‖∂L/∂x_t‖ alone for one that does not (a
sliding window). A delayed Seq2Seq shows its encoder's and its decoder's states, named
"encoder.h", "decoder.h", … (pass ``forward={"target": y}`` for its teacher forcing). The
plots (matplotlib, an optional dependency: ``pip install 'minirnn[plot]'``, imported only when
a plot is drawn) show that curve on a log scale, and the hidden states over time as a heatmap.
"""
from __future__ import annotations

import inspect

import numpy as np

from . import losses
from .autograd import Tensor
from .autograd.arrays import to_host


def follows_the_states_protocol(model) -> bool:
    """Whether ``model``'s forward takes ``return_states`` (``minirnn.models.base``)."""
    return "return_states" in inspect.signature(model.forward).parameters


def _loss_at(loss, y, target, at):
    """The loss of the step(s) ``at`` names: "last", "all", or a step number."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    if at == "all":
        return loss(y, target)
    step = y.shape[1] - 1 if at == "last" else int(at)
    if target.ndim == y.ndim:  # a whole sequence of targets: the step's own
        target = target[:, step]
    return loss(y[:, step], target)


def state_gradient_norms(model, x, target, loss=None, at="last", forward: dict | None = None,
                         lengths=None) -> dict[str, np.ndarray]:
    """{"x": ‖∂L/∂x_t‖, name: ‖∂L/∂s_t‖ for each state s of the model}, each an array (T,).

    Args:
        model: a recurrent model (a Module whose forward takes ``return_states``, or any
            model, for ‖∂L/∂x_t‖ alone).
        x: the inputs (B, T, I), an array or a Tensor.
        target: the targets, (B, T, O), or (B, O) for the last step.
        loss: ``loss(y, target)``; default :func:`minirnn.losses.mse`.
        at: which outputs the loss reads: "last" (the default: every other step's gradient
            is then what comes back through time), "all", or a step number.
        forward: what else the forward needs (``{"y": y_true}`` for an open-loop NARX).
        lengths: (B,) lengths of a padded batch.
    """
    loss = losses.mse if loss is None else loss
    forward = dict(forward or {})
    if lengths is not None:
        forward["lengths"] = lengths
    dtype = getattr(model, "dtype", np.float64)
    values = x.data if isinstance(x, Tensor) else x
    x = Tensor(np.array(to_host(values), dtype=dtype), requires_grad=True)
    states = {}
    if follows_the_states_protocol(model):
        y, states = model(x, return_states=True, **forward)
        for s in states.values():
            s.retain_grad()
    else:
        y = model(x, **forward)
    _loss_at(loss, y, target, at).backward()

    def norms(grad, steps):
        if grad is None:  # nothing reached it (a state the loss does not depend on)
            return np.zeros(steps)
        return np.sqrt((to_host(grad) ** 2).sum(axis=(0, 2)))

    T = x.shape[1]
    return {"x": norms(x.grad, T), **{name: norms(s.grad, s.shape[1])
                                      for name, s in states.items()}}


def hidden_states(model, x, name: str = "h", forward: dict | None = None) -> np.ndarray:
    """The values of state ``name`` (B, T, n) over a sequence, for ``plot_states``."""
    from .autograd import no_grad

    with no_grad():
        _, states = model(x, return_states=True, **(forward or {}))
    if name not in states:
        raise KeyError(f"the model has no state {name!r}; it has {', '.join(states)}")
    return to_host(states[name].data)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("the plots need matplotlib: pip install 'minirnn[plot]'") from None
    return plt


def plot_gradient_norms(norms: dict, ax=None, title: str | None = None):
    """Each curve of ``state_gradient_norms`` against t, on a log scale (a vanishing gradient
    is a falling straight line); returns the matplotlib Axes."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")  # labels kept in
    for name, values in norms.items():
        values = np.asarray(values, dtype=float)
        shown = np.where(values > 0, values, np.nan)  # log scale: exact zeros are left out
        ax.plot(np.arange(len(values)), shown, marker=".", label=f"‖∂L/∂{name}_t‖")
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("gradient norm")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_states(states, row: int = 0, ax=None, title: str | None = None):
    """A heatmap of one sequence's states (units down, time across) from an array (B, T, n),
    (T, n), or a Tensor; returns the matplotlib Axes."""
    plt = _pyplot()
    values = to_host(states.data if isinstance(states, Tensor) else np.asarray(states))
    if values.ndim == 3:
        values = values[row]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    image = ax.imshow(values.T, aspect="auto", cmap="RdBu_r", interpolation="nearest",
                      vmin=-np.abs(values).max(), vmax=np.abs(values).max())
    ax.figure.colorbar(image, ax=ax)
    ax.set_xlabel("time step t")
    ax.set_ylabel("unit")
    if title:
        ax.set_title(title)
    return ax
