r"""What every sequence model shares: argument checks, weight initialisation, input handling,
and the protocol by which a recurrent model shows its states.

The states' protocol. ``y, states = model(x, return_states=True)`` (with ``return_state=True``
as well: ``y, last, states``) gives ``states``, a dict name -> Tensor (B, T, n): every step's
value of each state of the recurrence ("h"; "m", "h", "y" for the output-feedback memory
models; "layer0.h", "layer1.h", … for a stack; "h" and "c" for an LSTM), on the tape: a loss
term on them sends its gradient into the recurrence like one on y. After

    states["h"].retain_grad(); loss.backward()

``states["h"].grad[:, t]`` is ∂L/∂h_t, the TOTAL derivative, the dh_t of BPTT: through the
outputs and through every later step. (A tensor of states that the tape merely passes to the
output layer would get the direct part alone, W_hy^T dy_t, zero before the last step when the
loss is at the last step.) A fused op keeps the later steps inside one tape entry, so the
model hands it a ``kernels.fused.StateTaps``; the model ``expose``s each returned tensor
under the op's name for that state, and the op's backward ``deliver``s to it what its BPTT
computed inside, ``inside_share(direct, sent_back, lengths, within)`` with sent_back_t = W^T
dz_t, what step t's pre-activation gradient sends to the previous state. The unrolled tape
engine routes what each step reads of the state before it through ``taps.carry(part, state,
t)``, which delivers the same share from a hook. To follow the protocol a new family:

1. takes ``return_states=False`` in ``forward`` and returns through ``outputs(y, last,
   states)``;
2. on the tape engine, calls ``taps.carry`` on each state it carries to the next step (and on
   a state the same step reads again, as y_t reads h_t);
3. in its fused op, takes ``taps`` as the last static argument and, in the backward, when
   ``taps.wanted(part)``, delivers ``inside_share`` for the part (it costs nothing otherwise);
4. is tested, as ``tests/test_states.py`` tests every family here, on every engine against
   the tape engine and against finite differences of L with respect to an additive
   perturbation of the state.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, ops
from ..catalog import BACKENDS, DTYPES
from ..autograd.arrays import array_module
from ..kernels.activations import CODES
from ..kernels.cuda_support import cuda_available
from ..kernels.delay import check_start, delay_embed
from ..kernels.linear import linear
from ..kernels.window import window_layer
from . import init
from .module import Module, Parameter

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


def outputs(y: Tensor, last=None, states: dict | None = None):
    """What a recurrent model's forward returns: y; (y, last) when the final state is asked
    for (``return_state``); and the per-step states last when they are (``return_states``)."""
    extra = tuple(v for v in (last, states) if v is not None)
    return (y, *extra) if extra else y


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


def window(pairs, lags, b: Tensor, activation: str, backend: str) -> Tensor:
    """h_t = f(Σ_i W_i e^i_t + b), e^i = delay_line(v^i, first_i, count_i, start_i) of each
    (v^i, W_i) in ``pairs`` with its (first_i, count_i, start_i) in ``lags``: the hidden
    layer of the models without a recurrence. On the numpy and cpu engines one fused op
    (``kernels.window``); on the tape engine (the oracle) and the cuda engine the delay lines,
    the products and f as ops of their own."""
    if backend in ("numpy", "cpu"):
        return window_layer(b, pairs, lags, activation, backend)
    z = None
    for (v, W), (first, count, start) in zip(pairs, lags, strict=True):
        term = linear(delay_line(v, first, count, backend, start=start), W,
                      b if z is None else None)
        z = term if z is None else z + term
    return activate_tensor(activation, z)


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
