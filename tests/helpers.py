"""Shared helpers of the model tests: build the same model on several engines, run it, compare."""
import numpy as np

import minirnn as mr
from minirnn.checks import outputs_and_gradients, randomize  # noqa: F401 - shared

# (model class, constructor options) of every recurrent model
RECURRENT_MODELS = [
    (mr.models.Elman, {}),
    (mr.models.StateSpaceRNN, {}),
    (mr.models.ExplicitMemory, {}),
    (mr.models.ExplicitMemory, {"memory_size": 3, "memory_activation": "sigmoid"}),
    (mr.models.Jordan, {}),  # fixed mu: constant memory weights, the BPTT skips dq
    (mr.models.Jordan, {"learn_mu": True}),
    (mr.models.NARX, {"input_delays": 2, "output_delays": 2}),
    (mr.models.NARX, {"input_delays": 0, "output_delays": "all", "max_steps": 9}),
    (mr.models.MultiLayerRNN, {"connectivity": "stacked"}),
    (mr.models.MultiLayerRNN, {"connectivity": "skip", "hidden_sizes": [3, 2, 4]}),
    (mr.models.MultiLayerRNN, {"connectivity": "feedback", "hidden_sizes": [2, 3, 1]}),
    (mr.models.MultiLayerRNN, {"connectivity": "output_feedback"}),
    (mr.models.LSTM, {}),
    (mr.models.LSTM, {"learn_initial_state": True}),
    (mr.models.GRU, {}),
    (mr.models.GRU, {"learn_initial_state": True}),
    (mr.models.MultiLayerRNN, {"cell": "lstm", "hidden_sizes": [3, 2]}),
    (mr.models.MultiLayerRNN, {"cell": "gru", "connectivity": "skip", "hidden_sizes": [2, 3]}),
]

# (batch, time, input, hidden, output): batch 1, time 1, odd sizes
SHAPES = [(1, 1, 1, 1, 1), (2, 5, 3, 4, 2), (3, 7, 2, 5, 1), (1, 9, 1, 3, 3)]


def random_problem(shape, seed=0, dtype=np.float64):
    B, T, I, H, O = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, I)).astype(dtype)
    target = rng.standard_normal((B, T, O)).astype(dtype)
    return x, target


def build(model_class, shape, backend, dtype="float64", seed=3, **options):
    """A model whose every parameter (h0 included) is random, the same for every backend."""
    B, T, I, H, O = shape
    model = model_class(input_size=I, hidden_size=H, output_size=O, backend=backend, dtype=dtype,
                        seed=seed, **options)
    return randomize(model, seed + 100)


def assert_same(result, reference, rtol, atol=0.0):
    (y, grads), (y_ref, grads_ref) = result, reference
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=atol, err_msg="outputs")
    assert grads.keys() == grads_ref.keys()
    for name in grads:
        if grads[name] is None and grads_ref[name] is None:  # a fixed (not learned) parameter
            continue
        np.testing.assert_allclose(grads[name], grads_ref[name], rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")


def elman_kernel_kinds(monkeypatch) -> list:
    """The kernel design each cuda Elman forward runs ("rows" or "wide"), in order: a list
    filled as the test goes."""
    from minirnn.kernels.elman import cuda as elman_cuda

    kinds, forward = [], elman_cuda.DeviceElman.forward

    def recorded(self, a, h0):
        hs = forward(self, a, h0)
        kinds.append(self.kind)
        return hs

    monkeypatch.setattr(elman_cuda.DeviceElman, "forward", recorded)
    return kinds

