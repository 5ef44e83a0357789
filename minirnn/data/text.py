"""A small built-in text corpus: the seed article's motivating sentence, and variations of it.

    "the kind of meat we need to cook steak is __"   → beef

The answer is decided by one clue word (steak, bacon, wings, chops, …) that comes several words
before the blank; filler words between the clue and the blank put it further back than a short
window can see. Generated from a seed, word level, with a fixed vocabulary.
"""
from __future__ import annotations

import numpy as np

CLUES = {"steak": "beef", "burger": "beef", "bacon": "pork", "ham": "pork",
         "wings": "chicken", "nuggets": "chicken", "chops": "lamb", "kebab": "lamb"}
FILLERS = ["for", "our", "big", "family", "dinner", "on", "a", "cold", "winter", "evening"]
PREFIX = ["the", "kind", "of", "meat", "we", "need", "to", "cook"]
SUFFIX = ["is"]
PAD = "<pad>"


def vocabulary() -> list:
    words = [PAD] + PREFIX + SUFFIX + FILLERS + sorted(CLUES) + sorted(set(CLUES.values()))
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
