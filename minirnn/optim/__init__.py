"""Optimisers and gradient clipping, NumPy only.

First-order (``first_order``): SGD, Adam, AdamW, one step per mini-batch from the gradients
``backward()`` left. Second-order, full batch, given the whole objective as a closure:
``LBFGS`` (``lbfgs``: any differentiable loss) and ``LevenbergMarquardt`` (``lm``: a
least-squares loss, from its residuals' Jacobian).
"""
from .. import catalog
from .base import FlatParameters, Optimizer, clip_grad_norm
from .first_order import SGD, Adam, AdamW
from .lbfgs import LBFGS
from .lm import LevenbergMarquardt

#: each optimiser's name (``minirnn.catalog.OPTIMIZERS``) and its class
OPTIMIZERS = dict(zip(catalog.OPTIMIZERS, (SGD, Adam, AdamW, LBFGS, LevenbergMarquardt),
                      strict=True))

__all__ = ["Optimizer", "FlatParameters", "SGD", "Adam", "AdamW", "LBFGS", "LevenbergMarquardt",
           "OPTIMIZERS",
           "clip_grad_norm"]
