"""Primitive operations, each with its backward written right beside its forward.

Every op computes its output with NumPy (or, for tensors on the GPU, with CuPy through the same
calls: ``arrays.py``), then calls :func:`record` with a ``backward(g)`` closure that turns
dL/d(output) into dL/d(input) for each input. The ops see their arguments as the tape does
(``tape.TapeTensor``: values, gradient, entry); what ``record`` returns, and so every op, is a
``Tensor`` (``tensor.py``, which gives it the operators that call these functions).
Broadcasting binary ops hand their gradient to :func:`unbroadcast`, which sums it back to the
input's own shape, so each backward is one line.
"""
from __future__ import annotations

import numpy as np

from .arrays import array_module, like, on_device, to_host
from .tape import TapeTensor, as_tensor, record


# --- helpers ------------------------------------------------------------------------------------
def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _pair(a, b, op: str):
    """Two operands as tensors of one dtype, in one place; a clear error when dtypes or
    shapes disagree."""
    if isinstance(a, TapeTensor) and isinstance(b, TapeTensor):
        if a.dtype != b.dtype:
            raise TypeError(f"{op}: dtype mismatch, {a.dtype} and {b.dtype} "
                            f"(convert one with .astype())")
        a, b = same_place((a, b))
    elif isinstance(a, TapeTensor):
        b = as_tensor(b, like=a)
    else:
        a = as_tensor(a, like=b)
    return a, b


def same_place(tensors) -> tuple:
    """The tensors, with those in host memory copied to the GPU when any of them lives there
    (a constant made on the host meeting a model trained on the GPU); see ``transfer``."""
    tensors = tuple(tensors)
    for t in tensors:
        if on_device(t.data):
            return tuple(transfer(t, to_device=True) for t in tensors)
    return tensors


def transfer(a: TapeTensor, to_device: bool) -> TapeTensor:
    """``a``'s values copied to the GPU (``to_device=True``, a CuPy array) or to host memory;
    the gradient is copied back the other way. ``a`` itself when it is already there."""
    if on_device(a.data) == to_device:
        return a
    if to_device:
        import cupy
        return record("to_device", cupy.asarray(a.data), (a,), lambda g: (to_host(g),))
    return record("to_host", to_host(a.data), (a,),
                  lambda g: (array_module(a.data).asarray(g),))


def _broadcast_check(a: TapeTensor, b: TapeTensor, op: str):
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast") from None


# --- arithmetic ---------------------------------------------------------------------------------
def add(a, b) -> TapeTensor:
    """C = A + B (NumPy broadcasting); backward: Ā = C̄, B̄ = C̄, each summed over its
    broadcast axes."""
    a, b = _pair(a, b, "add")
    _broadcast_check(a, b, "add")

    def backward(g):  # (nothing summed for a constant: see mul)
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(g, b.shape) if b.requires_grad else None)

    return record("add", a.data + b.data, (a, b), backward)


def sub(a, b) -> TapeTensor:
    """C = A - B; backward: Ā = C̄, B̄ = -C̄, each summed over its broadcast axes."""
    a, b = _pair(a, b, "sub")
    _broadcast_check(a, b, "sub")

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(-g, b.shape) if b.requires_grad else None)

    return record("sub", a.data - b.data, (a, b), backward)


def mul(a, b) -> TapeTensor:
    """C = A ⊙ B, elementwise; backward: Ā = C̄ ⊙ B, B̄ = C̄ ⊙ A (a constant operand gets
    none)."""
    a, b = _pair(a, b, "mul")
    _broadcast_check(a, b, "mul")

    def backward(g):  # (no product for a constant factor: on a long sequence it is a big array)
        return (unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                unbroadcast(g * a.data, b.shape) if b.requires_grad else None)

    return record("mul", a.data * b.data, (a, b), backward)


def div(a, b) -> TapeTensor:
    """C = A / B, elementwise; backward: Ā = C̄ / B, B̄ = -C̄ ⊙ A / B²."""
    a, b = _pair(a, b, "div")
    _broadcast_check(a, b, "div")

    def backward(g):
        return (unbroadcast(g / b.data, a.shape) if a.requires_grad else None,
                unbroadcast(-g * a.data / (b.data * b.data), b.shape) if b.requires_grad
                else None)

    return record("div", a.data / b.data, (a, b), backward)


