r"""Sequence to sequence, the two ways of the seed article.

- ``mode="synchronous"``: one output per input step, y_t from x_0 … x_t (stock prediction,
  labelling every step). That is what every recurrent model already does, so here the encoder
  alone produces the outputs.
- ``mode="delayed"`` (translation): the encoder reads the WHOLE input first; its final state
  becomes the decoder's initial state; the decoder then emits the output sequence, each step
  reading the previous output:

      s = encoder state after x_0 … x_{T-1}
      decoder: y_0 from (start, s), y_1 from (y_0, …), …

  Training uses teacher forcing (the decoder reads the TRUE previous outputs, shifted one step
  right behind a zero "start" vector); inference (``generate``) is greedy: the decoder reads its
  own previous output. For classes (``feedback="argmax"``) outputs are logits and what is fed
  back is the one-hot vector of a class; for values (``feedback="value"``) the value itself.

Batches of unequal lengths: ``lengths`` for the inputs (the encoder's state stops at each row's
end, so each row hands its own final state over) and ``target_lengths`` for the outputs (mask
the loss with ``minirnn.losses.length_mask``).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad
from .base import SequenceModel
from .module import Module

MODES = ("synchronous", "delayed")
FEEDBACK = ("value", "argmax")


def one_hot(ids, classes: int, dtype=np.float64) -> np.ndarray:
    """Integer ids (any shape) → one-hot vectors, shape ids.shape + (classes,): how a word
    or a symbol becomes a model's input (``Seq2Seq`` feeds its decoder its own argmax so)."""
    ids = np.asarray(ids)
    out = np.zeros(ids.shape + (classes,), dtype=dtype)
    np.put_along_axis(out, ids[..., None].astype(np.int64), 1, axis=-1)
    return out


class Seq2Seq(Module):
    """An encoder and (for ``mode="delayed"``) a decoder, any recurrent models of minirnn whose
    states have the same size; the decoder's input size is its output size (it reads its own
    previous output)."""

    def __init__(self, encoder, decoder=None, *, mode: str = "delayed", feedback: str = "value"):
        for role, network in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(network, SequenceModel) and (role == "encoder" or
                                                           network is not None):
                raise TypeError(f"Seq2Seq is made of two models, not sizes: the {role} must be a "
                                f"recurrent model such as StateSpaceRNN(input_size=…, "
                                f"hidden_size=…, output_size=…), got {network!r}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose 'synchronous' or 'delayed'")
        if feedback not in FEEDBACK:
            raise ValueError(f"unknown feedback {feedback!r}; choose 'value' or 'argmax'")
        self.mode, self.feedback = mode, feedback
        self.encoder = encoder
        if mode == "delayed":
            if decoder is None:
                raise ValueError("a delayed Seq2Seq needs a decoder")
            if decoder.input_size != decoder.output_size:
                raise ValueError(f"the decoder reads its previous output: its input_size "
                                 f"({decoder.input_size}) must equal its output_size "
                                 f"({decoder.output_size})")
            if encoder.state_size != decoder.state_size:
                raise ValueError(f"the encoder's state ({encoder.state_size} values) must fit "
                                 f"the decoder's ({decoder.state_size})")
            self.decoder = decoder
        elif decoder is not None:
            raise ValueError("a synchronous Seq2Seq has no decoder: the encoder's outputs are "
                             "the outputs")

    @property
    def dtype(self):
        """The encoder's dtype (the decoder's is the same)."""
        return self.encoder.dtype

    def encode(self, x, lengths=None) -> Tensor:
        """The encoder's final state (B, state_size), each row's own."""
        return self.encoder(x, lengths=lengths, return_state=True)[1]

    def forward(self, x, target=None, lengths=None, target_lengths=None,
                return_states: bool = False):
        """Outputs (B, T_out, O). Synchronous: the encoder's outputs for x. Delayed: trained
        with teacher forcing on ``target`` ((B, T_out, O) values, or (B, T_out) class ids).

        ``return_states``: also return every step's states (``base.py``: the states'
        protocol), the encoder's and the decoder's under their names with "encoder." and
        "decoder." in front (a synchronous model's are its encoder's, unprefixed): their
        ``.grad`` after ``retain_grad()`` and ``backward()`` is ∂L/∂state_t, so the encoder's
        last step shows what the decoder sends back through the handed-over state."""
        if self.mode == "synchronous":
            return self.encoder(x, lengths=lengths, return_states=return_states)
        if target is None:
            raise ValueError("a delayed Seq2Seq needs the target sequence for teacher forcing "
                             "(use generate() at inference)")
        if return_states:
            _, state, encoder_states = self.encoder(x, lengths=lengths, return_state=True,
                                                    return_states=True)
        else:
            state = self.encode(x, lengths)
        previous = self._as_decoder_input(target)
        B, T_out, O = previous.shape
        start = np.zeros((B, 1, O), dtype=previous.dtype)
        decoder_input = np.concatenate([start, previous[:, :-1]], axis=1)
        if not return_states:
            return self.decoder(decoder_input, h=state, lengths=target_lengths)
        y, decoder_states = self.decoder(decoder_input, h=state, lengths=target_lengths,
                                         return_states=True)
        return y, {**{f"encoder.{n}": v for n, v in encoder_states.items()},
                   **{f"decoder.{n}": v for n, v in decoder_states.items()}}

    def _as_decoder_input(self, target) -> np.ndarray:
        target = np.asarray(target.data if isinstance(target, Tensor) else target)
        O = self.decoder.output_size
        if self.feedback == "argmax":
            if target.ndim != 2:
                raise ValueError(f"with feedback='argmax' the target is (batch, steps) class "
                                 f"ids, got shape {target.shape}")
            return one_hot(target, O, self.decoder.dtype)
        if target.ndim != 3 or target.shape[2] != O:
            raise ValueError(f"the target must have shape (batch, steps, {O}), "
                             f"got {target.shape}")
        return target.astype(self.decoder.dtype)

    def generate(self, x, steps: int, lengths=None) -> np.ndarray:
        """Greedy decoding: (B, steps, O) outputs, each step fed the previous one (argmax: as a
        one-hot class); for ``feedback="argmax"`` the class ids (B, steps) are ``.argmax(-1)``."""
        if self.mode == "synchronous":
            raise ValueError("generate() is for delayed Seq2Seq; a synchronous one is model(x)")
        with no_grad():
            state = self.encode(x, lengths)
            B, O = state.shape[0], self.decoder.output_size
            current = np.zeros((B, 1, O), dtype=self.decoder.dtype)
            outputs = []
            for _ in range(steps):
                y, state = self.decoder(current, h=state, return_state=True)
                outputs.append(y.data[:, 0])
                current = (one_hot(y.data.argmax(-1), O, y.dtype) if self.feedback == "argmax"
                           else y.data)
        return np.stack(outputs, axis=1)
