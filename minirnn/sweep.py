"""Model searches on Dask: many ``minirnn train`` runs, one per (configuration, seed).

A sweep is a list of trials. A trial is one ``minirnn train`` command line: a model, the
values of the searched options (a grid's product, or random draws from ranges), a seed, and
the options every trial shares (the data, the epochs, …); its checkpoint goes to
``<dir>/trials/<trial>.npz``. Each trial runs as one Dask task on a single-threaded worker,
which runs the command in a process of its own (``NUMBA_NUM_THREADS=1``: one core per worker,
so that workers do not fight for cores): a fork of the worker's warm *trial server*
(``trial_server``), a process that has imported the command and loaded the kernels of the
sweep's models once, by a one-epoch run of each model before the first trial. So a trial
pays a fork, not the second or more of a fresh process's start-up, and still starts from the
same state every time: a trial of the sweep and the same command typed by hand give the same
numbers (the tests compare the reports bit for bit), and a trial that fails (diverges, a bad
option, a crash) fails alone. (Without fork, not on Linux, each trial is a fresh ``python -m
minirnn.cli``.)

Nothing is lost:

- each finished trial is added to ``<dir>/results.json`` as it finishes, written atomically;
  ``resume`` reads it back and runs only the trials not done;
- a trial server that dies mid-trial (killed, out of memory) fails the task, which is run
  again on a new server (``retries``);
- a worker process of a user's cluster that dies mid-trial has its task run again by Dask on
  another worker (its trial dies with it: the server ends when its worker goes, and the trial
  gets SIGTERM when its server goes), up to ``distributed.scheduler.allowed-failures`` times;
- a failed trial is recorded with its one-line error, and the sweep goes on.

The local cluster (``local_cluster``) lives in the sweep's own process: its workers are
threads that hand trials to trial servers, so isolation comes from the servers' forks, not
from worker processes. It starts in a thread (``StartingCluster``) while the caller checks the
trials and starts the servers (``Sweep.start_servers``), which warm up meanwhile. The servers
and the trials ignore Ctrl-C, which the sweep's process handles: it says how to resume, and
ends its servers, whose trials end with them. A cluster of the user's (a scheduler's address)
runs the same tasks, each worker process with its own servers.

The table (``summarize``) groups the trials of one configuration over their seeds: the mean and
the spread (standard deviation) of the validation and test scores beside the naive forecast's,
best first.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checkpoint import atomic_write, parse_document

RESULTS = "results.json"
LOOPBACK = "127.0.0.1"
#: options the sweep sets itself on every trial's command line
OWN_OPTIONS = ("--out", "--resume", "--seed", "--json", "--plot", "--overwrite")


class SweepError(ValueError):
    """A sweep that cannot be run as asked: one line, before any trial starts."""


@dataclass
class Trial:
    """One ``minirnn train`` run of the sweep."""

    model: str
    params: dict          # searched option -> value, e.g. {"hidden": 16, "lr": 0.01}
    seed: int
    name: str = ""        # unique in the sweep, and the file name of its checkpoint

    def __post_init__(self):
        if not self.name:
            values = "-".join(f"{k}={_text(v)}" for k, v in self.params.items())
            name = "-".join(p for p in (self.model, values, f"seed={self.seed}") if p)
            self.name = re.sub(r"[^\w.=+-]", "_", name)  # a file name: no folders, no spaces

    @property
    def configuration(self) -> str:
        """The model and its searched values, seed left out: what seeds are averaged over."""
        values = ", ".join(f"{k}={_text(v)}" for k, v in self.params.items())
        return f"{self.model} {values}".strip()

    def command(self, shared: list, directory: Path) -> list:
        """The ``minirnn train`` arguments of this trial."""
        return self._arguments(shared) + ["--out", str(checkpoint_path(directory, self)),
                                          "--overwrite", "--json"]

    def warmup(self, shared: list) -> list:
        """A one-epoch run of this trial's model and options, writing nothing: what loads
        the kernels its sweep's trial server forks from."""
        return self._arguments(shared) + ["--json", "--epochs", "1"]

    def _arguments(self, shared: list) -> list:
        args = ["train", self.model, *shared]
        for key, value in self.params.items():
            args += [f"--{key.replace('_', '-')}", _text(value)]
        return args + ["--seed", str(self.seed)]


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def checkpoint_path(directory: Path, trial: Trial) -> Path:
    return Path(directory) / "trials" / f"{trial.name}.npz"


