"""Every recurrent model shows its per-step states, and ∂L/∂state_t for every t.

``y, states = model(x, return_states=True)``; after ``states["h"].retain_grad()`` and
``loss.backward()``, ``states["h"].grad[:, t]`` is the TOTAL derivative ∂L/∂h_t (BPTT's dh_t:
through y_t and through every later step), on every engine (models/base.py, the states'
protocol). The oracles: a student's Elman with zero "probe" leaves added to each h_t, and
a model run in two chunks, where the gradient of the second chunk's initial state is what
the later steps send back to the state the first chunk ended in.
"""
import numpy as np
import pytest

import minirnn as mr
from minirnn.autograd import Tensor, ops

ENGINES = ("tape", "numpy", "cpu")
rng = np.random.default_rng(0)
X = rng.standard_normal((3, 6, 2))
TARGET = rng.standard_normal((3, 6, 1))
LENGTHS = np.array([6, 4, 2])

FAMILIES = {
    "elman": lambda b: mr.models.Elman(input_size=2, hidden_size=4, output_size=1, backend=b,
                                       seed=1),
    "statespace": lambda b: mr.models.StateSpaceRNN(input_size=2, hidden_size=4, output_size=1,
                                                    backend=b, seed=1),
    "memory": lambda b: mr.models.ExplicitMemory(input_size=2, hidden_size=4, output_size=1,
                                                 memory_size=3, backend=b, seed=1),
    "jordan": lambda b: mr.models.Jordan(input_size=2, hidden_size=4, output_size=1, backend=b,
                                         seed=1),
    "narx": lambda b: mr.models.NARX(input_size=2, hidden_size=4, output_size=1, backend=b,
                                     seed=1),
    **{f"multilayer:{c}": (lambda b, c=c: mr.models.MultiLayerRNN(
        input_size=2, hidden_sizes=[3, 4], output_size=1, connectivity=c, backend=b, seed=1))
       for c in ("stacked", "skip", "feedback", "output_feedback")},
    "lstm": lambda b: mr.models.LSTM(input_size=2, hidden_size=4, output_size=1, backend=b,
                                     seed=1, learn_initial_state=True),
    "gru": lambda b: mr.models.GRU(input_size=2, hidden_size=4, output_size=1, backend=b,
                                   seed=1),
    **{f"multilayer-{cell}:{c}": (lambda b, c=c, cell=cell: mr.models.MultiLayerRNN(
        input_size=2, hidden_sizes=[3, 4], output_size=1, connectivity=c, cell=cell, backend=b,
        seed=1)) for c, cell in (("stacked", "lstm"), ("skip", "gru"))},
}
NAMES = {"elman": ["h"], "statespace": ["h"], "memory": ["m", "h", "y"],
         "jordan": ["m", "h", "y"], "narx": ["m", "h", "y"],
         "multilayer:stacked": ["layer0.h", "layer1.h"],
         "multilayer:skip": ["layer0.h", "layer1.h"],
         "multilayer:feedback": ["layer0.h", "layer1.h"],
         "multilayer:output_feedback": ["layer0.h", "layer1.h", "y"], "lstm": ["h", "c"],
         "gru": ["h"], "multilayer-lstm:stacked": ["layer0.h", "layer0.c", "layer1.h", "layer1.c"],
         "multilayer-gru:skip": ["layer0.h", "layer1.h"]}


def state_gradients(model, x, lengths=None, at_last=True):
    """{name: ∂L/∂state} for the MSE at the last step (or every step), and y."""
    y, states = model(x, return_states=True, lengths=lengths)
    for s in states.values():
        s.retain_grad()
    loss = (mr.losses.mse(y[:, -1], TARGET[:, -1]) if at_last else
            mr.losses.mse(y, TARGET))
    loss.backward()
    return {n: s.grad for n, s in states.items()}, y