def neg(a: TapeTensor) -> TapeTensor:
    """-A; backward: Ā = -C̄."""
    return record("neg", -a.data, (a,), lambda g: (-g,))


def power(a: TapeTensor, exponent: float) -> TapeTensor:
    """a ** p for a constant scalar p; d/da = p a^(p-1)."""
    if isinstance(exponent, TapeTensor) or np.ndim(exponent) != 0:
        raise TypeError("power: the exponent must be a Python or NumPy scalar "
                        "(for a tensor exponent write exp(p * log(a)))")
    p = float(exponent)
    out = a.data ** a.dtype.type(p)

    def backward(g):
        return (g * a.dtype.type(p) * a.data ** a.dtype.type(p - 1),)

    return record("power", out, (a,), backward)


def matmul(a, b) -> TapeTensor:
    """Matrix product with NumPy's rules: 1-D operands, batches, broadcast batch axes."""
    a, b = _pair(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must have at least one dimension (use * for scalars)")
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != inner_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                         f"({a.shape[-1]} != {inner_b})")
    A, B = a.data, b.data

    def backward(g):
        if A.ndim == 1 and B.ndim == 1:
            return g * B, g * A
        if A.ndim > 2 and B.ndim == 2:
            # the common case x(..., I) @ W(I, H): one GEMM for W's gradient, no batch sum, and
            # none at all for an input that needs no gradient (the data, in training)
            g2 = g.reshape(-1, g.shape[-1])
            ga = (g2 @ B.T).reshape(A.shape) if a.requires_grad else None
            gb = A.reshape(-1, A.shape[-1]).T @ g2 if b.requires_grad else None
            return ga, gb
        a2 = A if A.ndim > 1 else A[None, :]
        b2 = B if B.ndim > 1 else B[:, None]
        g2 = g[..., None, :] if A.ndim == 1 else g
        g2 = g2[..., None] if B.ndim == 1 else g2
        ga = g2 @ np.swapaxes(b2, -1, -2)
        gb = np.swapaxes(a2, -1, -2) @ g2
        ga = ga[..., 0, :] if A.ndim == 1 else ga
        gb = gb[..., 0] if B.ndim == 1 else gb
        return unbroadcast(ga, A.shape), unbroadcast(gb, B.shape)

    if A.ndim > 2 and B.ndim == 2:  # (…, I) @ (I, H) as one 2-D product
        out = (A.reshape(-1, A.shape[-1]) @ B).reshape(A.shape[:-1] + B.shape[1:])
    else:
        out = A @ B
    return record("matmul", out, (a, b), backward)


def linear(x, W: TapeTensor, b: TapeTensor | None = None) -> TapeTensor:
    """y = x W^T + b over the last axis of x (..., I), W (O, I), b (O,): a layer applied to
    every (batch, time) row at once, as ONE op (the same as ``x @ W.T + b``, with one output
    array instead of three). The models run the same op through the kernels' threaded
    products (``minirnn.kernels.linear``).

    Backward: ∂L/∂x = g W, ∂L/∂W = Σ_rows g^T x, ∂L/∂b = Σ_rows g (one matmul each)."""
    x, W = _pair(x, W, "linear")
    check_linear(x, W, b)
    rows = x.data.reshape(-1, x.shape[-1])
    out = rows @ W.data.T
    if b is not None:
        out += b.data
    inputs = (x, W) if b is None else (x, W, b)

    def backward(g):
        g2 = g.reshape(-1, g.shape[-1])
        gx = (g2 @ W.data).reshape(x.shape) if x.requires_grad else None
        gW = g2.T @ rows if W.requires_grad else None
        if b is None:
            return gx, gW
        return gx, gW, g2.sum(axis=0) if b.requires_grad else None

    return record("linear", out.reshape(x.shape[:-1] + (W.shape[0],)), inputs, backward)


