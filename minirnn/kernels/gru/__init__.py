"""The GRU layer, h_t with PyTorch's gates [r | z | n]: ``op.py`` (the fused op),
``reference.py`` (the equations and the BPTT, gate by gate, in NumPy), ``cpu.py``, ``cuda.py``
with ``cuda_kernels.py``."""
from .op import gru_recurrence

__all__ = ["gru_recurrence"]
