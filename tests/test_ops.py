"""Every primitive op, gradient-checked against central finite differences in float64.

Each case builds random float64 inputs of a given shape, applies the op, and checks
L = Σ op(inputs) * R for a fixed random R (so every output element gets a different weight and
a wrong gradient cannot hide behind a sum of ones).
"""
import numpy as np
import pytest

import minirnn as mr
from minirnn.autograd import check_gradients, ops
from minirnn.kernels.linear import linear as kernel_linear

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py

rng = np.random.default_rng(1234)


def leaf(*shape, positive=False, low=None):
    data = rng.standard_normal(shape)
    if positive:
        data = np.abs(data) + 0.5
    return mr.Tensor(data, requires_grad=True)


def assert_gradients(fn, *inputs):
    out = fn(*inputs)
    weights = rng.standard_normal(out.shape)
    report = check_gradients(lambda: (fn(*inputs) * weights).sum(),
                             {f"input{i}": t for i, t in enumerate(inputs)})
    assert report.passed, str(report)


BROADCAST_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((4, 1), (1, 5)), ((2, 1, 3), (4, 3)),
                    ((1,), (2, 3)), ((5, 7), (5, 7))]


@pytest.mark.parametrize("op", [ops.add, ops.sub, ops.mul, ops.maximum, ops.minimum])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
def test_broadcasting_binary_ops(op, shapes):
    assert_gradients(op, leaf(*shapes[0]), leaf(*shapes[1]))


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
def test_division(shapes):
    assert_gradients(ops.div, leaf(*shapes[0]), leaf(*shapes[1], positive=True))


def test_operators_and_python_scalars():
    a = leaf(3, 4)
    assert_gradients(lambda t: (2.0 - t) * 3 / (t * t + 1) + 1 - (-t), a)
    assert_gradients(lambda t: 1.5 / (t ** 2 + 1.0) + t ** 3, a)


@pytest.mark.parametrize("p", [2, 3, 0.5, -1.5])
def test_power(p):
    assert_gradients(lambda t: t ** p, leaf(2, 5, positive=True))


@pytest.mark.parametrize("shapes", [((3, 4), (4, 2)), ((1, 1), (1, 1)), ((5, 3, 4), (4, 2)),
                                    ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (6, 4, 1)),
                                    ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)),
                                    ((3, 2, 4), (4,))])
def test_matmul(shapes):
    assert_gradients(ops.matmul, leaf(*shapes[0]), leaf(*shapes[1]))


@pytest.mark.parametrize("x_shape,out", [((3, 4), 2), ((1, 1), 1), ((2, 5, 3), 4), ((4,), 3)])
def test_linear(x_shape, out):
    """linear(x, W, b) = x W^T + b, one op: gradients of x, W and b (and without a bias)."""
    x, W, b = leaf(*x_shape), leaf(out, x_shape[-1]), leaf(out)
    assert_gradients(ops.linear, x, W, b)
    assert_gradients(ops.linear, x, W)
    assert_gradients(kernel_linear, x, W, b)
    assert_gradients(kernel_linear, x, W)
    np.testing.assert_allclose(ops.linear(x, W, b).data, x.data @ W.data.T + b.data)


@pytest.mark.parametrize("linear", [ops.linear, kernel_linear],
                         ids=["autograd, NumPy", "kernels, threaded products"])
def test_linear_on_many_rows_equals_numpy(linear):
    """A long (batch, time) input: the tape's own op, and the models' op (``kernels.linear``),
    whose products are cut over threads at this size."""
    data = np.random.default_rng(1)
    x = mr.Tensor(data.standard_normal((64, 100, 128)).astype(np.float32), requires_grad=True)
    W = mr.Tensor(data.standard_normal((96, 128)).astype(np.float32), requires_grad=True)
    b = mr.Tensor(data.standard_normal(96).astype(np.float32), requires_grad=True)
    g = data.standard_normal((64, 100, 96)).astype(np.float32)
    y = linear(x, W, b)
    (y * g).sum().backward()
    f64 = np.float64
    rows, g2, W64 = x.data.reshape(-1, 128).astype(f64), g.reshape(-1, 96).astype(f64), \
        W.data.astype(f64)

    def close(value, reference):  # float32 sums: error relative to the largest entry
        np.testing.assert_allclose(value, reference, rtol=0,
                                   atol=1e-5 * np.abs(reference).max())

    close(y.data, rows.reshape(x.shape) @ W64.T + b.data)
    close(x.grad, (g2 @ W64).reshape(x.shape))
    close(W.grad, g2.T @ rows)  # a sum over 6400 rows
    close(b.grad, g2.sum(axis=0))


