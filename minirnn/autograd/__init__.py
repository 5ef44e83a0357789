"""The autograd engine, in NumPy alone: Tensor, the tape, primitive ops and the gradient
checker of functions (``check_gradients``; models are checked by ``minirnn.checks.gradcheck``),
and the tape made visible (``describe``, ``to_dot``: ``graph.py``)."""
from . import graph, ops
from .gradcheck import GradcheckReport, TensorCheck, check_gradients
from .graph import describe, to_dot
from .ops import (
                  abs,
                  add,
                  astype,
                  block_matrix,
                  broadcast_to,
                  concatenate,
                  div,
                  embedding,
                  exp,
                  linear,
                  log,
                  log_softmax,
                  matmul,
                  maximum,
                  mean,
                  minimum,
                  mul,
                  neg,
                  power,
                  relu,
                  reshape,
                  sigmoid,
                  softmax,
                  stack,
                  sub,
                  sum,
                  tanh,
                  transpose,
                  unbroadcast,
                  where,
)
from .tape import TapeEntry, as_tensor, is_grad_enabled, no_grad, record
from .tensor import Tensor

__all__ = [
    "Tensor", "TapeEntry", "as_tensor", "record", "no_grad", "is_grad_enabled", "ops",
    "check_gradients", "GradcheckReport", "TensorCheck", "unbroadcast", "graph", "describe",
    "to_dot",
    "abs", "add", "astype", "block_matrix", "broadcast_to", "concatenate", "div", "embedding",
    "exp", "linear", "log", "log_softmax", "matmul", "maximum", "mean", "minimum", "mul", "neg",
    "power", "relu", "reshape", "sigmoid", "softmax", "stack", "sub", "sum", "tanh", "transpose",
    "where",
]
