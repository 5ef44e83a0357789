"""What every recurrent model must do, on every CPU engine (the CUDA engine: test_cuda.py).

- its analytic gradients (every parameter, the initial state where learned, the input) match
  central finite differences in float64;
- the fused engines (numpy, cpu) give the tape engine's outputs and gradients (float64 to
  1e-10 relative, float32 to about 1e-5), the cpu engine with NumPy's BLAS and without;
- in a padded batch, each row gives what it gives alone, and its padding changes nothing;
- carrying the state across chunks reproduces the full forward pass, and the chunked gradient
  is the exact gradient of the truncated graph.
"""
import numpy as np
import pytest
from helpers import (RECURRENT_MODELS, SHAPES, assert_same, build, outputs_and_gradients,
                     random_problem)

import minirnn as mr

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py

CPU_BACKENDS = ["tape", "numpy", "cpu"]
model_cases = pytest.mark.parametrize(
    "model_class,options", RECURRENT_MODELS,
    ids=[c.__name__ + "".join(f"-{v}" for k, v in o.items() if isinstance(v, str))
         for c, o in RECURRENT_MODELS])


@model_cases
@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck_every_parameter_and_the_input(model_class, options, backend, shape):
    x, target = random_problem(shape)
    model = build(model_class, shape, backend, **options)
    report = mr.gradcheck(model, x, target)
    assert report.passed, str(report)
    learned = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {c.name for c in report.checks} == learned | {"x"}


@model_cases
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_engines_match_the_tape_in_float64(model_class, options, backend, shape):
    x, target = random_problem(shape, seed=2)
    reference = outputs_and_gradients(build(model_class, shape, "tape", **options), x, target)
    result = outputs_and_gradients(build(model_class, shape, backend, **options), x, target)
    assert_same(result, reference, rtol=1e-10, atol=1e-14)


@model_cases
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_fused_engines_match_the_tape_in_float32(model_class, options, backend):
    shape = (3, 8, 2, 6, 2)
    x, target = random_problem(shape, seed=3, dtype=np.float32)
    reference = outputs_and_gradients(build(model_class, shape, "tape", "float32", **options),
                                      x, target)
    result = outputs_and_gradients(build(model_class, shape, backend, "float32", **options),
                                   x, target)
    assert result[0].dtype == np.float32
    assert_same(result, reference, rtol=1e-5, atol=1e-6)


@model_cases
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_asking_for_the_final_state_changes_no_output_or_gradient(model_class, options, backend):
    """Without return_state a fused model returns its outputs alone and its BPTT starts from
    ∂L/∂y (``y_only``); with it, the op returns every state too. Same numbers either way."""
    shape = (3, 6, 2, 4, 3)
    x, target = random_problem(shape, seed=5)
    lengths = np.array([6, 2, 4])
    model = build(model_class, shape, backend, **options)
    runs = []
    for return_state in (False, True):
        x_t = mr.Tensor(x, requires_grad=True)
        model.zero_grad()
        y = model(x_t, lengths=lengths, return_state=return_state)
        y = y[0] if return_state else y
        mr.losses.mse(y, target).backward()
        grads = {name: p.grad for name, p in model.named_parameters()}
        grads["x"] = x_t.grad
        runs.append((y.data, grads))
    assert_same(runs[0], runs[1], rtol=1e-12, atol=1e-15)


@model_cases
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_padded_rows_equal_their_unpadded_runs(model_class, options, backend):
    """A row of length L in a padded batch gives the outputs and final state of running that
    row alone for L steps."""
    shape = (3, 6, 2, 4, 1)
    x, _ = random_problem(shape, seed=4)
    lengths = np.array([6, 2, 4])
    model = build(model_class, shape, backend, **options)
    y, h_last = model(x, lengths=lengths, return_state=True)
    for b, L in enumerate(lengths):
        y_alone, h_alone = model(x[b:b + 1, :L], return_state=True)
        np.testing.assert_allclose(y.data[b, :L], y_alone.data[0], rtol=1e-12)
        np.testing.assert_allclose(h_last.data[b], h_alone.data[0], rtol=1e-12)


@model_cases
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_padding_changes_neither_the_state_nor_the_masked_loss(model_class, options, backend):
    """Whatever the padded steps hold, a masked loss, the final state and the gradients are
    the same."""
    shape = (3, 6, 2, 4, 1)
    x, target = random_problem(shape, seed=9)
    lengths = np.array([6, 2, 4])
    mask = mr.losses.length_mask(lengths, 6)
    model = build(model_class, shape, backend, **options)
    results = []
    for fill in (0.0, 1e3):
        x_padded, target_padded = x.copy(), target.copy()
        x_padded[mask == 0], target_padded[mask == 0] = fill, fill
        model.zero_grad()
        y, h_last = model(x_padded, lengths=lengths, return_state=True)
        loss = mr.losses.mse(y, target_padded, mask=mask)
        loss.backward()
        results.append((loss.item(), h_last.data,
                        [p.grad.copy() for p in model.parameters() if p.requires_grad]))
    (loss0, h0, g0), (loss1, h1, g1) = results
    assert loss0 == loss1
    np.testing.assert_array_equal(h0, h1)
    for a, b in zip(g0, g1, strict=True):
        np.testing.assert_array_equal(a, b)


@model_cases
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_padded_batch_gradients_match_the_tape(model_class, options, backend):
    shape = (3, 6, 2, 4, 2)
    x, target = random_problem(shape, seed=5)
    lengths = np.array([1, 6, 3])
    reference = outputs_and_gradients(build(model_class, shape, "tape", **options), x, target,
                                      lengths=lengths)
    result = outputs_and_gradients(build(model_class, shape, backend, **options), x, target,
                                   lengths=lengths)
    assert_same(result, reference, rtol=1e-10, atol=1e-14)