@pytest.mark.parametrize("fn", [
    lambda t: t.T,
    lambda t: t.transpose(1, 0, 2),
    lambda t: t.transpose((2, 0, 1)),
    lambda t: t.reshape(6, 5),
    lambda t: t.reshape((3, -1)),
    lambda t: t[:, 1],          # one time step of a (batch, time, features) tensor
    lambda t: t[:, -2:],
    lambda t: t[1, ::2, 3],
    lambda t: t[:, [0, 0, 2]],  # repeated indices accumulate
    lambda t: t[t.data > 0],
])
def test_shape_ops(fn):
    assert_gradients(fn, leaf(2, 3, 5))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack(axis):
    a, b, c = leaf(2, 3), leaf(2, 3), leaf(2, 3)
    assert_gradients(lambda *ts: ops.stack(ts, axis=axis), a, b, c)
    d = leaf(2, 1) if axis != 0 else leaf(1, 3)
    assert_gradients(lambda *ts: ops.concatenate(ts, axis=axis), a, d)


def test_repeat_rows_sums_the_rows_back():
    assert_gradients(lambda t: ops.repeat_rows(t, 4), leaf(3))
    assert_gradients(lambda t: ops.repeat_rows(t, 1), leaf(2, 3))
    out = ops.repeat_rows(leaf(3), 5)
    assert out.shape == (5, 3) and out.data.flags.c_contiguous and out.data.flags.writeable


def test_broadcast_to_sums_the_copies_back():
    assert_gradients(lambda t: ops.broadcast_to(t, (4, 2, 3)), leaf(2, 1))
    assert_gradients(lambda t: ops.broadcast_to(t.reshape(1, 1, 3), (2, 5, 3)), leaf(3))


def test_block_matrix_places_blocks_among_zeros():
    """[[A, 0], [B, C]] from three blocks; each gets its own slice of the gradient."""
    a, b, c = leaf(2, 3), leaf(1, 3), leaf(1, 4)
    out = ops.block_matrix({(0, 0): a, (1, 0): b, (1, 1): c}, [2, 1], [3, 4])
    expected = np.block([[a.data, np.zeros((2, 4))], [b.data, c.data]])
    np.testing.assert_array_equal(out.data, expected)
    assert_gradients(lambda *t: ops.block_matrix({(0, 0): t[0], (1, 0): t[1], (1, 1): t[2]},
                                                 [2, 1], [3, 4]), a, b, c)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), (-1, False),
                                           ((0, 2), False), ((0, 2), True)])
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_reductions(axis, keepdims, reduce):
    assert_gradients(lambda t: getattr(t, reduce)(axis=axis, keepdims=keepdims), leaf(3, 4, 5))


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "relu", "abs"])
@pytest.mark.parametrize("shape", [(1,), (3, 7), (2, 3, 4)])
def test_elementwise(name, shape):
    x = leaf(*shape)
    x.data[np.abs(x.data) < 1e-3] = 0.5  # relu and abs have a kink at 0
    assert_gradients(lambda t: getattr(t, name)(), x)


def test_log():
    assert_gradients(lambda t: t.log(), leaf(4, 3, positive=True))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax(axis):
    assert_gradients(lambda t: t.softmax(axis=axis), leaf(3, 5))
    assert_gradients(lambda t: t.log_softmax(axis=axis), leaf(3, 5))


def test_softmax_is_stable_for_large_logits():
    t = mr.Tensor([[1000.0, 1001.0, 999.0]])
    s = t.softmax().data
    assert np.all(np.isfinite(s)) and np.isclose(s.sum(), 1.0)
    assert np.all(np.isfinite(t.log_softmax().data))


def test_where():
    cond = rng.standard_normal((3, 4)) > 0
    assert_gradients(lambda a, b: ops.where(cond, a, b), leaf(3, 4), leaf(4))


