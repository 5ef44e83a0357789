"""The tape: what a tensor is to the autograd engine, and how operations are recorded.

A tensor wraps a NumPy array (float32 or float64), or a CuPy array with the same API when a
model trains on the GPU (``arrays.py``). Every primitive operation applied to tensors that need
gradients is *recorded*: the output tensor keeps a :class:`TapeEntry` naming the inputs and a
``backward`` closure that maps the output's gradient to the inputs' gradients.
Entries are numbered in the order they run, so the numbers are a topological order of the graph:
the *tape*. ``loss.backward()`` collects the entries that ``loss`` depends on (iteratively, with
an explicit stack, so a graph unrolled over 20,000 time steps needs no deep recursion), then
replays them in reverse order, accumulating gradients.

After ``backward()`` the replayed entries are dropped (the closures hold the saved arrays), so
memory is freed, unless ``retain_graph=True`` asks to keep them for a second backward pass.

Reading an intermediate gradient. Only leaves keep ``.grad``: the gradient of an intermediate
tensor u lives in the pass's bookkeeping until u's own entry has run, then it is dropped (a
long sequence's activations would otherwise all stay). ``u.retain_grad()`` keeps it: after
``backward()``, ``u.grad`` = ∂L/∂u, the sum over every consumer c of u of (∂c/∂u)^T ∂L/∂c, the
same gradient that u's entry sends on. ``u.register_hook(fn)`` calls ``fn(∂L/∂u)`` at that
moment (for a leaf: once, with the sum of the pass's contributions, before it is added to
``.grad``); a hook that returns an array replaces the gradient from there on.
"""
from __future__ import annotations

import itertools
import operator
from contextlib import contextmanager

import numpy as np

from .arrays import array_module, on_device, to_host

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _GradMode:
    enabled = True


@contextmanager
def no_grad():
    """Within this block nothing is recorded on the tape (inference, optimiser updates)."""
    previous = _GradMode.enabled
    _GradMode.enabled = False
    try:
        yield
    finally:
        _GradMode.enabled = previous


def is_grad_enabled() -> bool:
    """Whether operations are being recorded now (False inside ``no_grad()``)."""
    return _GradMode.enabled


_entry_counter = itertools.count()


class TapeEntry:
    """One recorded operation: its inputs and how to send a gradient back to them.

    ``backward(g)`` receives dL/d(output) and returns one gradient (or None) per input, each of
    that input's shape.
    """

    __slots__ = ("index", "name", "inputs", "backward")

    def __init__(self, name, inputs, backward):
        self.index = next(_entry_counter)
        self.name = name
        self.inputs = inputs
        self.backward = backward


def _as_float_array(data, dtype=None) -> np.ndarray:
    if dtype is None and type(data) is np.ndarray and data.dtype in FLOAT_DTYPES:
        return data  # what every op records: asked first, it is a tenth of a tiny op's time
    array = data if on_device(data) else np.asarray(data)
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"unsupported dtype {dtype}: minirnn tensors are float32 or float64")
        return array.astype(dtype, copy=False)
    if array.dtype in FLOAT_DTYPES:
        return array
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    raise TypeError(f"cannot make a tensor from data of dtype {array.dtype}")


