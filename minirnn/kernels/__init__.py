"""The kernels: the six fused recurrent operations, the models' linear layer, and the cpu
runtime they share. Everything here that Numba compiles lives in this package.

Each fused op is ONE entry on the tape whose backward is hand-written BPTT (``fused.py`` says
how a kernel becomes a tape op), on three engines that compute the same function. One folder
per family, the same files in each:

    elman/     elman_recurrence     h_t = f(W_xh x_t + b_h            Elman, StateSpaceRNN,
                                            + W_hh h_{t-1})           a stacked layer
               elman_network        y_t = g(W_hy h_t + b_y) too       Elman, StateSpaceRNN
    lstm/      lstm_recurrence      [h_t | c_t], gates i f g o        LSTM, an LSTM layer
    gru/       gru_recurrence       h_t, gates r z n                  GRU, a GRU layer
    memory/    memory_recurrence    [m_t, h_t, y_t]                   Jordan, ExplicitMemory, NARX
    layered/   layered_recurrence   every layer's state side by side  MultiLayerRNN
    delay/     delay_embed          [v_{t-first}, …]                  SlidingPredictor, NARX
    window/    window_layer         h_t = f(Σ_i W_i e^i_t + b),       SlidingPredictor,
                                            e^i delay lines           open-loop NARX

      op.py            the op: which engine does what, and the weight gradients
      reference.py     the equations and the BPTT derivation, in plain NumPy loops
      cpu.py           the same function as Numba CPU kernels, parallel over the batch
      cuda.py          the host side of the CUDA engine (``cuda_kernels.py``: the kernels)

(``window/`` has no CUDA files: on the cuda engine the models build that layer from the delay
line's kernel, the products and f, as on the tape.)

Read a family in that order: op, reference, then cpu and cuda. ``linear.py`` is the models'
projection layer on the threaded products.

The shared parts: ``activations.py`` (f and f' as the kernels use them), ``vector_math.py``
(vectorisable tanh and sigmoid), ``linalg_cpu.py`` (the cpu kernels' row loops), ``blas.py``
(NumPy's BLAS called from compiled code, and threads), ``process.py`` (memory settings),
``kernel_cache.py`` (Numba's disk cache kept in step with these sources), ``cuda_support.py``
and ``cuda_device.py`` (the CUDA side).
"""
from .kernel_cache import clear_stale_kernels

clear_stale_kernels()  # before any kernel is loaded from Numba's cache (kernel_cache says why)

from .blas import deterministic, set_deterministic, thread_count  # noqa: E402
from .delay import delay_embed  # noqa: E402
from .elman import elman_network, elman_recurrence  # noqa: E402
from .gru import gru_recurrence  # noqa: E402
from .layered import layered_recurrence  # noqa: E402
from .linear import linear  # noqa: E402
from .lstm import lstm_recurrence  # noqa: E402
from .memory import memory_recurrence  # noqa: E402
from .window import window_layer  # noqa: E402

__all__ = ["elman_recurrence", "elman_network", "lstm_recurrence", "gru_recurrence",
           "memory_recurrence", "layered_recurrence", "delay_embed", "window_layer",
           "linear", "set_deterministic", "deterministic", "thread_count"]
