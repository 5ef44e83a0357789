"""What minirnn offers, by the names a user chooses: the models (what each computes and the
parameters it learns), the engines, dtypes, cells, connectivities, built-in data sets, ways to
treat a missing value, optimisers; and how a model's configuration is made from its options.

Plain data and plain Python, importable without NumPy or Numba: the command line builds its
options, its help and ``minirnn models`` from this alone, in a fraction of a second. The
modules that implement each name take their lists from here, so that a name is declared once;
``tests/test_catalog.py`` holds each entry to the model it describes.
"""
from __future__ import annotations

from dataclasses import dataclass

#: the engines that run a model: the tape (the equations unrolled, the oracle), the NumPy
#: reference kernels, the Numba cpu kernels and the Numba CUDA kernels
BACKENDS = ("tape", "numpy", "cpu", "cuda")
DTYPES = ("float32", "float64")
#: the recurrent cell of each layer of a multi-layer RNN or of a seq2seq pair
CELLS = ("elman", "lstm", "gru")
#: how the layers of a multi-layer RNN are connected
CONNECTIVITIES = ("stacked", "skip", "feedback", "output_feedback")
#: the built-in data sets ``--data`` names
BUILTIN_DATA = ("sine", "stock", "narendra", "memory", "text")
#: what to do with a missing value in a CSV file
MISSING = ("error", "drop", "interpolate")
#: the transforms of a series' targets before it is modelled (``minirnn.data.transforms``)
TRANSFORMS = ("none", "log", "boxcox")
#: the optimisers, by name (``minirnn.optim`` holds the classes): first-order, then the
#: second-order ones that train full batch (L-BFGS, Levenberg-Marquardt)
OPTIMIZERS = ("sgd", "adam", "adamw", "lbfgs", "lm")


@dataclass(frozen=True)
class ModelEntry:
    """One model as the catalogue lists it: its name, its class in ``minirnn.models``, its
    equations, the parameters it learns as built with its default options, and the
    parameters an option adds (option name → those parameters)."""

    name: str
    cls: str
    equations: str
    parameters: tuple
    optional: tuple = ()  # ((option, (parameter, ...)), ...)
    recurrent: bool = True
    note: str = ""  # the options that change what it computes


