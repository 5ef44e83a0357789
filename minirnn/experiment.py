"""The experiment: what was trained, on what, how far, and how to rebuild it.

An ``Experiment`` is everything ``minirnn train`` needs to continue a run exactly and
``minirnn predict`` needs to use its model on new rows, and it is what a checkpoint file holds
(schema version ``SCHEMA``):

- ``model`` and ``config``: the model's name and constructor arguments (``registry.model_config``);
- ``data`` (``DataSpec``): where the rows came from, the target and input column names in
  order, the date column, a long-format file's series id column, the row count and a
  fingerprint (SHA-256) of all rows and of the training rows, and how the task was made of
  them (``difference``, ``lag_inputs``, seq2seq's ``context`` and ``horizon``);
- ``scalers``: per column name, the mean and scale fitted on the training rows (of several
  series: per series id, each fitted on its own training rows);
- ``train``: the ``TrainConfig``;
- ``run`` (``TrainResult``): epochs done, the best epoch and its score, early stopping's count,
  the history, and as arrays the best weights, the weights after the last epoch and the
  optimiser's state (Adam's moments and step count). Training has no other random state: the
  weights come from ``config["seed"]`` and the order of an epoch's chunks from its number.

``Experiment.load`` checks every part and reports the first defect as one ``CheckpointError``
line; nothing is built before the sizes are checked against the memory available.

The task protocol. A task (``data.task.ForecastTask``, ``WindowTask``, ``data.text.TextTask``)
is what ``train.fit`` trains on; it has ``kind`` ("series", "windows", "text"), ``metric`` and
``lower_is_better`` (what early stopping watches), ``model_input_size`` and ``output_size``,
``training_chunks(batch, bptt, dtype, epoch)``, ``step(model, x, y, state)``,
``loss(prediction, target)``, ``predict(model)`` and ``score(predictions)``. ``build_task`` is
the one place that chooses a task for a model.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError, read_archive, write_archive
from .data.series import MISSING, DataError, Panel
from .data.sources import BUILTIN, load_series
from .data.task import PanelTask, Scaler, WindowTask, make_panel_task, make_task
from .data.text import TextSeries, make_text_task
from .models.base import BACKENDS, DTYPES
from .models.registry import MODEL_OPTIONS, build_model, model_config
from .train import TrainConfig, TrainResult

FORMAT = "minirnn-checkpoint"
SCHEMA = 2


# --- the data a model was trained on --------------------------------------------------------
def fingerprint(series, rows: int | list | None = None) -> str:
    """SHA-256 of the column names and values of the first ``rows`` rows (default: all); of a
    panel, of the id column, each series' id and its first ``rows[s]`` rows."""
    digest = hashlib.sha256()
    if isinstance(series, Panel):
        digest.update(series.id_column.encode())
        for s, member in enumerate(series.members):
            digest.update(f"\n{member.name}\n".encode())
            digest.update(fingerprint(member, None if rows is None else rows[s]).encode())
    elif isinstance(series, TextSeries):
        digest.update("\n".join(series.vocabulary).encode())
        digest.update(np.ascontiguousarray(series.tokens[:rows], dtype=np.int64).tobytes())
    else:
        digest.update("\n".join([*series.target_names, "|", *series.input_names]).encode())
        for values in (series.targets, series.inputs):
            digest.update(np.ascontiguousarray(values[:rows], dtype=np.float64).tobytes())
    return digest.hexdigest()


