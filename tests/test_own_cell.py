"""A network of one's own on Module, Parameter and Linear, checked as the built-in ones are.

What a student writes: a recurrent cell h_t = tanh(W_xh x_t + b_h + W_hh h_{t-1}) from two
Linear layers, an output layer, a loop over time, and ``check_gradients`` to see that the tape
differentiates it right.
"""
import numpy as np
import pytest

import minirnn as mr
from minirnn.autograd import check_gradients, ops
from minirnn.models import Linear, Module, init


class MyRNN(Module):
    """h_t = tanh(W_xh x_t + b_h + W_hh h_{t-1}), h_{-1} = 0;  y_t = W_hy h_t + b_y."""

    def __init__(self, inputs, hidden, outputs, seed=0):
        self.dtype = np.dtype("float64")
        self.hidden = hidden
        self.input = Linear(in_features=inputs, out_features=hidden, seed=seed)
        self.recurrent = Linear(in_features=hidden, out_features=hidden, bias=False,
                                init=init.orthogonal, seed=seed + 1)
        self.output = Linear(in_features=hidden, out_features=outputs, seed=seed + 2)

    def forward(self, x):
        a = self.input(x)  # the input projection of every step at once: (B, T, H)
        h = mr.Tensor(np.zeros((x.shape[0], self.hidden)))
        states = []
        for t in range(x.shape[1]):
            h = (a[:, t] + self.recurrent(h)).tanh()
            states.append(h)
        return self.output(ops.stack(states, axis=1))


def test_a_students_rnn_cell_on_linear_layers_passes_the_gradient_check():
    model = MyRNN(3, 5, 2)
    assert [n for n, _ in model.named_parameters()] == [
        "input.W", "input.b", "recurrent.W", "output.W", "output.b"]
    rng = np.random.default_rng(0)
    x, target = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 2))
    x_tensor = mr.Tensor(x, requires_grad=True)
    tensors = dict(model.named_parameters(), x=x_tensor)
    report = check_gradients(lambda: mr.losses.mse(model(x_tensor), target), tensors)
    assert report.passed, report
    assert {c.name for c in report.checks} == set(tensors)


def test_the_same_cell_is_an_elman_network():
    """Copy the student's weights into the built-in Elman: the same outputs, on every engine
    the host has."""
    model = MyRNN(3, 5, 2, seed=3)
    x = np.random.default_rng(1).standard_normal((2, 6, 3))
    for backend in ("tape", "numpy", "cpu"):
        elman = mr.models.Elman(input_size=3, hidden_size=5, output_size=2, backend=backend)
        elman.load_state_dict({"W_xh": model.input.W.data, "b_h": model.input.b.data,
                               "W_hh": model.recurrent.W.data, "W_hy": model.output.W.data,
                               "b_y": model.output.b.data})
        np.testing.assert_allclose(elman(x).data, model(x).data, rtol=1e-12, atol=1e-14)


def test_linear_is_y_equals_x_w_transposed_plus_b():
    layer = Linear(in_features=4, out_features=3, seed=0)
    x = np.random.default_rng(2).standard_normal((2, 5, 4))
    y = layer(x)  # a NumPy array in, a Tensor of the layer's dtype out
    np.testing.assert_allclose(y.data, x @ layer.W.data.T + layer.b.data, rtol=1e-14)
    bound = 1 / np.sqrt(4)  # PyTorch's default: U(±1/√in_features) for W and b
    assert np.abs(layer.W.data).max() <= bound and np.abs(layer.b.data).max() <= bound
    assert Linear(in_features=4, out_features=3, bias=False).b is None
    assert Linear(in_features=4, out_features=3, dtype="float32")(x).dtype == np.float32
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 4\)"):
        layer(np.ones((2, 3)))


def test_module_call_takes_arrays_of_any_float_and_leaves_integers_alone():
    """A float array becomes a Tensor of the module's dtype; lengths (integers) stay arrays."""
    model = mr.models.Elman(input_size=1, hidden_size=3, output_size=1, dtype="float32")
    y = model(np.ones((2, 4, 1), dtype=np.float64), lengths=np.array([4, 2]))
    assert y.dtype == np.float32

    class Identity(Module):  # no dtype: the array's own is kept
        def forward(self, x):
            return x
    assert Identity()(np.ones(2, dtype=np.float32)).dtype == np.float32


def test_initialisers_have_the_scales_they_promise():
    rng = np.random.default_rng(0)
    W = init.xavier_uniform((200, 300), rng)
    assert np.abs(W).max() <= np.sqrt(6 / 500)
    np.testing.assert_allclose(W.var(), 2 / 500, rtol=0.05)  # Var U(-a, a) = a²/3
    U = init.fan_in_uniform((64, 100), rng)
    np.testing.assert_allclose(U.var(), 1 / 300, rtol=0.05)
    Q = init.orthogonal((6, 6), rng)
    np.testing.assert_allclose(Q @ Q.T, np.eye(6), atol=1e-12)  # ‖Q h‖ = ‖h‖
    wide = init.orthogonal((3, 7), rng, gain=2.0)
    np.testing.assert_allclose(wide @ wide.T, 4 * np.eye(3), atol=1e-12)  # orthonormal rows
    tall = init.orthogonal((7, 3), rng)
    np.testing.assert_allclose(tall.T @ tall, np.eye(3), atol=1e-12)  # orthonormal columns
    assert not init.zeros((2, 3), "float32").any()
    np.testing.assert_array_equal(init.fan_in_uniform((3, 4), 5), init.fan_in_uniform((3, 4), 5))
