"""The PyTorch equivalents (``minirnn.torch_models``) compute what the minirnn models compute:
for each family, as ``minirnn bench --training`` builds it and in a few other configurations,
minirnn's model (numpy engine, float64) and its PyTorch equivalent with the same weights give
the same outputs and the same gradients of an MSE loss, for every parameter."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from minirnn import losses  # noqa: E402
from minirnn.bench import TORCH_FAMILIES, TRAINING_FAMILIES  # noqa: E402
from minirnn.models.registry import build_model, model_config  # noqa: E402
from minirnn.torch_models import (copy_parameters, from_minirnn, torch_equivalent,  # noqa: E402
                                  torch_layout)

B, T, H = 2, 7, 5
RTOL = 1e-10

#: (family, options): each family with the registry's defaults (what the benchmark trains),
#: then other sizes and options
CASES = [(family, {}) for family in TRAINING_FAMILIES] + [
    ("sliding", {"window": 3, "activation": "relu"}),
    ("narx", {"input_delays": 3, "output_delays": 1}),
    ("narx", {"input_delays": 0, "output_delays": 4, "output_activation": "tanh"}),
    ("elman", {"activation": "relu", "output_activation": "sigmoid"}),
    ("memory", {"memory_size": 3}),
    ("jordan", {"mu": 0.3, "learn_mu": True}),
    ("jordan", {"activation": "sigmoid"}),
    ("multilayer", {"num_layers": 3}),
    ("multilayer", {"num_layers": 3, "cell": "lstm"}),
    ("multilayer", {"cell": "gru"}),
    ("lstm", {"learn_initial_state": True}),
    ("gru", {"learn_initial_state": True, "output_activation": "tanh"}),
]


def minirnn_model(family: str, options: dict, seed: int = 0):
    """The model ``bench.training_step`` builds (NARX in open loop), numpy engine, float64,
    every parameter but μ redrawn at random (so that none is zero, as b_y and h0 start)."""
    options = {"mode": "open", **options} if family == "narx" else options
    model = build_model(family, model_config(family, 1, 1, H, backend="numpy",
                                             dtype="float64", seed=seed, **options))
    rng = np.random.default_rng(seed + 100)
    for _, p in model.named_parameters():
        if p.ndim:
            p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    return model


def assert_close(actual, expected, what: str):
    """max |actual - expected| ≤ RTOL · max |expected| (relative to the array's scale)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    scale = np.abs(expected).max()
    assert scale > 0, f"{what}: all zeros, the comparison would prove nothing"
    error = np.abs(actual - expected).max()
    assert error <= RTOL * scale, f"{what}: max error {error:.3g}, scale {scale:.3g}"


def run_both(family: str, options: dict):
    """Outputs and gradients of the MSE on the same data: minirnn's (its gradients in the
    PyTorch layout, ``torch_layout``) and PyTorch's ({name: gradient})."""
    model = minirnn_model(family, options)
    net = from_minirnn(model)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, T, 1))
    y = rng.standard_normal((B, T, 1))
    reads_target = family in ("narx", "seq2seq")

    out = model(x, y) if reads_target else model(x)
    losses.mse(out, y).backward()
    grads = {name: np.zeros_like(p.data) if p.grad is None else p.grad
             for name, p in model.named_parameters()}

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    out_t = net(xt, yt) if reads_target else net(xt)
    torch.nn.functional.mse_loss(out_t, yt).backward()
    torch_grads = {name: p.grad.numpy() for name, p in net.named_parameters()}
    return (out.data, torch_layout(model, grads, gradients=True)), (out_t.detach().numpy(),
                                                                   torch_grads)


def test_every_family_has_a_pytorch_equivalent():
    assert set(TORCH_FAMILIES) == set(TRAINING_FAMILIES)


@pytest.mark.parametrize("family,options", CASES,
                         ids=[f"{f}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'default'}"
                              for f, o in CASES])
def test_outputs_and_gradients_equal_minirnns(family, options):
    (out, grads), (out_t, torch_grads) = run_both(family, options)
    assert out_t.dtype == np.float64
    assert_close(out_t, out, "outputs")
    assert set(torch_grads) <= set(grads)
    assert torch_grads, "no parameter was compared"
    for name, grad in torch_grads.items():
        assert_close(grad, grads[name], f"gradient of {name}")


@pytest.mark.parametrize("family", TRAINING_FAMILIES)
def test_the_copy_sets_every_entry_and_the_pytorch_model_learns_what_minirnns_does(family):
    """Every entry of the PyTorch model's state is set by the copy, and every parameter minirnn
    learns (but the delayed seq2seq encoder's unused output layer) has its counterpart."""
    model = minirnn_model(family, {})
    net = torch_equivalent(model)
    state = model.state_dict()
    layout = torch_layout(model, state)
    assert set(layout) == set(net.state_dict())
    copy_parameters(model, net)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), layout[name])
    learned = sum(p.size for name, p in model.named_parameters() if p.requires_grad and
                  not (family == "seq2seq" and name in ("encoder.W_hy", "encoder.b_y")))
    # nn.RNN splits minirnn's one bias b_h in two; the gated cells have PyTorch's two biases
    split_biases = sum(p.numel() for name, p in net.named_parameters()
                       if "bias_hh" in name and family not in ("lstm", "gru") and
                       getattr(model, "cell", "elman") == "elman")
    assert sum(p.numel() for p in net.parameters()) - split_biases == learned


def test_the_float32_equivalent_is_float32():
    model = build_model("jordan", model_config("jordan", 1, 1, H, backend="numpy",
                                               dtype="float32"))
    net = from_minirnn(model)
    assert {p.dtype for p in net.state_dict().values()} == {torch.float32}


@pytest.mark.parametrize("family,options,message", [
    ("narx", {"mode": "closed"}, "open loop"),
    ("multilayer", {"connectivity": "feedback"}, "stacked"),
])
def test_models_without_an_equivalent_here_are_refused(family, options, message):
    model = build_model(family, model_config(family, 1, 1, H, backend="numpy", **options))
    with pytest.raises(NotImplementedError, match=message):
        from_minirnn(model)
