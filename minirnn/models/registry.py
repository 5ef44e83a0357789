"""The models by their command-line names, with the equations that ``minirnn models`` shows."""
from __future__ import annotations

from dataclasses import dataclass

from .elman import Elman, StateSpaceRNN


@dataclass(frozen=True)
class ModelInfo:
    name: str
    cls: type
    equations: str
    recurrent: bool


MODELS = {
    "elman": ModelInfo(
        "elman", Elman,
        "h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), h_{-1} = 0;  y_t = g(W_hy h_t + b_y)", True),
    "statespace": ModelInfo(
        "statespace", StateSpaceRNN,
        "h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), h_{-1} = h0 (learned);  y_t = g(W_hy h_t + b_y)",
        True),
}


def get_model_info(name: str) -> ModelInfo:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]
