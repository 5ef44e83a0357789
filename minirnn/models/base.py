"""What every sequence model shares: argument checks, weight initialisation, input handling."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, ops
from ..autograd.arrays import array_module
from ..kernels.activations import CODES
from ..kernels.cuda_support import cuda_available
from ..kernels.delay import check_start, delay_embed
from . import init
from .module import Module, Parameter

BACKENDS = ("tape", "numpy", "cpu", "cuda")
DTYPES = ("float32", "float64")
OUTPUT_ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu", "softmax")


def check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "cuda" and not cuda_available():
        raise RuntimeError("backend 'cuda' needs an NVIDIA GPU with a working CUDA driver and "
                           "numba-cuda (pip install 'minirnn[cuda]'); none was found")
    return backend


def check_dtype(dtype) -> np.dtype:
    if str(np.dtype(dtype)) not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return np.dtype(dtype)


def check_activation(name: str, allowed=tuple(CODES)) -> str:
    if name not in allowed:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(allowed)}")
    return name


def check_lengths(lengths, batch: int, steps: int) -> np.ndarray:
    """Sequence lengths as int64 (B,), each in [1, T]; None means every row has T steps."""
    if lengths is None:
        return np.full(batch, steps, dtype=np.int64)
    lengths = np.asarray(lengths)
    if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be {batch} integers (one per batch row), "
                         f"got {lengths.dtype} array of shape {lengths.shape}")
    if lengths.min() < 1 or lengths.max() > steps:
        raise ValueError(f"lengths must lie in [1, {steps}], "
                         f"got [{lengths.min()}, {lengths.max()}]")
    return lengths.astype(np.int64)


def activate_tensor(name: str, z):
    """f(z) as a tape op: a hidden activation of the tape engine, or an output layer's."""
    if name == "identity":
        return z
    if name == "softmax":
        return ops.softmax(z, axis=-1)
    return getattr(ops, name)(z)


def delay_line(v: Tensor, first: int, count: int, backend: str, start: int = 0) -> Tensor:
    """e_t = [v_{t-first}, …, v_{t-first-count+1}] (zeros before t = 0) for t = start … T-1, on
    the given engine: the fused op (``kernels.delay``), or (backend="tape") the sequence
    shifted with primitive ops, the oracle. A model puts the known past in front of v and
    starts after it."""
    if backend != "tape":
        return delay_embed(v, first, count, backend, start)
    check_start(v, start)
    B, T, C = v.shape
    blocks = []
    for j in range(count):  # lag j: the sequence shifted right, zeros in front
        lag = min(first + j, T)
        zeros = Tensor(array_module(v.data).zeros((B, lag, C), dtype=v.dtype))
        blocks.append(ops.concatenate([zeros, v[:, :T - lag]], axis=1))
    embedded = ops.concatenate(blocks, axis=2)
    return embedded[:, start:] if start else embedded


class SequenceModel(Module):
    """Base of the sequence models: ``backend``, ``dtype`` and a seeded generator for weights.

    Weights are drawn uniformly from ±1/√fan_in (as PyTorch's RNN does), from
    ``numpy.random.default_rng(seed)``: the same seed gives the same model.
    """

    def __init__(self, backend: str, dtype, seed):
        self.backend = check_backend(backend)
        self.dtype = check_dtype(dtype)
        self._rng = np.random.default_rng(seed)

    def _uniform(self, shape, fan_in: int) -> Parameter:
        return Parameter(init.fan_in_uniform(shape, self._rng, fan_in, self.dtype))

    def _zeros(self, *shape) -> Parameter:
        return Parameter(init.zeros(shape, self.dtype))

    def _constant_zeros(self, *shape) -> Tensor:
        """A constant tensor of zeros, where the model's parameters live (host or GPU)."""
        return Tensor(self.xp.zeros(shape, dtype=self.dtype))

    def _placed(self, x: Tensor) -> Tensor:
        """x where the model's parameters live: copied to the GPU for a model moved there
        with ``to_device()`` (a recorded copy: a gradient wanted for x comes back)."""
        return ops.transfer(x, to_device=True) if self.on_device else x

    def _input(self, x, features: int, name: str = "x") -> Tensor:
        """x as a (batch, time, features) Tensor of the model's dtype."""
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.dtype)
        elif x.dtype != self.dtype:
            raise TypeError(f"{name} is {x.dtype} but the model is {self.dtype} "
                            f"(convert with .astype('{self.dtype}'))")
        if x.ndim != 3 or x.shape[2] != features:
            raise ValueError(f"{name} must have shape (batch, time, {features}), got {x.shape}")
        if x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"{name} must have at least one batch row and one time step, "
                             f"got shape {x.shape}")
        return self._placed(x)

    def _state(self, h, batch: int, size: int, default: Tensor) -> Tensor:
        """An initial state (batch, size): the given one, or ``default`` (size,) for every row."""
        if h is None:
            return ops.repeat_rows(default, batch)
        if not isinstance(h, Tensor):
            h = Tensor(h, dtype=self.dtype)
        elif h.dtype != self.dtype:
            raise TypeError(f"initial state is {h.dtype} but the model is {self.dtype}")
        if h.shape != (batch, size):
            raise ValueError(f"initial state must have shape ({batch}, {size}), got {h.shape}")
        return self._placed(h)
