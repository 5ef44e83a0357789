"""The window layer h_t = f(Σ_i W_i e^i_t + b) over delay lines e^i (SlidingPredictor,
open-loop NARX): ``op.py`` (the fused op), ``reference.py`` (in NumPy), ``cpu.py``."""
from .op import window_layer

__all__ = ["window_layer"]
