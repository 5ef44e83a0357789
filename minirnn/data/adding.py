r"""The adding problem (Hochreiter & Schmidhuber, 1997): a test of long-term memory.

Each sequence has T steps of two channels: a value v_t drawn uniformly from [0, 1], and a
marker that is 1 at exactly two steps and 0 elsewhere, one marked step in the first half of the
sequence and one in the second. The target, read at the last step only, is the sum of the two
marked values:

    x_t = (v_t, m_t),      target = Σ_t m_t v_t = v_a + v_b,   a < T/2 <= b.

Nothing in the last steps says what the answer is: a network must find the first marked value,
up to T steps back, and keep it. The answer of a network that has not (the mean, 1) scores the
variance of a sum of two uniform values, 2/12 = 0.167: ``BASELINE_MSE``. Elman's gradient
from the last step vanishes long before it reaches the first half of a long sequence; the gated
cells keep it (``examples/long_term_dependency.py``).
"""
from __future__ import annotations

import numpy as np

#: the mean squared error of always answering 1, the mean of the target: Var(v_a + v_b) = 2/12
BASELINE_MSE = 2 / 12


def adding_problem(count: int, steps: int, seed=0, dtype="float64"):
    """(x (count, steps, 2), target (count, 1)): ``count`` sequences of the adding problem.
    ``seed`` is an integer or a ``numpy.random.Generator`` (to draw batch after batch)."""
    if steps < 2:
        raise ValueError(f"the adding problem needs at least 2 steps, got {steps}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    x = np.zeros((count, steps, 2), dtype=dtype)
    x[:, :, 0] = rng.uniform(0, 1, (count, steps))
    half = steps // 2
    rows = np.arange(count)
    first = rng.integers(0, half, count)
    second = rng.integers(half, steps, count)
    x[rows, first, 1] = 1
    x[rows, second, 1] = 1
    target = (x[rows, first, 0] + x[rows, second, 0])[:, None]
    return x, target