# --- the trials -----------------------------------------------------------------------------------
def parse_values(text: str):
    """``8,16,32`` -> [8, 16, 32]; numbers where they parse, words otherwise."""
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise SweepError(f"an empty value in {text!r}")
        values.append(_number(part))
    return values


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def grid_trials(models, grid: dict, seeds: int) -> list:
    """Every combination of the grid's values, for every model and seed (seeds 0 … seeds-1)."""
    keys = list(grid)
    combinations = list(itertools.product(*(grid[k] for k in keys))) if keys else [()]
    return _unique([Trial(model, dict(zip(keys, values, strict=True)), seed)
                    for model in models for values in combinations for seed in range(seeds)])


def _unique(trials) -> list:
    """The trials, each once (a value given twice, a repeated random draw); an error when two
    different ones would share a name (and so a checkpoint)."""
    kept = {}
    for trial in trials:
        other = kept.setdefault(trial.name, trial)
        if other.params != trial.params or other.model != trial.model:
            raise SweepError(f"two trials would share the name {trial.name} ({other.params} and "
                             f"{trial.params}): give values that differ as file names")
    return list(kept.values())


def parse_range(text: str):
    """``lo:hi`` (uniform), ``lo:hi:log`` (log-uniform) or ``lo:hi:int`` (integers in
    [lo, hi]) -> (lo, hi, kind)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "int")):
        raise SweepError(f"a range is lo:hi, lo:hi:log or lo:hi:int, got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise SweepError(f"a range's bounds must be numbers, got {text!r}") from None
    kind = parts[2] if len(parts) == 3 else "uniform"
    if not lo < hi or (kind == "log" and lo <= 0):
        raise SweepError(f"a range needs lo < hi (and lo > 0 for log), got {text!r}")
    return lo, hi, kind


def random_trials(models, ranges: dict, count: int, seeds: int, search_seed: int = 0) -> list:
    """``count`` configurations drawn from the ranges (the same draws for the same
    ``search_seed``; a repeated draw runs once), for every model and seed."""
    rng = np.random.default_rng(search_seed)
    configurations = []
    for _ in range(count):
        params = {}
        for key, (lo, hi, kind) in ranges.items():
            if kind == "int":
                params[key] = int(rng.integers(int(math.ceil(lo)), int(math.floor(hi)) + 1))
            elif kind == "log":  # 6 digits: the value the trial's command line carries
                params[key] = float(_text(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
            else:
                params[key] = float(_text(rng.uniform(lo, hi)))
        configurations.append(params)
    return _unique([Trial(model, params, seed)
                    for model in models for params in configurations for seed in range(seeds)])


# --- one trial, on a worker -----------------------------------------------------------------------
def run_trial(args: list, name: str, warmups=()) -> dict:
    """Run ``minirnn train`` with ``args`` in a process of its own (a fork of this worker's
    trial server warmed with ``warmups``); the summary of its JSON report (or its one-line
    error). A Dask task: everything it returns is plain data."""
    from .trial_server import run_program

    start = time.perf_counter()
    code, stdout, stderr = run_program(args, warmups, abandoned=_task_cancelled)
    record = {"name": name, "seconds": time.perf_counter() - start}
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        return {**record, "status": "failed", "error": f"exit {code}: {last}"}
    if code != 0 or "error" in report:
        return {**record, "status": "failed", "error": report.get("error", "failed")}
    metric = next((k[4:] for k in report["history"][-1] if k.startswith("val_")), "rmse")
    closed_narx = report.get("model") == "narx" and report["config"].get("mode") == "closed"
    scores = {split: report["metrics"][split] for split in ("validation", "test")}
    return {**record, "status": "done", "metric": metric,
            "validation": scores["validation"]["model"].get(metric),
            "test": scores["test"]["model"].get(metric),
            "naive_validation": scores["validation"]["naive"].get(metric),
            "naive_test": scores["test"]["naive"].get(metric),
            # with a seasonal period: the seasonal naive forecast's test score too
            "seasonal_naive_test": scores["test"].get("seasonal_naive", {}).get(metric),
            "epochs": report.get("epochs_done"), "stopped": report.get("stopped"),
            # what the scores measure: a closed-loop NARX is scored by its simulation from the
            # first row, every other model by its one-step (seq2seq: horizon) forecasts
            "scored_as": "simulation" if closed_narx else "forecasts"}


def _task_cancelled() -> bool:
    """Whether the Dask task running this was cancelled (the sweep that asked for it was
    interrupted): its trial should not run on to its end, on a worker of a user's cluster
    as on the local one. False outside a Dask task."""
    try:
        from distributed.worker import get_worker, thread_state

        task = get_worker().state.tasks.get(thread_state.key)
    except (ImportError, AttributeError, ValueError):  # not in a task; another Dask
        return False
    return task is None or task.state in ("cancelled", "released", "forgotten")


# --- the sweep ------------------------------------------------------------------------------------
@dataclass
class Sweep:
    """The trials, where their checkpoints and results go, and what they share."""

    trials: list
    directory: Path
    shared: list = field(default_factory=list)   # train options of every trial
    results: dict = field(default_factory=dict)  # trial name -> record (done or failed)

    @property
    def results_path(self) -> Path:
        return Path(self.directory) / RESULTS

    def load(self):
        """The records of an earlier run of this sweep (``resume``); a sweep with other
        trials or other shared options is refused."""
        try:
            document = parse_document(self.results_path.read_text())
        except OSError:
            raise SweepError(f"nothing to resume: {self.results_path} does not exist") from None
        except ValueError as error:  # not JSON, a NaN, too deep
            raise SweepError(f"{self.results_path} is not a sweep's results: {error}") from None
        if not isinstance(document, dict):
            raise SweepError(f"{self.results_path} is not a sweep's results: not an object")
        if document.get("shared") != self.shared:
            raise SweepError(f"{self.results_path} is a sweep with other shared options "
                             f"({' '.join(document.get('shared') or [])}); give the same ones")
        names = [t.name for t in self.trials]
        if sorted(document.get("planned", [])) != sorted(names):
            raise SweepError(f"{self.results_path} holds another search "
                             f"({len(document.get('planned', []))} trials); give the same "
                             f"--model, --grid or --random/--range, and --seeds, or another "
                             f"--dir")
        by_name = {t.name: t for t in self.trials}
        records = document.get("trials", [])
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SweepError(f"{self.results_path}: 'trials' is not a list of records")
        self.results = {r["name"]: _checked_record(r, by_name[r["name"]], self)
                        for r in records if r.get("name") in names and r.get("status") == "done"}
        return self

    def checked_checkpoint(self, record) -> Path:
        """The checkpoint of a done trial's ``record``, checked to be that trial's own file
        in this sweep's folder and to hold that trial's model (its name, seed and searched
        sizes): what may be copied out as the best."""
        trial = next((t for t in self.trials if t.name == record.get("name")), None)
        path = checkpoint_path(self.directory, trial).resolve() if trial else None
        if trial is None or record.get("checkpoint") != str(path):
            raise SweepError(f"{self.results_path}: the trial {record.get('name')!r} names a "
                             f"checkpoint that is not its own file in "
                             f"{Path(self.directory, 'trials')}")
        from .experiment import Experiment

        held = Experiment.load(path)
        stored = {"model": held.model, "seed": held.config.get("seed"),
                  **{key: held.config.get(CONFIG_KEYS[key]) for key in trial.params
                     if key in CONFIG_KEYS}}
        wanted = {"model": trial.model, "seed": trial.seed,
                  **{key: trial.params[key] for key in trial.params if key in CONFIG_KEYS}}
        if stored != wanted:
            raise SweepError(f"{path} does not hold the trial {trial.name} (it holds "
                             f"{', '.join(f'{k}={v}' for k, v in stored.items())})")
        return path

    def save(self):
        """Write the records so far, atomically."""
        document = {"shared": self.shared, "planned": [t.name for t in self.trials],
                    "trials": [self.results[t.name] for t in self.trials
                               if t.name in self.results]}
        with atomic_write(self.results_path, "w") as handle:
            json.dump(document, handle, indent=1, default=_plain)

    def pending(self) -> list:
        return [t for t in self.trials if self.results.get(t.name, {}).get("status") != "done"]

    def warmups(self) -> list:
        """The warm-up commands of the trial servers: one per model of the sweep (known
        before a resumed sweep's records are read, so that its servers can start first)."""
        first = {}
        for trial in self.trials:
            first.setdefault(trial.model, trial)
        return [trial.warmup(self.shared) for trial in first.values()]

    def start_servers(self, count: int):
        """Start ``count`` trial servers in this process (at most one per pending trial), to
        warm up while the caller goes on: for a cluster whose workers are threads of this
        process (``local_cluster``), started before it is even up. ``run`` ends them, or
        ``stop_servers``."""
        from .trial_server import prestart

        prestart(self.warmups(), min(count, len(self.pending())))

    @staticmethod
    def stop_servers():
        """End this process's trial servers, and any trial they are running (a sweep that
        stops, done or interrupted)."""
        from .trial_server import close_all

        close_all()

    def run(self, client, on_update=None, retries: int = 1):
        """Run the pending trials on the Dask ``client``, recording each as it finishes;
        ``on_update(record)`` after each. A task whose worker dies is run again by Dask;
        ``retries`` more attempts go to a task that raised (a trial whose server died). The
        trial servers of this process's workers end with it; an interrupt (Ctrl-C) cancels
        the tasks first, so that none is started or run again meanwhile, and the trials
        running in them end at once."""
        Path(self.directory, "trials").mkdir(parents=True, exist_ok=True)
        by_key, warmups = {}, self.warmups()
        for trial in self.pending():
            args = trial.command(self.shared, Path(self.directory))
            future = client.submit(run_trial, args, trial.name, warmups,
                                   key=f"trial-{trial.name}", pure=False, retries=retries)
            by_key[future.key] = (trial, future)
        try:
            self._collect(by_key, on_update)
        except BaseException:
            client.cancel([future for _, future in by_key.values()])
            raise
        finally:
            self.stop_servers()
        return self

    def _collect(self, by_key: dict, on_update):
        """Record each task's trial as it finishes."""
        from distributed import as_completed

        for future in as_completed([future for _, future in by_key.values()]):
            trial = by_key[future.key][0]
            try:
                record = future.result()
            except Exception as error:  # noqa: BLE001 - the trial failed, not the sweep
                record = {"name": trial.name, "status": "failed",
                          "error": f"{type(error).__name__}: {error}".splitlines()[0]}
            record.update(model=trial.model, params=trial.params, seed=trial.seed,
                          configuration=trial.configuration,
                          checkpoint=str(checkpoint_path(self.directory, trial).resolve()))
            self.results[trial.name] = record
            self.save()
            if on_update is not None:
                on_update(record)


#: searched options that a trial's checkpoint records in its model configuration
CONFIG_KEYS = {"hidden": "hidden_size", "layers": "num_layers", "window": "window",
               "input_delays": "input_delays", "output_delays": "output_delays",
               "memory_size": "memory_size", "activation": "activation", "cell": "cell",
               "connectivity": "connectivity", "mode": "mode", "mu": "mu", "dtype": "dtype"}
#: a done trial's scores: finite numbers, never below 0 (an error, or an accuracy)
SCORES = ("validation", "test", "naive_validation", "naive_test")


def _checked_record(record: dict, trial: Trial, plan: Sweep) -> dict:
    """A done trial's record read back from results.json, checked: of that trial (model,
    values, seed), its scores finite and within their range, its checkpoint the trial's own
    file; a record edited by hand is an error, not a result."""
    where = f"{plan.results_path}: the record of {trial.name}"
    if record.get("model") != trial.model or record.get("seed") != trial.seed or \
            record.get("params") != trial.params:
        raise SweepError(f"{where} is of another trial")
    metric = record.get("metric")
    if not isinstance(metric, str):
        raise SweepError(f"{where} has no metric")
    for key in SCORES:
        value = record.get(key)
        if value is None:  # a score the report lacked: never the best
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or value < 0 or \
                (not lower_is_better(metric) and value > 1):
            raise SweepError(f"{where}: its {key} score {value!r} is not a possible "
                             f"{metric}")
    if record.get("checkpoint") != str(checkpoint_path(plan.directory, trial).resolve()):
        raise SweepError(f"{where} names a checkpoint that is not its own file in "
                         f"{Path(plan.directory, 'trials')}")
    return record


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to results.json")


def lower_is_better(metric: str) -> bool:
    """Errors (RMSE, MSE) are better low; accuracies and likelihoods (the text task's) high."""
    return not metric.endswith(("accuracy", "likelihood"))


def summarize(records) -> list:
    """One row per configuration over its seeds: mean and spread (standard deviation over the
    seeds) of the validation and test scores, the naive forecast's (and the seasonal naive
    one's test score, when the trials have a seasonal period), trials done and failed; best
    validation first."""
    groups = {}
    for record in records:
        groups.setdefault(record["configuration"], []).append(record)
    rows = []
    for configuration, group in groups.items():
        done = [r for r in group if r.get("status") == "done" and r.get("validation") is not None
                and np.isfinite(r["validation"])]
        row = {"configuration": configuration, "model": group[0]["model"],
               "params": group[0]["params"], "done": len(done),
               "failed": len(group) - len(done), "metric": None,
               "scored_as": next((r.get("scored_as") for r in done), None)}
        if done:
            metric = done[0]["metric"]
            row["metric"] = metric
            keys = ["validation", "test", "naive_validation", "naive_test"]
            if all(r.get("seasonal_naive_test") is not None for r in done):
                keys.append("seasonal_naive_test")
            for key in keys:
                values = np.array([r[key] for r in done], dtype=float)
                row[key] = float(values.mean())
                row[f"{key}_spread"] = float(values.std())
            best = min(done, key=lambda r: r["validation"] * (1 if lower_is_better(metric)
                                                              else -1))
            row["best_trial"], row["best_checkpoint"] = best["name"], best["checkpoint"]
        rows.append(row)

    def order(row):
        if row["metric"] is None:
            return (1, 0.0)
        sign = 1 if lower_is_better(row["metric"]) else -1
        return (0, sign * row["validation"])

    return sorted(rows, key=order)


def best_record(records):
    """The single trial with the best validation score (None if no trial is done)."""
    done = [r for r in records if r.get("status") == "done" and r.get("validation") is not None
            and np.isfinite(r["validation"])]
    if not done:
        return None
    sign = 1 if lower_is_better(done[0]["metric"]) else -1
    return min(done, key=lambda r: sign * r["validation"])


def default_workers() -> int:
    """A local cluster's workers unless told otherwise: one per core this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def local_cluster(workers: int | None = None, dashboard: bool = False):
    """A Dask cluster in this process: ``workers`` single-threaded workers (one per core by
    default), quiet. Its workers are threads, not processes: a worker only hands its trial to
    a trial server and waits (``run_trial``); the trial itself runs in a process of its own,
    a fork of the server. So a local sweep does not start a Python process per worker and
    import Dask in it (about half a second of CPU each on the 2-core machine of
    BENCHMARKS.md). The scheduler, the workers and (if asked for) the dashboard listen on
    127.0.0.1 alone (TCP: in-memory transport would have their web servers listen on every
    address): nothing of a sweep can be reached from another machine."""
    return StartingCluster(workers, dashboard).result()


class StartingCluster:
    """``local_cluster`` starting in a thread, so that the caller checks the trials and starts
    the trial servers meanwhile (Dask's import: 0.3-0.45 s on the 2-core machine of
    BENCHMARKS.md); ``result()`` waits for it, ``close()`` closes it once it is up."""

    def __init__(self, workers: int | None = None, dashboard: bool = False):
        from concurrent.futures import Future

        workers = workers or default_workers()
        self._future = Future()
        threading.Thread(target=self._start, args=(workers, dashboard), name="local cluster",
                         daemon=True).start()

    def _start(self, workers, dashboard):
        try:
            import logging
            import warnings

            from distributed import LocalCluster

            # nothing for the user to act on: the scheduler's web server (health checks; the
            # dashboard when asked for) takes another free port on its own when 8787 is held
            # (another sweep running, a notebook's cluster), and a busy machine slows the
            # creation of the workers' scratch folders, which trials do not use
            for message in (r"Port \d+ is already in use",
                            "Creating scratch directories is taking a surprisingly long time"):
                warnings.filterwarnings("ignore", message=message, category=UserWarning)

            # silence_logs: the sweep reports each trial that fails in one line; Dask's
            # worker would add a traceback for each (a server that died, whose task is run
            # again, or one ended by an interrupt)
            self._future.set_result(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=False, protocol="tcp://",
                host=LOOPBACK, dashboard_address=f"{LOOPBACK}:0" if dashboard else None,
                silence_logs=logging.CRITICAL))
        except BaseException as error:  # noqa: BLE001 - raised by result(), where it is used
            self._future.set_exception(error)

    def result(self):
        """The cluster, once its workers run (its error, if it failed to start)."""
        return self._future.result()

    def close(self):
        """Close the cluster once it is up (one that failed to start has nothing to close)."""
        try:
            cluster = self.result()
        except Exception:  # noqa: BLE001 - its error was reported where it was used
            return
        cluster.close()