@dataclass
class DataSpec:
    """What a model was trained on, and how its task was made of it."""

    source: str                 # a built-in set's name or the CSV file's absolute path
    target: list                # target column names, in order
    inputs: list                # input column names, in order
    rows: int
    fingerprint: str            # of all rows
    train_rows: int
    train_fingerprint: str      # of the training rows
    length: int | None = None   # a built-in set: its rows and seed
    seed: int | None = None
    date_column: str | None = None
    difference: bool = False
    context: int = 20           # seq2seq windows
    horizon: int = 5
    missing: str = "error"      # a CSV's missing values: error, drop, interpolate
    lag_inputs: bool = False    # the model reads u_{t-1}, not u_t (``data.task.make_task``)
    series_id: str | None = None  # a long-format file: the column naming each row's series

    @property
    def builtin(self) -> bool:
        return self.source in BUILTIN

    @classmethod
    def describe(cls, source: str, series, task, length: int, seed: int, difference: bool,
                 context: int, horizon: int, missing: str = "error",
                 lag_inputs: bool = False) -> "DataSpec":
        builtin = source in BUILTIN
        train_rows = _training_rows(task)
        return cls(source=source if builtin else str(Path(source).resolve()),
                   target=list(getattr(series, "target_names", [])),
                   inputs=list(getattr(series, "input_names", [])), rows=len(series),
                   fingerprint=fingerprint(series),
                   train_rows=train_rows if isinstance(train_rows, int) else sum(train_rows),
                   train_fingerprint=fingerprint(series, train_rows),
                   length=length if builtin else None, seed=seed if builtin else None,
                   date_column=getattr(series, "date_column", None), difference=difference,
                   context=context, horizon=horizon, missing=missing, lag_inputs=lag_inputs,
                   series_id=getattr(series, "id_column", None))

    def columns(self) -> str:
        """"target y; inputs u, v" for messages."""
        inputs = ", ".join(self.inputs) if self.inputs else "none"
        return f"target {', '.join(self.target)}; inputs {inputs}"

    def check_columns(self, target, inputs):
        """Column names a user gave (None: not given) against these, name by name, in order."""
        for what, given, expected in (("--target", target, self.target),
                                      ("--inputs", inputs, self.inputs)):
            if given is None:
                continue
            names = [c.strip() for c in given.split(",") if c.strip()]
            if names != expected:
                raise DataError(f"the model was trained on {self.columns()}; {what} gives "
                                f"{', '.join(names) or 'none'} (expected "
                                f"{', '.join(expected) or 'none'}, in that order)")

    def check_same_data(self, series, where: str):
        """The exact rows the model was trained on (resuming needs them)."""
        found = fingerprint(series)
        if len(series) != self.rows or found != self.fingerprint:
            raise DataError(f"{where} was trained on other data: {self.source} ({self.rows} "
                            f"rows, fingerprint {self.fingerprint[:12]}); this data has "
                            f"{len(series)} rows, fingerprint {found[:12]}")


def _training_rows(task) -> int | list:
    """The training rows: their count, or a panel's count per series."""
    if isinstance(task, PanelTask):
        return [t.train_end for t in task.tasks]
    return getattr(task, "base", task).train_end


def load_data(source, target=None, inputs=None, length: int | None = None, seed: int = 0,
              missing: str = "error", series_id: str | None = None):
    """A Series (or TextSeries, or Panel of a long-format file's series) from a built-in set or
    a CSV file; column names are checked (a built-in set has fixed columns: naming others is
    an error)."""
    series = load_series(source, target, inputs, steps=length, seed=seed, missing=missing,
                         series_id=series_id)
    if source in BUILTIN and not isinstance(series, TextSeries):
        for what, given, names in (("--target", target, series.target_names),
                                   ("--inputs", inputs, series.input_names)):
            if given is not None and [c.strip() for c in given.split(",") if c.strip()] \
                    != list(names):
                raise DataError(f"the built-in data set {source!r} has {what[2:]} "
                                f"{', '.join(names) or 'none'}; {what} cannot choose others")
    elif isinstance(series, TextSeries) and (target or inputs):
        raise DataError("the text corpus has no columns: --target and --inputs do not apply")
    return series


