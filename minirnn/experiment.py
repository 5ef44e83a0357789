"""The experiment: what was trained, on what, how far, and how to rebuild it.

An ``Experiment`` is everything ``minirnn train`` needs to continue a run exactly and
``minirnn predict`` needs to use its model on new rows, and it is what a checkpoint file holds
(schema version ``SCHEMA``):

- ``model`` and ``config``: the model's name and constructor arguments (``registry.model_config``);
- ``data`` (``DataSpec``): where the rows came from, the target and input column names in
  order, the date column, a long-format file's series id column, the row count and a
  fingerprint (SHA-256) of all rows and of the training rows, and how the task was made of
  them (``difference``, ``lag_inputs``, seq2seq's ``context`` and ``horizon``, the
  ``seasonal_period``, ``seasonal_difference`` and the targets' ``transform``);
- ``scalers``: per column name, the mean and scale fitted on the training rows, and a Box-Cox
  transform's λ per target column (of several series: per series id, each fitted on its own
  training rows);
- ``train``: the ``TrainConfig``;
- ``run`` (``TrainResult``): epochs done, the best epoch and its score, early stopping's count,
  and as arrays the history (a column per metric), the best and the last weights and the
  optimiser's state (Adam's moments and step count). Training has no other random state: the
  weights come from ``config["seed"]`` and the order of an epoch's chunks from its number.

The checkpoint's document is generated from these dataclasses' fields: one section per field
of ``Experiment``, a dataclass section holding its own fields (the run's ``RUN_ARRAYS`` go to
the file's arrays instead), and ``Experiment.load`` reads the same fields back, each checked
against its annotated type. A field added to a dataclass is saved and loaded with no other
edit; one added within a schema is marked ``ADDED`` so that older files, which lack it, read
as its default.

``Experiment.load`` checks every part and reports the first defect as one ``CheckpointError``
line; nothing is built before the sizes are checked against the memory available. Choosing
the task is ``app.tasks``'s, sizes and memory ``sizing``'s, the data's fingerprints
``data.fingerprints``'s.
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

import numpy as np

from .app.tasks import input_columns, training_rows
from .checkpoint import MAX_DOCUMENT_BYTES, CheckpointError, read_archive, write_archive
from .data.fingerprints import fingerprint, matches
from .catalog import MISSING, TRANSFORMS
from .data.series import DataError
from .data.sources import BUILTIN
from .models.registry import MODEL_OPTIONS, build_model, check_config
from .sizing import BYTES_PER_BUILTIN_ROW, check_bytes, check_memory, parameter_count
from .train import TrainConfig, TrainResult

FORMAT = "minirnn-checkpoint"
#: the schema written; 3 keeps the history as arrays, 2 (still read) kept it in the document
SCHEMA = 3
READABLE = (2, 3)

#: a field's metadata. ADDED: added within the schema; a checkpoint written before it lacks
#: it and reads as the field's default. OPTIONAL: a section that may be absent or of another
#: type; then it reads as its default
ADDED = types.MappingProxyType({"added": True})
OPTIONAL = types.MappingProxyType({"optional": True})

#: the run's fields that a checkpoint keeps as arrays, by prefix ("best/<weight>",
#: "last/<weight>", "optimizer/<slot>/<weight>", "history/<metric>": one column per key of the
#: history's records), not in its document, so that the document's size does not grow with the
#: epochs; the optimiser's step count and numbers go into the document as
#: ``run.optimizer_step`` and ``optimizer_scalars``
RUN_ARRAYS = {"best_state": "best", "last_state": "last", "optimizer_state": "optimizer",
              "history": "history"}


# --- the data a model was trained on --------------------------------------------------------
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
    # the model reads u_{t-1}, not u_t (``data.task.make_task``)
    lag_inputs: bool = field(default=False, metadata=ADDED)
    # a long-format file: the column naming each row's series
    series_id: str | None = field(default=None, metadata=ADDED)
    # the seasonal period P (0: none), whether the model learns y_t - y_{t-P}, and the
    # targets' power transform (none, log, boxcox: its λ kept with the target scaler)
    seasonal_period: int = field(default=0, metadata=ADDED)
    seasonal_difference: bool = field(default=False, metadata=ADDED)
    transform: str = field(default="none", metadata=ADDED)

    @property
    def builtin(self) -> bool:
        return self.source in BUILTIN

    @classmethod
    def describe(cls, source: str, series, task, length: int, seed: int, difference: bool,
                 context: int, horizon: int, missing: str = "error",
                 lag_inputs: bool = False) -> "DataSpec":
        """The description of ``series`` (read from ``source``) and of the ``task`` made of
        it (its seasonal period, differencing and transform are read from the task)."""
        builtin = source in BUILTIN
        train_rows = training_rows(task)
        one = getattr(task, "tasks", [getattr(task, "base", task)])[0]  # a panel's first
        return cls(source=source if builtin else str(Path(source).resolve()),
                   target=list(getattr(series, "target_names", [])),
                   inputs=list(getattr(series, "input_names", [])), rows=len(series),
                   fingerprint=fingerprint(series),
                   train_rows=train_rows if isinstance(train_rows, int) else sum(train_rows),
                   train_fingerprint=fingerprint(series, train_rows),
                   length=length if builtin else None, seed=seed if builtin else None,
                   date_column=getattr(series, "date_column", None), difference=difference,
                   context=context, horizon=horizon, missing=missing, lag_inputs=lag_inputs,
                   series_id=getattr(series, "id_column", None),
                   seasonal_period=getattr(one, "period", 0),
                   seasonal_difference=bool(getattr(one, "seasonal_difference", False)),
                   transform=getattr(getattr(one, "steps", None), "transform", "none"))

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
        if len(series) != self.rows or not matches(self.fingerprint, series):
            raise DataError(f"{where} was trained on other data: {self.source} ({self.rows} "
                            f"rows, fingerprint {self.fingerprint[:12]}); this data has "
                            f"{len(series)} rows, fingerprint {found[:12]}")


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
    metrics: dict | None = field(default=None, metadata=OPTIONAL)
    # engine, threads: for bit-for-bit resumes
    trained_with: dict = field(default_factory=dict, metadata=OPTIONAL)

    def build_model(self, backend: str | None = None):
        """The model with its best weights, on ``backend`` (default: the one it was trained
        on). ``train.fit(..., start=self.run)`` loads the last ones to continue training."""
        net = build_model(self.model, {**self.config,
                                       "backend": backend or self.config["backend"]})
        if self.run.best_state is not None:
            net.load_state_dict(self.run.best_state)
        return net

    # the file ------------------------------------------------------------------------------
    def document(self) -> dict:
        """The checkpoint's JSON document: its format and schema, then a section per field (a
        dataclass as its own fields, the run's arrays left out)."""
        document = {"format": FORMAT, "schema": SCHEMA}
        for f in fields(self):
            value = getattr(self, f.name)
            document[f.name] = _section_of(value) if is_dataclass(value) else value
        return json_ready(document)

    def arrays(self) -> dict:
        """The run's arrays by name: the best and last weights and the optimiser's slots (one
        array per weight, in the model's order)."""
        run, arrays = self.run, {}
        for key in ("best_state", "last_state"):
            for name, value in (getattr(run, key) or {}).items():
                arrays[f"{RUN_ARRAYS[key]}/{name}"] = value
        if run.optimizer_state is not None:
            names = list((run.last_state or run.best_state or {}).keys())
            for slot, values in run.optimizer_state["slots"].items():
                for name, value in zip(names, values, strict=True):
                    arrays[f"{RUN_ARRAYS['optimizer_state']}/{slot}/{name}"] = value
        return {**arrays, **history_columns(run.history)}

    def save(self, path) -> None:
        """Write the checkpoint atomically (``checkpoint.write_archive``)."""
        write_archive(path, self.document(), self.arrays())

    @classmethod
    def load(cls, path) -> "Experiment":
        """Read and check a checkpoint; its first defect is one ``CheckpointError``. The
        document is checked first, and the arrays are unpacked only if the archive declares
        no more bytes than the model's weights need (``array_bytes``)."""
        sections = {}

        def checked(step, *args):
            try:
                return step(*args)
            except (ValueError, TypeError, KeyError) as error:  # CheckpointError, DataError
                raise CheckpointError(f"{path}: {error}") from None

        def budget(document):
            sections.update(checked(cls._checked_sections, document))
            return array_bytes(sections["model"], sections["config"]) + \
                history_bytes(sections["run"]["epoch"])

        _, arrays = read_archive(path, budget)
        return checked(cls._with_arrays, sections, arrays)

    @classmethod
    def from_document(cls, document: dict, arrays: dict) -> "Experiment":
        """The experiment of a checkpoint's document and arrays, each part checked (its first
        defect raised: ``CheckpointError``, or ``MemoryError`` for a model too large)."""
        return cls._with_arrays(cls._checked_sections(document), arrays)

    @classmethod
    def _checked_sections(cls, document: dict) -> dict:
        """The document's sections, each checked; the run's still as its record (its arrays
        are not read yet)."""
        _check_format(document)
        hints = typing.get_type_hints(cls)
        parts = {}
        for f in fields(cls):
            kinds = (dict,) if is_dataclass(hints[f.name]) else _kinds(hints[f.name])
            if f.metadata.get("optional"):
                value = document.get(f.name)
                parts[f.name] = value if _fits(value, kinds) else _default(f)
            else:
                parts[f.name] = _section(document, f.name, kinds)
        model = parts["model"]
        if model not in MODEL_OPTIONS:
            raise CheckpointError(f"unknown model {model!r}")
        config = parts["config"] = check_config(model, parts["config"])
        data = parts["data"] = hints["data"](**_record(hints["data"], parts["data"], "data"))
        _check_data(data)
        parts["scalers"] = _check_scalers(parts["scalers"], data, model)
        train = parts["train"] = _train_config(hints["train"], parts["train"])
        parts["run"] = _record(hints["run"], parts["run"], "run")
        _check_run(parts["run"])
        check_memory(model, config, data.rows, train.batch, train.bptt, train.optimizer)
        return parts

    @classmethod
    def _with_arrays(cls, parts: dict, arrays: dict) -> "Experiment":
        hints = typing.get_type_hints(cls)
        model, config, run = parts["model"], parts["config"], parts["run"]
        parts = {**parts, "run": hints["run"](
            **{k: v for k, v in run.items()
               if k not in ("optimizer_step", "optimizer_scalars", "history")},
            **_run_arrays(arrays, model, config, run["optimizer_step"],
                          run.get("optimizer_scalars", {}), run.get("history")))}
        for f in fields(cls):  # a dataclass section that no check above reads
            if is_dataclass(hints[f.name]) and not is_dataclass(parts[f.name]):
                parts[f.name] = hints[f.name](**_record(hints[f.name], parts[f.name], f.name))
        return cls(**parts)


