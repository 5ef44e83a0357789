"""Free-run forecasts past the end of a series, each step feeding back the model's own output."""
from __future__ import annotations

import numpy as np

from .autograd import no_grad


def free_run(model, task, steps: int) -> np.ndarray:
    """(steps, O) predictions in the task's scaled units, after reading the whole series.
    Future exogenous inputs are unknown: they are held at their last value."""
    u_last = task.u[-1]
    dtype = model.dtype
    with no_grad():
        if not task.autoregressive:  # NARX: open loop over the known past, then closed loop
            future = np.repeat(u_last[None, None], steps, axis=1).astype(dtype)
            return model.forecast(task.x[None].astype(dtype), task.y[None].astype(dtype),
                                  future).data[0]
        _, state = model(task.x[None].astype(dtype), return_state=True)
        previous, outputs = task.y[-1], []
        for _ in range(steps):
            x = np.concatenate([u_last, previous])[None, None].astype(dtype)
            y, state = model(x, h=state, return_state=True)
            previous = y.data[0, 0]
            outputs.append(previous)
    return np.asarray(outputs, dtype=np.float64)