def build_task(series, model_name: str, difference: bool = False, scalers: dict | None = None,
               context: int = 20, horizon: int = 5, lag_inputs: bool = False):
    """The task for ``series`` and model: next-word prediction for a text; windows of
    ``context`` rows → ``horizon`` values for seq2seq; one-step forecasting otherwise (NARX
    reads the inputs and keeps its own past outputs; every other model reads the last target).
    ``scalers`` (a checkpoint's, by column name) are reused; without them they are fitted.
    ``lag_inputs``: the model reads the inputs one step late (``data.task.make_task``)."""
    if lag_inputs and not getattr(series, "input_names", None):
        raise DataError("--lag-inputs needs input columns (--inputs): the data have none")
    if isinstance(series, TextSeries):
        if model_name in ("narx", "seq2seq"):
            raise DataError(f"{model_name} models numeric series; for text choose another model")
        if difference:
            raise DataError("--difference is for numeric series, not text")
        return make_text_task(series)
    if model_name == "seq2seq" and difference:
        raise DataError("--difference is not available for seq2seq windows")
    autoregressive = model_name != "narx"
    if isinstance(series, Panel):
        if model_name == "seq2seq":
            raise DataError("seq2seq reads windows of one series; several series (--series-id) "
                            "train the one-step models")
        by_id = None
        if scalers:
            by_id = (lambda name: _stored_scalers(scalers["series"], name, series.members,
                                                  autoregressive))
        return make_panel_task(series, autoregressive, by_id, difference=difference,
                               lag_inputs=lag_inputs)
    given = {}
    if scalers:
        given = {"input_scaler": _scaler(scalers, "inputs",
                                         _input_columns(series.input_names, autoregressive)),
                 "target_scaler": _scaler(scalers, "targets", list(series.target_names))}
    base = make_task(series, autoregressive=autoregressive, difference=difference,
                     lag_inputs=lag_inputs, **given)
    if model_name != "seq2seq":
        return base
    task = WindowTask(base, context, horizon)
    if min(len(task.origins(split)) for split in ("train", "validation", "test")) < 1:
        raise DataError(f"{series.name} has {len(series)} rows: too few for windows of "
                        f"{context} + {horizon} rows in every split")
    return task


NO_INPUT = "(constant 0)"  # NARX's input column when the data has none


def _input_columns(names: list, autoregressive: bool) -> list:
    """The columns of a task's input scaler: the input names, or NARX's constant 0 column."""
    return list(names) if names or autoregressive else [NO_INPUT]


def _stored_scalers(stored: dict, name: str, members: list, autoregressive: bool) -> dict:
    """The scalers a checkpoint keeps for the series ``name`` of a panel (``make_task``'s
    keyword arguments); a series the model was not trained on is an error."""
    if name not in stored:
        raise DataError(f"series {name!r} is not one the model was trained on (it knows "
                        f"{', '.join(map(repr, stored))}): each series is scaled as its "
                        f"training rows were")
    member = next(m for m in members if m.name == name)
    return {"input_scaler": _scaler(stored[name], "inputs",
                                    _input_columns(member.input_names, autoregressive)),
            "target_scaler": _scaler(stored[name], "targets", list(member.target_names))}


def _scaler(scalers: dict, part: str, columns: list) -> Scaler:
    stored = scalers[part]
    if stored["columns"] != columns:
        raise DataError(f"the stored {part} scaler is for columns "
                        f"{', '.join(stored['columns']) or 'none'}; this data has "
                        f"{', '.join(columns) or 'none'}")
    return Scaler.from_dict(stored)


def task_scalers(task) -> dict:
    """The task's scalers with their column names ({} for text): what rebuilds its scaling;
    of a panel, each series' under its id: {"series": {id: {"inputs": …, "targets": …}}}."""
    if isinstance(task, PanelTask):
        return {"series": {t.series.name: task_scalers(t) for t in task.tasks}}
    task = getattr(task, "base", task)
    if isinstance(task, WindowTask) or not hasattr(task, "target_scaler"):
        return {}
    series = task.series
    return {"inputs": {"columns": _input_columns(series.input_names, task.autoregressive),
                       **task.input_scaler.to_dict()},
            "targets": {"columns": list(series.target_names), **task.target_scaler.to_dict()}}


# --- sizes and memory ------------------------------------------------------------------------
#: rows of W_xh and W_hh per hidden unit, one per gate, and the values a cell keeps per unit and
#: step for its BPTT (the state, and a gated cell's saved gates)
_GATES = {"elman": 1, "lstm": 4, "gru": 3}
_SAVED = {"elman": 1, "lstm": 2 + 4, "gru": 1 + 4}


def _layer_count(cell: str, fan_in: int, H: int, learned_state: bool) -> int:
    """Weights of one recurrent layer: W_xh, W_hh, its bias (two for a gated cell, as
    PyTorch's), and a learned initial state (h0, and c0 for an LSTM)."""
    G = _GATES[cell]
    biases = H if cell == "elman" else 2 * G * H
    state = (2 * H if cell == "lstm" else H) if learned_state else 0
    return G * H * fan_in + G * H * H + biases + state