def check_linear(x: TapeTensor, W: TapeTensor, b):
    """A clear error when the input, weight and bias of a linear layer do not fit."""
    if W.ndim != 2 or x.ndim < 1 or x.shape[-1] != W.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} and weight of shape {W.shape} do "
                         f"not match (the weight must be (outputs, {x.shape[-1]}))")
    if b is not None and b.shape != (W.shape[0],):
        raise ValueError(f"linear: bias of shape {b.shape}, expected ({W.shape[0]},)")


# --- shape --------------------------------------------------------------------------------------
def transpose(a: TapeTensor, axes=None) -> TapeTensor:
    """A with its axes permuted (reversed by default); backward: C̄ permuted back."""
    axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(axes)
    inverse = tuple(np.argsort(axes))
    return record("transpose", np.transpose(a.data, axes), (a,),
                  lambda g: (np.transpose(g, inverse),))


def reshape(a: TapeTensor, *shape) -> TapeTensor:
    """A with a new shape, same elements; backward: C̄ reshaped to A's shape."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        out = a.data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape {a.shape} into {shape}") from None
    return record("reshape", out, (a,), lambda g: (g.reshape(a.shape),))


def broadcast_to(a: TapeTensor, shape) -> TapeTensor:
    """``a`` repeated along broadcast axes (NumPy's rules); backward sums the copies back."""
    shape = tuple(shape)
    try:
        out = np.broadcast_to(a.data, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast {a.shape} to {shape}") from None
    return record("broadcast_to", out, (a,), lambda g: (unbroadcast(g, a.shape),))


def repeat_rows(a: TapeTensor, count: int) -> TapeTensor:
    """(count, *a.shape): ``a`` in every row, a contiguous array (a model's initial state for
    every batch row); backward sums the rows' gradients. One op, where ``broadcast_to`` of a
    reshaped ``a`` is two and a read-only view."""
    xp = array_module(a.data)
    return record("repeat_rows", xp.repeat(a.data[None], count, axis=0), (a,),
                  lambda g: (g.sum(axis=0),))


def block_matrix(blocks: dict, row_sizes, column_sizes) -> TapeTensor:
    """A 2-D matrix of blocks: ``blocks[i, j]`` (row_sizes[i] x column_sizes[j]) in block row
    i, block column j, zeros everywhere else; each block's gradient is its slice of g. (A
    multi-layer stack's weights, mostly zero blocks, in one op.)"""
    rows = [0, *np.cumsum(row_sizes).tolist()]
    cols = [0, *np.cumsum(column_sizes).tolist()]
    keys = list(blocks)
    parts = _same_dtype([blocks[k] for k in keys], "block_matrix")
    out = array_module(parts[0].data).zeros((rows[-1], cols[-1]), dtype=parts[0].dtype)
    where = []
    for (i, j), part in zip(keys, parts, strict=True):
        place = slice(rows[i], rows[i + 1]), slice(cols[j], cols[j + 1])
        if part.shape != (rows[i + 1] - rows[i], cols[j + 1] - cols[j]):
            raise ValueError(f"block_matrix: block {(i, j)} has shape {part.shape}, expected "
                             f"{(rows[i + 1] - rows[i], cols[j + 1] - cols[j])}")
        out[place] = part.data
        where.append(place)
    return record("block_matrix", out, parts, lambda g: tuple(g[place] for place in where))


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis
               for p in parts)


def getitem(a: TapeTensor, index) -> TapeTensor:
    """``a[index]``: slicing (``x[:, t]``) or integer-array indexing; backward scatters back."""
    if isinstance(index, TapeTensor):
        index = index.data.astype(np.int64)
    basic = _is_basic_index(index)
    xp = array_module(a.data)
    if xp is not np and not basic:  # index arrays made on the host go where ``a`` is
        parts = index if isinstance(index, tuple) else (index,)
        index = tuple(xp.asarray(p) if isinstance(p, (np.ndarray, list)) else p for p in parts)
    try:
        out = a.data[index]
    except IndexError as error:
        raise IndexError(f"index into tensor of shape {a.shape}: {error}") from None

    def backward(g):
        # zeros, not zeros_like: its pages cost nothing until written, and most never are
        full = xp.zeros(a.shape, dtype=a.dtype)
        if basic:  # a view: every element is selected once
            full[index] = g
        else:  # fancy indexing may select an element twice: accumulate
            _add_at(full, index, g)
        return (full,)

    return record("getitem", xp.array(out, copy=True), (a,), backward)


def _add_at(full, index, g):
    """full[index] += g, adding every time an element is selected (``np.add.at``)."""
    if array_module(full) is np:
        np.add.at(full, index, g)
    else:
        import cupyx
        cupyx.scatter_add(full, index, g)


def concatenate(tensors, axis: int = 0) -> TapeTensor:
    """The tensors joined along ``axis``; backward: C̄ cut back into their pieces."""
    tensors = _same_dtype(tensors, "concatenate")
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError as error:
        raise ValueError(f"concatenate: {error}") from None
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]

    def backward(g):
        return tuple(np.split(g, bounds, axis=axis))

    return record("concatenate", out, tensors, backward)


