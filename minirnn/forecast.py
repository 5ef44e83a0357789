"""Free-run forecasts: from an origin, each step feeding back the model's own output."""
from __future__ import annotations

import numpy as np

from .autograd import Tensor, no_grad
from .autograd.arrays import array_module


def free_run(model, task, steps: int, origin: int | None = None,
             future_inputs: np.ndarray | None = None) -> np.ndarray:
    """(steps, O) predictions, in the task's scaled units, of rows origin … origin+steps-1,
    having read rows [0, origin) (default: all of them, forecasting past the end).

    Inside the series the future exogenous inputs are known and used. Past its end they are
    ``future_inputs`` (scaled, (N, I): the inputs of the rows after the last, as the data
    would have them), or, without them, held at their last value. Use
    ``task.forecast_levels`` for the data's units.
    """
    T = len(task.y)
    origin = T if origin is None else origin
    if task.kind == "text":  # greedy generation after the whole stream
        return generate_words(model, task, steps)
    if not 1 <= origin <= T:
        raise ValueError(f"forecast origin must lie in [1, {T}], got {origin}")
    known = task.u[origin:origin + steps]
    future_u = np.concatenate([known, inputs_after_end(task, steps - len(known), future_inputs)])
    dtype = model.dtype
    with no_grad():
        if not task.autoregressive:  # NARX: open loop over the known past, then closed loop
            return model.forecast(task.x[None, :origin].astype(dtype),
                                  task.y[None, :origin].astype(dtype),
                                  future_u[None].astype(dtype)).data[0].astype(np.float64)
        _, state = model(task.x[None, :origin].astype(dtype), return_state=True)
        return _fed_back(model, state, task.y[None, origin - 1], future_u[None])[0]


