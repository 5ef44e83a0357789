"""Sizes and memory: a model's weights counted without building it, the bytes a run needs, and
a clear error before allocating when the machine has too little memory."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


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


#: float64 vectors of the weights' size that L-BFGS keeps per pair of its history (s and y), and
#: its default history
LBFGS_HISTORY = 100


def memory_estimate(name: str, config: dict, rows: int, batch: int = 8, bptt: int = 50,
                    optimizer: str = "adam") -> int:
    """Bytes that training (or predicting) ``rows`` rows needs, roughly and on the high side:
    the weights seven times (weights, gradients, two optimiser moments, best and last copies, a
    checkpoint's), and per time step of a training chunk and of a whole-series pass the states
    eight times (forward values, activations' derivatives, gradients, packed copies), plus the
    data's rows (raw, scaled, model input) in float64.

    A second-order optimiser trains on every row at once (a chunk of all ``rows``): L-BFGS adds
    its history, 2 · 100 float64 copies of the weights; Levenberg-Marquardt its Jacobian, one
    float64 row of P weights per residual (rows · outputs of them), twice (J and the product
    being summed), and P × P matrices (J^T J and the damped copy solved)."""
    itemsize = np.dtype(config.get("dtype", "float64")).itemsize
    P = parameter_count(name, config)
    weights = 7 * P * itemsize
    chunk = rows if optimizer in ("lbfgs", "lm") else batch * bptt
    states = 8 * state_width(name, config) * itemsize * (chunk + rows)
    data = 4 * 8 * rows * (config["input_size"] + config["output_size"])
    second = {"lbfgs": 2 * LBFGS_HISTORY * P * 8,
              "lm": 2 * rows * config["output_size"] * P * 8 + 3 * P * P * 8}.get(optimizer, 0)
    return int(weights + states + data + second)


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


def check_memory(name: str, config: dict, rows: int, batch: int = 8, bptt: int = 50,
                 optimizer: str = "adam"):
    """A clear error before allocating, when the estimate exceeds the memory available."""
    how = {"lbfgs": ", full batch with L-BFGS,",
           "lm": ", full batch with Levenberg-Marquardt (its Jacobian, rows x weights, and "
                 "J^T J),"}
    check_bytes(memory_estimate(name, config, rows, batch, bptt, optimizer),
                f"{name} with hidden size {config['hidden_size']:,} on {rows:,} rows"
                f"{how.get(optimizer, '')}")


def check_bytes(needed: int, what: str):
    """MemoryError("<what> needs ~X GiB; this machine has Y GiB available") if it does not."""
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryError(f"{what} needs ~{gib(needed)}; this machine has {gib(available)} "
                          f"available")


#: the work estimate's rates, on the low side of one core of a small machine: floating-point
#: operations per second in products, and seconds per layer and time step of the recurrence
#: outside them (a step of a narrow layer is dominated by it: 40 µs measured for the forward,
#: backward and validation passes of one layer of 16 units on 2 cores under load)
FLOPS_PER_SECOND, SECONDS_PER_LAYER_STEP = 1e9, 4e-5
#: the products' rate on the cuda engine (a GPU's, on the low side)
GPU_FLOPS_PER_SECOND = 1e11
#: the longest run (all its epochs) the estimate lets start: a longer one is a mistyped size
#: far more often than a wish. A day, since the rates above are pessimistic (5,000 layers of 16
#: units, estimated at 3.7 hours, trained in about 200 s on 2 cores): a large run that fits a
#: day of the estimate starts; a size mistyped by orders of magnitude does not
LONGEST_RUN_SECONDS = 24 * 3600


def layers(name: str, config: dict) -> int:
    """Recurrent layers stepped one after another at each time step."""
    if name == "multilayer":
        return config["num_layers"]
    return 2 if name == "seq2seq" else 1


def seconds_estimate(name: str, config: dict, rows: int, epochs: int, horizon: int = 1) -> float:
    """Seconds that training ``epochs`` epochs on ``rows`` rows takes, roughly: per row and
    epoch, each weight's forward, backward and validation products (8 operations) and each
    layer's step, and once at the end, the ``horizon``-step forecasts from every row."""
    rate = GPU_FLOPS_PER_SECOND if config.get("backend") == "cuda" else FLOPS_PER_SECOND
    per_row = 8 * parameter_count(name, config) / rate + \
        layers(name, config) * SECONDS_PER_LAYER_STEP
    forecasts = rows * horizon * 2 * parameter_count(name, config) / rate
    return epochs * rows * per_row + forecasts


def check_work(name: str, config: dict, rows: int, epochs: int, horizon: int = 1):
    """A clear error before anything is built when a run would take far longer than any
    sensible one (``LONGEST_RUN_SECONDS``, by ``seconds_estimate``)."""
    seconds = seconds_estimate(name, config, rows, epochs, horizon)
    if seconds > LONGEST_RUN_SECONDS:
        raise ValueError(f"{name} {sizes(name, config)} on {rows:,} rows needs ~"
                         f"{seconds / 3600:,.1f} hours of computing for {epochs} epoch(s), "
                         f"beyond the {LONGEST_RUN_SECONDS / 3600:g} hours a run may be "
                         f"estimated to take: lower its sizes or epochs")


def sizes(name: str, config: dict) -> str:
    """The model's sizes for messages: "with 5,000 layers of 16 units"."""
    H = config["hidden_size"]
    if name == "multilayer":
        return f"with {config['num_layers']:,} layers of {H:,} units"
    return f"with hidden size {H:,}"


def check_reach(name: str, config: dict, train_rows: int):
    """A model that reads as far back as the training rows go, or further, is an error (a
    window or delays as long as the rows to learn them from)."""
    reach = {"window": config.get("window"), "input delays": config.get("input_delays"),
             "output delays": config.get("output_delays")}
    for what, rows in reach.items():
        if rows is not None and rows >= train_rows:
            raise ValueError(f"{name} reads {rows:,} rows back ({what}), as many as or more "
                             f"than the {train_rows:,} training rows")


#: bytes per row of a built-in set while it is generated (a dozen float64 arrays), and per
#: step of a free-run forecast (each step's arrays and tensors: a 10⁶-step predict --steps
#: grew to about 500 MB, so twice that, on the high side)
BYTES_PER_BUILTIN_ROW, BYTES_PER_FORECAST_STEP = 12 * 8, 1000
