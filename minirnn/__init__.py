"""minirnn: a small, readable framework for recurrent networks.

    import minirnn as mr
    x = mr.Tensor(np.random.randn(4, 3), requires_grad=True)
    W = mr.Tensor(np.random.randn(3, 2), requires_grad=True)
    y = (x @ W).tanh().sum(); y.backward()          # x.grad, W.grad

The submodules load on first use (``mr.models``, ``mr.Tensor``): importing the package itself
is quick, so the ``minirnn`` command can guard the slow part (NumPy, Numba) against Ctrl-C.
"""
import importlib
import os

# Numba's threads wait asleep between kernels instead of spinning (OpenMP's passive wait
# policy; read once, when the OpenMP library loads, so it is set before any kernel runs). A
# spinning wait made each of two runs sharing a 2-core machine 10-70x slower than alone, their
# idle threads burning the cores the other's working threads needed (BENCHMARKS.md, "under
# load"). Set OMP_WAIT_POLICY=ACTIVE to spin anyway.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
__all__ = ["Tensor", "no_grad", "gradcheck", "autograd", "data", "forecast", "inside", "kernels",
           "losses", "models", "optim"]
_SUBMODULES = {"autograd", "data", "forecast", "inside", "kernels", "losses", "models", "optim"}
_FROM_AUTOGRAD = {"Tensor", "no_grad"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "gradcheck":  # of a model: minirnn.checks.gradcheck
        return importlib.import_module(".checks", __name__).gradcheck
    if name in _FROM_AUTOGRAD:
        return getattr(importlib.import_module(".autograd", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