def stack(tensors, axis: int = 0) -> TapeTensor:
    """The tensors stacked along a new ``axis``; backward: C̄ split along it."""
    tensors = _same_dtype(tensors, "stack")
    try:
        out = np.stack([t.data for t in tensors], axis=axis)
    except ValueError as error:
        raise ValueError(f"stack: {error}") from None

    def backward(g):
        return tuple(np.moveaxis(g, axis, 0))

    return record("stack", out, tensors, backward)


def _same_dtype(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    first = next((t for t in tensors if isinstance(t, TapeTensor)), None)
    tensors = [as_tensor(t, like=first) for t in tensors]
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{op}: dtype mismatch, {sorted(map(str, dtypes))}")
    return same_place(tensors)


def astype(a: TapeTensor, dtype) -> TapeTensor:
    """A converted to ``dtype``; backward: C̄ converted back to A's dtype."""
    out = TapeTensor(a.data, dtype=dtype).data
    return record("astype", out, (a,), lambda g: (g.astype(a.dtype),))


# --- reductions ---------------------------------------------------------------------------------
def _expand_reduced(g, shape, axis, keepdims):
    if axis is not None and not keepdims:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        g = np.expand_dims(g, tuple(ax % len(shape) for ax in axes))
    return np.broadcast_to(g, shape)


def sum(a: TapeTensor, axis=None, keepdims: bool = False) -> TapeTensor:  # noqa: A001 (tensor sum)
    """Σ A over ``axis`` (all axes by default); backward: Ā = C̄ repeated over the summed
    axes."""
    out = array_module(a.data).asarray(a.data.sum(axis=axis, keepdims=keepdims))
    # the gradient is g repeated: a read-only broadcast view, no array of a's size
    return record("sum", out, (a,), lambda g: (_expand_reduced(g, a.shape, axis, keepdims),))


def mean(a: TapeTensor, axis=None, keepdims: bool = False) -> TapeTensor:
    """The mean of A over ``axis`` (all axes by default); backward: Ā = C̄ / n repeated
    over the averaged axes, n the count of elements averaged."""
    xp = array_module(a.data)
    out = xp.asarray(a.data.mean(axis=axis, keepdims=keepdims))
    count = a.data.size // max(out.size, 1)

    def backward(g):
        return (xp.array(_expand_reduced(g, a.shape, axis, keepdims)) / a.dtype.type(count),)

    return record("mean", out, (a,), backward)


# --- elementwise functions ----------------------------------------------------------------------
def exp(a: TapeTensor) -> TapeTensor:
    """Y = e^A, elementwise; backward: Ā = Ȳ ⊙ Y."""
    out = np.exp(a.data)
    return record("exp", out, (a,), lambda g: (g * out,))


def log(a: TapeTensor) -> TapeTensor:
    """Y = ln A, elementwise; backward: Ā = Ȳ / A."""
    return record("log", np.log(a.data), (a,), lambda g: (g / a.data,))


def abs(a: TapeTensor) -> TapeTensor:  # noqa: A001 (tensor abs)
    """|a|, with d|a|/da = sign(a) (0 at 0)."""
    return record("abs", np.abs(a.data), (a,), lambda g: (g * np.sign(a.data),))


def tanh(a: TapeTensor) -> TapeTensor:
    """Y = tanh A, elementwise; backward: Ā = Ȳ ⊙ (1 - Y²), from the output."""
    out = np.tanh(a.data)
    return record("tanh", out, (a,), lambda g: (g * (1 - out * out),))


def sigmoid(a: TapeTensor) -> TapeTensor:
    """Y = σ(A) = 1 / (1 + e^-A), elementwise, without overflow; backward:
    Ā = Ȳ ⊙ Y ⊙ (1 - Y)."""
    out = stable_sigmoid(a.data)
    return record("sigmoid", out, (a,), lambda g: (g * out * (1 - out),))


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z) without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def relu(a: TapeTensor) -> TapeTensor:
    """Y = max(A, 0), elementwise; backward: Ā = Ȳ where A > 0, else 0."""
    mask = a.data > 0
    return record("relu", a.data * mask, (a,), lambda g: (g * mask,))


