"""A small built-in text corpus: the seed article's motivating sentence, and variations of it.

    "the kind of meat we need to cook steak is __"   → beef

The answer is decided by one clue word (steak, bacon, wings, chops, …) that comes several words
before the blank; filler words between the clue and the blank put it further back than a short
window can see. Generated from a seed, word level, with a fixed vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import losses
from .series import DataError
from .task import StreamTraining

CLUES = {"steak": "beef", "burger": "beef", "bacon": "pork", "ham": "pork",
         "wings": "chicken", "nuggets": "chicken", "chops": "lamb", "kebab": "lamb"}
FILLERS = ["for", "our", "big", "family", "dinner", "on", "a", "cold", "winter", "evening"]
PREFIX = ["the", "kind", "of", "meat", "we", "need", "to", "cook"]
SUFFIX = ["is"]
PAD = "<pad>"
END = "."


def vocabulary() -> list:
    """Every word of the corpus, once, in a fixed order (its index is the word's id): the
    padding word first, then the sentence's words, fillers, clues, answers and the full stop."""
    words = [PAD] + PREFIX + SUFFIX + FILLERS + sorted(CLUES) + sorted(set(CLUES.values())) + [END]
    return list(dict.fromkeys(words))


def meat_sentences(count: int, seed: int = 0, filler_words: int = 4):
    """``count`` sentences: PREFIX, a clue, ``filler_words`` fillers, "is"; and their answers.

    Returns (ids (count, T) int, answers (count,) int, vocabulary list); T = len(PREFIX) + 2 +
    filler_words, the blank being the step after the last word.
    """
    rng = np.random.default_rng(seed)
    vocab = vocabulary()
    index = {w: i for i, w in enumerate(vocab)}
    clues = sorted(CLUES)
    ids, answers = [], []
    for _ in range(count):
        clue = clues[rng.integers(len(clues))]
        fillers = list(rng.choice(FILLERS, size=filler_words, replace=True))
        words = PREFIX + [clue] + fillers + SUFFIX
        ids.append([index[w] for w in words])
        answers.append(index[CLUES[clue]])
    return np.array(ids), np.array(answers), vocab


@dataclass
class TextSeries:
    """A stream of word ids (T,) over a vocabulary; ``blank`` is the word after which the
    answer comes ("is"), so that the answer's accuracy can be scored on its own."""

    tokens: np.ndarray
    vocabulary: list
    name: str
    blank: str | None = None

    def __len__(self):
        return len(self.tokens)


def meat_text(steps: int = 10_000, seed: int = 0) -> TextSeries:
    """About ``steps`` words of complete sentences, "the kind of meat … is beef .", one after
    another: a word-level language-modelling stream for ``minirnn train``."""
    per_sentence = len(PREFIX) + 1 + 4 + len(SUFFIX) + 2
    ids, answers, vocab = meat_sentences(max(1, steps // per_sentence), seed=seed)
    end = vocab.index(END)
    rows = [np.concatenate([sentence, [answer, end]])
            for sentence, answer in zip(ids, answers, strict=True)]
    return TextSeries(np.concatenate(rows), vocab, "text", blank="is")


@dataclass
class TextTask(StreamTraining):
    """Next-word prediction on a word stream, split in time like a series.

    x_t is the one-hot vector of word t, the target is word t+1 (its id); the model's outputs
    are logits over the vocabulary, trained with cross-entropy. Scores: accuracy and perplexity
    (e^{cross-entropy}); the naive baseline is the bigram guess (the word that most often
    followed the current one in the training rows), which has no memory beyond one word. With
    a ``blank`` word, ``blank_accuracy`` scores the prediction right after it alone (for the
    built-in corpus: the meat that the clue decides).
    """

    series: TextSeries
    train_end: int
    val_end: int
    autoregressive: bool = True  # the model reads word t; NARX is not offered for text
    kind, lower_is_better = "text", False

    @property
    def metric(self) -> str:
        """What early stopping watches: the blank's accuracy when the corpus has a blank (the
        word the task is about), else the accuracy over every word."""
        return "blank_accuracy" if self.series.blank else "accuracy"

    @property
    def vocabulary_size(self) -> int:
        return len(self.series.vocabulary)

    @property
    def output_size(self) -> int:
        return self.vocabulary_size

    @property
    def model_input_size(self) -> int:
        return self.vocabulary_size

    @property
    def x(self) -> np.ndarray:
        tokens = self.series.tokens[:-1]
        onehot = np.zeros((len(tokens), self.vocabulary_size))
        onehot[np.arange(len(tokens)), tokens] = 1
        return onehot

    @property
    def y(self) -> np.ndarray:
        return self.series.tokens[1:, None].astype(np.int64)

    def loss(self, logits, target):
        return losses.cross_entropy(logits, np.asarray(target)[..., 0])

    def score(self, logits: np.ndarray) -> dict:
        current, target = self.series.tokens[:-1], self.y[:, 0]
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        log_p_target = log_p[np.arange(len(target)), target]  # log p(word t+1 | words ≤ t)
        predicted = logits.argmax(-1)
        bigram = self._bigram_table()[current]
        blank = (current == self.series.vocabulary.index(self.series.blank)
                 if self.series.blank else None)
        report = {}
        for split, rows in self.splits().items():
            model = {"accuracy": float(np.mean(predicted[rows] == target[rows])),
                     "perplexity": float(np.exp(-np.mean(log_p_target[rows])))}
            naive = {"accuracy": float(np.mean(bigram[rows] == target[rows]))}
            if blank is not None and blank[rows].any():
                at = blank[rows]
                model["blank_accuracy"] = float(np.mean(predicted[rows][at] == target[rows][at]))
                naive["blank_accuracy"] = float(np.mean(bigram[rows][at] == target[rows][at]))
            report[split] = {"model": model, "naive": naive}
        return report

    def _bigram_table(self) -> np.ndarray:
        """For each word, the word that most often followed it in the training rows."""
        counts = np.zeros((self.vocabulary_size, self.vocabulary_size), dtype=np.int64)
        tokens = self.series.tokens[:self.train_end + 1]
        np.add.at(counts, (tokens[:-1], tokens[1:]), 1)
        return counts.argmax(axis=1)


def make_text_task(series: TextSeries, split=(0.7, 0.15)) -> TextTask:
    T = len(series) - 1
    train_end, val_end = int(round(T * split[0])), int(round(T * (split[0] + split[1])))
    if train_end < 8 or val_end - train_end < 1 or T - val_end < 1:
        raise DataError(f"{series.name} has {len(series)} words: too few to split")
    return TextTask(series, train_end, val_end)