def test_embedding_scatter_adds_repeated_ids():
    weight = leaf(5, 3)
    ids = np.array([[0, 4, 4], [2, 0, 1]])
    assert_gradients(lambda w: ops.embedding(w, ids), weight)
    out = ops.embedding(weight, ids)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.data[0, 1], weight.data[4])


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise"):
        s = mr.Tensor([-1000.0, 0.0, 1000.0]).sigmoid().data
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


# --- errors -------------------------------------------------------------------------------------
def test_shape_mismatch_errors_are_clear():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        leaf(2, 3) + leaf(4)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not match"):
        leaf(2, 3) @ leaf(4, 5)
    with pytest.raises(ValueError, match="reshape: cannot reshape"):
        leaf(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) and weight of shape "
                                         r"\(4, 5\) do not match"):
        ops.linear(leaf(2, 3), leaf(4, 5))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\), expected \(4,\)"):
        ops.linear(leaf(2, 5), leaf(4, 5), leaf(3))
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast \(2, 3\) to "
                                         r"\(4, 3, 2\)"):
        ops.broadcast_to(leaf(2, 3), (4, 3, 2))
    with pytest.raises(ValueError, match=r"block_matrix: block \(0, 1\) has shape \(2, 2\), "
                                         r"expected \(2, 3\)"):
        ops.block_matrix({(0, 1): leaf(2, 2)}, [2], [1, 3])


def test_dtype_mismatch_error_is_clear():
    a = mr.Tensor(np.ones(3, dtype=np.float32))
    b = mr.Tensor(np.ones(3, dtype=np.float64))
    with pytest.raises(TypeError, match="dtype mismatch, float32 and float64"):
        a + b
    assert (a * 2.0).dtype == np.float32  # Python scalars take the tensor's dtype
    assert a.astype("float64").dtype == np.float64


def test_unsupported_dtype_is_rejected():
    with pytest.raises(TypeError, match="float32 or float64"):
        mr.Tensor([1, 2], dtype="float16")


def test_embedding_rejects_out_of_range_ids():
    with pytest.raises(IndexError, match=r"ids must lie in \[0, 5\)"):
        ops.embedding(leaf(5, 2), [0, 5])


# --- NumPy's functions on a Tensor ------------------------------------------------------------
@pytest.mark.parametrize("call,instead", [
    (lambda t: np.tanh(t), r"np\.tanh\(\) .* use t\.tanh\(\)"),
    (lambda t: np.exp(t), r"np\.exp\(\) .* use t\.exp\(\)"),
    (lambda t: np.sum(t), r"np\.sum\(\) .* use t\.sum\(axis\)"),
    (lambda t: np.mean(t, axis=0), r"np\.mean\(\) .* use t\.mean\(axis\)"),
    (lambda t: np.concatenate([t, t]), r"np\.concatenate\(\) .*ops\.concatenate"),
    (lambda t: np.maximum(t, 0.0), r"np\.maximum\(\) .*ops\.maximum"),
])
def test_a_numpy_function_on_a_tensor_says_what_to_use_instead(call, instead):
    """np.tanh(t) would build an object array of Tensors, off the tape: refused, in one line."""
    t = mr.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=instead) as error:
        call(t)
    assert "\n" not in str(error.value)


def test_an_ndarray_on_the_left_of_an_operator_still_gives_a_tensor_on_the_tape():
    """ndarray + Tensor is np.add(ndarray, Tensor) to NumPy: it comes back as the tape op."""
    rng = np.random.default_rng(0)
    a, m = rng.standard_normal((2, 3)), rng.standard_normal((4, 2))
    t = mr.Tensor(rng.standard_normal((2, 3)) + 3, requires_grad=True)
    results = {"+": a + t, "-": a - t, "*": a * t, "/": a / t, "@": m @ t,
               "scalar *": np.float64(2.0) * t}
    for op, r in results.items():
        assert isinstance(r, mr.Tensor) and r.requires_grad, op
    np.testing.assert_allclose((a - t).data, a - t.data)
    np.testing.assert_allclose((m @ t).data, m @ t.data)
    (a / t).sum().backward()  # ∂/∂t Σ a / t = -a / t²
    np.testing.assert_allclose(t.grad, -a / t.data ** 2)
