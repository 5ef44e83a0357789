"""``Module`` and ``Parameter``: the base of every model.

A Module finds its parameters and sub-modules by looking at its own attributes (a Parameter, a
Module, or a list/tuple of Modules), in the order they were assigned, so a model only has to
assign them in ``__init__``. Names are the attribute paths: ``W_xh``, ``layer0.W_hh``.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..autograd.arrays import array_module, to_host


def _floats(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


class Parameter(Tensor):
    """A tensor that a model learns: ``requires_grad`` is on by default."""

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        super().__init__(np.array(data, dtype=dtype, copy=True) if dtype is not None
                         else np.array(data, copy=True), requires_grad=requires_grad)


#: bumped whenever any module gains, loses or replaces a parameter, a sub-module or a list of
#: them: every module's list of parameters (``Module.parameters``) is then found again
_structure = [0]


class _ParameterList:
    """A module's parameters as found at one ``_structure`` count (not a list or a tuple: the
    attribute that holds it is not taken for a list of sub-modules)."""

    __slots__ = ("structure", "parameters")

    def __init__(self, structure, parameters):
        self.structure, self.parameters = structure, parameters


class Module:
    """Base class: parameters, sub-modules, state dictionaries and a ``__call__`` → ``forward``."""

    def __setattr__(self, name, value):
        """Assign, and when a parameter, a sub-module or a list of them comes or goes, have the
        parameters found again (``parameters``). A list of sub-modules changed in place after
        the first ``parameters()`` is not seen: assign the list again."""
        if _structural(value) or _structural(self.__dict__.get(name)):
            _structure[0] += 1
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        """Delete, and have the parameters found again when a parameter, a sub-module or a
        list of them goes."""
        if _structural(self.__dict__.get(name)):
            _structure[0] += 1
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        """What the module computes; ``module(x)`` calls it. Each module defines its own."""
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        """``forward``, with every floating-point NumPy array among the arguments made a
        Tensor first (of the module's ``dtype`` when it has one), so ``model(x)`` takes arrays
        wherever it takes Tensors; integer arrays (lengths, class ids) stay as they are."""
        dtype = getattr(self, "dtype", None)
        if any(_floats(a) for a in args) or any(_floats(v) for v in kwargs.values()):
            args = [Tensor(a, dtype=dtype) if _floats(a) else a for a in args]
            kwargs = {k: Tensor(v, dtype=dtype) if _floats(v) else v for k, v in kwargs.items()}
        return self.forward(*args, **kwargs)

    def named_modules(self, prefix: str = ""):
        """(name, module) for this module and every sub-module, depth first."""
        yield prefix, self
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield from value.named_modules(f"{prefix}{name}.")
            elif isinstance(value, (list, tuple)):
                for i, child in enumerate(value):
                    if isinstance(child, Module):
                        yield from child.named_modules(f"{prefix}{name}{i}.")

    def named_parameters(self):
        """(name, Parameter) pairs; names are dotted attribute paths (``layer0.W_hh``)."""
        for prefix, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter):
                    yield prefix + name, value

    def parameters(self):
        """Every parameter, this module's and its children's, in ``named_parameters`` order.
        Found once and kept until the modules change (a training step asks for them to clip
        the gradients, the benchmark's step once more in ``zero_grad``; walking the modules
        cost a small network's step several microseconds)."""
        found = self.__dict__.get("_parameter_list")
        if found is None or found.structure != _structure[0]:
            found = _ParameterList(_structure[0], [p for _, p in self.named_parameters()])
            object.__setattr__(self, "_parameter_list", found)
        return list(found.parameters)

    def zero_grad(self):
        """Clear every parameter's gradient (the next backward() writes it afresh)."""
        for p in self.parameters():
            p.grad = None

    def tensors(self):
        """Every Tensor this module and its sub-modules hold as attributes: the parameters and
        the constants (a fixed initial state, NARX's delay-line matrices)."""
        for _, module in self.named_modules():
            for value in vars(module).values():
                if isinstance(value, Tensor):
                    yield value

    #: set by ``to_device``/``to_host`` on the module and every sub-module, which move all their
    #: tensors at once: a forward asks it at every call (a free run: at every step), where
    #: looking at the tensors themselves cost a tenth of a small model's step
    on_device = False

    def to_device(self):
        """Move every parameter and constant to the GPU (CuPy arrays), for training that stays
        there: forward, backward and the optimiser's update then run on the device (with the
        cuda engine's kernels for the recurrences), and only what is asked for (a loss value,
        a checkpoint) comes back. Gradients are dropped. Needs CuPy and a GPU."""
        import cupy

        for t in self.tensors():
            t.data, t.grad = cupy.asarray(t.data), None
        for _, module in self.named_modules():
            module.on_device = True
        return self

    def to_host(self):
        """Move every parameter and constant back to host memory (NumPy arrays)."""
        for t in self.tensors():
            t.data, t.grad = to_host(t.data), None
        for _, module in self.named_modules():
            module.on_device = False
        return self

    @property
    def xp(self):
        """The array module of the module's tensors: ``numpy``, or ``cupy`` after
        ``to_device``."""
        if self.on_device:
            import cupy
            return cupy
        return np

    def state_dict(self) -> dict:
        """name -> a copy of the parameter's array, in host memory (NumPy) wherever the model
        lives."""
        return {name: np.array(to_host(p.data), copy=True) for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict):
        """Copy arrays into the parameters. Every name, shape and dtype is checked first, so a
        bad dictionary changes nothing."""
        own = dict(self.named_parameters())
        unknown = sorted(set(state) - set(own))
        missing = sorted(set(own) - set(state))
        if unknown:
            raise ValueError(f"load_state_dict: unknown parameter(s) {', '.join(unknown)} "
                           f"for {type(self).__name__}")
        if missing:
            raise ValueError(f"load_state_dict: missing parameter(s) {', '.join(missing)} "
                           f"for {type(self).__name__}")
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(f"load_state_dict: {name} has shape {value.shape}, "
                                 f"expected {p.shape}")
            if value.dtype != p.dtype:
                raise TypeError(f"load_state_dict: {name} has dtype {value.dtype}, "
                                f"expected {p.dtype}")
        for name, p in own.items():
            p.data[...] = array_module(p.data).asarray(state[name])


def _structural(value) -> bool:
    """Whether an attribute's value can hold parameters: a tensor, a module, or a list of them."""
    return isinstance(value, (Tensor, Module, list, tuple))