def parameter_count(name: str, config: dict) -> int:
    """The number of weights of model ``name`` built from ``config``, without building it
    (checked against built models in tests/test_experiment.py)."""
    I, O, H = config["input_size"], config["output_size"], config["hidden_size"]
    if name == "sliding":
        return H * config["window"] * I + H + O * H + O
    if name == "narx":
        L, K = config["input_delays"], config["output_delays"]
        return H * (L + 1) * I + H * K * O + H + O * H + O
    if name in ("elman", "statespace"):
        return H * I + H * H + H + O * H + O + (H if name == "statespace" else 0)
    if name in ("lstm", "gru"):
        return _layer_count(name, I, H, config["learn_initial_state"]) + O * H + O
    if name == "memory":
        M = config["memory_size"] or H
        return H * I + H + M * O + M * H + M * M + M + H * M + O * H + O
    if name == "jordan":
        return H * I + H + H * O + O * H + O + 1
    if name == "multilayer":
        layers, skip = config["num_layers"], config["connectivity"] == "skip"
        total = 0
        for l in range(layers):
            fan_in = I if l == 0 else H + (I if skip else 0)
            total += _layer_count(config["cell"], fan_in, H, True)
            total += H * H if config["connectivity"] == "feedback" and l < layers - 1 else 0
            total += H * O if config["connectivity"] == "output_feedback" and l == 0 else 0
        return total + O * (layers * H if skip else H) + O
    if name == "seq2seq":  # the encoder's initial state learned, the decoder's not
        cell = config["cell"]
        return (_layer_count(cell, I, H, True) + O * H + O) + \
            (_layer_count(cell, O, H, False) + O * H + O)
    raise ValueError(f"unknown model {name!r}")


def state_width(name: str, config: dict) -> int:
    """Values a model keeps per row and time step (states, delay lines), for the estimate."""
    I, O, H = config["input_size"], config["output_size"], config["hidden_size"]
    if name == "sliding":
        return H + config["window"] * I
    if name == "narx":
        return H + config["output_delays"] * O + (config["input_delays"] + 1) * I
    if name == "memory":
        return H + (config["memory_size"] or H) + O
    if name == "multilayer":
        return config["num_layers"] * _SAVED[config["cell"]] * H + O
    if name in ("lstm", "gru"):
        return _SAVED[name] * H + H + O + I
    if name == "seq2seq":
        return 2 * _SAVED[config["cell"]] * H + O + I
    return 2 * H + O + I


def memory_estimate(name: str, config: dict, rows: int, batch: int = 8, bptt: int = 50) -> int:
    """Bytes that training (or predicting) ``rows`` rows needs, roughly and on the high side:
    the weights seven times (weights, gradients, two optimiser moments, best and last copies, a
    checkpoint's), and per time step of a training chunk and of a whole-series pass the states
    eight times (forward values, activations' derivatives, gradients, packed copies), plus the
    data's rows (raw, scaled, model input) in float64."""
    itemsize = np.dtype(config.get("dtype", "float64")).itemsize
    weights = 7 * parameter_count(name, config) * itemsize
    states = 8 * state_width(name, config) * itemsize * (batch * bptt + rows)
    data = 4 * 8 * rows * (config["input_size"] + config["output_size"])
    return int(weights + states + data)


