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


#: bytes per row of a built-in set while it is generated (a dozen float64 arrays), and per
#: step of a free-run forecast (each step's arrays and tensors: a 10⁶-step predict --steps
#: grew to about 500 MB, so twice that, on the high side)
BYTES_PER_BUILTIN_ROW, BYTES_PER_FORECAST_STEP = 12 * 8, 1000
