"""Seq2Seq: the delayed (encoder-decoder) and synchronous forms of the seed article."""
import numpy as np
import pytest

import minirnn as mr
from minirnn.models import NARX, Elman, ExplicitMemory, Seq2Seq, StateSpaceRNN
from minirnn.models.seq2seq import one_hot

pytestmark = pytest.mark.usefixtures("split_every_kernel")  # conftest.py

VOCAB, MAX_LEN = 5, 4  # symbol 0 is padding


def reversal_batch(rng, batch=64):
    """Random symbol sequences of lengths 2-4 and their reversals."""
    lengths = rng.integers(2, MAX_LEN + 1, batch)
    source = rng.integers(1, VOCAB, (batch, MAX_LEN))
    target = np.zeros((batch, MAX_LEN), dtype=np.int64)
    for b, L in enumerate(lengths):
        source[b, L:] = 0
        target[b, :L] = source[b, :L][::-1]
    return one_hot(source, VOCAB, np.float64), target, lengths


@pytest.mark.slow
def test_delayed_seq2seq_learns_to_reverse_sequences_of_unequal_lengths():
    rng = np.random.default_rng(0)
    model = Seq2Seq(Elman(input_size=VOCAB, hidden_size=32, output_size=VOCAB, seed=1),
                    Elman(input_size=VOCAB, hidden_size=32, output_size=VOCAB, seed=2),
                    mode="delayed", feedback="argmax")
    opt = mr.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(400):
        x, target, lengths = reversal_batch(rng)
        opt.zero_grad()
        logits = model(x, target, lengths=lengths, target_lengths=lengths)
        loss = mr.losses.cross_entropy(logits, target,
                                       mask=mr.losses.length_mask(lengths, MAX_LEN))
        loss.backward()
        mr.optim.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
    x, target, lengths = reversal_batch(np.random.default_rng(99))
    predicted = model.generate(x, MAX_LEN, lengths=lengths).argmax(-1)  # greedy, own feedback
    correct = [np.array_equal(predicted[b, :L], target[b, :L]) for b, L in enumerate(lengths)]
    assert np.mean(correct) >= 0.95


@pytest.mark.parametrize("backend", ["tape", "numpy", "cpu"])
@pytest.mark.parametrize("encoder_class", [StateSpaceRNN, ExplicitMemory])
def test_teacher_forced_gradients_reach_both_networks(backend, encoder_class):
    rng = np.random.default_rng(1)
    x, target = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4, 2))
    if encoder_class is StateSpaceRNN:
        encoder = StateSpaceRNN(input_size=3, hidden_size=4, output_size=2, backend=backend)
        decoder = Elman(input_size=2, hidden_size=4, output_size=2, backend=backend)
    else:
        encoder = ExplicitMemory(input_size=3, hidden_size=4, output_size=2, memory_size=2,
                                 backend=backend)
        decoder = ExplicitMemory(input_size=2, hidden_size=4, output_size=2, memory_size=2,
                                 backend=backend, seed=1)
    model = Seq2Seq(encoder, decoder)
    lengths, target_lengths = np.array([5, 3]), np.array([4, 2])
    mask = mr.losses.length_mask(target_lengths, 4)
    report = mr.autograd.check_gradients(
        lambda: mr.losses.mse(model(x, target, lengths=lengths, target_lengths=target_lengths),
                              target, mask=mask),
        dict(model.named_parameters()))
    assert report.passed, str(report)
    assert {c.name.split(".")[0] for c in report.checks} == {"encoder", "decoder"}


def test_the_encoder_hands_over_each_rows_own_final_state():
    encoder = Elman(input_size=2, hidden_size=3, output_size=2, seed=0)
    model = Seq2Seq(encoder, Elman(input_size=2, hidden_size=3, output_size=2, seed=1))
    x = np.random.default_rng(2).standard_normal((2, 5, 2))
    state = model.encode(x, lengths=np.array([5, 2])).data
    np.testing.assert_allclose(state[1], encoder(x[1:, :2], return_state=True)[1].data[0])


def test_synchronous_mode_is_one_output_per_input_step():
    encoder = NARX(input_size=2, hidden_size=4, output_size=1, mode="closed", seed=0)
    model = Seq2Seq(encoder, mode="synchronous")
    x = np.random.default_rng(3).standard_normal((3, 7, 2))
    np.testing.assert_array_equal(model(x).data, encoder(x).data)
    assert model(x).shape == (3, 7, 1)


def elman(input_size, hidden_size, output_size):
    return Elman(input_size=input_size, hidden_size=hidden_size, output_size=output_size)


def test_seq2seq_is_made_of_two_models_not_sizes():
    with pytest.raises(TypeError, match="positional"):
        Seq2Seq(1, 16, 1)  # mode and feedback are named
    with pytest.raises(TypeError, match="the encoder must be a recurrent model"):
        Seq2Seq(1, 16)
    with pytest.raises(TypeError, match="the decoder must be a recurrent model"):
        Seq2Seq(elman(1, 3, 2), 16)


@pytest.mark.parametrize("build,message", [
    (lambda: Seq2Seq(elman(1, 3, 2), elman(2, 4, 2)), "encoder's state"),
    (lambda: Seq2Seq(elman(1, 3, 2), elman(1, 3, 2)), "input_size .1. must equal its output_size"),
    (lambda: Seq2Seq(elman(1, 3, 2), mode="delayed"), "needs a decoder"),
    (lambda: Seq2Seq(elman(1, 3, 2), mode="translation"), "unknown mode 'translation'"),
])
def test_seq2seq_argument_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()
