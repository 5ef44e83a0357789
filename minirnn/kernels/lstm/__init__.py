"""The LSTM layer, s_t = [h_t | c_t] with PyTorch's gates [i | f | g | o]: ``op.py`` (the fused
op), ``reference.py`` (the equations and the BPTT, gate by gate, in NumPy), ``cpu.py``,
``cuda.py`` with ``cuda_kernels.py``."""
from .op import lstm_recurrence

__all__ = ["lstm_recurrence"]
