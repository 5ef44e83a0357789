"""The models by their command-line names: each catalogue entry (``minirnn.catalog``: the
equations, the parameters, the options) joined to the class that computes it, and how
``minirnn gradcheck`` builds it."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog import (CELLS, CONNECTIVITIES, COMMON_OPTIONS, MODEL_OPTIONS,  # noqa: F401
                       check_config, check_model_name, model_config)
from ..catalog import MODELS as CATALOG
from .elman import Elman, StateSpaceRNN
from .gated import GRU, LSTM
from .memory import ExplicitMemory, Jordan
from .multilayer import MultiLayerRNN
from .narx import NARX
from .seq2seq import Seq2Seq
from .sliding import SlidingPredictor


@dataclass(frozen=True)
class ModelInfo:
    name: str
    cls: type
    check_options: dict = field(default_factory=dict)  # what `minirnn gradcheck` builds
    variants: tuple = ()  # (label, options) checked separately, e.g. each connectivity
    factory: object = None  # builds the model from its configuration (default: the class)

    @property
    def equations(self) -> str:
        return CATALOG[self.name].equations

    @property
    def recurrent(self) -> bool:
        return CATALOG[self.name].recurrent

    def build(self, **config):
        return (self.factory or self.cls)(**config)


MODELS = {info.name: info for info in (
    ModelInfo("sliding", SlidingPredictor, {"window": 3}),
    ModelInfo("narx", NARX, {"input_delays": 2, "output_delays": 2, "mode": "closed"}),
    ModelInfo("elman", Elman),
    ModelInfo("statespace", StateSpaceRNN),
    ModelInfo("lstm", LSTM, {"learn_initial_state": True}),
    ModelInfo("gru", GRU, {"learn_initial_state": True}),
    ModelInfo("memory", ExplicitMemory),
    ModelInfo("jordan", Jordan, {"learn_mu": True}),
    ModelInfo("multilayer", MultiLayerRNN, {"num_layers": 2},
              tuple((c, {"connectivity": c}) for c in CONNECTIVITIES) +
              tuple((f"{cell}-{c}", {"cell": cell, "connectivity": c})
                    for cell in CELLS[1:] for c in ("stacked", "skip"))),
    ModelInfo("seq2seq", Seq2Seq,
              variants=(("", {}),) + tuple((cell, {"cell": cell}) for cell in CELLS[1:]),
              factory=lambda **config: seq2seq_forecaster(**config)),
)}


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
    check_model_name(name)
    return MODELS[name]


def build_model(name: str, config: dict):
    """The model ``name`` from a configuration made by ``model_config`` (or a checkpoint's)."""
    return get_model_info(name).build(**config)