#: the smallest scale a scaler may have: a normal float64 (below it, the scaled values
#: lose their digits; 1e-320 made every prediction one constant)
SMALLEST_SCALE = float(np.finfo(np.float64).tiny)

#: optimiser slots a checkpoint may hold per weight (Adam's two moments; room for more)
MAX_SLOTS = 4


def history_bytes(epochs: int, columns: int = 16) -> int:
    """The most bytes a history of ``epochs`` epochs takes as arrays (a diverged epoch's record
    besides; 4 columns, room for more), within what its JSON was allowed (MAX_DOCUMENT_BYTES)."""
    return min((max(epochs, 0) + 1) * 8 * columns, MAX_DOCUMENT_BYTES)


def history_columns(history: list) -> dict:
    """The history's records as one array per key ("history/<key>", in the records' order):
    int64 where every value is an integer (the epochs), float64 otherwise (a diverged epoch's
    NaN kept; a schema-2 file's null read as NaN). Every record holds the same keys."""
    if not history:
        return {}
    keys = list(history[0])
    if any(set(record) != set(keys) for record in history):
        raise ValueError("every record of a run's history must hold the same keys")
    columns = {key: [record[key] for record in history] for key in keys}
    return {f"history/{key}": np.array(values, dtype=np.int64) if all(map(_is_int, values))
            else np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            for key, values in columns.items()}


