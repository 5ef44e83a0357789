"""minirnn: a small, readable framework for recurrent networks.

    import minirnn as mr
    x = mr.Tensor(np.random.randn(4, 3), requires_grad=True)
    W = mr.Tensor(np.random.randn(3, 2), requires_grad=True)
    y = (x @ W).tanh().sum(); y.backward()          # x.grad, W.grad
"""
from .kernel_cache import clear_stale_kernels

clear_stale_kernels()  # before any kernel is loaded from Numba's cache (kernel_cache says why)

from . import autograd, blas, losses, models, optim, process  # noqa: E402
from .autograd import Tensor, gradcheck, no_grad  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Tensor", "no_grad", "gradcheck", "autograd", "losses", "models", "optim",
           "blas", "process"]