class TapeTensor:
    """An n-dimensional float array that remembers how it was computed: its values, its gradient,
    the tape entry that made it, and ``backward()``. Users meet its subclass
    ``minirnn.autograd.Tensor`` (``tensor.py``), which adds the operators; every tensor the
    tape makes is one of those (``record`` makes them through ``tensor_class``).

    Attributes:
        data: the values, a NumPy array of dtype float32 or float64 (a CuPy array when the
            tensor lives on the GPU).
        grad: dL/d(self) after ``backward()``, same shape as ``data`` (None before).
        requires_grad: whether gradients flow to (and through) this tensor.
    """

    __array_priority__ = 100  # so ndarray + Tensor calls Tensor.__radd__
    _retains_grad = False  # set by retain_grad(); class defaults cost nothing per tensor
    _hooks = ()  # set by register_hook()

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, TapeTensor):
            data = data.data
        self.data = _as_float_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._entry: TapeEntry | None = None
        self._recorded = False  # produced by a recorded op (not a leaf), even once freed

    # --- basic properties -------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        flag = ", requires_grad=True" if self.requires_grad else ""
        values = np.array2string(to_host(self.data), precision=4, threshold=20)
        return f"Tensor({values}{flag})"

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (copied to the host when they live on the GPU)."""
        return to_host(self.data)

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> TapeTensor:
        """The same values, cut from the graph: no gradient flows back through the result."""
        return tensor_class(self.data)

    def zero_grad(self):
        self.grad = None

    # --- reading gradients that are not a leaf's --------------------------------------------
    @property
    def is_leaf(self) -> bool:
        """True for a tensor no recorded op produced (data, parameters, constants): the tensors
        whose ``.grad`` ``backward()`` always fills."""
        return not self._recorded

    @property
    def retains_grad(self) -> bool:
        """True once ``retain_grad()`` was called on this (non-leaf) tensor."""
        return self._retains_grad

    def retain_grad(self):
        """Keep this intermediate tensor's gradient: after ``backward()``, ``self.grad`` holds
        ∂L/∂self, summed over every use of self (accumulating over calls, as a leaf's does).

        Only this tensor's gradient is kept; every other intermediate one is still freed as the
        pass goes. A leaf keeps its gradient anyway (nothing to do)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad: no "
                               "gradient will reach it")
        if self._recorded:
            self._retains_grad = True
        return self

    def register_hook(self, fn):
        """Call ``fn(grad)`` during ``backward()`` with ∂L/∂self (an array of self's shape), once
        the pass has summed every use of self; if ``fn`` returns an array, that array replaces
        the gradient (what self's entry sends on, and what a leaf adds to ``.grad``). Returns a
        handle whose ``remove()`` takes the hook off."""
        if not self.requires_grad:
            raise RuntimeError("register_hook() on a tensor that does not require grad: no "
                               "gradient will reach it")
        self._hooks = (*self._hooks, fn)
        return _HookHandle(self, fn)

    def _hooked(self, grad):
        """``grad`` after every hook of this tensor has seen (and maybe replaced) it."""
        for fn in self._hooks:
            replaced = fn(grad)
            if replaced is not None:
                values = replaced.data if isinstance(replaced, TapeTensor) else replaced
                if values.shape != self.shape:
                    raise ValueError(f"a hook returned a gradient of shape {values.shape} for "
                                     f"a tensor of shape {self.shape}")
                grad = values
        return grad

    def _keep(self, grad):
        """Add ``grad`` to ``self.grad`` (the first one copied: it may be a read-only view)."""
        self.grad = grad.copy() if self.grad is None else self.grad + grad

    # --- the backward pass ------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False):
        """Reverse-mode differentiation: accumulate dself/dt into ``t.grad`` for every tensor t
        that requires grad and that ``self`` depends on.

        ``grad`` is dL/dself; it may be omitted when ``self`` has one element (it is then 1).
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(was it computed under no_grad(), or from constants only?)")
        grad = self._seed(grad)
        if self._recorded and self._entry is None:
            raise RuntimeError(_FREED_MESSAGE)
        tape = _collect_tape(self)
        tape.reverse()
        grads = {id(self): grad}
        hooked_leaves = {}  # leaf id -> (leaf, summed gradient): hooks see the pass's sum
        while tape:  # newest entry first: every consumer runs before its producer
            # popped, not iterated: once its entry has run, nothing here keeps a tensor (and
            # its array) alive, so the memory of a long sequence is given back as BPTT goes
            tensor = tape.pop()
            g = grads.pop(id(tensor), None)
            entry = tensor._entry
            if not retain_graph:
                tensor._entry = None
            if g is None:
                continue
            if tensor._hooks:
                g = tensor._hooked(g)
            if tensor._retains_grad:
                tensor._keep(g)
            for parent, pg in _input_gradients(entry, g):
                _pass_on(parent, pg, grads, hooked_leaves)
        for leaf, total in hooked_leaves.values():
            leaf._keep(leaf._hooked(total))
        if not self._recorded:  # backward() called on a leaf
            self._keep(self._hooked(grad) if self._hooks else grad)

    def _seed(self, grad):
        """dL/dself to start the pass from: 1 for a single-element tensor, else the given
        array (or tensor), cast to self's dtype and checked for shape."""
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a single-element tensor, "
                                   f"got shape {self.shape}")
            return np.ones_like(self.data)
        values = grad.data if isinstance(grad, TapeTensor) else grad
        grad = array_module(self.data).asarray(values, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"gradient of shape {grad.shape} for a tensor of shape {self.shape}")
        return grad


