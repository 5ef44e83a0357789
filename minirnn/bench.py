"""Benchmarks, as ``minirnn bench`` runs them: forward + backward of a whole model.

The case is a StateSpaceRNN with input = hidden = output = H, tanh, batch B, T steps: one call
computes y = model(x), L = Σ y ⊙ R for a fixed random R (or, with ``loss="mse"``, the mean
squared error against R, what a training step differentiates), and L.backward() (gradients of
every parameter and of x). The time is the median of ``repeat`` calls after one warm-up call (which
also compiles the Numba kernels). Whatever is compared (the engines and PyTorch at one size,
the model families) is timed in turns in one process, so that the ratios hold even on a noisy
machine: a slow spell hits all of them alike (``_interleaved_medians``). The same case in
PyTorch and JAX is ``comparisons``'s (``torch_step``, ``jax_step``).

Arithmetic. The case does three H x H products per (b, t): the input projection W_xh x_t, the
recurrence W_hh h_{t-1} and the output layer W_hy h_t, each 2·H² FLOPs forward and 4·H²
backward (the gradient of its input and of its weight), so ``model_flops`` = 18·B·T·H²; the
recurrence alone is a third of it, 6·B·T·H². GFLOP/s are reported against what one large
float32 product reaches on all of Numba's threads, timed in turns with the engines at each
size (``matmul_step``): measured once before them, the yardstick alone moved by a tenth from
one run to the next (186-208 GFLOP/s on the 2-core machine of BENCHMARKS.md), and with it the
share of it an engine reached.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .autograd import Tensor
from .comparisons import jax_step, torch_cuda_available, torch_step
from .losses import mse
from .models import GRU, LSTM, NARX, StateSpaceRNN

DEFAULT_SIZES = [(32, 100, 64), (64, 100, 128), (8, 1000, 32)]
YARDSTICK = "yardstick"  # ``matmul_step``'s name among the runs timed in turns

#: the recurrent cell the default benchmark times: the state-space RNN (against ``nn.RNN``),
#: or a gated cell with a zero initial state (against ``nn.LSTM`` / ``nn.GRU``)
CELLS = {"statespace": StateSpaceRNN, "lstm": LSTM, "gru": GRU}
GATES = {"statespace": 1, "lstm": 4, "gru": 3}


@dataclass
class BenchRow:
    backend: str
    batch: int
    steps: int
    hidden: int
    dtype: str
    median_ms: float
    speedup_vs_tape: float | None = None
    speedup_vs_torch: float | None = None
    gflops: float | None = None
    speedup_vs_jax: float | None = None
    matmul_gflops: float | None = None  # the yardstick, timed in turns with this size's engines


def model_flops(batch: int, steps: int, hidden: int, gates: int = 1) -> float:
    """FLOPs of one forward + backward of the benchmark case (see the module docstring): a
    gated cell's projection and recurrence have ``gates`` times the rows, so 6·B·T·H²·(2G + 1)
    (the gates' elementwise work is not counted)."""
    return 6.0 * batch * steps * hidden * hidden * (2 * gates + 1)


#: the yardstick's size: one n x n matmul
MATMUL_N = 2048


def matmul_step(n: int = MATMUL_N, dtype: str = "float32"):
    """A callable doing one n x n matrix product (2·n³ FLOPs) as the cpu engine does its large
    ones (``blas.matmul``: NumPy's BLAS, one thread on each of Numba's threads): the
    machine's yardstick. (NumPy's own product, BLAS's threads on the same cores, ran at half
    its speed right after a kernel whose threads were still spinning.)"""
    from .kernels.blas import matmul

    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    return lambda: matmul(A, B)


def _median_seconds(run, repeat):
    return _interleaved_medians({"run": run}, repeat)["run"]


def _interleaved_medians(runs: dict, repeat: int) -> dict:
    """Median seconds of each of ``runs`` (name -> callable), after one warm-up call each
    (which compiles or loads the kernels), timed in turns, ``repeat`` times over, so that a
    noisy spell on a shared machine slows all of them alike instead of whichever happened to
    be running. Each turn makes untimed calls before the timed one (one, or up to four while
    they take less than a millisecond together): the call right after another library's
    would otherwise pay for the threads and caches that library leaves behind (at (32, 100,
    64) minirnn right after PyTorch took 2.4 ms instead of 2.0; a 0.13 ms training step
    right after PyTorch's took 13% longer after one untimed call, 3% after four)."""
    for run in runs.values():
        run()
    times = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            warm_until = time.perf_counter() + 1e-3
            for _ in range(4):
                run()
                if time.perf_counter() >= warm_until:
                    break
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


#: what the timed call differentiates: Σ y ⊙ R for a fixed random R (the kernels' case: its
#: gradient is R itself, no loss in the way), or the MSE against R (the loss a training step
#: differentiates: its forward and backward are two more passes over y)
LOSSES = ("weighted", "mse")


def _one_step(model, x, weights, loss: str = "weighted"):
    x_t = Tensor(x, requires_grad=True)
    model.zero_grad()
    y = model(x_t)
    (mse(y, weights) if loss == "mse" else (y * weights).sum()).backward()


def _on_device(model, *arrays):
    """For the cuda engine with CuPy and a GPU: the model moved to the GPU, the arrays copied
    there, and a function that waits for the GPU (so a timed call includes all its work), as
    training does (``train.trains_on_device``). Otherwise all as they are, and a no-op."""
    from .train import trains_on_device

    if not trains_on_device(model):
        return arrays, lambda: None
    import cupy

    model.to_device()
    return tuple(cupy.asarray(a) for a in arrays), cupy.cuda.runtime.deviceSynchronize


def model_step(backend: str, batch: int, steps: int, hidden: int, dtype: str = "float32",
               seed: int = 0, loss: str = "weighted", cell: str = "statespace"):
    """A callable doing one forward + backward of the benchmark case on ``backend`` (the cuda
    engine device-resident, waiting for the GPU to finish each call)."""
    rng = np.random.default_rng(seed)
    model = CELLS[cell](input_size=hidden, hidden_size=hidden, output_size=hidden,
                        backend=backend, dtype=dtype, seed=seed)
    x = rng.standard_normal((batch, steps, hidden)).astype(dtype)
    weights = rng.standard_normal((batch, steps, hidden)).astype(dtype)
    (x, weights), finish = _on_device(model, x, weights)

    def step():
        _one_step(model, x, weights, loss)
        finish()

    return step


def time_model(backend: str, batch: int, steps: int, hidden: int, dtype: str = "float32",
               repeat: int = 5, seed: int = 0) -> float:
    """Median seconds of one forward + backward."""
    return _median_seconds(model_step(backend, batch, steps, hidden, dtype, seed), repeat)


def run_benchmarks(backends, sizes=DEFAULT_SIZES, dtype: str = "float32", repeat: int = 5,
                   progress=None, torch: bool = False, loss: str = "weighted",
                   jax: bool = False, cell: str = "statespace") -> list[BenchRow]:
    """One row per (size, engine), the engines of one size timed in turns with each other and
    with the yardstick (``matmul_step``: each row's ``matmul_gflops``); ratios against the
    tape engine, PyTorch and JAX where they ran.
    ``torch=True`` adds PyTorch's CPU ``nn.RNN`` as one more row per size, and, when the cuda
    engine runs and PyTorch sees a GPU, its cuDNN ``nn.RNN`` ("pytorch-cuda"), the reference
    of the cuda engine's ratio; ``jax=True`` adds JAX on the CPU
    (``comparisons.jax_step``). ``cell``:
    the state-space RNN, or an LSTM or GRU against ``nn.LSTM`` / ``nn.GRU`` (``CELLS``)."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
    rows = []
    for batch, steps, hidden in sizes:
        runs = {backend: model_step(backend, batch, steps, hidden, dtype, loss=loss, cell=cell)
                for backend in backends}
        if jax:
            runs["jax"] = jax_step(batch, steps, hidden, dtype, loss=loss, cell=cell)
        devices = (["cpu"] if torch else []) + \
            (["cuda"] if torch and "cuda" in backends and torch_cuda_available() else [])
        for device in devices:
            name = "pytorch" if device == "cpu" else "pytorch-cuda"
            runs[name] = torch_step(batch, steps, hidden, dtype, device=device, loss=loss,
                                    cell=cell)
        runs[YARDSTICK] = matmul_step(dtype=dtype)
        seconds = _interleaved_medians(runs, repeat)
        yardstick = 2.0 * MATMUL_N ** 3 / seconds.pop(YARDSTICK) / 1e9
        case = [BenchRow(name, batch, steps, hidden, dtype, 1e3 * s,
                         gflops=model_flops(batch, steps, hidden, GATES[cell]) / s / 1e9,
                         matmul_gflops=yardstick)
                for name, s in seconds.items()]
        if progress is not None:
            progress()
        reference = {row.backend: row.median_ms for row in case}
        for row in case:
            if "tape" in reference:
                row.speedup_vs_tape = reference["tape"] / row.median_ms
            torch_row = "pytorch-cuda" if row.backend.endswith("cuda") else "pytorch"
            if torch_row in reference:
                row.speedup_vs_torch = reference[torch_row] / row.median_ms
            if "jax" in reference:
                row.speedup_vs_jax = reference["jax"] / row.median_ms
        rows += case
    return rows


FULL_NARX_STEPS = (25, 50, 100, 200)


def full_narx_curve(backend: str = "cpu", steps=FULL_NARX_STEPS, batch: int = 8,
                    hidden: int = 16, repeat: int = 3, dtype: str = "float32") -> list[dict]:
    """The seed article's "full" NARX (every past output its own weight, output_delays="all")
    against a NARX with 2 output delays: forward + backward time per sequence length T. The
    full model's step costs O(T), so its time grows as T² while the other's grows as T."""
    rng = np.random.default_rng(0)
    rows = []
    for T in steps:
        x = rng.standard_normal((batch, T, 1)).astype(dtype)
        weights = rng.standard_normal((batch, T, 1)).astype(dtype)
        row = {"steps": T}
        for label, delays in (("full_ms", "all"), ("k2_ms", 2)):
            model = NARX(input_size=1, hidden_size=hidden, output_size=1, input_delays=1,
                         output_delays=delays, max_steps=T,
                         mode="closed", backend=backend, dtype=dtype)
            row[label] = 1e3 * _median_seconds(
                lambda model=model, x=x, weights=weights: _one_step(model, x, weights), repeat)
        rows.append(row)
    return rows


def _family_models(hidden: int, dtype: str, backend: str = "cpu"):
    """One model per recurrent family, input = hidden = output = H, for ``family_times``."""
    from .models import NARX, Elman, ExplicitMemory, Jordan, MultiLayerRNN

    H = hidden
    common = {"dtype": dtype, "backend": backend}
    return {
        "elman": Elman(input_size=H, hidden_size=H, output_size=H, **common),
        "narx (closed, L=2, K=2)": NARX(input_size=H, hidden_size=H, output_size=H, input_delays=2,
                                        output_delays=2, **common),
        "jordan": Jordan(input_size=H, hidden_size=H, output_size=H, **common),
        "explicit memory (M=H)": ExplicitMemory(input_size=H, hidden_size=H, output_size=H,
                                                **common),
        "multilayer stacked (2)": MultiLayerRNN(input_size=H, hidden_sizes=[H, H], output_size=H,
                                                connectivity="stacked", **common),
        "multilayer feedback (2)": MultiLayerRNN(input_size=H, hidden_sizes=[H, H], output_size=H,
                                                 connectivity="feedback",
                                                 **common),
    }


def family_times(batch: int = 32, steps: int = 100, hidden: int = 64, dtype: str = "float32",
                 repeat: int = 5, backend: str = "cpu") -> list[dict]:
    """Forward + backward of every recurrent family on one engine, against Elman; with the
    number of weights each reads per step (its weight matrices' entries), against Elman's: the
    arithmetic per step is proportional to it, so x_elman_per_weight = x_elman /
    weights_x_elman is the time per unit of work against Elman's."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, hidden)).astype(dtype)
    weights = rng.standard_normal((batch, steps, hidden)).astype(dtype)
    models = _family_models(hidden, dtype, backend)
    seconds = _interleaved_medians(
        {name: (lambda m=model: _one_step(m, x, weights)) for name, model in models.items()},
        repeat)
    rows = [{"family": name, "ms": 1e3 * seconds[name],
             "weights": sum(p.size for p in model.parameters() if p.ndim == 2)}
            for name, model in models.items()]
    for row in rows:
        row["x_elman"] = row["ms"] / rows[0]["ms"]
        row["weights_x_elman"] = row["weights"] / rows[0]["weights"]
        row["x_elman_per_weight"] = row["x_elman"] / row["weights_x_elman"]
    return rows


def scaling_table(base=(32, 100, 64), factors=(1, 2, 4), dtype: str = "float32",
                  repeat: int = 5) -> list[dict]:
    """cpu-engine time as T, B and H each grow from ``base`` (the others fixed), and with 1 and
    all of Numba's threads: the recurrence should be linear in T and B."""
    import numba

    rows = []
    B, T, H = base
    for axis in ("T", "B", "H"):
        for f in factors:
            b, t, h = (B * f if axis == "B" else B, T * f if axis == "T" else T,
                       H * f if axis == "H" else H)
            ms = 1e3 * time_model("cpu", b, t, h, dtype, repeat)
            rows.append({"vary": axis, "B": b, "T": t, "H": h, "threads": numba.get_num_threads(),
                         "ms": ms})
    most = numba.get_num_threads()
    for threads in sorted({1, most}):
        numba.set_num_threads(threads)
        try:
            ms = 1e3 * time_model("cpu", B, T, H, dtype, repeat)
        finally:
            numba.set_num_threads(most)
        rows.append({"vary": "threads", "B": B, "T": T, "H": H, "threads": threads, "ms": ms})
    return rows


def long_sequence_memory(steps: int = 100_000, hidden: int = 64, dtype: str = "float32") -> dict:
    """One forward + backward of a StateSpaceRNN on ONE sequence of ``steps`` steps (cpu
    engine): its time, and the peak of the memory allocated during it (``tracemalloc``, which
    sees every NumPy array; a second, untimed run), against the size of one (T, H) array: the
    states hs are the one such array BPTT must keep."""
    import tracemalloc

    rng = np.random.default_rng(0)
    model = StateSpaceRNN(input_size=hidden, hidden_size=hidden, output_size=hidden, backend="cpu",
                          dtype=dtype)
    x = rng.standard_normal((1, steps, hidden)).astype(dtype)
    weights = rng.standard_normal((1, steps, hidden)).astype(dtype)
    _one_step(model, x[:, :10], weights[:, :10])  # compile / load the kernels first
    start = time.perf_counter()
    _one_step(model, x, weights)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        _one_step(model, x, weights)
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()
    one_array = steps * hidden * np.dtype(dtype).itemsize / 2 ** 20
    return {"steps": steps, "hidden": hidden, "ms": 1e3 * seconds, "peak_mib": peak,
            "one_T_by_H_array_mib": one_array, "arrays": peak / one_array}


# --- under load: a second process on the same machine -------------------------------------------
#: the cells ``minirnn bench --load`` times: (model, B, T, H), a whole training step each
LOAD_CELLS = [("elman", 1, 100, 8), ("elman", 8, 50, 16), ("elman", 32, 100, 64),
              ("elman", 64, 100, 128), ("narx", 1, 1000, 20), ("memory", 32, 100, 64)]


def _training_model(model_name: str, hidden: int, backend: str, dtype: str, seed: int):
    """The model ``training_step`` trains: the registry's defaults, one input and one output
    column (NARX in open loop)."""
    from .models.registry import build_model, model_config

    options = {"mode": "open"} if model_name == "narx" else {}
    return build_model(model_name, model_config(model_name, 1, 1, hidden, backend=backend,
                                                dtype=dtype, seed=seed, **options))


def _training_data(batch: int, steps: int, dtype: str, seed: int):
    """x (B, T, 1) and its target y, x delayed one step: y_t = x_{t-1} (y_0 = x_{T-1})."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, steps, 1)).astype(dtype)
    return x, np.roll(x, 1, axis=1)


#: the families whose forward reads the targets too: NARX in open loop (the true past
#: outputs), seq2seq (teacher forcing)
_READ_TARGETS = ("narx", "seq2seq")


def training_step(model_name: str, batch: int, steps: int, hidden: int, backend: str,
                  dtype: str = "float32", seed: int = 0):
    """A callable doing one whole training step, as ``minirnn train`` does: forward, MSE loss,
    backward, gradient clipping and Adam's update (one input and one output column; NARX in
    open loop, reading the true past outputs; seq2seq decoding y with teacher forcing)."""
    from . import losses
    from .optim import Adam, clip_grad_norm

    model = _training_model(model_name, hidden, backend, dtype, seed)
    x, y = _training_data(batch, steps, dtype, seed)
    (x, y), finish = _on_device(model, x, y)  # the cuda engine: on the GPU, as fit trains
    optimizer = Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        out = model(x, y=y) if model_name == "narx" else \
            model(x, y) if model_name == "seq2seq" else model(x)  # seq2seq: teacher forcing
        losses.mse(out, y).backward()
        clip_grad_norm(model.parameters(), 1.0)
        optimizer.step()
        finish()

    return step


#: the models ``training_table`` times, as ``minirnn train`` names them
TRAINING_FAMILIES = ["sliding", "narx", "elman", "statespace", "memory", "jordan", "multilayer",
                     "seq2seq", "lstm", "gru"]
#: the families ``torch_training_step`` builds in PyTorch (``minirnn.torch_models``): all
TORCH_FAMILIES = tuple(TRAINING_FAMILIES)


def torch_training_step(model_name: str, batch: int, steps: int, hidden: int,
                        dtype: str = "float32", seed: int = 0):
    """The same whole training step in PyTorch on the CPU (as many threads as Numba uses): the
    PyTorch equivalent of the model ``training_step`` builds (``torch_models.from_minirnn``:
    the same sizes, options and initial weights; ``nn.RNN`` for Elman, state-space, the
    stacked layers and seq2seq's encoder and decoder, a Python loop of ``nn.Linear`` layers
    for Jordan and the explicit memory, an MLP on ``unfold``-ed windows for the sliding
    window and open-loop NARX), on the same data, the MSE, ``backward``, gradient clipping
    and Adam's update."""
    import numba
    import torch

    from .torch_models import from_minirnn

    torch.set_num_threads(numba.get_num_threads())
    model = from_minirnn(_training_model(model_name, hidden, "numpy", dtype, seed))
    x, y = (torch.from_numpy(a) for a in _training_data(batch, steps, dtype, seed))
    parameters = list(model.parameters())
    optimizer = torch.optim.Adam(parameters, lr=1e-3)

    def step():
        optimizer.zero_grad()
        out = model(x, y) if model_name in _READ_TARGETS else model(x)
        loss = torch.nn.functional.mse_loss(out, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()

    return step


def training_table(batch: int = 32, steps: int = 100, hidden: int = 64,
                   backends=("cpu", "cuda"), dtype: str = "float32", repeat: int = 5,
                   deterministic: bool = False, torch: bool = False) -> list:
    """One whole training step (``training_step``) of every family on each engine, timed in
    turns in one process: {family, <engine>_ms, and cpu_ms / cuda_ms when both ran}; with
    ``deterministic``, also the cpu engine in deterministic mode (``blas.set_deterministic``),
    "cpu-deterministic_ms", and its cost, "deterministic_cost" (its time / the cpu engine's);
    with ``torch``, PyTorch's step (``torch_training_step``) for the families in
    ``TORCH_FAMILIES`` (all of them), "pytorch_ms", and "x_pytorch" (its time / the cpu
    engine's)."""
    from .kernels import blas

    def in_deterministic_mode(step):
        def run():
            was = blas.deterministic()
            blas.set_deterministic(True)
            try:
                step()
            finally:
                blas.set_deterministic(was)
        return run

    rows = []
    for family in TRAINING_FAMILIES:
        runs = {backend: training_step(family, batch, steps, hidden, backend, dtype)
                for backend in backends}
        if deterministic:
            runs["cpu-deterministic"] = in_deterministic_mode(
                training_step(family, batch, steps, hidden, "cpu", dtype))
        if torch and family in TORCH_FAMILIES:
            runs["pytorch"] = torch_training_step(family, batch, steps, hidden, dtype)
        seconds = _interleaved_medians(runs, repeat)
        row = {"family": family, "B": batch, "T": steps, "H": hidden,
               **{f"{b}_ms": 1e3 * seconds[b] for b in backends}}
        if deterministic:
            row["cpu-deterministic_ms"] = 1e3 * seconds["cpu-deterministic"]
        if "cpu" in backends and "cuda" in backends:
            row["cuda_speedup"] = seconds["cpu"] / seconds["cuda"]
        if deterministic and "cpu" in backends:
            row["deterministic_cost"] = seconds["cpu-deterministic"] / seconds["cpu"]
        if "pytorch" in runs and "cpu" in backends:
            row["pytorch_ms"] = 1e3 * seconds["pytorch"]
            row["x_pytorch"] = seconds["pytorch"] / seconds["cpu"]
        rows.append(row)
    return rows


def _steps_for(run, seconds: float) -> list:
    """Seconds of each call of ``run``, called again and again for ``seconds``."""
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def _second_process(kind: str, cell, backend: str, dtype: str, seconds: float):
    """Start the other process ("minirnn": the same training step in a loop; "busy": a plain
    Python loop) and return it once it is running warm. It stops by itself after ``seconds``."""
    import subprocess
    import sys

    args = [sys.executable, "-m", "minirnn.bench", kind, *map(str, cell), backend, dtype,
            str(seconds)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    if process.stdout.readline().strip() != "ready":  # warm: kernels compiled, steps running
        process.kill()
        raise RuntimeError(f"the second process ({kind}) did not start")
    return process


def load_table(cells=LOAD_CELLS, backends=("cpu", "numpy"), dtype: str = "float32",
               seconds: float = 1.5, others: int = 1) -> list[dict]:
    """Mean time of a whole training step of each cell on each engine (the run's time over its
    steps: a median would hide the steps the scheduler stopped half-way, which is most of what
    sharing the cores costs a step shorter than a time slice): alone, beside ``others``
    processes doing the same (what two runs, or a search's trials side by side, do), and
    beside as many plain busy Python loops. Each other process is started warm and stops by
    itself."""
    rows = []
    for cell in cells:
        for backend in backends:
            run = training_step(*cell, backend, dtype)
            for _ in range(3):
                run()  # warm: kernels compiled, memory reused
            row = {"model": cell[0], "B": cell[1], "T": cell[2], "H": cell[3],
                   "engine": backend, "others": others}
            row["alone_ms"] = 1e3 * float(np.mean(_steps_for(run, seconds)))
            for kind in ("minirnn", "busy"):
                started = []
                try:
                    for _ in range(others):
                        started.append(_second_process(kind, cell, backend, dtype, seconds + 30))
                    row[f"{kind}_ms"] = 1e3 * float(np.mean(_steps_for(run, seconds)))
                finally:
                    for other in started:
                        other.kill()
                        other.wait()
            row["x_alone"] = row["minirnn_ms"] / row["alone_ms"]
            rows.append(row)
    for row in rows:  # the cpu engine against the numpy engine, both loaded
        numpy_row = next((r for r in rows if r["engine"] == "numpy" and
                          (r["model"], r["B"], r["T"], r["H"]) ==
                          (row["model"], row["B"], row["T"], row["H"])), None)
        row["x_numpy_loaded"] = row["minirnn_ms"] / numpy_row["minirnn_ms"] if numpy_row else None
    return rows


def _run_second_process(argv):
    """``python -m minirnn.bench minirnn|busy MODEL B T H BACKEND DTYPE SECONDS``."""
    kind, model_name, B, T, H, backend, dtype, seconds = argv
    end = time.perf_counter() + float(seconds)
    if kind == "busy":
        print("ready", flush=True)
        while time.perf_counter() < end:
            sum(i * i for i in range(1000))
        return
    run = training_step(model_name, int(B), int(T), int(H), backend, dtype)
    run()
    print("ready", flush=True)
    while time.perf_counter() < end:
        run()


if __name__ == "__main__":
    import sys

    _run_second_process(sys.argv[1:])
