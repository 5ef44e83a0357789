"""The layered recurrence of a multi-layer stack: ``op.py`` (the fused op), ``reference.py``
(the equations and BPTT in NumPy), ``cpu.py``, ``cuda.py`` with ``cuda_kernels.py``."""
from .op import dense_reads, layered_recurrence

__all__ = ["layered_recurrence", "dense_reads"]
