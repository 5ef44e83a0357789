"""Optimisers and gradient clipping, NumPy only.

First-order (``first_order``): SGD, Adam, AdamW, one step per mini-batch from the gradients
``backward()`` left. Second-order, full batch, given the whole objective as a closure:
``LBFGS`` (``lbfgs``: any differentiable loss) and ``LevenbergMarquardt`` (``lm``: a
least-squares loss, from its residuals' Jacobian).
"""
from .base import FlatParameters, Optimizer, clip_grad_norm
from .first_order import SGD, Adam, AdamW
from .lbfgs import LBFGS
from .lm import LevenbergMarquardt

OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "lbfgs": LBFGS,
              "lm": LevenbergMarquardt}

__all__ = ["Optimizer", "FlatParameters", "SGD", "Adam", "AdamW", "LBFGS", "LevenbergMarquardt",
           "OPTIMIZERS",
           "clip_grad_norm"]
