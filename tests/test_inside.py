"""Seeing a gradient vanish: ‖∂L/∂h_t‖ and ‖∂L/∂x_t‖ for every t (``minirnn.inside``)."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.inside import (hidden_states, plot_gradient_norms, plot_states,
                            state_gradient_norms)
from minirnn.models import init


def linear_elman(gain, backend="cpu"):
    """h_t = W_xh x_t + b_h + W_hh h_{t-1} with W_hh = gain · Q, Q orthogonal, y_t = W_hy h_t:
    with the loss at the last step, ∂L/∂h_{t-1} = W_hh^T ∂L/∂h_t, and ‖Q^T v‖ = ‖v‖, so the
    gradient's norm is multiplied by exactly ``gain`` at every step back."""
    model = mr.models.Elman(input_size=2, hidden_size=6, output_size=1, activation="identity",
                            backend=backend, seed=0)
    model.W_hh.data[...] = init.orthogonal((6, 6), rng=1, gain=gain)
    return model


@pytest.mark.parametrize("backend", ["tape", "numpy", "cpu"])
@pytest.mark.parametrize("gain", [0.5, 1.5])
def test_the_gradient_vanishes_or_explodes_by_the_recurrent_gain_per_step(backend, gain):
    x = np.random.default_rng(0).standard_normal((1, 12, 2))
    norms = state_gradient_norms(linear_elman(gain, backend), x, np.zeros((1, 1)))
    assert set(norms) == {"x", "h"}
    h = norms["h"]
    np.testing.assert_allclose(h[:-1] / h[1:], gain, rtol=1e-10)  # a line on a log scale
    # ∂L/∂x_t = W_xh^T ∂L/∂h_t (f' = 1): it follows, though W_xh^T shrinks some directions
    # more than others, so not by exactly the same factor at every step
    assert (norms["x"][0] < norms["x"][-1]) == (gain < 1)


def test_the_norms_are_those_of_the_retained_state_gradients():
    model = mr.models.ExplicitMemory(input_size=2, hidden_size=4, output_size=1, seed=2)
    rng = np.random.default_rng(3)
    x, target = rng.standard_normal((3, 7, 2)), rng.standard_normal((3, 7, 1))
    norms = state_gradient_norms(model, x, target, at="all")
    xt = mr.Tensor(x, requires_grad=True)
    y, states = model(xt, return_states=True)
    for s in states.values():
        s.retain_grad()
    mr.losses.mse(y, target).backward()
    assert list(norms) == ["x", "m", "h", "y"]
    for name, s in dict(states, x=xt).items():
        np.testing.assert_allclose(norms[name], np.linalg.norm(s.grad, axis=(0, 2)),
                                   rtol=1e-12)
    # a step number picks that step's output (and the target's) for the loss
    at_three = state_gradient_norms(model, x, target, at=3)
    assert np.all(at_three["h"][4:] == 0) and at_three["h"][3] > 0


def test_a_model_without_states_gives_the_inputs_gradient_alone():
    model = mr.models.SlidingPredictor(input_size=2, hidden_size=4, output_size=1, window=3)
    norms = state_gradient_norms(model, np.ones((1, 8, 2)), np.zeros((1, 1)))
    assert list(norms) == ["x"]
    # a window of 3: the last output reads x_5, x_6, x_7 and nothing before
    assert np.all(norms["x"][:5] == 0) and np.all(norms["x"][5:] > 0)


def test_the_plots_draw_the_curves_on_a_log_scale_and_the_states_as_a_heatmap():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    model = linear_elman(0.5)
    x = np.random.default_rng(0).standard_normal((2, 10, 2))
    ax = plot_gradient_norms(state_gradient_norms(model, x, np.zeros((2, 1))), title="Elman")
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 2
    states = hidden_states(model, x)
    assert states.shape == (2, 10, 6)
    ax = plot_states(states, row=1)
    assert ax.get_images()[0].get_array().shape == (6, 10)  # units down, time across
    import matplotlib.pyplot as plt
    plt.close("all")


def test_the_readme_seeing_inside_example_runs():
    """README's "Seeing inside" block is real code: run it."""
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    code = readme.split("## Seeing inside", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "elman_network[cpu]" in run.stdout  # the whole network, one entry