def softmax(a: TapeTensor, axis: int = -1) -> TapeTensor:
    """s_i = e^{a_i} / Σ_j e^{a_j};  ds = s * (g - Σ g s)."""
    shifted = np.exp(a.data - a.data.max(axis=axis, keepdims=True))
    s = shifted / shifted.sum(axis=axis, keepdims=True)
    return record("softmax", s, (a,),
                  lambda g: (s * (g - (g * s).sum(axis=axis, keepdims=True)),))


def log_softmax(a: TapeTensor, axis: int = -1) -> TapeTensor:
    """a_i - log Σ_j e^{a_j};  d = g - softmax * Σ g."""
    shifted = a.data - a.data.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return record("log_softmax", out, (a,),
                  lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),))


def maximum(a, b) -> TapeTensor:
    """Elementwise max; at a tie the gradient goes to ``a``."""
    a, b = _pair(a, b, "maximum")
    _broadcast_check(a, b, "maximum")
    take_a = a.data >= b.data
    return record("maximum", np.maximum(a.data, b.data), (a, b),
                  lambda g: (unbroadcast(g * take_a, a.shape), unbroadcast(g * ~take_a, b.shape)))


def minimum(a, b) -> TapeTensor:
    """Elementwise min; at a tie the gradient goes to ``a``."""
    a, b = _pair(a, b, "minimum")
    _broadcast_check(a, b, "minimum")
    take_a = a.data <= b.data
    return record("minimum", np.minimum(a.data, b.data), (a, b),
                  lambda g: (unbroadcast(g * take_a, a.shape), unbroadcast(g * ~take_a, b.shape)))


def where(condition, a, b) -> TapeTensor:
    """``a`` where ``condition`` holds, else ``b`` (condition is a constant boolean array)."""
    a, b = _pair(a, b, "where")
    cond = like(condition.data if isinstance(condition, TapeTensor) else condition, a.data)
    cond = cond.astype(bool)
    try:
        out = np.where(cond, a.data, b.data)
    except ValueError:
        raise ValueError(f"where: shapes {cond.shape}, {a.shape} and {b.shape} "
                         f"do not broadcast") from None
    return record("where", out, (a, b),
                  lambda g: (unbroadcast(np.where(cond, g, 0), a.shape),
                             unbroadcast(np.where(cond, 0, g), b.shape)))


def embedding(weight: TapeTensor, ids) -> TapeTensor:
    """Rows of ``weight`` (V, D) gathered by integer ``ids`` (any shape) -> ids.shape + (D,).

    Backward scatter-adds each row's gradient into dweight (a token seen twice gets both).
    """
    ids = np.asarray(ids.data if isinstance(ids, TapeTensor) else ids)
    if ids.dtype.kind not in "iu":
        if ids.size and not np.all(ids == np.round(ids)):
            raise TypeError(f"embedding: ids must be integers, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (vocabulary, dim), got shape {weight.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= weight.shape[0]):
        raise IndexError(f"embedding: ids must lie in [0, {weight.shape[0]}), "
                         f"got values in [{ids.min()}, {ids.max()}]")

    ids = like(ids, weight.data)

    def backward(g):
        grad = np.zeros_like(weight.data)
        _add_at(grad, ids.reshape(-1), g.reshape(-1, weight.shape[1]))
        return (grad,)

    return record("embedding", weight.data[ids], (weight,), backward)