MODELS = {e.name: e for e in (
    ModelEntry(
        "sliding", "SlidingPredictor",
        "y_t = g(W_hy f(W_xh [x_t, …, x_{t-N+1}] + b_h) + b_y)",
        ("W_xh", "b_h", "W_hy", "b_y"), recurrent=False,
        note="a time-delay network: window N (minirnn train: 8)"),
    ModelEntry(
        "narx", "NARX",
        "h_t = f(W_xh [x_t … x_{t-L}] + W_yh [y_{t-1} … y_{t-K}] + b_h); y_t = g(W_hy h_t + b_y)",
        ("W_xh", "W_yh", "b_h", "W_hy", "b_y"),
        note="mode open (the true past outputs) or closed (its own predictions, exact BPTT); "
             "output_delays all: the whole past"),
    ModelEntry(
        "elman", "Elman",
        "h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), h_{-1} = 0; y_t = g(W_hy h_t + b_y)",
        ("W_xh", "W_hh", "b_h", "W_hy", "b_y")),
    ModelEntry(
        "statespace", "StateSpaceRNN",
        "h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), h_{-1} = h0 (learned); "
        "y_t = g(W_hy h_t + b_y)",
        ("W_xh", "W_hh", "b_h", "W_hy", "b_y", "h0")),
    ModelEntry(
        "lstm", "LSTM",
        "[i_t, f_t, g_t, o_t] = [σ, σ, tanh, σ](W_xh x_t + b_xh + W_hh h_{t-1} + b_hh); "
        "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t; h_t = o_t ⊙ tanh(c_t); y_t = g(W_hy h_t + b_y)",
        ("W_xh", "W_hh", "b_xh", "b_hh", "W_hy", "b_y"),
        (("learn_initial_state", ("h0", "c0")),)),
    ModelEntry(
        "gru", "GRU",
        "[r_t, z_t] = σ(W_x[rz] x_t + b_x[rz] + W_h[rz] h_{t-1} + b_h[rz]); "
        "n_t = tanh(W_xn x_t + b_xn + r_t ⊙ (W_hn h_{t-1} + b_hn)); "
        "h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}; y_t = g(W_hy h_t + b_y)",
        ("W_xh", "W_hh", "b_xh", "b_hh", "W_hy", "b_y"),
        (("learn_initial_state", ("h0",)),)),
    ModelEntry(
        "memory", "ExplicitMemory",
        "m_t = r(W_ym y_{t-1} + W_hm h_{t-1} + W_mm m_{t-1} + b_m); "
        "h_t = f(W_xh x_t + W_mh m_t + b_h); y_t = g(W_hy h_t + b_y)",
        ("W_xh", "b_h", "W_ym", "W_hm", "W_mm", "b_m", "W_mh", "W_hy", "b_y")),
    ModelEntry(
        "jordan", "Jordan",
        "m_t = μ m_{t-1} + (1-μ) y_{t-1}; h_t = f(W_xh x_t + W_mh m_t + b_h); "
        "y_t = g(W_hy h_t + b_y)",
        ("W_xh", "b_h", "W_mh", "W_hy", "b_y"), (("learn_mu", ("mu",)),)),
    ModelEntry(
        "multilayer", "MultiLayerRNN",
        "h^l_t = f(W_xh^l h^{l-1}_t + W_hh^l h^l_{t-1} + b_h^l), h^{-1}_t = x_t; "
        "y_t = g(W_hy h^{L-1}_t + b_y)",
        ("W_hy", "b_y", "layer0.W_xh", "layer0.W_hh", "layer0.b_h", "layer0.h0",
         "layer1.W_xh", "layer1.W_hh", "layer1.b_h", "layer1.h0"),
        note="connectivity stacked, skip (x_t into every layer, every layer into y), feedback "
             "(+ W_fb^l h^{l+1}_{t-1}), output_feedback (+ W_yh y_{t-1}); cell elman, lstm or "
             "gru (stacked, skip)"),
    ModelEntry(
        "seq2seq", "Seq2Seq",
        "encoder over the context: h_t = f(W_xh x_t + W_hh h_{t-1} + b_h); decoder from its "
        "last state: h_k = f(W_xh y_{k-1} + W_hh h_{k-1} + b_h), y_k = g(W_hy h_k + b_y)",
        ("encoder.W_xh", "encoder.W_hh", "encoder.b_h", "encoder.W_hy", "encoder.b_y",
         "encoder.h0", "decoder.W_xh", "decoder.W_hh", "decoder.b_h", "decoder.W_hy",
         "decoder.b_y"),
        note="minirnn train's delayed forecaster; cell lstm or gru: gated encoder and decoder; "
             "Seq2Seq(encoder, decoder, mode=...) pairs any two models, synchronous or delayed"),
)}

#: options every model takes, with their defaults (``minirnn train`` exposes them as flags)
COMMON_OPTIONS = {"activation": "tanh", "output_activation": "identity", "backend": "cpu",
                  "dtype": "float32", "seed": 0}
#: options particular to one model, with their defaults
MODEL_OPTIONS = {
    "sliding": {"window": 8},
    "narx": {"input_delays": 2, "output_delays": 2, "mode": "closed"},
    "memory": {"memory_size": None},
    "jordan": {"mu": 0.5, "learn_mu": False},
    "elman": {},
    "statespace": {},
    "lstm": {"learn_initial_state": False},
    "gru": {"learn_initial_state": False},
    "multilayer": {"num_layers": 2, "connectivity": "stacked", "cell": "elman"},
    "seq2seq": {"cell": "elman"},
}


def check_model_name(name: str) -> ModelEntry:
    """The catalogue's entry for model ``name``, or a one-line error naming the choices."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]


def model_config(name: str, input_size: int, output_size: int, hidden_size: int,
                 **options) -> dict:
    """The constructor arguments of model ``name``: sizes, the options it takes (others are
    ignored, so one set of command-line flags serves every model), defaults for the rest."""
    check_model_name(name)
    config = {"input_size": input_size, "output_size": output_size, "hidden_size": hidden_size}
    for key, default in {**COMMON_OPTIONS, **MODEL_OPTIONS[name]}.items():
        value = options.get(key)
        config[key] = default if value is None else value
    return config


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
