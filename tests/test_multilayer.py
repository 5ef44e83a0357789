"""MultiLayerRNN: each connectivity wires the layers as the seed article's figures draw them."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.models import MultiLayerRNN

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py


def first_layer_outputs(model, x, state):
    """h^0_t for every t: layer 0 alone, read from the packed final state of 1-step runs."""
    outs, h = [], state
    for t in range(x.shape[1]):
        _, h = model(x[:, t:t + 1], h=h, return_state=True)
        outs.append(h.data[:, :model.hidden_sizes[0]])
        h = h.data
    return np.stack(outs, axis=1)


@pytest.mark.parametrize("connectivity,top_down", [("stacked", False), ("skip", False),
                                                   ("feedback", True),
                                                   ("output_feedback", True)])
def test_what_reaches_the_first_layer(connectivity, top_down):
    """Layer 0 hears of the layers above (feedback) or of the output (output_feedback) only
    through the previous step; in stacked and skip it hears nothing from above."""
    model = MultiLayerRNN(input_size=2, hidden_sizes=[3, 4], output_size=2,
                          connectivity=connectivity, seed=0)
    x = np.random.default_rng(0).standard_normal((1, 4, 2))
    base = np.zeros((1, model.state_size))
    above = base.copy()
    above[0, 3:] = 0.9  # change only layer 1's initial state and the initial output
    h0_base = first_layer_outputs(model, x, base)
    h0_above = first_layer_outputs(model, x, above)
    assert (not np.allclose(h0_base[:, 0], h0_above[:, 0])) == top_down


def test_skip_connects_every_layer_to_the_output_and_the_input_to_every_layer():
    model = MultiLayerRNN(input_size=2, hidden_sizes=[3, 4, 5], output_size=1, connectivity="skip")
    assert model.W_hy.shape == (1, 12)
    assert model.layer[1].W_xh.shape == (4, 2 + 3) and model.layer[2].W_xh.shape == (5, 2 + 4)


def test_parameter_names_follow_the_design():
    names = [n for n, _ in MultiLayerRNN(input_size=1, hidden_sizes=[2, 2], output_size=1,
                                         connectivity="feedback").named_parameters()]
    assert sorted(names) == sorted(["layer0.W_xh", "layer0.W_hh", "layer0.W_fb", "layer0.b_h",
                                    "layer0.h0", "layer1.W_xh", "layer1.W_hh", "layer1.b_h",
                                    "layer1.h0", "W_hy", "b_y"])


def test_two_stacked_layers_learn_to_recall_the_input_from_two_steps_back():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (32, 16, 1))
    target = np.zeros_like(x)
    target[:, 2:] = x[:, :-2]
    mask = np.ones((32, 16))
    mask[:, :2] = 0
    model = MultiLayerRNN(input_size=1, hidden_sizes=[12, 12], output_size=1,
                          connectivity="stacked", seed=0)
    opt = mr.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(400):
        opt.zero_grad()
        loss = mr.losses.mse(model(x), target, mask=mask)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * np.mean(target[:, 2:] ** 2)


@pytest.mark.parametrize("kwargs,message", [
    (dict(hidden_sizes=[]), "hidden_sizes must be a non-empty list"),
    (dict(hidden_sizes=[3, 0]), "hidden size must be a positive integer"),
    (dict(hidden_sizes=[3], connectivity="ring"), "unknown connectivity 'ring'"),
    (dict(hidden_sizes=[3], connectivity="feedback", output_activation="softmax"),
     "unknown activation 'softmax'"),
])
def test_multilayer_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiLayerRNN(input_size=1, output_size=2, **kwargs)
