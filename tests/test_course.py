"""The course (docs/course/): every notebook runs top to bottom, and every exercise's solution
is right.

The notebooks are jupytext "percent" files, executed here by nbclient in their own folder on a
fresh kernel, with a per-cell timeout; a cell that raises fails the test, naming the notebook
and the cell. The solutions are checked against minirnn itself.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest

import minirnn as mr

COURSE = Path(__file__).resolve().parents[1] / "docs" / "course"
NOTEBOOKS = sorted(COURSE.glob("[0-9][0-9]_*.py"))


def _solutions():
    spec = importlib.util.spec_from_file_location("course_solutions", COURSE / "solutions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


solutions = _solutions()


def test_the_course_has_its_notebooks_in_order():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:8] == ["01_autograd", "02_sliding_predictor", "03_narx",
                         "04_explicit_memory_and_jordan", "05_state_space_and_elman",
                         "06_multilayer", "07_seq2seq", "08_gated_memory"], names


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path):
    jupytext = pytest.importorskip("jupytext", reason="the course needs the test extra: "
                                   "pip install -e '.[test]'")
    nbclient = pytest.importorskip("nbclient", reason="the course needs the test extra")
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(COURSE)}})
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}")
    seconds = time.perf_counter() - start
    print(f"{path.name}: {seconds:.1f} s")
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no figure"


# --- 1. Autograd on a tape ----------------------------------------------------------------------
def test_numeric_gradient_matches_the_tape():
    rng = np.random.default_rng(0)
    X, W0 = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    W = mr.Tensor(W0.copy(), requires_grad=True)
    (mr.Tensor(X) @ W).tanh().sum().backward()
    numeric = solutions.numeric_gradient(lambda: np.tanh(X @ W0).sum(), W0)
    np.testing.assert_allclose(numeric, W.grad, rtol=1e-7, atol=1e-9)


def test_sigmoid_and_softmax_backward_match_the_tape():
    rng = np.random.default_rng(1)
    x0, g = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    for op, backward in (("sigmoid", solutions.sigmoid_backward),
                         ("softmax", solutions.softmax_backward)):
        x = mr.Tensor(x0.copy(), requires_grad=True)
        y = getattr(x, op)()
        (y * mr.Tensor(g)).sum().backward()
        np.testing.assert_allclose(backward(y.numpy(), g), x.grad, rtol=1e-12, atol=1e-14)


def test_topological_order_on_a_diamond_and_a_long_chain():
    graph = {"L": ["c", "d"], "c": ["a", "b"], "d": ["b"], "b": ["a"], "a": []}
    order = solutions.topological_order("L", graph.__getitem__)
    assert sorted(order) == sorted(graph)
    position = {n: i for i, n in enumerate(order)}
    for node, parents in graph.items():
        for p in parents:
            assert position[node] < position[p], (node, p, order)
    n = 100_000  # an RNN unrolled over 100,000 steps: node i reads node i-1, twice
    chain = solutions.topological_order(n, lambda i: [i - 1, i - 1] if i > 0 else [])
    assert chain == list(range(n, -1, -1))


# --- 2. The sliding predictor -------------------------------------------------------------------
def test_delay_window_equals_the_reference():
    x = np.random.default_rng(2).normal(size=(2, 7, 3))
    for N in (1, 3, 9):
        np.testing.assert_array_equal(solutions.delay_window(x, N),
                                      mr.kernels.delay.reference.delay_forward(x, 0, N, 0))


def test_sliding_parameter_count():
    for I, H, O, N in ((1, 4, 1, 3), (3, 8, 2, 5)):
        model = mr.models.SlidingPredictor(input_size=I, hidden_size=H, output_size=O,
                                           window=N, backend="numpy")
        assert solutions.sliding_parameter_count(I, H, O, N) == \
            sum(p.size for p in model.parameters())


def test_response_band_is_finite_for_the_window_and_not_for_elman():
    steps = 10
    sliding = mr.models.SlidingPredictor(input_size=1, hidden_size=5, output_size=1, window=3,
                                         backend="numpy")
    elman = mr.models.Elman(input_size=1, hidden_size=5, output_size=1, backend="numpy")
    assert solutions.response_band(sliding, steps) == {0, 1, 2}
    assert solutions.response_band(elman, steps) == set(range(steps))


# --- 3. NARX ------------------------------------------------------------------------------------
def test_narx_parameter_count():
    for I, H, O, L, K in ((1, 4, 1, 1, 2), (2, 6, 3, 0, 4)):
        model = mr.models.NARX(input_size=I, hidden_size=H, output_size=O, input_delays=L,
                               output_delays=K, backend="numpy")
        assert solutions.narx_parameter_count(I, H, O, L, K) == \
            sum(p.size for p in model.parameters())


def test_narx_memory_matrices_shift_the_outputs():
    K, O, T = 4, 2, 9
    W_ym, W_mm = solutions.narx_memory_matrices(K, O)
    y = np.random.default_rng(3).normal(size=(T, O))
    m = np.zeros(K * O)
    for t in range(1, T):
        m = W_ym @ y[t - 1] + W_mm @ m
        expected = [y[t - k] if t - k >= 0 else np.zeros(O) for k in range(1, K + 1)]
        np.testing.assert_array_equal(m, np.concatenate(expected))


def test_narx_simulate_equals_the_closed_loop_model():
    model = mr.models.NARX(input_size=2, hidden_size=5, output_size=1, input_delays=2,
                           output_delays=3, mode="open", backend="numpy", seed=4)
    x = np.random.default_rng(5).normal(size=(3, 12, 2))
    with mr.no_grad():
        expected = model.closed_loop()(x).numpy()
    np.testing.assert_allclose(solutions.narx_simulate(model, x), expected, rtol=1e-12,
                               atol=1e-14)


# --- 4. Explicit memory and the Jordan network --------------------------------------------------
def test_jordan_memory_equals_the_models_memory():
    rng = np.random.default_rng(6)
    M, H, O = 3, 5, 3
    model = mr.models.Jordan(input_size=2, hidden_size=H, output_size=O, mu=0.7, backend="numpy",
                             seed=7)
    x = rng.normal(size=(2, 11, 2))
    initial = np.zeros((2, M + H + O))   # the packed [m | h | y]: a memory, no past output
    initial[:, :M] = rng.normal(size=(2, M))
    with mr.no_grad():
        _, states = model(x, h=initial, return_states=True)
    np.testing.assert_allclose(solutions.jordan_memory(states["y"].numpy(), 0.7, initial[:, :M]),
                               states["m"].numpy(), rtol=1e-12, atol=1e-14)


def test_jordan_as_explicit_memory_computes_the_same_function():
    jordan = mr.models.Jordan(input_size=2, hidden_size=5, output_size=2, mu=0.35,
                              backend="numpy", seed=8)
    x = np.random.default_rng(9).normal(size=(3, 13, 2))
    model = solutions.jordan_as_explicit_memory(jordan)
    assert isinstance(model, mr.models.ExplicitMemory)
    with mr.no_grad():
        np.testing.assert_allclose(model(x).numpy(), jordan(x).numpy(), rtol=1e-12, atol=1e-14)


def test_explicit_memory_parameter_count():
    for I, H, O, M in ((1, 16, 1, 16), (3, 5, 2, 4)):
        model = mr.models.ExplicitMemory(input_size=I, hidden_size=H, output_size=O,
                                         memory_size=M, backend="numpy")
        assert solutions.explicit_memory_parameter_count(I, H, O, M) == \
            sum(p.size for p in model.parameters())


# --- 5. The state-space model and the Elman network ---------------------------------------------
def _state_space_models(rng):
    elman = mr.models.Elman(input_size=2, hidden_size=6, output_size=2, backend="numpy", seed=3)
    state_space = mr.models.StateSpaceRNN(input_size=2, hidden_size=6, output_size=2,
                                          backend="numpy", seed=3)
    state_space.h0.data[:] = rng.uniform(-0.8, 0.8, 6)   # a learned h_{-1} that matters
    return elman, state_space


def test_state_space_simulate_equals_the_models():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(3, 9, 2))
    for model in _state_space_models(rng):
        with mr.no_grad():
            expected = model(x).numpy()
        np.testing.assert_allclose(solutions.state_space_simulate(model, x), expected,
                                   rtol=1e-12, atol=1e-14)


def test_initial_state_gradient_matches_the_tape():
    rng = np.random.default_rng(11)
    x, d = rng.normal(size=(3, 9, 2)), rng.normal(size=(3, 9, 2))
    for model in _state_space_models(rng):
        h = mr.Tensor(np.tile(model.initial_state().data, (3, 1)), requires_grad=True)
        mr.losses.mse(model(x, h=h), d).backward()
        mine = solutions.initial_state_gradient(model, x, d)
        np.testing.assert_allclose(mine, h.grad, rtol=1e-10, atol=1e-15)
        if isinstance(model, mr.models.StateSpaceRNN):  # the learned h0: the sum over the rows
            mr.losses.mse(model(x), d).backward()
            np.testing.assert_allclose(mine.sum(axis=0), model.h0.grad, rtol=1e-10, atol=1e-15)


def test_state_jacobian_carries_the_states_gradient_back():
    rng = np.random.default_rng(12)
    x, target = rng.normal(size=(3, 12, 2)), rng.normal(size=(3, 2))
    for model in _state_space_models(rng):
        y, states = model(x, return_states=True)
        states["h"].retain_grad()
        mr.losses.mse(y[:, -1], target).backward()      # the loss at the last step
        h_bar = states["h"].grad
        for k in (1, 4, 11):
            J = solutions.state_jacobian(model, x, 11, k)
            assert J.shape == (3, 6, 6)
            np.testing.assert_allclose(np.einsum("bij,bi->bj", J, h_bar[:, 11]),
                                       h_bar[:, 11 - k], rtol=1e-9, atol=1e-15)


# --- 6. Multi-layer RNNs ------------------------------------------------------------------------
CONNECTIVITIES = ("stacked", "skip", "feedback", "output_feedback")


def test_multilayer_parameter_count():
    for connectivity in CONNECTIVITIES:
        for I, H, O, L in ((1, 4, 1, 2), (3, 5, 2, 3)):
            model = mr.models.MultiLayerRNN(input_size=I, hidden_size=H, output_size=O,
                                            num_layers=L, connectivity=connectivity,
                                            backend="numpy")
            assert solutions.multilayer_parameter_count(I, H, O, L, connectivity) == \
                sum(p.size for p in model.parameters()), connectivity


@pytest.mark.parametrize("connectivity", ["stacked", "feedback", "output_feedback"])
def test_layered_weights_run_the_stack_as_one_recurrence(connectivity):
    rng = np.random.default_rng(6)
    model = mr.models.MultiLayerRNN(input_size=2, hidden_sizes=[4, 3, 5], output_size=2,
                                    connectivity=connectivity, backend="numpy", seed=6)
    for p in model.parameters():
        p.data[...] = rng.uniform(-0.7, 0.7, p.shape)
    x = rng.normal(size=(3, 7, 2))
    U, V, Y, W = solutions.layered_weights(model)
    first = model.layer[0]
    b = np.concatenate([layer.b_h.data for layer in model.layer])
    S0 = np.repeat(np.concatenate([layer.h0.data for layer in model.layer])[None], 3, axis=0)
    states = mr.kernels.layered.reference.layered_forward(
        x @ first.W_xh.data.T, b, U, V, Y, W, model.b_y.data, S0,
        np.zeros((3, 2)), model.offsets, None, np.full(3, 7), "tanh", "identity")
    with mr.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(states[:, :, U.shape[0]:], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("connectivity", ["stacked", "skip"])
def test_stack_layer_by_layer_equals_the_model(connectivity):
    rng = np.random.default_rng(7)
    model = mr.models.MultiLayerRNN(input_size=2, hidden_sizes=[4, 3, 5], output_size=2,
                                    connectivity=connectivity, backend="cpu", seed=7)
    for p in model.parameters():
        p.data[...] = rng.uniform(-0.7, 0.7, p.shape)
    x = rng.normal(size=(3, 9, 2))
    with mr.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(solutions.stack_layer_by_layer(model, x), expected, rtol=1e-12,
                               atol=1e-14)


# --- 7. Sequence to sequence --------------------------------------------------------------------
def _forecaster(seed):
    from minirnn.models.registry import seq2seq_forecaster
    model = seq2seq_forecaster(2, 5, 3, backend="numpy", seed=seed)
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    return model, rng.normal(size=(4, 6, 2)), rng.normal(size=(4, 5, 3))


def test_teacher_forcing_inputs_drive_the_decoder_as_the_model_does():
    model, x, d = _forecaster(8)
    inputs = solutions.teacher_forcing_inputs(d)
    assert inputs.shape == d.shape and not inputs[:, 0].any()
    with mr.no_grad():
        expected = model(x, d).numpy()
        mine = model.decoder(inputs, h=model.encode(x)).numpy()
    np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-14)


def test_greedy_forecast_equals_generate():
    model, x, _ = _forecaster(9)
    np.testing.assert_allclose(solutions.greedy_forecast(model, x, 7), model.generate(x, 7),
                               rtol=1e-12, atol=1e-14)


def test_free_running_loss_is_generates_error_and_its_gradient_is_right():
    model, x, d = _forecaster(10)
    loss = solutions.free_running_loss(model, x, d)
    assert loss.item() == pytest.approx(((model.generate(x, 5) - d) ** 2).mean(), rel=1e-12)
    params = dict(model.named_parameters())
    report = mr.autograd.check_gradients(lambda: solutions.free_running_loss(model, x, d),
                                         {n: params[n] for n in ("decoder.W_xh", "decoder.W_hy",
                                                                 "encoder.W_hh")})
    assert report.passed, report
    # the fed-back outputs are differentiated: the gradient is not teacher forcing's
    for p in params.values():
        p.grad = None
    solutions.free_running_loss(model, x, d).backward()
    closed = params["decoder.W_xh"].grad.copy()
    for p in params.values():
        p.grad = None
    mr.losses.mse(model(x, model.generate(x, 5)), d).backward()
    assert not np.allclose(closed, params["decoder.W_xh"].grad)


# --- 8. Gated memory: the LSTM and the GRU ------------------------------------------------------
def test_gru_by_hand_equals_the_model():
    rng = np.random.default_rng(11)
    model = mr.models.GRU(input_size=3, hidden_size=5, output_size=2, backend="cpu", seed=11)
    for p in model.parameters():
        p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    x = rng.normal(size=(4, 9, 3))
    with mr.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(solutions.gru_by_hand(model, x), expected, rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_forget_gate_products_are_the_cell_states_gradient(backend):
    rng = np.random.default_rng(12)
    H, T = 4, 30
    model = mr.models.LSTM(input_size=2, hidden_size=H, output_size=1, backend=backend, seed=12)
    model.W_hh.data[...] = 0
    model.b_xh.data[H:2 * H] += 2.0  # forget gates mostly open: the products stay visible
    x = rng.normal(size=(3, T, 2))
    w = rng.normal(size=H)
    _, states = model(x, return_states=True)
    states["c"].retain_grad()
    (states["c"][:, -1] * mr.Tensor(w)).sum().backward()   # L = w · c_{T-1}
    products = solutions.forget_gate_products(model, x)
    assert products[:, 0].min() < 0.5 < products[:, -2].min()
    np.testing.assert_allclose(states["c"].grad, w * products, rtol=1e-10, atol=1e-14)


def test_second_value_only_scores_a_twelfth():
    x, target = mr.data.adding_problem(200_000, 20, seed=13)
    answer = solutions.second_value_only(x)
    assert answer.shape == target.shape
    assert ((answer - target) ** 2).mean() == pytest.approx(1 / 12, rel=0.02)
    assert ((1.0 - target) ** 2).mean() == pytest.approx(mr.data.BASELINE_MSE, rel=0.02)