@pytest.mark.parametrize("family", FAMILIES)
def test_every_engine_gives_the_tape_engines_state_gradients_padded_or_not(family):
    for lengths, at_last in ((None, True), (LENGTHS, False)):
        reference, y_ref = state_gradients(FAMILIES[family]("tape"), X, lengths, at_last)
        assert list(reference) == NAMES[family]
        for g in reference.values():
            assert g.shape[:2] == (3, 6) and np.abs(g).max() > 0
        for backend in ENGINES[1:]:
            grads, y = state_gradients(FAMILIES[family](backend), X, lengths, at_last)
            np.testing.assert_allclose(y.data, y_ref.data, rtol=1e-10, atol=1e-14)
            for name in reference:
                np.testing.assert_allclose(grads[name], reference[name], rtol=1e-10,
                                           atol=1e-14, err_msg=f"{family} {name} {backend}")


def test_the_states_are_the_models_values_and_y_is_upstream():
    model = FAMILIES["memory"]("cpu")
    y, last, states = model(X, return_state=True, return_states=True)
    packed = np.concatenate([states[n].data for n in ("m", "h", "y")], axis=2)
    np.testing.assert_array_equal(packed[:, -1], last.data)
    assert states["y"] is y  # the memory models' y is their fed-back state
    np.testing.assert_array_equal(model(X).data, y.data)
    # a loss term on the states sends its gradient into the recurrence, like one on y
    model.zero_grad()
    y, states = model(X, return_states=True)
    (states["h"] * states["h"]).sum().backward()
    assert np.abs(model.W_xh.grad).max() > 0


