"""Seeing the tape: ``describe`` lists what a loss was computed from, ``to_dot`` draws it."""
import re

import numpy as np
import pytest

import minirnn as mr
from minirnn.autograd import describe, to_dot


def small_expression():
    """L = Σ tanh(x W + b) with x data (no gradient), W and b learned."""
    x = mr.Tensor(np.ones((4, 3)))
    W = mr.Tensor(np.full((3, 2), 0.1), requires_grad=True)
    b = mr.Tensor(np.zeros(2), requires_grad=True)
    loss = (x @ W + b).tanh().sum()
    return loss, {"x": x, "W": W, "b": b}


def test_describe_lists_the_ops_in_the_order_they_ran_with_shapes_and_gradients():
    loss, names = small_expression()
    assert describe(loss, names=names).splitlines() == [
        "#0   matmul  (4, 2)  <- x (4, 3), W (3, 2) grad",
        "#1   add     (4, 2)  <- #0 (4, 2) grad, b (2,) grad",
        "#2   tanh    (4, 2)  <- #1 (4, 2) grad",
        "#3   sum     ()      <- #2 (4, 2) grad",
    ]
    # unnamed, the tensors no op made read "leaf" (a gradient reaches it) or "const"
    first = describe(loss).splitlines()[0]
    assert first == "#0   matmul  (4, 2)  <- const (4, 3), leaf (3, 2) grad"


def test_a_model_names_its_parameters_and_a_fused_recurrence_is_one_entry():
    """A whole Elman network whose states nobody asks for is one entry; asked for its last
    state, it is the recurrence's entry and the output layer's."""
    model = mr.models.Elman(input_size=3, hidden_size=4, output_size=2, backend="numpy")
    loss = mr.losses.mse(model(np.ones((2, 5, 3))), np.zeros((2, 5, 2)))
    lines = describe(loss, names=model).splitlines()
    assert [line.split()[1] for line in lines] == ["elman_network[numpy]", "mse"]
    assert lines[0].split("<-")[1].strip() == (
        "const (2, 5, 3), W_xh (4, 3) grad, b_h (4,) grad, W_hh (4, 4) grad, const (4,), "
        "W_hy (2, 4) grad, b_y (2,) grad")
    y, _ = model(np.ones((2, 5, 3)), return_state=True)
    lines = describe(mr.losses.mse(y, np.zeros((2, 5, 2))), names=model).splitlines()
    assert [line.split()[1] for line in lines] == ["elman_recurrence[numpy]", "linear", "mse"]
    assert "W_hh (4, 4) grad" in lines[0] and "const (2, 5, 3)" in lines[0]
    assert lines[1].split("<-")[1].strip() == "#0 (2, 5, 4) grad, W_hy (2, 4) grad, b_y (2,) grad"


def test_to_dot_is_a_graphviz_digraph_with_a_box_per_op_and_an_edge_per_input():
    loss, names = small_expression()
    dot = to_dot(loss, names=names)
    assert dot.startswith('digraph "tape" {') and dot.endswith("}")
    assert len(re.findall(r"shape=box", dot)) == 4  # matmul, add, tanh, sum
    assert len(re.findall(r"shape=ellipse", dot)) == 3  # x, W, b
    assert len(re.findall(r"->", dot)) == 6  # x, W -> matmul; #0, b -> add; -> tanh; -> sum
    assert dot.count("fillcolor") == 2  # W and b: a gradient reaches them, x not
    assert 'label="W\\n(3, 2)"' in dot  # a line break inside a label is DOT's \n


def test_a_freed_tape_cannot_be_described():
    loss, _ = small_expression()
    loss.backward()
    with pytest.raises(RuntimeError, match="already used by a backward"):
        describe(loss)