def available_memory() -> int | None:
    """Bytes this process can still allocate: the machine's available memory, lowered by a
    cgroup's limit (a container's); None if neither can be read."""
    limits = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            limits.append(int(limit) - int((cgroup / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    if not limits and hasattr(os, "sysconf"):
        try:
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    return min(limits) if limits else None


def gib(n: float) -> str:
    return f"{n / 2 ** 30:,.1f} GiB" if n >= 2 ** 27 else f"{n / 2 ** 20:,.0f} MiB"


def check_memory(name: str, config: dict, rows: int, batch: int = 8, bptt: int = 50):
    """A clear error before allocating, when the estimate exceeds the memory available."""
    check_bytes(memory_estimate(name, config, rows, batch, bptt),
                f"{name} with hidden size {config['hidden_size']:,} on {rows:,} rows")


def check_bytes(needed: int, what: str):
    """MemoryError("<what> needs ~X GiB; this machine has Y GiB available") if it does not."""
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryError(f"{what} needs ~{gib(needed)}; this machine has {gib(available)} "
                          f"available")


#: bytes per row of a built-in set while it is generated (a dozen float64 arrays), and per
#: step of a free-run forecast (each step's arrays and tensors: a 10⁶-step predict --steps
#: grew to about 500 MB, so twice that, on the high side)
BYTES_PER_BUILTIN_ROW, BYTES_PER_FORECAST_STEP = 12 * 8, 1000


def check_config(name: str, config) -> dict:
    """A model configuration (a checkpoint's): the keys ``model_config`` makes, sizes positive
    integers, a known engine and dtype. The model's constructor checks the rest."""
    if name not in MODEL_OPTIONS:
        raise ValueError(f"unknown model {name!r}")
    if not isinstance(config, dict):
        raise ValueError("config is not an object")
    expected = set(model_config(name, 1, 1, 1))
    if set(config) != expected:
        extra, missing = sorted(set(config) - expected), sorted(expected - set(config))
        raise ValueError("config " + "; ".join(
            part for part in (f"lacks {', '.join(missing)}" if missing else "",
                              f"has unknown key(s) {', '.join(extra)}" if extra else "")
            if part))
    for key in ("input_size", "output_size", "hidden_size", "window", "output_delays",
                "num_layers"):
        if key in config:
            _positive_int(config[key], f"config.{key}")
    if "input_delays" in config:
        _positive_int(config["input_delays"] + 1 if _is_int(config["input_delays"]) else None,
                      "config.input_delays + 1")
    if config.get("memory_size") is not None:
        _positive_int(config["memory_size"], "config.memory_size")
    if config["backend"] not in BACKENDS:
        raise ValueError(f"config.backend {config['backend']!r} is not one of "
                         f"{', '.join(BACKENDS)}")
    if config["dtype"] not in DTYPES:
        raise ValueError(f"config.dtype {config['dtype']!r} is not one of {', '.join(DTYPES)}")
    return config


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(value, what: str):
    if not _is_int(value) or value < 1:
        raise ValueError(f"{what} must be a positive integer, found {value!r}")


# --- the experiment and its checkpoint ------------------------------------------------------
@dataclass
class Experiment:
    """A model, the data it was trained on, how it was trained and how far: see the module's
    docstring. ``save`` and ``load`` are the checkpoint file."""

    model: str
    config: dict
    data: DataSpec
    scalers: dict
    train: TrainConfig
    run: TrainResult = field(default_factory=TrainResult)
    metrics: dict | None = None
    trained_with: dict = field(default_factory=dict)  # engine, threads: for bit-for-bit resumes

    def build_model(self, backend: str | None = None):
        """The model with its best weights, on ``backend`` (default: the one it was trained
        on). ``train.fit(..., start=self.run)`` loads the last ones to continue training."""
        net = build_model(self.model, {**self.config,
                                       "backend": backend or self.config["backend"]})
        if self.run.best_state is not None:
            net.load_state_dict(self.run.best_state)
        return net

    # the file ------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the checkpoint atomically (``checkpoint.write_archive``)."""
        run = self.run
        document = {
            "format": FORMAT, "schema": SCHEMA, "model": self.model, "config": self.config,
            "data": asdict(self.data), "scalers": self.scalers, "train": asdict(self.train),
            "run": {"epoch": run.epoch, "best_epoch": run.best_epoch,
                    "best_score": run.best_score, "waited": run.waited,
                    "history": run.history, "stopped": run.stopped, "diverged": run.diverged,
                    "optimizer_step": (run.optimizer_state or {}).get("step")},
            "metrics": self.metrics, "trained_with": self.trained_with}
        arrays = {}
        for prefix, state in (("best", run.best_state), ("last", run.last_state)):
            for name, value in (state or {}).items():
                arrays[f"{prefix}/{name}"] = value
        if run.optimizer_state is not None:
            names = list((run.last_state or run.best_state or {}).keys())
            for slot, values in run.optimizer_state["slots"].items():
                for name, value in zip(names, values):
                    arrays[f"optimizer/{slot}/{name}"] = value
        write_archive(path, json_ready(document), arrays)

    @classmethod
    def load(cls, path) -> "Experiment":
        """Read and check a checkpoint; its first defect is one ``CheckpointError``."""
        document, arrays = read_archive(path)
        try:
            return _from_document(document, arrays)
        except (ValueError, TypeError, KeyError) as error:  # CheckpointError, DataError too
            raise CheckpointError(f"{path}: {error}") from None


def json_ready(value):
    """NumPy scalars and arrays as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None  # JSON has no NaN: a diverged epoch's score is stored as null
    return value


def _section(document: dict, key: str, kind=dict):
    if key not in document:
        raise CheckpointError(f"the checkpoint has no {key!r} section")
    value = document[key]
    if not isinstance(value, kind):
        raise CheckpointError(f"{key!r} is a {type(value).__name__}, not a "
                              f"{getattr(kind, '__name__', kind)}")
    return value


def _typed(section: dict, where: str, spec: dict) -> dict:
    """Each key of ``spec`` present in ``section`` with a value of its type(s)."""
    out = {}
    for key, kinds in spec.items():
        if key not in section:
            raise CheckpointError(f"{where}.{key} is missing")
        value = section[key]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        ok = any(value is None if k is None else
                 (isinstance(value, k) and not (isinstance(value, bool) and k in (int, float)))
                 for k in kinds)
        if float in kinds and _is_int(value):
            ok, value = True, float(value)
        if not ok:
            names = " or ".join("null" if k is None else k.__name__ for k in kinds)
            raise CheckpointError(f"{where}.{key} must be {names}, found {value!r}")
        out[key] = value
    return out


_DATA_TYPES = {"source": str, "target": list, "inputs": list, "rows": int, "fingerprint": str,
               "train_rows": int, "train_fingerprint": str, "length": (int, None),
               "seed": (int, None), "date_column": (str, None), "difference": bool,
               "context": int, "horizon": int, "missing": str}
#: data fields added within schema 2, and their value in the checkpoints written before them
_DATA_ADDED = {"lag_inputs": (bool, False), "series_id": ((str, None), None)}
_RUN_TYPES = {"epoch": int, "best_epoch": int, "best_score": (float, None), "waited": int,
              "history": list, "stopped": str, "diverged": bool,
              "optimizer_step": (int, None)}


def _from_document(document: dict, arrays: dict) -> Experiment:
    if document.get("format") != FORMAT:
        raise CheckpointError(f"not a minirnn checkpoint (format {document.get('format')!r})")
    schema = document.get("schema")
    if schema != SCHEMA:
        hint = "an older minirnn wrote it: train the model again" if \
            _is_int(schema) and schema < SCHEMA else "a newer minirnn wrote it: upgrade minirnn"
        raise CheckpointError(f"checkpoint schema {schema!r}, this minirnn reads schema "
                              f"{SCHEMA} ({hint})")
    model = _section(document, "model", str)
    if model not in MODEL_OPTIONS:
        raise CheckpointError(f"unknown model {model!r}")
    config = check_config(model, _section(document, "config"))
    data_doc = _section(document, "data")
    added = {key: kind for key, (kind, _) in _DATA_ADDED.items() if key in data_doc}
    data = DataSpec(**_typed(data_doc, "data", {**_DATA_TYPES, **added}))
    if data.missing not in MISSING:
        raise CheckpointError(f"data.missing {data.missing!r} is not one of "
                              f"{', '.join(MISSING)}")
    for what in ("target", "inputs"):
        names = getattr(data, what)
        if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise CheckpointError(f"data.{what} must be distinct column names, found {names!r}")
    if not 0 < data.train_rows <= data.rows:
        raise CheckpointError(f"data.train_rows {data.train_rows} is not within the "
                              f"{data.rows} rows")
    scalers = _check_scalers(_section(document, "scalers"), data, model)
    train_doc = _section(document, "train")
    unknown = sorted(set(train_doc) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise CheckpointError(f"train has unknown key(s) {', '.join(unknown)}")
    train = TrainConfig(**train_doc)
    try:
        train.check()
    except ValueError as error:
        raise CheckpointError(f"train: {error}") from None
    run_doc = _typed(_section(document, "run"), "run", _RUN_TYPES)
    if not all(isinstance(h, dict) and _is_int(h.get("epoch")) for h in run_doc["history"]):
        raise CheckpointError("run.history must be a list of records, each with its epoch")
    check_memory(model, config, data.rows, train.batch, train.bptt)
    net = build_model(model, {**config, "backend": "numpy"})  # the engine is chosen later
    names = [n for n, _ in net.named_parameters()]
    states = {prefix: _weights(arrays, prefix, net) for prefix in ("best", "last")}
    if states["best"] is None:
        raise CheckpointError("it holds no weights (no 'best/…' arrays)")
    optimizer_state = None
    slot_keys = [k for k in arrays if k.startswith("optimizer/")]
    if slot_keys:
        slots = sorted({k.split("/")[1] for k in slot_keys})
        optimizer_state = {"step": run_doc["optimizer_step"] or 0, "slots": {}}
        for slot in slots:
            missing = [n for n in names if f"optimizer/{slot}/{n}" not in arrays]
            if missing:
                raise CheckpointError(f"optimizer slot {slot!r} lacks {', '.join(missing)}")
            optimizer_state["slots"][slot] = [arrays[f"optimizer/{slot}/{n}"] for n in names]
            for n in names:
                if not np.all(np.isfinite(arrays[f"optimizer/{slot}/{n}"])):
                    raise CheckpointError(f"optimizer slot {slot!r}: {n} holds NaN or infinite "
                                          f"values")
    stray = sorted(k for k in arrays if k.split("/")[0] not in ("best", "last", "optimizer"))
    if stray:
        raise CheckpointError(f"unknown array(s) {', '.join(stray)}")
    run = TrainResult(history=run_doc["history"], best_epoch=run_doc["best_epoch"],
                      best_state=states["best"], stopped=run_doc["stopped"],
                      diverged=run_doc["diverged"], epoch=run_doc["epoch"],
                      best_score=run_doc["best_score"], waited=run_doc["waited"],
                      last_state=states["last"], optimizer_state=optimizer_state)
    metrics = document.get("metrics")
    trained_with = document.get("trained_with") or {}
    return Experiment(model, config, data, scalers, train, run,
                      metrics if isinstance(metrics, dict) else None,
                      trained_with if isinstance(trained_with, dict) else {})


def _weights(arrays: dict, prefix: str, net) -> dict | None:
    """The ``prefix/…`` arrays as a state dict, checked against the model (names, shapes,
    dtypes, finite values); None when there are none."""
    state = {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}
    if not state:
        return None
    try:
        net.load_state_dict(state)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{prefix} weights: {error}".replace("load_state_dict: ", "")) \
            from None
    for name, value in state.items():
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"{prefix} weights: {name} holds NaN or infinite values")
    return state


def _check_scalers(scalers: dict, data: DataSpec, model: str) -> dict:
    """The scalers, one pair (inputs, targets) per column list; a panel's, one pair per
    series id under "series"."""
    if not scalers:
        if data.source == "text":
            return {}
        raise CheckpointError("scalers are missing (a numeric series needs them)")
    if data.series_id is None:
        _check_scaler_pair(scalers, data, model, "scalers")
        return scalers
    if set(scalers) != {"series"} or not isinstance(scalers["series"], dict) or \
            not scalers["series"]:
        raise CheckpointError("scalers must hold one pair per series under 'series' (the "
                              "data section names a series id column)")
    for name, pair in scalers["series"].items():
        if not isinstance(pair, dict):
            raise CheckpointError(f"scalers.series.{name} is not an object")
        _check_scaler_pair(pair, data, model, f"scalers.series.{name}")
    return scalers


def _check_scaler_pair(scalers: dict, data: DataSpec, model: str, where: str):
    inputs = _input_columns(data.inputs, autoregressive=model != "narx")
    for part, columns in (("inputs", inputs), ("targets", data.target)):
        if part not in scalers or not isinstance(scalers[part], dict):
            raise CheckpointError(f"{where}.{part} is missing")
        stored = scalers[part]
        for key in ("columns", "mean", "scale"):
            if not isinstance(stored.get(key), list):
                raise CheckpointError(f"{where}.{part}.{key} must be a list")
        if stored["columns"] != columns:
            raise CheckpointError(f"{where}.{part} is for columns {stored['columns']}, the "
                                  f"data section names {columns}")
        for key in ("mean", "scale"):
            values = stored[key]
            if len(values) != len(columns) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
                    for v in values):
                raise CheckpointError(f"{where}.{part}.{key} must be {len(columns)} finite "
                                      f"number(s), found {values!r}")
        if not all(v > 0 for v in stored["scale"]):
            raise CheckpointError(f"{where}.{part}.scale must be positive")
