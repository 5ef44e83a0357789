"""The sentence that opens the seed article: "The kind of meat we need to cook steak is __".

The answer (beef) depends on one clue word (steak) that lies several words back: the built-in
sentences put a phrase between them, "the kind of meat we need to cook steak for our family
dinner is __", and the phrase says nothing about the meat (each comes with every clue). A sliding
predictor (time-delay network) sees only its last few words: when the clue is further back than
its window, it can only guess among the four meats. A recurrent model carries the clue in its
state, however far back, and fills the blank.

Word level: each word is a one-hot vector; each model reads the sentence and, at the last word
("is"), predicts the next one. Only that step counts in the loss.

Run: python examples/sentence_completion.py   (add --quick for a fast smoke run)
"""
import argparse

import numpy as np

import minirnn as mr

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
args = parser.parse_args()
steps, sentences = (40, 64) if args.quick else (400, 256)

ids, answers, vocab = mr.data.meat_sentences(sentences, seed=0, filler_words=4)
TEST = 200
test_ids, test_answers, _ = mr.data.meat_sentences(TEST, seed=1, filler_words=4)
V, T = len(vocab), ids.shape[1]
x, x_test = mr.models.one_hot(ids, V), mr.models.one_hot(test_ids, V)
last = np.zeros((sentences, T))
last[:, -1] = 1  # the loss counts only the prediction after the last word
targets = np.zeros((sentences, T), dtype=np.int64)
targets[:, -1] = answers

print(f"{sentences} training sentences like: "
      f"\"{' '.join(vocab[i] for i in ids[0])} __\" → {vocab[answers[0]]}")
print(f"the clue is {T - 8} words before the blank\n")

models = {
    "sliding predictor, window 3": mr.models.SlidingPredictor(input_size=V, hidden_size=32,
                                                              output_size=V, window=3, seed=0),
    "sliding predictor, window 8": mr.models.SlidingPredictor(input_size=V, hidden_size=32,
                                                              output_size=V, window=8, seed=0),
    "Elman": mr.models.Elman(input_size=V, hidden_size=32, output_size=V, seed=0),
    "state-space RNN": mr.models.StateSpaceRNN(input_size=V, hidden_size=32, output_size=V, seed=0),
}
for name, model in models.items():
    opt = mr.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        loss = mr.losses.cross_entropy(model(x), targets, mask=last)
        loss.backward()
        mr.optim.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
    predicted = model(x_test).data[:, -1].argmax(-1)
    accuracy = np.mean(predicted == test_answers)
    window = getattr(model, "window", None)
    sees = ("sees the clue" if window is None or window >= T - 8 else "cannot see the clue")
    print(f"{name:<30} blank right in {accuracy:6.1%} of {TEST} new sentences   ({sees})")
print("\nchance among the four meats is 25%")