@pytest.mark.parametrize("backend", ENGINES)
def test_elman_state_gradients_are_those_of_probe_leaves_added_to_each_state(backend):
    """The student's way (no retain_grad): h_t = where(active, f(…), h_{t-1}) + p_t with zero
    leaves p_t; ∂L/∂p_t is the total ∂L/∂h_t, since p_t shifts h_t for everything after."""
    model = FAMILIES["statespace"](backend)
    grads, _ = state_gradients(model, X, LENGTHS, at_last=False)

    W_xh, b_h, W_hh, W_hy, b_y = (Tensor(getattr(model, n).data) for n in
                                  ("W_xh", "b_h", "W_hh", "W_hy", "b_y"))
    h = Tensor(np.repeat(model.h0.data[None], 3, axis=0))
    probes, ys = [], []
    for t in range(6):
        new = (Tensor(X[:, t]) @ W_xh.T + b_h + h @ W_hh.T).tanh()
        probe = Tensor(np.zeros((3, 4)), requires_grad=True)
        h = ops.where((t < LENGTHS)[:, None], new, h) + probe
        probes.append(probe)
        ys.append(h @ W_hy.T + b_y)
    mr.losses.mse(ops.stack(ys, axis=1), TARGET).backward()
    np.testing.assert_allclose(grads["h"], np.stack([p.grad for p in probes], axis=1),
                               rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("family,part", [("elman", "h"), ("memory", "y"), ("narx", "y"),
                                         ("multilayer:stacked", "layer1.h"),
                                         ("multilayer:output_feedback", "y"), ("lstm", "h"),
                                         ("gru", "h"), ("multilayer-lstm:stacked", "layer1.h")])
@pytest.mark.parametrize("backend", ENGINES)
def test_what_comes_back_through_time_is_the_next_chunks_initial_state_gradient(
        family, part, backend):
    """Run steps 0…t, then t+1…T-1 from the state reached, as a leaf: with the loss at the last
    step, ∂L/∂(that leaf) is all that reaches state_t (for these states, whose gradient is
    nothing but what later steps send back), so it equals states[part].grad[:, t]."""
    model = FAMILIES[family](backend)
    grads, _ = state_gradients(model, X)
    names = NAMES[family]
    for t in (0, 2, 4):
        _, state = model(X[:, :t + 1], return_state=True)
        leaf = Tensor(state.data, requires_grad=True)
        y = model(X[:, t + 1:], h=leaf)
        mr.losses.mse(y[:, -1], TARGET[:, -1]).backward()
        # where the state sits in the packed one: the named states side by side, in order
        # (NARX's: the last inputs, then the last outputs, y_t last of all)
        width = grads[part].shape[2]
        first = (state.shape[1] - width if family == "narx" else
                 sum(grads[n].shape[2] for n in names[:names.index(part)]))
        np.testing.assert_allclose(leaf.grad[:, first:first + width], grads[part][:, t],
                                   rtol=1e-9, atol=1e-15, err_msg=f"t = {t}")


def test_under_no_grad_the_states_are_values_alone():
    with mr.no_grad():
        y, states = FAMILIES["jordan"]("tape")(X, return_states=True)
    assert not any(s.requires_grad for s in states.values())


@pytest.mark.parametrize("family,part", [("elman", "h"), ("gru", "h"), ("lstm", "h"),
                                         ("memory", "y"), ("multilayer-lstm:stacked", "layer1.h"),
                                         ("multilayer:feedback", "layer1.h")])
@pytest.mark.parametrize("backend", ENGINES)
def test_a_loss_on_the_final_state_reaches_the_last_steps_state_gradient(family, part, backend):
    """``model(x, return_state=True, return_states=True)``: the final state is read from the
    shown states, so a loss on it (the next chunk's, say) is part of their gradient. Adding
    w · last to the loss adds w's piece to ∂L/∂state_{T-1} (for these states, which nothing
    else of the last step reads but the output already in the loss; earlier steps get what
    the recurrence carries back of it)."""
    model = FAMILIES[family](backend)
    grads = []
    for with_last in (False, True):
        model.zero_grad()
        y, last, states = model(X, return_state=True, return_states=True)
        for s in states.values():
            s.retain_grad()
        names = NAMES[family]
        first = sum(states[n].shape[2] for n in names[:names.index(part)])
        width = states[part].shape[2]
        w = np.zeros(last.shape)  # on the part alone (a stack's final state holds y too)
        w[:, first:first + width] = np.random.default_rng(5).standard_normal((3, width))
        loss = mr.losses.mse(y[:, -1], TARGET[:, -1])
        (loss + (last * w).sum() if with_last else loss).backward()
        grads.append(states[part].grad)
    difference = grads[1] - grads[0]
    np.testing.assert_allclose(difference[:, -1], w[:, first:first + width], rtol=1e-10,
                               atol=1e-14)


@pytest.mark.parametrize("cell", ["elman", "lstm"])
@pytest.mark.parametrize("backend", ENGINES)
def test_a_delayed_seq2seq_shows_what_the_decoder_sends_back_to_the_encoder(cell, backend):
    """``Seq2Seq(..., return_states=True)``: the encoder's and the decoder's states, named
    "encoder.h", "decoder.h", … The encoder's last state is handed to the decoder and feeds
    nothing else, so its h's gradient is the gradient of the decoder's initial h, here a leaf.
    (An LSTM encoder's last c also reaches the decoder through its h = o tanh(c): its total
    gradient is more than the leaf's c part.)"""
    from minirnn.models.registry import seq2seq_forecaster
    model = seq2seq_forecaster(input_size=2, hidden_size=3, output_size=1, cell=cell,
                               backend=backend, dtype="float64", seed=4)
    target = rng.standard_normal((3, 4, 1))
    y, states = model(X, target, return_states=True)
    parts = ["h", "c"] if cell == "lstm" else ["h"]
    assert list(states) == [f"{side}.{p}" for side in ("encoder", "decoder") for p in parts]
    for s in states.values():
        s.retain_grad()
    mr.losses.mse(y, target).backward()
    handed = states["encoder.h"].grad[:, -1]

    _, last = model.encoder(X, return_state=True)
    leaf = Tensor(last.data, requires_grad=True)
    start = np.zeros((3, 1, 1))
    y_again = model.decoder(np.concatenate([start, target[:, :-1]], axis=1), h=leaf)
    np.testing.assert_allclose(y_again.data, y.data, rtol=1e-12)
    mr.losses.mse(y_again, target).backward()
    np.testing.assert_allclose(handed, leaf.grad[:, :3], rtol=1e-10, atol=1e-15)
    assert np.abs(handed).max() > 0
