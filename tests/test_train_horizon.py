"""Multi-step training (``train --train-horizon K``): a chunk is trained on free runs of K
steps from every K-th row, the model's own outputs fed back with the gradient through them
(closed-loop BPTT); a run resumes exactly; NARX, which has its own closed loop, refuses it."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from minirnn.cli.main import main
from minirnn.data.series import sine
from minirnn.data.task import make_task
from minirnn.forecast import free_run
from minirnn.losses import mse
from minirnn.models import GRU, Elman

K = 4


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("family", [Elman, GRU])
def test_a_chunk_s_free_runs_are_the_forecasts_from_each_origin(family):
    """From the series' first row, the chunk's outputs at rows o … o+K-1 (o = K, 2K, …) are
    exactly the free run that ``forecast.free_run`` makes from origin o, having read the true
    rows before it."""
    task = make_task(sine(120), autoregressive=True)
    model = family(input_size=1, hidden_size=5, output_size=1, seed=1, backend="cpu",
                   dtype="float64")
    x, y = task.x[None, :24], task.y[None, :24]
    out, _ = task.multi_step(model, x, y, None, K)
    for origin in range(K, 24, K):
        np.testing.assert_allclose(out.data[0, origin:origin + K],
                                   free_run(model, task, K, origin=origin), rtol=1e-10)


def test_the_gradient_runs_through_the_fed_back_outputs():
    """d loss / d W_hh of the free runs against central finite differences: the gradient of
    a fed-back output reaches the steps before it."""
    task = make_task(sine(120), autoregressive=True)
    model = Elman(input_size=1, hidden_size=4, output_size=1, seed=2, backend="cpu",
                  dtype="float64")
    x, y = task.x[None, :16], task.y[None, :16]
    weight = dict(model.named_parameters())["W_hh"]

    def loss():
        return mse(task.multi_step(model, x, y, None, K)[0], y)

    model.zero_grad()
    loss().backward()
    analytic = weight.grad[1, 2]
    eps = 1e-6
    weight.data[1, 2] += eps
    up = loss().item()
    weight.data[1, 2] -= 2 * eps
    down = loss().item()
    weight.data[1, 2] += eps
    assert analytic == pytest.approx((up - down) / (2 * eps), rel=1e-6)
    one_step = mse(task.step(model, x, y, None)[0], y).item()
    assert loss().item() != pytest.approx(one_step)  # not the one-step loss in disguise


def test_a_multi_step_run_resumes_exactly_and_narx_refuses_it(tmp_path):
    args = ["train", "elman", "--data", "sine", "--length", "300", "--hidden", "6", "--bptt",
            "20", "--train-horizon", "3", "--json"]
    whole = invoke(*args, "--epochs", "4", "--out", tmp_path / "whole.npz")
    assert whole.exit_code == 0, whole.output
    half = invoke(*args, "--epochs", "2", "--out", tmp_path / "half.npz")
    assert half.exit_code == 0, half.output
    resumed = invoke("train", "--resume", tmp_path / "half.npz", "--epochs", "4", "--json")
    assert resumed.exit_code == 0, resumed.output
    ended, expected = json.loads(resumed.stdout), json.loads(whole.stdout)
    assert ended["history"] == expected["history"] and ended["metrics"] == expected["metrics"]
    refused = invoke("train", "--resume", tmp_path / "half.npz", "--train-horizon", "5",
                     "--epochs", "5")
    assert refused.exit_code == 1 and "--train-horizon 5 (it was trained with 3)" in \
        refused.output
    narx = invoke("train", "narx", "--data", "sine", "--train-horizon", "3")
    assert narx.exit_code == 1 and "NARX trains on its own outputs in closed loop" in \
        narx.output