def _history(arrays: dict) -> list:
    """The history's records from the ``history/…`` columns, checked: 1-D columns of one
    length, of numbers, the epochs integers."""
    prefix = RUN_ARRAYS["history"] + "/"
    columns = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    if not columns:
        return []
    shapes = {v.shape for v in columns.values()}
    if len(shapes) != 1 or len(shapes.pop()) != 1 or \
            any(v.dtype.kind not in "if" for v in columns.values()):
        raise CheckpointError("the history's arrays must be columns of numbers, all of one "
                              "length")
    if "epoch" not in columns or columns["epoch"].dtype.kind != "i":
        raise CheckpointError("the history's arrays must hold the epochs, as integers "
                              "(history/epoch)")
    values = {key: column.tolist() for key, column in columns.items()}
    order = ["epoch", *(key for key in columns if key != "epoch")]
    return [{key: values[key][i] for key in order} for i in range(len(values["epoch"]))]


def array_bytes(model: str, config: dict) -> int:
    """The most bytes a checkpoint of this model's arrays hold: its weights in float64, for
    the best and last states and up to ``MAX_SLOTS`` optimiser slots."""
    return parameter_count(model, config) * 8 * (2 + MAX_SLOTS)


def _check_run(run: dict):
    """The run's numbers: counts within each other, the best score finite where an epoch was
    best (a NaN would never be beaten, and JSON would write it back as null)."""
    epoch, best_epoch, waited = run["epoch"], run["best_epoch"], run["waited"]
    if epoch < 0 or waited < 0 or not (best_epoch == -1 or 1 <= best_epoch <= epoch):
        raise CheckpointError(f"run: epoch {epoch}, best epoch {best_epoch} and waited "
                              f"{waited} do not fit together")
    score = run["best_score"]
    if (best_epoch == -1) != (score is None) or (score is not None and not np.isfinite(score)):
        raise CheckpointError(f"run.best_score must be a finite number where an epoch was best "
                              f"(best epoch {best_epoch}), found {score!r}")
    if not all(isinstance(h, dict) and _is_int(h.get("epoch")) for h in run.get("history", [])):
        raise CheckpointError("run.history must be a list of records, each with its epoch")


