"""Delayed sequence to sequence (the seed article's "translation" case), next to synchronous.

A toy translation: a sentence of symbols in, the same symbols REVERSED and spelled in another
alphabet out (a→Z, b→Y, …). The first output word depends on the LAST input word, so a model
must read the whole input before it can say anything:

- synchronous: one output per input step, y_t from x_0 … x_t only. It cannot know the last
  word when it has to say the first, so it gets about half the words right at best;
- delayed: an encoder reads the whole sentence, hands its final state to a decoder, which then
  emits the translation one word at a time (trained with teacher forcing, run greedily).

Sentences have 2 to 5 words, of unequal lengths within a batch.

Run: python examples/delayed_seq2seq.py   (add --quick for a fast smoke run)
"""
import argparse

import numpy as np

import minirnn as mr

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
args = parser.parse_args()
steps = 30 if args.quick else 600

SOURCE, TARGET = "_abcdef", "_ZYXWVU"  # index 0 is padding
V, MAX_LEN = len(SOURCE), 5


def batch(rng, size=64):
    lengths = rng.integers(2, MAX_LEN + 1, size)
    source = np.zeros((size, MAX_LEN), dtype=np.int64)
    target = np.zeros((size, MAX_LEN), dtype=np.int64)
    for b, L in enumerate(lengths):
        source[b, :L] = rng.integers(1, V, L)
        target[b, :L] = source[b, :L][::-1]  # reversed; TARGET spells index i differently
    return source, target, lengths


def show(ids, alphabet, L):
    return "".join(alphabet[i] for i in ids[:L])


rng = np.random.default_rng(0)
delayed = mr.models.Seq2Seq(mr.models.Elman(input_size=V, hidden_size=48, output_size=V, seed=1),
                            mr.models.Elman(input_size=V, hidden_size=48, output_size=V, seed=2),
                            mode="delayed", feedback="argmax")
synchronous = mr.models.Seq2Seq(mr.models.StateSpaceRNN(input_size=V, hidden_size=48, output_size=V,
                                                        seed=3), mode="synchronous")
optimizers = {m: mr.optim.Adam(m.parameters(), lr=0.01) for m in (delayed, synchronous)}
for _ in range(steps):
    source, target, lengths = batch(rng)
    x, mask = mr.models.one_hot(source, V), mr.losses.length_mask(lengths, MAX_LEN)
    for model, opt in optimizers.items():
        opt.zero_grad()
        logits = (model(x, target, lengths=lengths, target_lengths=lengths)
                  if model is delayed else model(x, lengths=lengths))
        loss = mr.losses.cross_entropy(logits, target, mask=mask)
        loss.backward()
        mr.optim.clip_grad_norm(model.parameters(), 1.0)
        opt.step()

TEST = 200
source, target, lengths = batch(np.random.default_rng(99), size=TEST)
x, mask = mr.models.one_hot(source, V), mr.losses.length_mask(lengths, MAX_LEN) > 0
results = {
    "delayed (encoder, then decoder)": delayed.generate(x, MAX_LEN, lengths=lengths).argmax(-1),
    "synchronous (one output per input)": synchronous(x, lengths=lengths).data.argmax(-1),
}
print(f"on {TEST} new sentences, after {steps} training steps of 64 sentences:")
for name, predicted in results.items():
    words = np.mean((predicted == target)[mask])
    sentences = np.mean([np.array_equal(predicted[b, :L], target[b, :L])
                         for b, L in enumerate(lengths)])
    print(f"{name:<36} words right {words:6.1%}   whole sentences right {sentences:6.1%}")
print("\nthe first five of them (input → delayed's translation, expected):")
translations = results["delayed (encoder, then decoder)"]
for b in range(5):
    L = lengths[b]
    print(f"  {show(source[b], SOURCE, L):>5} → {show(translations[b], TARGET, L):<5} "
          f"(expected {show(target[b], TARGET, L)})")