@model_cases
@pytest.mark.parametrize("shape,lengths", [((1, 1, 1, 1, 1), None),
                                           ((5, 6, 2, 4, 3), [1, 6, 3, 6, 2])])
def test_cpu_engine_without_blas_matches_the_tape(model_class, options, shape, lengths):
    """The cpu kernels call NumPy's BLAS for their products; where it cannot be found they run
    loops of their own. Both paths give the tape's numbers (the BLAS one is every other test)."""
    x, target = random_problem(shape, seed=8)
    lengths = None if lengths is None else np.array(lengths)
    reference = outputs_and_gradients(build(model_class, shape, "tape", **options), x, target,
                                      lengths=lengths)
    with mr.kernels.blas.loops_only():
        result = outputs_and_gradients(build(model_class, shape, "cpu", **options), x, target,
                                       lengths=lengths)
    assert_same(result, reference, rtol=1e-10, atol=1e-14)


def chunked_gradients(model, x, target, chunk):
    """Truncated BPTT: run x in chunks, carrying the state but cutting the gradient between."""
    model.zero_grad()
    h, outputs = None, []
    for start in range(0, x.shape[1], chunk):
        part = slice(start, start + chunk)
        y, h = model(x[:, part], h=h, return_state=True)
        mr.losses.mse(y, target[:, part]).backward()
        h = h.detach()
        outputs.append(y.data)
    return (np.concatenate(outputs, axis=1),
            {n: p.grad for n, p in model.named_parameters() if p.requires_grad})


@model_cases
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_truncated_bptt_equals_the_truncated_graph(model_class, options, backend):
    shape = (2, 9, 2, 4, 1)
    x, target = random_problem(shape, seed=8)
    model = build(model_class, shape, backend, **options)
    y_chunks, grads = chunked_gradients(model, x, target, chunk=4)
    # carrying the state reproduces the full forward pass exactly
    np.testing.assert_allclose(y_chunks, model(x).data, rtol=1e-12)
    # and the gradient is that of the same truncated graph on the tape engine
    tape_model = build(model_class, shape, "tape", **options)
    _, grads_tape = chunked_gradients(tape_model, x, target, 4)
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_tape[name], rtol=1e-10, atol=1e-14)
    # which differs from full BPTT: the cut is real
    _, full = outputs_and_gradients(tape_model, x, target)
    assert any(not np.allclose(full[n], grads_tape[n]) for n in grads_tape)


@pytest.mark.parametrize("model_class", [mr.models.Elman, mr.models.StateSpaceRNN,
                                         mr.models.Jordan, mr.models.ExplicitMemory,
                                         mr.models.NARX, mr.models.SlidingPredictor,
                                         mr.models.MultiLayerRNN])
def test_sizes_are_given_by_name(model_class):
    """Sizes are keyword-only, input_size, hidden_size, output_size everywhere: NARX(1, 16, 1)
    once built a hidden layer of 1, its order differing from Elman's."""
    with pytest.raises(TypeError, match="positional"):
        model_class(1, 16, 1)
    extra = {"window": 3} if model_class is mr.models.SlidingPredictor else {}
    model = model_class(input_size=1, hidden_size=16, output_size=1, **extra)
    assert (model.input_size, model.output_size) == (1, 1)
    assert getattr(model, "hidden_size", None) == 16 or model.hidden_sizes == [16, 16]


def test_gradcheck_passes_what_else_the_forward_needs():
    """An open-loop NARX reads the true outputs, a delayed Seq2Seq its target (teacher
    forcing): ``forward=`` hands them to the model."""
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((2, 5, 2)), rng.standard_normal((2, 5, 1))
    narx = mr.models.NARX(input_size=2, hidden_size=3, output_size=1, mode="open")
    assert mr.gradcheck(narx, x, y, forward={"y": y}).passed
    seq2seq = mr.models.Seq2Seq(
        mr.models.StateSpaceRNN(input_size=2, hidden_size=3, output_size=1),
        mr.models.Elman(input_size=1, hidden_size=3, output_size=1))
    assert mr.gradcheck(seq2seq, x, y, forward={"target": y}).passed


@pytest.mark.parametrize("model_class,options", RECURRENT_MODELS)
def test_a_gradient_that_is_zero_comes_out_exactly_zero(model_class, options):
    """With one step (T = 1), a zero initial state and a batch of several rows, no state
    follows another, so every recurrent weight's gradient is exactly 0: each engine must say
    exactly 0, not rounding noise (the BPTT pairs each row's first step with the row before
    it in memory, and once took those pairs away after adding them: 6e-17 here, 2e-14 at
    B = 300, which Adam's normalised step turned into real updates of W_hh, 0.04 in float32
    over 50 steps)."""
    shape = (6, 1, 3, 5, 2)
    x, _ = random_problem(shape)
    grads = {}
    for backend in ("tape", "numpy", "cpu"):
        model = build(model_class, shape, backend, **options)
        for name, p in model.named_parameters():
            if name.endswith("h0"):  # a learned initial state: zero, as before training
                p.data[...] = 0
        model(mr.Tensor(x)).sum().backward()
        grads[backend] = {n: p.grad for n, p in model.named_parameters()}
    zero = [n for n, g in grads["tape"].items() if g is not None and not g.any()]
    assert zero  # the recurrent weights, at least
    for backend in ("numpy", "cpu"):
        for name in zero:
            assert not grads[backend][name].any(), f"{backend} {name}"