def _section_of(record) -> dict:
    """A dataclass as a section of the document: its fields, less a run's arrays (of those, the
    optimiser's step count is kept, as ``optimizer_step``)."""
    names = [f.name for f in fields(record)]
    section = {name: getattr(record, name) for name in names if name not in RUN_ARRAYS}
    if "optimizer_state" in names:
        section["optimizer_step"] = (record.optimizer_state or {}).get("step")
        section["optimizer_scalars"] = dict((record.optimizer_state or {}).get("scalars", {}))
    return section


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


def _default(f):
    return f.default_factory() if callable(f.default_factory) else f.default


def _kinds(hint) -> tuple:
    """An annotation as the types a document's value may have (None: null)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(None if a is type(None) else a for a in typing.get_args(hint))
    return (hint,)


def _fits(value, kinds: tuple) -> bool:
    """Whether ``value`` is one of ``kinds`` (a bool is no number; an int is a float)."""
    return any(value is None if k is None else
               (isinstance(value, k) and not (isinstance(value, bool) and k in (int, float)))
               or (k is float and _is_int(value))
               for k in kinds)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind_names(kinds: tuple) -> str:
    return " or ".join("null" if k is None else getattr(k, "__name__", str(k)) for k in kinds)


def _section(document: dict, key: str, kinds: tuple):
    if key not in document:
        raise CheckpointError(f"the checkpoint has no {key!r} section")
    value = document[key]
    if not _fits(value, kinds):
        raise CheckpointError(f"{key!r} is a {type(value).__name__}, not a "
                              f"{_kind_names(kinds)}")
    return value


def _check_format(document: dict):
    if document.get("format") != FORMAT:
        raise CheckpointError(f"not a minirnn checkpoint (format {document.get('format')!r})")
    schema = document.get("schema")
    if schema not in READABLE or not _is_int(schema):
        hint = "an older minirnn wrote it: train the model again" if \
            _is_int(schema) and schema < min(READABLE) else \
            "a newer minirnn wrote it: upgrade minirnn"
        raise CheckpointError(f"checkpoint schema {schema!r}, this minirnn reads schema "
                              f"{SCHEMA} ({hint})")


def _record(kind, section: dict, where: str) -> dict:
    """The values of a dataclass's section, each present (an ``ADDED`` field may be absent:
    then its default) and of its annotated type; a run's arrays are not in it, but its
    ``optimizer_step`` is. An unknown key is an error."""
    hints = typing.get_type_hints(kind)
    spec = {f.name: _kinds(hints[f.name]) for f in fields(kind) if f.name not in RUN_ARRAYS}
    if "optimizer_state" in hints:
        spec["optimizer_step"] = (int, None)
        spec["optimizer_scalars"] = (dict,)
        spec["history"] = (list,)  # schema 2's place for it (now the file's arrays)
    unknown = sorted(set(section) - set(spec))
    if unknown:
        raise CheckpointError(f"{where} has unknown key(s) {', '.join(unknown)}")
    added = {f.name for f in fields(kind) if f.metadata.get("added")} | \
        {"optimizer_scalars", "history"}
    out = {}
    for key, kinds in spec.items():
        if key not in section and key in added:
            continue
        if key not in section:
            raise CheckpointError(f"{where}.{key} is missing")
        value = section[key]
        if not _fits(value, kinds):
            raise CheckpointError(f"{where}.{key} must be {_kind_names(kinds)}, found "
                                  f"{value!r}")
        out[key] = float(value) if float in kinds and _is_int(value) else value
    return out


def _train_config(kind, section: dict):
    """The training configuration: its fields, each absent one its default (every one has
    been read so since the schema began), checked by ``TrainConfig.check``."""
    unknown = sorted(set(section) - {f.name for f in fields(kind)})
    if unknown:
        raise CheckpointError(f"train has unknown key(s) {', '.join(unknown)}")
    train = kind(**section)
    try:
        train.check()
    except ValueError as error:
        raise CheckpointError(f"train: {error}") from None
    return train


def _check_data(data: DataSpec):
    if data.missing not in MISSING:
        raise CheckpointError(f"data.missing {data.missing!r} is not one of "
                              f"{', '.join(MISSING)}")
    for what in ("target", "inputs"):
        names = getattr(data, what)
        if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise CheckpointError(f"data.{what} must be distinct column names, found {names!r}")
    if data.transform not in TRANSFORMS:
        raise CheckpointError(f"data.transform {data.transform!r} is not one of "
                              f"{', '.join(TRANSFORMS)}")
    if data.seasonal_period < 0 or (data.seasonal_difference and data.seasonal_period < 2):
        raise CheckpointError(f"data.seasonal_period {data.seasonal_period} is not a period "
                              f"(0: none; seasonal differencing needs 2 or more)")
    if not 0 < data.train_rows <= data.rows:
        raise CheckpointError(f"data.train_rows {data.train_rows} is not within the "
                              f"{data.rows} rows")
    for what in ("context", "horizon"):
        if not 1 <= getattr(data, what) <= data.rows:
            raise CheckpointError(f"data.{what} {getattr(data, what)} is not within the "
                                  f"{data.rows} rows")
    if data.builtin and data.length is not None:  # the rows generated again to predict
        if data.length < 1:
            raise CheckpointError(f"data.length {data.length} is not a number of rows")
        check_bytes(BYTES_PER_BUILTIN_ROW * data.length, f"data.length {data.length:,}")


def _run_arrays(arrays: dict, model: str, config: dict, step: int | None,
                scalars: dict, history: list | None = None) -> dict:
    """The run's ``RUN_ARRAYS`` fields from the file's arrays, checked against the model (and
    the optimiser's step count and numbers, from the document; ``history``: a schema-2
    document's, where the file has no history arrays)."""
    if not all(isinstance(k, str) and _fits(v, (float,)) and np.isfinite(v)
               for k, v in scalars.items()):
        raise CheckpointError(f"run.optimizer_scalars must map names to finite numbers, found "
                              f"{scalars!r}")
    net = build_model(model, {**config, "backend": "numpy"})  # the engine is chosen later
    names = [n for n, _ in net.named_parameters()]
    states = {key: _weights(arrays, RUN_ARRAYS[key], net) for key in ("best_state", "last_state")}
    if states["best_state"] is None:
        raise CheckpointError("it holds no weights (no 'best/…' arrays)")
    optimizer_state = None
    prefix = RUN_ARRAYS["optimizer_state"]
    slot_keys = [k for k in arrays if k.startswith(prefix + "/")]
    if slot_keys or step is not None:  # Levenberg-Marquardt's state is a number, no slots
        optimizer_state = {"step": step or 0, "slots": {},
                           "scalars": {k: float(v) for k, v in scalars.items()}}
        for slot in sorted({k.split("/")[1] for k in slot_keys}):
            missing = [n for n in names if f"{prefix}/{slot}/{n}" not in arrays]
            if missing:
                raise CheckpointError(f"optimizer slot {slot!r} lacks {', '.join(missing)}")
            optimizer_state["slots"][slot] = [arrays[f"{prefix}/{slot}/{n}"] for n in names]
            for n in names:
                if not np.all(np.isfinite(arrays[f"{prefix}/{slot}/{n}"])):
                    raise CheckpointError(f"optimizer slot {slot!r}: {n} holds NaN or infinite "
                                          f"values")
    stray = sorted(k for k in arrays if k.split("/")[0] not in RUN_ARRAYS.values())
    if stray:
        raise CheckpointError(f"unknown array(s) {', '.join(stray)}")
    if history is not None and _history(arrays):
        raise CheckpointError("the history is both in the document and in the arrays")
    return {**states, "optimizer_state": optimizer_state,
            "history": _history(arrays) if history is None else history}


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
    inputs = input_columns(data.inputs, autoregressive=model != "narx")
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
        for mean, scale in zip(stored["mean"], stored["scale"], strict=True):
            if scale < max(SMALLEST_SCALE, 1e-12 * abs(mean)):  # nothing left of the values
                raise CheckpointError(f"{where}.{part}.scale {scale!r} is too small to scale "
                                      f"values around {mean:g} by")
    lambdas = scalers["targets"].get("lambda")
    if (data.transform == "boxcox") != (lambdas is not None) or lambdas is not None and not (
            isinstance(lambdas, list) and len(lambdas) == len(data.target) and all(
                _fits(v, (float,)) and np.isfinite(v) for v in lambdas)):
        raise CheckpointError(f"{where}.targets.lambda must be {len(data.target)} finite "
                              f"number(s) with the Box-Cox transform, and absent without it; "
                              f"found {lambdas!r}")
