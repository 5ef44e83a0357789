"""Loss functions, written with tape ops so their gradients come from the engine.

Each takes the prediction as a Tensor and the target as an array or Tensor (a constant), and
returns a single-element Tensor: the mean over every element (or every unmasked step).
"""
from __future__ import annotations

import numpy as np

from .autograd import Tensor, as_tensor, ops, record
from .autograd.arrays import array_module


def _target(prediction: Tensor, target, name: str) -> Tensor:
    target = as_tensor(target.data if isinstance(target, Tensor) else target, like=prediction)
    if target.shape != prediction.shape:
        raise ValueError(f"{name}: prediction has shape {prediction.shape} "
                         f"but target has shape {target.shape}")
    return target


def length_mask(lengths, steps: int) -> np.ndarray:
    """(B, T) mask of a padded batch: 1 for the first lengths[b] steps of row b, 0 after."""
    return (np.arange(steps)[None, :] < np.asarray(lengths)[:, None]).astype(np.float64)


def _masked_mean(values: Tensor, mask, name: str) -> Tensor:
    """Mean of ``values`` over the elements where ``mask`` is 1; a (B, T) mask covers every
    feature of its step."""
    if mask is None:
        return values.mean()
    weights = np.asarray(mask, dtype=values.dtype)
    if weights.ndim == values.ndim - 1:
        weights = weights[..., None]
    try:
        weights = np.broadcast_to(weights, values.shape)
    except ValueError:
        raise ValueError(f"{name}: mask of shape {np.shape(mask)} does not fit values of shape "
                         f"{values.shape}") from None
    count = weights.sum()
    if count == 0:
        raise ValueError(f"{name}: the mask selects no element")
    return (values * weights).sum() / count


def mse(prediction: Tensor, target, mask=None) -> Tensor:
    """Mean squared error: (1/n) Σ (ŷ - y)², over the unmasked elements (padded steps of a
    batch of unequal lengths have mask 0; see ``length_mask``).

    Without a mask it is ONE tape op (the target is a constant, as for every loss here):
    L = d·d / n with d = ŷ - y, and ∂L/∂ŷ = (2/n) d. Written with primitive ops it made seven
    arrays of the prediction's size, each of them new memory (and new page faults) at the
    sizes where that matters (BENCHMARKS.md)."""
    target = _target(prediction, target, "mse")
    if mask is not None:
        diff = prediction - target
        return _masked_mean(diff * diff, mask, "mse")
    xp = array_module(prediction.data)
    diff = prediction.data - target.data  # the one array of the prediction's size
    n = diff.size
    value = xp.asarray(xp.vdot(diff, diff) / n, dtype=prediction.dtype)
    return record("mse", value, (prediction,),
                  lambda g: (diff * (2 * g / n).astype(diff.dtype),))


def mae(prediction: Tensor, target, mask=None) -> Tensor:
    """Mean absolute error: (1/n) Σ |ŷ - y|, over the unmasked elements."""
    return _masked_mean(ops.abs(prediction - _target(prediction, target, "mae")), mask, "mae")


def cross_entropy(logits: Tensor, target, mask=None) -> Tensor:
    """Mean negative log-likelihood of integer class targets under softmax(logits).

    Args:
        logits: shape (..., C), unnormalised scores (a model with output_activation="identity").
        target: integer class indices, shape (...).
        mask: optional (...) array, 1 for steps that count and 0 for padding; the mean is over
            the counted steps only.

    L = -(1/Σm) Σ m · log softmax(logits)[target]
    """
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target.shape != logits.shape[:-1]:
        raise ValueError(f"cross_entropy: logits of shape {logits.shape} need targets of shape "
                         f"{logits.shape[:-1]}, got {target.shape}")
    if target.dtype.kind not in "iu":
        if target.size and not np.all(target == np.round(target)):
            raise TypeError("cross_entropy: targets must be integer class indices")
        target = target.astype(np.int64)
    classes = logits.shape[-1]
    if target.size and (target.min() < 0 or target.max() >= classes):
        raise ValueError(f"cross_entropy: targets must lie in [0, {classes}), "
                         f"got values in [{target.min()}, {target.max()}]")
    onehot = np.zeros(logits.shape, dtype=logits.dtype)
    np.put_along_axis(onehot, target[..., None], 1, axis=-1)
    if mask is None:
        weights = np.ones(target.shape, dtype=logits.dtype)
    else:
        weights = np.asarray(mask, dtype=logits.dtype)
        if weights.shape != target.shape:
            raise ValueError(f"cross_entropy: mask has shape {weights.shape}, "
                             f"expected {target.shape}")
    count = weights.sum()
    if count == 0:
        raise ValueError("cross_entropy: the mask selects no step")
    picked = (logits.log_softmax(axis=-1) * onehot).sum(axis=-1)
    return -(picked * weights).sum() / count
