"""The Elman / state-space layer h_t = f(W_xh x_t + b_h + W_hh h_{t-1}): ``op.py`` (the fused op),
``reference.py`` (the equations and BPTT in NumPy), ``cpu.py``, ``cuda.py`` with
``cuda_kernels.py`` (one block per batch row) and ``wide_cuda_kernels.py`` (wide layers)."""
from .op import elman_network, elman_recurrence

__all__ = ["elman_network", "elman_recurrence"]
