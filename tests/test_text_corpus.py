"""The built-in sentence corpus: English sentences whose filler phrase says nothing about the
answer, and the blank's scores (accuracy, likelihood) by hand."""
from collections import Counter

import numpy as np
import pytest

import minirnn as mr
from minirnn.data.text import (CLUES, PHRASES, PREFIX, TextSeries, make_text_task,
                               meat_sentences, meat_text)
from minirnn.errors import DataError
from minirnn.sweep import lower_is_better


def words_of(ids, vocab):
    return [" ".join(vocab[i] for i in row) for row in ids]


@pytest.mark.parametrize("filler_words", sorted(PHRASES))
def test_each_sentence_is_the_prefix_a_clue_a_whole_phrase_and_is(filler_words):
    ids, answers, vocab = meat_sentences(70, seed=3, filler_words=filler_words)
    assert ids.shape == (70, len(PREFIX) + 2 + filler_words)
    for row, answer in zip(ids, answers, strict=True):
        words = [vocab[i] for i in row]
        clue, phrase = words[len(PREFIX)], " ".join(words[len(PREFIX) + 1:-1])
        assert words[:len(PREFIX)] == PREFIX and words[-1] == "is"
        assert phrase in PHRASES[filler_words] and vocab[answer] == CLUES[clue]


def test_no_fillers_gives_the_article_s_own_sentence():
    ids, answers, vocab = meat_sentences(8, seed=0, filler_words=0)
    sentences = {f"{s} {vocab[a]}" for s, a in zip(words_of(ids, vocab), answers, strict=True)}
    assert "the kind of meat we need to cook steak is beef" in sentences


def test_the_default_phrase_puts_the_clue_six_words_before_the_blank():
    ids, _, vocab = meat_sentences(1)
    words = [vocab[i] for i in ids[0]]
    assert len(words) - words.index(next(w for w in words if w in CLUES)) == 6


def test_every_phrase_comes_with_every_clue_equally_often():
    """Over whole rounds of (clue, phrase) pairs each pair occurs the same number of times, so
    the phrase says nothing about the answer; the built-in stream holds every pair too."""
    pairs = len(CLUES) * len(PHRASES[4])
    ids, _, vocab = meat_sentences(3 * pairs, seed=5)
    at = len(PREFIX)
    seen = Counter((vocab[r[at]], " ".join(vocab[i] for i in r[at + 1:-1])) for r in ids)
    assert len(seen) == pairs and set(seen.values()) == {3}
    stream = meat_text().tokens
    starts = np.flatnonzero(stream == meat_text().vocabulary.index("kind")) - 1
    clues = {(int(stream[s + at]), tuple(stream[s + at + 1:s + at + 5])) for s in starts}
    assert len(clues) == pairs


def test_the_same_seed_gives_the_same_sentences_and_another_seed_others():
    first, again, other = (meat_sentences(40, seed=s)[0] for s in (1, 1, 2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("filler_words", [-1, 7, 2.5, "4", True])
def test_a_filler_length_without_phrases_is_one_line_naming_the_allowed_ones(filler_words):
    with pytest.raises(DataError, match=r"^filler_words must be one of 0, 1, 2, 3, 4, 5, 6, "
                                        r"not .+$"):
        meat_sentences(4, filler_words=filler_words)


def test_no_sentences_is_an_error():
    with pytest.raises(DataError, match="count must be at least 1"):
        meat_sentences(0)


def test_the_vocabulary_holds_every_word_once():
    vocab = mr.data.vocabulary()
    assert len(vocab) == len(set(vocab))
    for length, phrases in PHRASES.items():
        assert all(len(p.split()) == length for p in phrases)
        assert {w for p in phrases for w in p.split()} <= set(vocab)


def tiny_task():
    """Six sentences "a x ." / "a y ." with "a" as the blank word; rows 0-8 train, 9-11
    validate, 12-16 test."""
    vocab = ["a", "x", "y", "b", "."]
    words = "a x . a x . a y . a x . a y . a y .".split()
    series = TextSeries(np.array([vocab.index(w) for w in words]), vocab, "tiny", blank="a")
    return make_text_task(series, split=(9 / 17, 3 / 17))


def test_the_blank_likelihood_is_the_geometric_mean_probability_of_the_right_word():
    """By hand: after "a" the training rows hold x, x, y (bigram p(x|a) = 2/3, p(y|a) = 1/3);
    the model gives the right word p = 1/2 at one blank row and 1/4 at the other."""
    task = tiny_task()
    V, T = task.vocabulary_size, len(task.y)
    logits = np.zeros((T, V))
    blank_rows = np.flatnonzero(task.series.tokens[:-1] == 0)
    test_rows = [t for t in blank_rows if t >= task.val_end]
    # p(right) = e^l / (e^l + V - 1): 1/2 with e^l = V - 1, 1/4 with e^l = (V - 1) / 3
    for t, odds in zip(test_rows, (V - 1, (V - 1) / 3), strict=True):
        logits[t, task.y[t, 0]] = np.log(odds)
    test = task.score(logits)["test"]
    assert test["model"]["blank_likelihood"] == pytest.approx(np.sqrt(1 / 2 * 1 / 4), rel=1e-12)
    right = [task.y[t, 0] for t in test_rows]
    bigram = {1: 2 / 3, 2: 1 / 3}
    expected = np.sqrt(bigram[right[0]] * bigram[right[1]])
    assert test["naive"]["blank_likelihood"] == pytest.approx(expected, rel=1e-12)
    assert task.metric == "blank_likelihood" and not task.lower_is_better


def test_a_word_the_bigram_never_saw_there_gives_it_likelihood_zero():
    vocab = ["a", "x", "y", "."]
    words = "a x . a x . a x . a y . a y .".split()
    series = TextSeries(np.array([vocab.index(w) for w in words]), vocab, "tiny", blank="a")
    task = make_text_task(series, split=(8 / 14, 3 / 14))
    scores = task.score(np.zeros((len(task.y), len(vocab))))
    assert scores["test"]["naive"]["blank_likelihood"] == 0.0


def test_a_sweep_ranks_likelihoods_and_accuracies_high_and_errors_low():
    assert not lower_is_better("blank_likelihood") and not lower_is_better("accuracy")
    assert lower_is_better("rmse") and lower_is_better("scaled_rmse")
