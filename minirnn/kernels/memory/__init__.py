"""The explicit-memory recurrence (Jordan, ExplicitMemory, closed-loop NARX): ``op.py`` (the
fused op), ``reference.py`` (the equations and BPTT in NumPy), ``cpu.py``, ``cuda.py`` with
``cuda_kernels.py``."""
from .op import memory_recurrence

__all__ = ["memory_recurrence"]
