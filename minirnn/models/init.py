r"""Initial weights: how a layer's numbers are drawn before training.

Each function returns a NumPy array of the given shape and dtype, drawn from ``rng`` (a
``numpy.random.Generator``, or a seed for ``numpy.random.default_rng``): the same seed, the
same weights. A weight matrix is (fan_out, fan_in), as ``W`` in y = x W^T + b.

Why the scale matters. With y = W x and the n = fan_in entries of x of variance v, each y_i
has variance n Var(W_ij) v; a scale that keeps n Var(W) near 1 keeps activations (forward) and
gradients (backward, through W^T) from shrinking or growing layer after layer, or, in a
recurrence, step after step.

- ``fan_in_uniform``: U(-1/√fan_in, 1/√fan_in), Var = 1/(3 fan_in): PyTorch's default for
  ``nn.Linear`` and ``nn.RNN``, and every model of minirnn.
- ``xavier_uniform`` (Glorot & Bengio, 2010): U(-a, a), a = gain √(6 / (fan_in + fan_out)), so
  Var = 2 gain² / (fan_in + fan_out): the compromise between keeping the forward variance
  (fan_in) and the backward one (fan_out).
- ``orthogonal`` (Saxe et al., 2014): W with orthonormal rows or columns (times ``gain``): every
  singular value is 1, so ‖W h‖ = ‖h‖; for a recurrent W_hh the linear part of BPTT then
  neither vanishes nor explodes, only the activation's f' shrinks the gradient.
- ``zeros``: biases and initial states.
"""
from __future__ import annotations

import numpy as np


def _generator(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (fan_out, fan_in); a vector's fan_in is its length."""
    shape = tuple(shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) != 2:
        raise ValueError(f"a weight is (fan_out, fan_in) or (n,), got shape {shape}")
    return shape[1], shape[0]


def fan_in_uniform(shape, rng=None, fan_in: int | None = None, dtype="float64") -> np.ndarray:
    """U(-1/√fan_in, 1/√fan_in); ``fan_in`` defaults to the last axis of a matrix (what each
    output sums over). A bias of a layer is drawn with that layer's fan_in."""
    fan_in = _fans(shape)[0] if fan_in is None else fan_in
    bound = 1.0 / np.sqrt(fan_in)
    return _generator(rng).uniform(-bound, bound, shape).astype(dtype)


def xavier_uniform(shape, rng=None, gain: float = 1.0, dtype="float64") -> np.ndarray:
    """Glorot/Xavier: U(-a, a) with a = gain √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    bound = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return _generator(rng).uniform(-bound, bound, shape).astype(dtype)


def orthogonal(shape, rng=None, gain: float = 1.0, dtype="float64") -> np.ndarray:
    """``gain`` times a matrix with orthonormal rows (wide) or columns (tall): the Q of the QR
    factorisation of a Gaussian matrix, its columns' signs fixed by R's diagonal so that Q is
    uniformly distributed over the orthogonal matrices."""
    rows, cols = tuple(shape) if len(shape) == 2 else (None, None)
    if rows is None:
        raise ValueError(f"orthogonal initialisation needs a matrix, got shape {tuple(shape)}")
    gaussian = _generator(rng).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(gaussian)
    q *= np.sign(np.diag(r))  # without it, Q's distribution is not uniform
    q = q if rows >= cols else q.T
    return (gain * q).astype(dtype)


def zeros(shape, dtype="float64") -> np.ndarray:
    return np.zeros(shape, dtype=dtype)
