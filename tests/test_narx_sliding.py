"""SlidingPredictor and NARX: the delay line, open and closed loop, forecasting, "full" NARX.

Closed-loop NARX is also in test_recurrent_models.py with every other recurrent model."""
import numpy as np
import pytest
from helpers import SHAPES, assert_same, random_problem

import minirnn as mr
from minirnn.autograd import check_gradients
from minirnn.models.base import delay_line
from minirnn.models import NARX, SlidingPredictor

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py

CPU_BACKENDS = ["tape", "numpy", "cpu"]
DELAYS = [(3, 0, 3), (1, 1, 2), (2, 1, 6), (4, 0, 1)]  # (channels, first lag, number of lags)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("channels,first,count", DELAYS)
@pytest.mark.parametrize("batch,steps,start", [(1, 1, 0), (2, 5, 0), (3, 4, 0), (2, 5, 2),
                                               (1, 6, 5), (3, 4, 1)])
def test_delay_line(backend, channels, first, count, batch, steps, start):
    rng = np.random.default_rng(0)
    v = mr.Tensor(rng.standard_normal((batch, steps, channels)), requires_grad=True)
    e = delay_line(v, first, count, backend, start=start).data
    assert e.shape == (batch, steps - start, count * channels)
    for t in range(start, steps):  # e_t = [v_{t-first}, …, v_{t-first-count+1}], 0 before 0
        for j in range(count):
            u = t - first - j
            block = e[:, t - start, j * channels:(j + 1) * channels]
            np.testing.assert_array_equal(block, v.data[:, u] if u >= 0 else 0)
    weights = rng.standard_normal(e.shape)
    report = check_gradients(
        lambda: (delay_line(v, first, count, backend, start=start) * weights).sum(), {"v": v})
    assert report.passed, str(report)


def test_delay_line_start_must_lie_in_the_sequence():
    with pytest.raises(ValueError, match=r"start must lie in \[0, 3\), got 3"):
        delay_line(mr.Tensor(np.zeros((1, 3, 2))), 0, 2, "cpu", start=3)


def run(model, x, target, y=None):
    x = mr.Tensor(x, requires_grad=True)
    model.zero_grad()
    out = model(x) if y is None else model(x, y=y)
    mr.losses.mse(out, target).backward()
    return out.data, dict({n: p.grad for n, p in model.named_parameters()}, x=x.grad)


def make(kind, shape, backend, dtype="float64"):
    B, T, I, H, O = shape
    if kind == "sliding":
        model = SlidingPredictor(input_size=I, hidden_size=H, output_size=O, window=3,
                                 backend=backend, dtype=dtype, seed=2)
    else:
        model = NARX(input_size=I, hidden_size=H, output_size=O, input_delays=2, output_delays=3,
                     mode="open", backend=backend,
                     dtype=dtype, seed=2)
    rng = np.random.default_rng(5)
    for _, p in model.named_parameters():
        p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    return model


@pytest.mark.parametrize("kind", ["sliding", "narx-open"])
@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_feedforward_models_gradcheck_and_agree_with_the_tape(kind, backend, shape):
    x, target = random_problem(shape)
    y_true = np.random.default_rng(1).standard_normal(target.shape) if kind == "narx-open" else None
    model = make(kind, shape, backend)
    report = mr.autograd.check_gradients(
        lambda: mr.losses.mse(model(x_t) if y_true is None else model(x_t, y=y_true), target),
        dict(model.named_parameters(), x=(x_t := mr.Tensor(x, requires_grad=True))))
    assert report.passed, str(report)
    reference = run(make(kind, shape, "tape"), x, target, y_true)
    assert_same(run(model, x, target, y_true), reference, rtol=1e-10, atol=1e-14)


def test_sliding_predictor_sees_exactly_its_window():
    """Changing an input older than the window changes no output that should not see it."""
    model = SlidingPredictor(input_size=1, hidden_size=5, output_size=1, window=3, seed=0)
    x = np.random.default_rng(0).standard_normal((1, 8, 1))
    changed = x.copy()
    changed[0, 2] += 1.0
    diff = np.abs(model(changed).data - model(x).data)[0, :, 0]
    assert np.all(diff[:2] == 0) and np.all(diff[2:5] > 0) and np.all(diff[5:] == 0)


def test_open_and_closed_loop_agree_when_the_model_is_perfect():
    """Fed its own predictions as "true" outputs, open loop reproduces closed loop exactly."""
    closed = NARX(input_size=2, hidden_size=4, output_size=1, input_delays=1, output_delays=3,
                  mode="closed", seed=3)
    x = np.random.default_rng(0).standard_normal((2, 7, 2))
    y_closed = closed(x).data
    y_open = closed.open_loop()(x, y=y_closed).data
    np.testing.assert_allclose(y_open, y_closed, rtol=1e-12)


