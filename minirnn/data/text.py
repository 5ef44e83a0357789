"""A small built-in text corpus: the seed article's motivating sentence, and variations of it.

    "the kind of meat we need to cook steak for our family dinner is __"   → beef

The answer is decided by one clue word (steak, bacon, wings, chops, …) that comes several words
before the blank; a filler phrase between the clue and the blank ("for our family dinner", "on a
cold evening", …) puts it further back than a short window can see. Every phrase of a length
comes with every clue equally often, so the phrase says nothing about the answer. Generated
from a seed, word level, with a fixed vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import losses
from .series import DataError
from .task import StreamTraining

CLUES = {"steak": "beef", "burger": "beef", "bacon": "pork", "ham": "pork",
         "wings": "chicken", "nuggets": "chicken", "chops": "lamb", "kebab": "lamb"}
# The filler phrases by length in words: every phrase of a length has the same length, so the
# clue's distance to the blank is fixed by ``filler_words`` alone.
PHRASES = {
    0: [""],
    1: ["tonight", "today", "again", "outside", "slowly", "first", "later", "together"],
    2: ["for dinner", "for lunch", "this evening", "this weekend", "on sunday", "at home",
        "for guests", "right now"],
    3: ["for a party", "on the grill", "for our guests", "this sunday evening", "at the cabin",
        "for the family", "in the oven", "for a picnic"],
    4: ["for our family dinner", "on a cold evening", "for a summer party",
        "at the weekend market", "on the new grill", "in a hot oven", "for the school fair",
        "with our best friends"],
    5: ["for a big family dinner", "on a cold winter evening", "for our summer garden party",
        "at the lake this weekend", "in the oven for lunch", "with friends on a sunday",
        "for the guests at home", "on the grill outside tonight"],
    6: ["for our big family dinner tonight", "on a cold and rainy evening",
        "for the summer party at school", "at the cabin by the lake",
        "in the oven for sunday lunch", "with our best friends this weekend",
        "for a picnic in the park", "on the new grill at home"],
}
PREFIX = ["the", "kind", "of", "meat", "we", "need", "to", "cook"]
SUFFIX = ["is"]
PAD = "<pad>"
END = "."
FILLER_WORDS = 4  # the default: the clue comes five words before the blank


def vocabulary() -> list:
    """Every word of the corpus, once, in a fixed order (its index is the word's id): the
    padding word first, then the sentence's words, the phrases' words, clues, answers and the
    full stop."""
    fillers = [w for length in sorted(PHRASES) for p in PHRASES[length] for w in p.split()]
    words = [PAD] + PREFIX + SUFFIX + fillers + sorted(CLUES) + sorted(set(CLUES.values()))
    return list(dict.fromkeys(words + [END]))


def meat_sentences(count: int, seed: int = 0, filler_words: int = FILLER_WORDS):
    """``count`` sentences: PREFIX, a clue, a filler phrase of ``filler_words`` words, "is";
    and their answers.

    ``filler_words`` is 0 to 6 (0: "… cook steak is"). The sentences come in shuffled rounds
    that hold every (clue, phrase) pair once, so each phrase occurs with each clue equally
    often (exactly, over whole rounds: 8 clues × 8 phrases, 8 sentences without a phrase): the
    phrase gives nothing away.

    Returns (ids (count, T) int, answers (count,) int, vocabulary list); T = len(PREFIX) + 2 +
    filler_words, the blank being the step after the last word.
    """
    if isinstance(filler_words, bool) or filler_words not in PHRASES:
        raise DataError(f"filler_words must be one of {', '.join(map(str, sorted(PHRASES)))}, "
                        f"not {filler_words!r}")
    if count < 1:
        raise DataError(f"count must be at least 1 sentence, not {count!r}")
    rng = np.random.default_rng(seed)
    vocab = vocabulary()
    index = {w: i for i, w in enumerate(vocab)}
    pairs = [(c, p) for c in sorted(CLUES) for p in PHRASES[filler_words]]
    order = np.concatenate([rng.permutation(len(pairs)) for _ in range(-(-count // len(pairs)))])
    ids, answers = [], []
    for clue, phrase in (pairs[k] for k in order[:count]):
        words = PREFIX + [clue] + phrase.split() + SUFFIX
        ids.append([index[w] for w in words])
        answers.append(index[CLUES[clue]])
    return np.array(ids).reshape(count, -1), np.array(answers, dtype=np.int64), vocab


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


def meat_text(steps: int = 40_000, seed: int = 0) -> TextSeries:
    """About ``steps`` words of complete sentences, "the kind of meat … is beef .", one after
    another: a word-level language-modelling stream for ``minirnn train``."""
    per_sentence = len(PREFIX) + 1 + FILLER_WORDS + len(SUFFIX) + 2
    ids, answers, vocab = meat_sentences(max(1, steps // per_sentence), seed=seed,
                                         filler_words=FILLER_WORDS)
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
    a ``blank`` word, the predictions right after it are scored alone (for the built-in
    corpus: the meat that the clue decides): ``blank_accuracy``, and ``blank_likelihood``,

        L_blank = exp( mean_{t: word t is the blank word} log p(word t+1 | words ≤ t) ),

    the geometric mean of the probability given to the right word (1: always sure and right;
    1/4 for an even guess among the four meats). The bigram's is its frequency in the
    training rows, p(w | blank word) = n(blank word, w) / n(blank word).
    """

    series: TextSeries
    train_end: int
    val_end: int
    autoregressive: bool = True  # the model reads word t; NARX is not offered for text
    kind, lower_is_better = "text", False

    @property
    def metric(self) -> str:
        """What early stopping watches: the blank's likelihood when the corpus has a blank
        (the word the task is about), else the accuracy over every word.

        Not the blank's accuracy: a model learning to carry the clue first sits at chance
        for 10 to 30 epochs, its argmax still one meat while the probability of the right
        one creeps up; the accuracy stays flat there, and patience counted those epochs as
        no improvement and ended runs that were learning (docs/DESIGN.md, "The text task").
        """
        return "blank_likelihood" if self.series.blank else "accuracy"

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
        counts = self._bigram_counts()
        bigram = counts.argmax(axis=1)[current]
        blank = (current == self.series.vocabulary.index(self.series.blank)
                 if self.series.blank else None)
        report = {}
        for split, rows in self.splits().items():
            model = {"accuracy": float(np.mean(predicted[rows] == target[rows])),
                     "perplexity": float(np.exp(-np.mean(log_p_target[rows])))}
            naive = {"accuracy": float(np.mean(bigram[rows] == target[rows]))}
            if blank is not None and blank[rows].any():
                at = blank[rows]
                now, then = current[rows][at], target[rows][at]
                model["blank_accuracy"] = float(np.mean(predicted[rows][at] == then))
                model["blank_likelihood"] = float(np.exp(np.mean(log_p_target[rows][at])))
                naive["blank_accuracy"] = float(np.mean(bigram[rows][at] == then))
                seen = counts[now, then] / counts[now].sum(axis=1)
                with np.errstate(divide="ignore"):  # a word never seen there: probability 0
                    naive["blank_likelihood"] = float(np.exp(np.mean(np.log(seen))))
            report[split] = {"model": model, "naive": naive}
        return report

    def _bigram_counts(self) -> np.ndarray:
        """n(v, w): how often word w followed word v in the training rows (V, V)."""
        counts = np.zeros((self.vocabulary_size, self.vocabulary_size), dtype=np.int64)
        tokens = self.series.tokens[:self.train_end + 1]
        np.add.at(counts, (tokens[:-1], tokens[1:]), 1)
        return counts


def make_text_task(series: TextSeries, split=(0.7, 0.15)) -> TextTask:
    T = len(series) - 1
    train_end, val_end = int(round(T * split[0])), int(round(T * (split[0] + split[1])))
    if train_end < 8 or val_end - train_end < 1 or T - val_end < 1:
        raise DataError(f"{series.name} has {len(series)} words: too few to split")
    return TextTask(series, train_end, val_end)
