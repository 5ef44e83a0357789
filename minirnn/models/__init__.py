"""Models: the memory and state-space networks of docs/DESIGN.md, on the Module base."""
from . import init
from .base import BACKENDS, SequenceModel
from .elman import Elman, StateSpaceRNN
from .gated import GRU, LSTM
from .layers import Linear
from .memory import ExplicitMemory, Jordan
from .module import Module, Parameter
from .multilayer import MultiLayerRNN
from .narx import NARX
from .seq2seq import Seq2Seq, one_hot
from .sliding import SlidingPredictor

__all__ = ["Module", "Parameter", "Linear", "init", "SequenceModel", "BACKENDS",
           "SlidingPredictor", "NARX", "ExplicitMemory", "Jordan", "Elman", "StateSpaceRNN",
           "MultiLayerRNN", "Seq2Seq", "one_hot", "LSTM", "GRU"]
