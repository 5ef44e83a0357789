"""The models by their command-line names, with the equations that ``minirnn models`` shows."""
from __future__ import annotations

from dataclasses import dataclass, field

from .base import BACKENDS, DTYPES
from .elman import Elman, StateSpaceRNN
from .gated import GRU, LSTM
from .memory import ExplicitMemory, Jordan
from .multilayer import CELLS, CONNECTIVITIES, MultiLayerRNN
from .narx import NARX
from .seq2seq import Seq2Seq
from .sliding import SlidingPredictor


@dataclass(frozen=True)
class ModelInfo:
    name: str
    cls: type
    equations: str
    recurrent: bool
    check_options: dict = field(default_factory=dict)  # what `minirnn gradcheck` builds
    variants: tuple = ()  # (label, options) checked separately, e.g. each connectivity
    factory: object = None  # builds the model from its configuration (default: the class)

    def build(self, **config):
        return (self.factory or self.cls)(**config)


MODELS = {
    "sliding": ModelInfo(
        "sliding", SlidingPredictor,
        "y_t = g(W_hy f(W_xh [x_t, ..., x_{t-N+1}] + b_h) + b_y)", False, {"window": 3}),
    "narx": ModelInfo(
        "narx", NARX,
        "h_t = f(W_xh [x_t..x_{t-L}] + W_yh [y_{t-1}..y_{t-K}] + b_h);  y_t = g(W_hy h_t + b_y)",
        True, {"input_delays": 2, "output_delays": 2, "mode": "closed"}),
    "elman": ModelInfo(
        "elman", Elman,
        "h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), h_{-1} = 0;  y_t = g(W_hy h_t + b_y)", True),
    "statespace": ModelInfo(
        "statespace", StateSpaceRNN,
        "h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), h_{-1} = h0 (learned);  y_t = g(W_hy h_t + b_y)",
        True),
    "lstm": ModelInfo(
        "lstm", LSTM,
        "[i|f|g|o]_t = [s|s|tanh|s](W_xh x_t + b_xh + W_hh h_{t-1} + b_hh);  "
        "c_t = f_t * c_{t-1} + i_t * g_t;  h_t = o_t * tanh(c_t);  y_t = g(W_hy h_t + b_y)  "
        "(s: sigmoid; *: elementwise)", True, {"learn_initial_state": True}),
    "gru": ModelInfo(
        "gru", GRU,
        "[r|z]_t = s(W_x[rz] x_t + b_x[rz] + W_h[rz] h_{t-1} + b_h[rz]);  "
        "n_t = tanh(W_xn x_t + b_xn + r_t * (W_hn h_{t-1} + b_hn));  "
        "h_t = (1 - z_t) * n_t + z_t * h_{t-1};  y_t = g(W_hy h_t + b_y)", True,
        {"learn_initial_state": True}),
    "memory": ModelInfo(
        "memory", ExplicitMemory,
        "m_t = r(W_ym y_{t-1} + W_hm h_{t-1} + W_mm m_{t-1} + b_m);  "
        "h_t = f(W_xh x_t + W_mh m_t + b_h);  y_t = g(W_hy h_t + b_y)", True),
    "jordan": ModelInfo(
        "jordan", Jordan,
        "m_t = mu m_{t-1} + (1-mu) y_{t-1};  h_t = f(W_xh x_t + W_mh m_t + b_h);  "
        "y_t = g(W_hy h_t + b_y)", True, {"learn_mu": True}),
    "multilayer": ModelInfo(
        "multilayer", MultiLayerRNN,
        "h^l_t = f(W_xh^l h^{l-1}_t + W_hh^l h^l_{t-1} + b_h^l) [+ W_fb^l h^{l+1}_{t-1} | "
        "+ W_yh y_{t-1} | skip: x_t into every layer, every layer into y];  "
        "y_t = g(W_hy h^{L-1}_t + b_y)  (cell=lstm|gru: each layer a gated cell; stacked, skip)",
        True, {"num_layers": 2},
        tuple((c, {"connectivity": c}) for c in CONNECTIVITIES) +
        tuple((f"{cell}-{c}", {"cell": cell, "connectivity": c})
              for cell in CELLS[1:] for c in ("stacked", "skip"))),
    "seq2seq": ModelInfo(
        "seq2seq", Seq2Seq,
        "encoder: state-space RNN over the context;  decoder: Elman from the encoder's final "
        "state, y_k = g(W_hy h_k + b_y), h_k = f(W_xh y_{k-1} + W_hh h_{k-1} + b_h)  "
        "(cell=lstm|gru: LSTM or GRU encoder and decoder)", True,
        variants=(("", {}),) + tuple((cell, {"cell": cell}) for cell in CELLS[1:]),
        factory=lambda **config: seq2seq_forecaster(**config)),
}


def seq2seq_forecaster(input_size: int, hidden_size: int, output_size: int,
                       cell: str = "elman", **options):
    """The delayed encoder-decoder that ``minirnn train seq2seq`` fits: a state-space RNN reads
    the context, an Elman decoder (reading its previous output) emits the forecast; with
    ``cell="lstm"`` or ``"gru"``, an LSTM or GRU of each (the encoder's initial state learned)."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
    if cell == "elman":
        encoder_class, decoder_class, learned = StateSpaceRNN, Elman, {}
    else:
        encoder_class = decoder_class = LSTM if cell == "lstm" else GRU
        learned = {"learn_initial_state": True}
    encoder = encoder_class(input_size=input_size, hidden_size=hidden_size,
                            output_size=output_size, **options, **learned)
    decoder = decoder_class(input_size=output_size, hidden_size=hidden_size,
                            output_size=output_size,
                            **{**options, "seed": options.get("seed", 0) + 1})
    return Seq2Seq(encoder, decoder, mode="delayed", feedback="value")


def get_model_info(name: str) -> ModelInfo:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]


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


def model_config(name: str, input_size: int, output_size: int, hidden_size: int,
                 **options) -> dict:
    """The constructor arguments of model ``name``: sizes, the options it takes (others are
    ignored, so one set of command-line flags serves every model), defaults for the rest."""
    get_model_info(name)
    if name not in MODEL_OPTIONS:
        raise ValueError(f"model {name!r} cannot be built from sizes alone")
    config = {"input_size": input_size, "output_size": output_size, "hidden_size": hidden_size}
    for key, default in {**COMMON_OPTIONS, **MODEL_OPTIONS[name]}.items():
        value = options.get(key)
        config[key] = default if value is None else value
    return config


def build_model(name: str, config: dict):
    """The model ``name`` from a configuration made by ``model_config`` (or a checkpoint's)."""
    return get_model_info(name).build(**config)


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