def _input_gradients(entry, g) -> list:
    """(input, gradient) for each input of a tape entry, from its backward applied to g.
    One gradient per input: a backward that returns fewer is a bug, not a skip."""
    pgs = tuple(entry.backward(g))
    try:
        return list(zip(entry.inputs, pgs, strict=True))
    except ValueError:
        raise ValueError(f"the backward of {entry.name!r} returned {len(pgs)} "
                         f"gradient(s) for {len(entry.inputs)} input(s)") from None


def _pass_on(parent, pg, grads: dict, hooked_leaves: dict):
    """Hand the gradient pg to ``parent``: summed into ``grads`` for a recorded tensor (its
    entry runs later), stored for a leaf (where the user reads it), or summed into
    ``hooked_leaves`` for a leaf with hooks (they see the whole pass's sum, once)."""
    if pg is None or not parent.requires_grad:
        return
    if parent._recorded and parent._entry is None:
        raise RuntimeError(_FREED_MESSAGE)
    key = id(parent)
    if parent._entry is not None:
        grads[key] = pg if key not in grads else grads[key] + pg
    elif parent._hooks:
        _, total = hooked_leaves.get(key, (parent, None))
        hooked_leaves[key] = parent, pg if total is None else total + pg
    else:
        parent._keep(pg)


class _HookHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off its tensor."""

    def __init__(self, tensor, fn):
        self._tensor, self._fn = tensor, fn

    def remove(self):
        hooks = list(self._tensor._hooks)
        if self._fn in hooks:
            hooks.remove(self._fn)
            self._tensor._hooks = tuple(hooks)


_FREED_MESSAGE = ("this part of the graph was already used by a backward() and freed; "
                  "pass retain_graph=True to the first backward() to differentiate it again")


def _collect_tape(root: TapeTensor) -> list[TapeTensor]:
    """Every recorded tensor that ``root`` depends on, newest first (reverse tape order).

    Iterative depth-first search with an explicit stack: no recursion, whatever the depth.
    """
    seen = set()
    found = []
    stack = [root]
    while stack:
        t = stack.pop()
        if t._entry is None or id(t) in seen:
            continue
        seen.add(id(t))
        found.append(t)
        for p in t._entry.inputs:
            if p.requires_grad:
                stack.append(p)
    found.sort(key=_entry_index, reverse=True)
    return found


_entry_index = operator.attrgetter("_entry.index")


#: the class of every tensor the tape makes: ``Tensor`` (``tensor.py``) once it is defined
tensor_class = TapeTensor


def register_tensor_class(cls):
    """Make ``cls`` (a subclass of TapeTensor) the class of every tensor the tape makes."""
    global tensor_class
    tensor_class = cls
    return cls


def record(name: str, data: np.ndarray, inputs, backward) -> TapeTensor:
    """Make the output tensor of an operation and, if any input needs a gradient, record it.

    This is how every primitive op and every fused kernel op enters the tape:
    ``backward(g) -> tuple`` returns one gradient per input (None where there is none).
    """
    out = tensor_class(data)
    if _GradMode.enabled:
        for t in inputs:
            if t.requires_grad:
                out.requires_grad = True
                out._entry = TapeEntry(name, tuple(inputs), backward)
                out._recorded = True
                break
    return out


def as_tensor(value, like=None) -> TapeTensor:
    """A tensor as it is; anything else (scalar, list, array) as a constant tensor.

    With ``like``, constants take ``like``'s dtype, so ``x * 2`` stays float32 for float32 x, and
    its place: a constant next to a tensor on the GPU is copied there.
    """
    if isinstance(value, TapeTensor):
        return value
    if like is not None and on_device(like.data):
        return tensor_class(array_module(like.data).asarray(value, dtype=like.dtype))
    return tensor_class(value, dtype=like.dtype if like is not None else None)
