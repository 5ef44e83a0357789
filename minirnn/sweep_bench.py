"""What a sweep's trials cost beside the same trials run other ways: ``minirnn bench --sweep``.

The trials: ``minirnn sweep --model elman,jordan --grid hidden=8,16 --grid lr=0.01,0.003
--seeds 2 -- --data sine --epochs 5``, 16 five-epoch runs. Timed in turns, each round:

- ``sweep``: that command, a fresh process, on a local cluster of ``workers`` workers (Dask's
  import and the cluster's start included);
- ``sequential``: the 16 ``minirnn train`` commands of the trials, one after another, each a
  fresh process as a user types them;
- ``pool``: a plain ``concurrent.futures.ProcessPoolExecutor`` of ``workers`` processes
  running the same trials through the library (``app.training.train``, the same checkpoint
  written), its start included.

``trial_fixed_cost``: what one trial costs beyond its training, bounded from above: a trial of
one epoch on 100 rows (``TINY``) through a warm trial server (what a sweep's trial pays: a
fork, the command, its report), beside the same command as a fresh process (what it paid
before), in turns.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .startup import user_environment

MODELS = ("elman", "jordan")
GRID = {"hidden": [8, 16], "lr": [0.01, 0.003]}
SEEDS = 2
EPOCHS = 5
#: the smallest whole trial: one epoch of a 4-unit Elman network on 100 rows, scored
TINY = ["train", "elman", "--data", "sine", "--length", "100", "--epochs", "1", "--hidden",
        "4", "--json"]


def _shared(epochs: int) -> list:
    return ["--data", "sine", "--epochs", str(epochs)]


def _sweep_command(search: tuple, workers: int, folder: Path) -> list:
    models, grid, seeds, epochs = search
    grids = [a for key, values in grid.items()
             for a in ("--grid", f"{key}={','.join(str(v) for v in values)}")]
    return [sys.executable, "-m", "minirnn.cli", "sweep", "--model", ",".join(models), *grids,
            "--seeds", str(seeds), "--workers", str(workers), "--dir", str(folder), "--json",
            "--", *_shared(epochs)]


def _seconds(command: list, folder: str) -> float:
    start = time.perf_counter()
    run = subprocess.run(command, cwd=folder, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=False,
                         env=user_environment())
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command[3:6])}… failed: "
                           f"{(run.stderr.strip().splitlines() or ['no output'])[-1]}")
    return time.perf_counter() - start


def _one_thread():
    """A pool process's start, before it imports Numba: one thread, as a sweep's worker."""
    os.environ["NUMBA_NUM_THREADS"] = "1"


def _library_trial(model: str, params: dict, seed: int, epochs: int, out: str):
    """One trial as a library call: what ``minirnn train`` does for its command line."""
    from .app.training import TrainOptions, train

    options = TrainOptions(model=model, data="sine", epochs=epochs, seed=seed, **params)
    train(options, out=out, overwrite=True)


def _pool_seconds(trials, epochs: int, workers: int, folder: Path) -> float:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    start = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_one_thread) as pool:
        jobs = [pool.submit(_library_trial, t.model, t.params, t.seed, epochs,
                            str(folder / f"{t.name}.npz")) for t in trials]
        for job in jobs:
            job.result()
    return time.perf_counter() - start


def sweep_times(workers: int = 2, rounds: int = 3, models=MODELS, grid=None, seeds: int = SEEDS,
                epochs: int = EPOCHS) -> dict:
    """{"trials", "workers", "rounds", "<way>_s" (median), "<way>_all_s" (each round),
    "sequential_over_sweep", "sweep_over_pool"} for the ways ``sweep``, ``sequential`` and
    ``pool``, taken in turns in each round, on the trials of ``models`` x ``grid`` (by
    default ``GRID``) x ``seeds``, ``epochs`` each. An untimed first trial of each model warms
    the kernel cache."""
    from .sweep import grid_trials

    search = (tuple(models), GRID if grid is None else grid, seeds, epochs)
    trials, shared = grid_trials(list(models), search[1], seeds), _shared(epochs)
    times = {"sweep": [], "sequential": [], "pool": []}
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        (root / "trials").mkdir()
        for first in {t.model: t for t in reversed(trials)}.values():
            _seconds([sys.executable, "-m", "minirnn.cli", *first.command(shared, root)], work)
        for round_ in range(rounds):
            times["sweep"].append(_seconds(_sweep_command(search, workers,
                                                          root / f"sweep{round_}"), work))
            folder = root / f"sequential{round_}"
            (folder / "trials").mkdir(parents=True)  # as the sweep makes its own
            start = time.perf_counter()
            for trial in trials:
                _seconds([sys.executable, "-m", "minirnn.cli", *trial.command(shared, folder)],
                         work)
            times["sequential"].append(time.perf_counter() - start)
            folder = root / f"pool{round_}"
            folder.mkdir()
            times["pool"].append(_pool_seconds(trials, epochs, workers, folder))
    row = {"trials": len(trials), "workers": workers, "rounds": rounds}
    for way, seconds in times.items():
        row[f"{way}_s"] = statistics.median(seconds)
        row[f"{way}_all_s"] = seconds
    row["sequential_over_sweep"] = row["sequential_s"] / row["sweep_s"]
    row["sweep_over_pool"] = row["sweep_s"] / row["pool_s"]
    return row


def trial_fixed_cost(repeat: int = 7) -> dict:
    """{"warm_s", "fresh_s" (medians), "warm_all_s", "fresh_all_s"}: the tiny trial (``TINY``)
    through a trial server warmed with it, and as a fresh process, ``repeat`` of each in
    turns."""
    from .trial_server import PROGRAM, TrialServer

    server = TrialServer([TINY])
    warm, fresh = [], []
    try:
        with tempfile.TemporaryDirectory() as work:
            for _ in range(repeat):
                start = time.perf_counter()
                code, _, stderr = server.run(TINY)
                warm.append(time.perf_counter() - start)
                if code != 0:
                    raise RuntimeError(f"the tiny trial failed: {stderr.strip()[-200:]}")
                fresh.append(_seconds([sys.executable, *PROGRAM, *TINY], work))
    finally:
        server.close()
    return {"warm_s": statistics.median(warm), "fresh_s": statistics.median(fresh),
            "warm_all_s": warm, "fresh_all_s": fresh}