def _fed_back(model, state, previous: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """(N, S, O): S steps of N free runs, from their states (N, ·) and last known outputs
    ``previous`` (N, O), each step's input the known inputs u (``inputs`` (N, S, U)) beside
    the run's previous output. Call under ``no_grad``."""
    outputs = []
    for j in range(inputs.shape[1]):
        x = np.concatenate([inputs[:, j], previous], axis=1)[:, None].astype(model.dtype)
        y, state = model(x, h=state, return_state=True)
        previous = y.data[:, 0]
        outputs.append(previous)
    if not outputs:
        return np.zeros((len(previous), 0, previous.shape[1]))
    return np.stack(outputs, axis=1).astype(np.float64)


def inputs_after_end(task, count: int, future_inputs=None) -> np.ndarray:
    """The model's inputs for ``count`` steps past the series' end (scaled, (count, I)).

    A model that reads u_t needs u_T, u_{T+1}, …: the given future inputs, or the last one
    held. A model that reads u_{t-1} (``lag_inputs``) knows its first one, u_{T-1}; the rest
    are the given future inputs shifted by one, or u_{T-1} held."""
    lagged = getattr(task, "lag_inputs", False)
    first = task.next_input if lagged else np.zeros((0, task.u.shape[1]))
    if future_inputs is None:
        held = task.next_input if lagged else task.u[-1:]
        return np.repeat(held, count, axis=0)
    later = np.concatenate([first, future_inputs])
    if len(later) < count:
        raise ValueError(f"the future inputs have {len(future_inputs)} rows; {count} steps past "
                         f"the end need {count - len(first)}")
    return later[:count]


def generate_words(model, task, steps: int) -> np.ndarray:
    """Greedy text generation: read the whole word stream, then feed back each most likely next
    word (as a one-hot vector). Returns (steps,) word ids."""
    V = task.vocabulary_size
    with no_grad():
        out, state = model(task.x[None].astype(model.dtype), return_state=True)
        word, words = int(out.data[0, -1].argmax()), []
        for _ in range(steps):
            words.append(word)
            x = np.zeros((1, 1, V), dtype=model.dtype)
            x[0, 0, word] = 1
            out, state = model(x, h=state, return_state=True)
            word = int(out.data[0, 0].argmax())
    return np.array(words, dtype=np.int64)


def multi_step_errors(model, task, k: int = 5, split: str = "test",
                      max_origins: int = 50) -> dict:
    """How the model forecasts further ahead than one step, on one split, in the data's units,
    each against its naive counterpart (the last known value, held) and, with a seasonal
    period P, its seasonal naive one (the last known season repeated: the j-th step ahead of
    origin o is y_{o + (j mod P) - P}):

    - ``k_step``: RMSE of the k-th value of free runs started at origins o in the split (read
      rows [0, o), forecast o … o+k-1, compare the last with y_{o+k-1}); at most
      ``max_origins`` origins, evenly spaced, so that it costs a bounded number of runs. With
      k = 1 it is the one-step RMSE at those origins. None (and 0 origins) when the split has
      fewer than k rows.
    - ``free_run``: RMSE of one free run over the whole split from its first row: the model's
      simulation of the split, fed its own outputs all the way (the known inputs are used).

    For a series task (one-step forecasting); the model's own outputs are fed back.
    """
    from .data.task import seasonal_naive_ahead

    if task.kind != "series":
        raise ValueError("multi-step errors are for series tasks (seq2seq reports its own)")
    rows = task.splits()[split]
    truth, period = task.series.targets, task.period
    origins = forecast_origins(rows, k, max_origins)
    k_step = None
    if len(origins):
        kth = kth_of_free_runs(model, task, k, origins)
        target = truth[origins + k - 1]
        k_step = {"model": _rmse(kth, target), "naive": _rmse(truth[origins - 1], target)}
        if period:
            k_step["seasonal_naive"] = _rmse(
                [seasonal_naive_ahead(truth, o, k, period)[-1] for o in origins], target)
    steps = rows.stop - rows.start
    run = task.forecast_levels(free_run(model, task, steps, origin=rows.start),
                               origin=rows.start)
    flat = np.repeat(truth[rows.start - 1][None], steps, axis=0)
    free = {"model": _rmse(run, truth[rows]), "naive": _rmse(flat, truth[rows]), "steps": steps}
    if period:
        free["seasonal_naive"] = _rmse(seasonal_naive_ahead(truth, rows.start, steps, period),
                                       truth[rows])
    return {"k": k, "origins": len(origins), "k_step": k_step, "free_run": free}


def kth_of_free_runs(model, task, k: int, origins: np.ndarray) -> np.ndarray:
    """(N, O): the k-th value, in the data's units, of the k-step free run from each of the N
    ascending ``origins``, each as ``free_run(model, task, k, origin=o)`` makes it.

    For a model fed its own outputs, the runs are made together: the state at each origin
    from one pass over the rows, continued from one origin to the next (``return_state``,
    as a long series is read in chunks), then the k steps of all the origins at once, one
    batch row each. Fifty runs from origins some thousand rows in took fifty passes over
    those rows and 250 one-row steps: most of the scoring a short training run waits for, and
    3-12x what this takes (BENCHMARKS.md). The numbers are the runs' own up to rounding (a
    batch's products add their terms in another order; tests/test_train_cli.py compares
    them). NARX forecasts through its own ``forecast`` and is run origin by origin."""
    origins = np.asarray(origins)
    if len(origins) and (origins[0] < 1 or origins[-1] + k > len(task.y)
                         or np.any(np.diff(origins) < 0)):
        raise ValueError(f"forecast origins must ascend within [1, {len(task.y) - k}] for "
                         f"{k}-step runs inside the series")
    if not task.autoregressive:
        return np.stack([task.forecast_levels(free_run(model, task, k, origin=o), origin=o)[-1]
                         for o in origins])
    dtype = model.dtype
    states, state, start = [], None, 0
    with no_grad():
        for origin in origins:  # the state after rows [0, origin), chunk by chunk
            if origin > start:
                _, state = model(task.x[None, start:origin].astype(dtype), h=state,
                                 return_state=True)
            states.append(state.data)
            start = origin
        state = Tensor(array_module(states[0]).concatenate(states))  # (N, S)
        # inside the series: the known inputs of each run's rows
        path = _fed_back(model, state, task.y[origins - 1],
                         task.u[origins[:, None] + np.arange(k)])  # (N, k, O)
    return np.stack([task.forecast_levels(run, origin=o)[-1]
                     for run, o in zip(path, origins, strict=True)])


def forecast_origins(rows: slice, k: int, max_origins: int = 50) -> np.ndarray:
    """The origins of ``multi_step_errors``' k-step forecasts in the rows of a split: every o
    with o … o+k-1 inside it, at most ``max_origins`` of them, evenly spaced (a classical
    model compared with it forecasts from the same ones)."""
    origins = np.arange(rows.start, rows.stop - k + 1)
    if len(origins) > max_origins:
        origins = origins[np.linspace(0, len(origins) - 1, max_origins).round().astype(int)]
    return origins


def pooled_errors(reports: list) -> dict:
    """``multi_step_errors`` of several series as one: each RMSE over every series' origins
    (k-step; the series with none left out) or rows (free run) together,
    sqrt(Σ_s n_s·rmse_s² / Σ_s n_s)."""
    def pool(part, counts):
        kept = [(r, n) for r, n in zip(reports, counts, strict=True) if n]
        if not kept:
            return None
        return {who: float(np.sqrt(np.average([r[part][who] ** 2 for r, _ in kept],
                                              weights=[n for _, n in kept])))
                for who in kept[0][0][part] if who != "steps"}

    origins = [r["origins"] for r in reports]
    steps = [r["free_run"]["steps"] for r in reports]
    return {"k": reports[0]["k"], "origins": sum(origins), "k_step": pool("k_step", origins),
            "free_run": {**pool("free_run", steps), "steps": sum(steps)}}


def _rmse(prediction, truth) -> float:
    return float(np.sqrt(np.mean((np.asarray(prediction) - np.asarray(truth)) ** 2)))