def test_mode_conversion_shares_parameters():
    model = NARX(input_size=1, hidden_size=3, output_size=1, mode="open")
    closed = model.closed_loop()
    assert closed.mode == "closed" and model.mode == "open"
    assert closed.W_yh is model.W_yh and closed.open_loop().W_xh is model.W_xh


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_state_carries_over_from_open_to_closed_loop(backend):
    """Closed loop run after an open-loop chunk equals one closed-loop pass over both chunks
    when the open loop was fed the closed loop's own outputs."""
    model = NARX(input_size=1, hidden_size=4, output_size=2, input_delays=2, output_delays=2,
                 mode="closed", backend=backend,
                 seed=4)
    x = np.random.default_rng(1).standard_normal((3, 10, 1))
    y_full = model(x).data
    forecast = model.forecast(x[:, :6], y_full[:, :6], x[:, 6:]).data
    np.testing.assert_allclose(forecast, y_full[:, 6:], rtol=1e-12)


def test_forecast_without_future_inputs_free_runs_on_zero_input():
    model = NARX(input_size=1, hidden_size=3, output_size=1, input_delays=1, output_delays=2,
                 seed=5)
    x, y = np.ones((2, 5, 1)), np.ones((2, 5, 1))
    ahead = model.forecast(x, y, steps=4)
    assert ahead.shape == (2, 4, 1)
    np.testing.assert_allclose(ahead.data, model.forecast(x, y, np.zeros((2, 4, 1))).data)
    with pytest.raises(ValueError, match="needs x_future"):
        model.forecast(x, y)


def test_full_narx_has_a_weight_for_every_past_output():
    model = NARX(input_size=1, hidden_size=4, output_size=1, input_delays=0, output_delays="all",
                 max_steps=12)
    assert model.W_yh.shape == (4, 12)
    with pytest.raises(ValueError, match="max_steps=12 cannot run 13 steps"):
        model(np.zeros((1, 13, 1)))
    with pytest.raises(ValueError, match="output_delays='all' needs max_steps"):
        NARX(input_size=1, hidden_size=4, output_size=1, output_delays="all")


@pytest.mark.parametrize("kwargs,message", [
    (dict(mode="parallel"), "unknown mode 'parallel'"),
    (dict(input_delays=-1), "input_delays must be a non-negative integer"),
    (dict(output_delays=0), "output_delays must be a positive integer"),
])
def test_narx_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NARX(input_size=1, hidden_size=3, output_size=1, **kwargs)


def test_open_loop_needs_the_true_outputs():
    with pytest.raises(ValueError, match="needs the true outputs"):
        NARX(input_size=1, hidden_size=3, output_size=1, mode="open")(np.zeros((1, 4, 1)))


def narendra_system(u):
    """y_t = y_{t-1} / (1 + y_{t-1}²) + u_{t-1}³, a classic nonlinear benchmark system."""
    y = np.zeros_like(u)
    for t in range(1, u.shape[1]):
        y[:, t] = y[:, t - 1] / (1 + y[:, t - 1] ** 2) + u[:, t - 1] ** 3
    return y


def test_closed_loop_narx_learns_a_nonlinear_system_and_free_runs_it():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, (32, 40, 1))
    y = narendra_system(u)
    model = NARX(input_size=1, hidden_size=16, output_size=1, input_delays=1, output_delays=1,
                 mode="closed", backend="cpu",
                 seed=0)
    opt = mr.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(1500):
        opt.zero_grad()
        loss = mr.losses.mse(model(u), y)  # trained through its own fed-back predictions
        loss.backward()
        mr.optim.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
    u_test = rng.uniform(-1, 1, (4, 60, 1))  # new inputs, longer than training
    y_test = narendra_system(u_test)
    free_run = model(u_test).data
    rmse = np.sqrt(np.mean((free_run - y_test) ** 2))
    # a free run over unseen inputs, 60 steps of its own feedback: within 15% of the spread
    assert rmse < 0.15 * np.std(y_test), (rmse, np.std(y_test))


@pytest.mark.parametrize("kind", ["sliding", "narx-open"])
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_feedforward_models_run_in_chunks_as_in_one_pass(kind, backend):
    """The state (the window's last inputs, NARX's last inputs and outputs) carried from chunk
    to chunk gives the outputs of one pass, and the gradient reaches a given state, with
    padded rows, as finite differences say."""
    shape = (3, 9, 2, 4, 2)
    x, target = random_problem(shape, seed=3)
    y_true = np.random.default_rng(4).standard_normal(target.shape)
    model = make(kind, shape, backend)

    def call(x_part, **kwargs):
        return model(x_part, **kwargs) if kind == "sliding" else \
            model(x_part, y=y_true[:, kwargs.pop("rows")], **kwargs)

    whole = call(x, **({} if kind == "sliding" else {"rows": slice(0, 9)})).data
    state, parts = None, []
    for rows in (slice(0, 4), slice(4, 5), slice(5, 9)):
        extra = {} if kind == "sliding" else {"rows": rows}
        y, state = call(x[:, rows], h=state, return_state=True, **extra)
        parts.append(y.data)
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, rtol=1e-12, atol=1e-14)
    h = mr.Tensor(np.random.default_rng(5).standard_normal(state.shape), requires_grad=True)
    lengths = np.array([9, 4, 6])
    extra = {} if kind == "sliding" else {"rows": slice(0, 9)}
    report = check_gradients(
        lambda: mr.losses.mse(call(x, h=h, lengths=lengths, return_state=True, **extra)[0]
                              + call(x, h=h, **extra), target),
        dict(model.named_parameters(), h=h))
    assert report.passed, str(report)
