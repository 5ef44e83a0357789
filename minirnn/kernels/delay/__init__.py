"""The delay line e_t = [v_{t-first}, …] (SlidingPredictor, open-loop NARX): ``op.py`` (the
fused op), ``reference.py`` (in NumPy), ``cpu.py``, ``cuda_kernels.py``."""
from .op import check_start, delay_embed

__all__ = ["delay_embed", "check_start"]
