r"""PyTorch equivalents of minirnn's model families, for ``minirnn bench --training``.

Each class computes the same function as the minirnn model it mirrors (docs/DESIGN.md, "The
models"), written the way a PyTorch user writes that model: ``nn.RNN`` where PyTorch has the
recurrence (Elman, state-space, stacked layers, the seq2seq encoder and decoder; ``nn.LSTM`` and
``nn.GRU`` for the gated cells, whose weights minirnn lays out as PyTorch does), ``nn.Linear``
layers in a Python loop over time where it does not (Jordan, ExplicitMemory), and batched
operations with no loop where the model has no recurrence (the sliding window, open-loop NARX:
``unfold`` cuts the windows of past values, an MLP reads them).

``from_minirnn(model)`` builds the equivalent of a minirnn model, with its sizes, options and
dtype, and copies its parameters into it (``copy_parameters``), so that the two can be checked
against each other and start a benchmark from the same weights.

Layouts (``torch_layout``). minirnn has one hidden bias b_h where ``nn.RNN`` has two, b_ih and
b_hh, added together: the copy puts b_h in b_ih and zeros in b_hh, and both of their gradients
are b_h's. A window cut by ``unfold`` is laid out channel by channel, oldest step first, where
minirnn's delay line is newest first, channels inside: the copy permutes the columns of the
weights that read windows. An initial state learned for every row is a parameter of shape
(layers, 1, H), expanded to the batch.

Only what the mirrored models do is here: NARX in open loop, multi-layer networks with the
"stacked" connectivity and equal layer sizes, seq2seq with a state-space or Elman encoder and
decoder; ``from_minirnn`` rejects the rest.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .models import (GRU, LSTM, NARX, Elman, ExplicitMemory, Jordan, MultiLayerRNN, Seq2Seq,
                     SlidingPredictor)

#: activations as functions of a tensor (minirnn's names)
ACTIVATIONS = {"identity": lambda z: z, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
               "relu": torch.relu, "softmax": lambda z: torch.softmax(z, dim=-1)}


def activation_function(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"no PyTorch equivalent for activation {name!r}")
    return ACTIVATIONS[name]


def rnn_nonlinearity(name: str) -> str:
    """``nn.RNN``'s ``nonlinearity`` for a minirnn hidden activation (tanh or relu)."""
    if name not in ("tanh", "relu"):
        raise ValueError(f"nn.RNN has no {name!r} nonlinearity (only tanh and relu)")
    return name


def windows(v, size: int, lag: int = 0):
    """(B, T, C·size): at each t the values v_{t-lag-size+1} … v_{t-lag}, channel by channel,
    oldest first within a channel (zeros before t = 0), cut by ``unfold``."""
    T = v.shape[1]
    padded = F.pad(v, (0, 0, size - 1 + lag, 0))[:, :T + size - 1]  # zeros in front of time
    return padded.unfold(1, size, 1).flatten(2)  # (B, T, C, size) → (B, T, C·size)


def window_columns(W: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Columns of a weight reading minirnn's delay line (lag by lag, newest first, channels
    inside) reordered to read ``windows`` (channel by channel, oldest first); a permutation."""
    rows = W.shape[0]
    return W.reshape(rows, size, channels)[:, ::-1].transpose(0, 2, 1).reshape(rows, -1)


class TorchSlidingPredictor(nn.Module):
    r"""Sliding window (``SlidingPredictor``), no recurrence: an MLP on a window of inputs,

        e_t = [x_t, x_{t-1}, …, x_{t-N+1}]   (zeros before t = 0)
        y_t = g(W_hy f(W_xh e_t + b_h) + b_y)

    with the windows of every step cut at once (``unfold``); ``hidden`` holds W_xh, b_h and
    ``out`` W_hy, b_y."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, window: int,
                 activation: str = "tanh", output_activation: str = "identity"):
        super().__init__()
        self.window = window
        self.f, self.g = activation_function(activation), activation_function(output_activation)
        self.hidden = nn.Linear(window * input_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.g(self.out(self.f(self.hidden(windows(x, self.window)))))


class TorchOpenLoopNARX(nn.Module):
    r"""NARX in open loop (``NARX(mode="open")``), no recurrence: an MLP on delayed inputs and
    the TRUE past outputs,

        h_t = f(W_xh [x_t, …, x_{t-L}] + W_yh [y_{t-1}, …, y_{t-K}] + b_h)   (zeros before 0)
        y_t = g(W_hy h_t + b_y)

    with both windows of every step cut at once (``unfold``) and read by one ``nn.Linear``
    (``hidden``: [W_xh W_yh] and b_h); ``out`` holds W_hy, b_y."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, input_delays: int,
                 output_delays: int, activation: str = "tanh",
                 output_activation: str = "identity"):
        super().__init__()
        self.input_delays, self.output_delays = input_delays, output_delays
        self.f, self.g = activation_function(activation), activation_function(output_activation)
        self.hidden = nn.Linear((input_delays + 1) * input_size + output_delays * output_size,
                                hidden_size)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, x, y):
        regressors = torch.cat([windows(x, self.input_delays + 1),
                                windows(y, self.output_delays, lag=1)], dim=2)
        return self.g(self.out(self.f(self.hidden(regressors))))


class TorchRNN(nn.Module):
    r"""Elman, state-space and stacked multi-layer RNN: ``nn.RNN`` and an ``nn.Linear`` output,

        h^l_t = f(W_xh^l h^{l-1}_t + W_hh^l h^l_{t-1} + b_h^l)   (h^{-1}_t = x_t)
        y_t = g(W_hy h^{L-1}_t + b_y)

    with h^l_{-1} = 0 (``Elman``), or learned (``learn_initial_state``: ``StateSpaceRNN``,
    and every layer of ``MultiLayerRNN``). ``rnn`` holds W_xh^l, W_hh^l and b_h^l (split
    into b_ih + b_hh), ``out`` W_hy, b_y, ``h0`` the learned states (layers, 1, H)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 num_layers: int = 1, learn_initial_state: bool = False,
                 activation: str = "tanh", output_activation: str = "identity"):
        super().__init__()
        self.g = activation_function(output_activation)
        self.rnn = nn.RNN(input_size, hidden_size, num_layers=num_layers,
                          nonlinearity=rnn_nonlinearity(activation), batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.h0 = (nn.Parameter(torch.zeros(num_layers, 1, hidden_size))
                   if learn_initial_state else None)

    def forward(self, x):
        h0 = None if self.h0 is None else self.h0.expand(-1, x.shape[0], -1).contiguous()
        return self.g(self.out(self.rnn(x, h0)[0]))


class TorchGated(nn.Module):
    r"""LSTM and GRU (``LSTM``, ``GRU``): ``nn.LSTM`` or ``nn.GRU`` and an ``nn.Linear`` output,
    y_t = g(W_hy h_t + b_y). minirnn's W_xh, W_hh, b_xh, b_hh are the cell's ``weight_ih_l0``,
    ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` unchanged (gate rows [i|f|g|o] and
    [r|z|n] in both); a learned initial state is ``h0`` (and ``c0``), (layers, 1, H) each.
    Several layers (``MultiLayerRNN(cell=…)``, stacked) are the cell's ``num_layers``."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, output_size: int,
                 num_layers: int = 1, learn_initial_state: bool = False,
                 output_activation: str = "identity"):
        super().__init__()
        self.cell = cell
        self.g = activation_function(output_activation)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(input_size, hidden_size,
                                                            num_layers=num_layers,
                                                            batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        parts = ("h0", "c0") if cell == "lstm" else ("h0",)
        self.learned = parts if learn_initial_state else ()
        for part in self.learned:
            setattr(self, part, nn.Parameter(torch.zeros(num_layers, 1, hidden_size)))

    def forward(self, x):
        state = None
        if self.learned:
            state = tuple(getattr(self, p).expand(-1, x.shape[0], -1).contiguous()
                          for p in self.learned)
            state = state if self.cell == "lstm" else state[0]
        return self.g(self.out(self.rnn(x, state)[0]))


class TorchJordan(nn.Module):
    r"""Jordan network (``Jordan``): ``nn.Linear`` layers in a loop over time,

        m_t = μ m_{t-1} + (1-μ) y_{t-1}
        h_t = f(W_xh x_t + W_mh m_t + b_h)
        y_t = g(W_hy h_t + b_y)            (m_{-1} = y_{-1} = 0)

    with W_xh x_t + b_h of every step computed before the loop (``inp``); ``read`` holds W_mh,
    ``out`` W_hy, b_y; μ is a parameter with ``learn_mu``, a buffer otherwise."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, mu: float = 0.5,
                 learn_mu: bool = False, activation: str = "tanh",
                 output_activation: str = "identity"):
        super().__init__()
        self.f, self.g = activation_function(activation), activation_function(output_activation)
        self.inp = nn.Linear(input_size, hidden_size)
        self.read = nn.Linear(output_size, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, output_size)
        if learn_mu:
            self.mu = nn.Parameter(torch.tensor(float(mu)))
        else:
            self.register_buffer("mu", torch.tensor(float(mu)))

    def forward(self, x):
        a = self.inp(x)
        keep, take = self.mu, 1 - self.mu
        y = m = x.new_zeros(x.shape[0], self.out.out_features)
        outputs = []
        for t in range(x.shape[1]):
            m = keep * m + take * y
            y = self.g(self.out(self.f(a[:, t] + self.read(m))))
            outputs.append(y)
        return torch.stack(outputs, dim=1)


class TorchExplicitMemory(nn.Module):
    r"""Explicit memory (``ExplicitMemory``): ``nn.Linear`` layers in a loop over time,

        m_t = r(W_ym y_{t-1} + W_hm h_{t-1} + W_mm m_{t-1} + b_m)
        h_t = f(W_xh x_t + W_mh m_t + b_h)
        y_t = g(W_hy h_t + b_y)            (m_{-1} = h_{-1} = y_{-1} = 0)

    with W_xh x_t + b_h of every step computed before the loop (``inp``); ``memory`` reads
    [y_{t-1}, h_{t-1}, m_{t-1}] in one product ([W_ym W_hm W_mm] and b_m), ``read`` holds
    W_mh, ``out`` W_hy, b_y."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 memory_size: int | None = None, memory_activation: str = "tanh",
                 activation: str = "tanh", output_activation: str = "identity"):
        super().__init__()
        M = hidden_size if memory_size is None else memory_size
        self.r = activation_function(memory_activation)
        self.f, self.g = activation_function(activation), activation_function(output_activation)
        self.inp = nn.Linear(input_size, hidden_size)
        self.memory = nn.Linear(output_size + hidden_size + M, M)
        self.read = nn.Linear(M, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        B = x.shape[0]
        a = self.inp(x)
        y = x.new_zeros(B, self.out.out_features)
        h = x.new_zeros(B, self.inp.out_features)
        m = x.new_zeros(B, self.memory.out_features)
        outputs = []
        for t in range(x.shape[1]):
            m = self.r(self.memory(torch.cat([y, h, m], dim=1)))
            h = self.f(a[:, t] + self.read(m))
            y = self.g(self.out(h))
            outputs.append(y)
        return torch.stack(outputs, dim=1)


class TorchSeq2Seq(nn.Module):
    r"""Delayed sequence to sequence with teacher forcing (``Seq2Seq(mode="delayed",
    feedback="value")``, as ``minirnn train seq2seq`` builds it): two ``nn.RNN``,

        encoder  s_t = f(W_xh x_t + W_hh s_{t-1} + b_h),  s_{-1} = h0 (learned)
        decoder  h_k = f(V_xh y_{k-1} + V_hh h_{k-1} + c_h),  h_{-1} = s_{T-1},  y_{-1} = 0
                 ŷ_k = g(V_hy h_k + c_y)

    the decoder reading the TRUE previous outputs y_{k-1} (the target shifted one step right
    behind zeros). The encoder's outputs are not used, so it has no output layer."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 activation: str = "tanh", output_activation: str = "identity"):
        super().__init__()
        nonlinearity = rnn_nonlinearity(activation)
        self.g = activation_function(output_activation)
        self.encoder = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity,
                              batch_first=True)
        self.h0 = nn.Parameter(torch.zeros(1, 1, hidden_size))
        self.decoder = nn.RNN(output_size, hidden_size, nonlinearity=nonlinearity,
                              batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, x, target):
        _, state = self.encoder(x, self.h0.expand(-1, x.shape[0], -1).contiguous())
        previous = F.pad(target, (0, 0, 1, 0))[:, :-1]  # y_{k-1}, zeros at k = 0
        return self.g(self.out(self.decoder(previous, state)[0]))


# --- from minirnn ---------------------------------------------------------------------------

def _rnn_layout(arrays: dict, prefix: str, torch_prefix: str, layer: int,
                gradients: bool) -> dict:
    """One ``nn.RNN`` layer's entries from a minirnn Elman layer's (``prefix`` W_xh, ...)."""
    b_h = arrays[f"{prefix}b_h"]
    return {f"{torch_prefix}weight_ih_l{layer}": arrays[f"{prefix}W_xh"],
            f"{torch_prefix}weight_hh_l{layer}": arrays[f"{prefix}W_hh"],
            f"{torch_prefix}bias_ih_l{layer}": b_h,
            f"{torch_prefix}bias_hh_l{layer}": b_h if gradients else np.zeros_like(b_h)}


def _check_seq2seq(model: Seq2Seq):
    if model.mode == "delayed" and model.feedback != "value":
        raise NotImplementedError("TorchSeq2Seq feeds back values (feedback='value')")
    for network in (model.encoder, getattr(model, "decoder", None)):
        if network is not None and not isinstance(network, Elman):
            raise NotImplementedError(f"TorchSeq2Seq is made of Elman / state-space RNNs, "
                                      f"not {type(network).__name__}")
    if model.mode == "delayed" and (model.encoder.activation != model.decoder.activation or
                                    not model.encoder.learn_initial_state):
        raise NotImplementedError("TorchSeq2Seq: a state-space encoder, and the same "
                                  "activation in the encoder and the decoder")


#: a gated cell's parameters in PyTorch (per layer, ``_l{l}``) and in minirnn: the same arrays
GATED_NAMES = {"weight_ih": "W_xh", "weight_hh": "W_hh", "bias_ih": "b_xh", "bias_hh": "b_hh"}


def torch_layout(model, arrays: dict, gradients: bool = False) -> dict:
    """The entries of the PyTorch equivalent's ``state_dict`` (name -> NumPy array) from
    minirnn ``model``'s arrays (name -> array, its ``state_dict()`` or its gradients). Each
    entry is a rearrangement of minirnn's, except b_hh of ``nn.RNN``: zeros for the values,
    and (``gradients=True``) b_h's gradient, which b_ih and b_hh both have. A minirnn
    parameter the equivalent does not use (the delayed seq2seq encoder's output layer) has
    no entry."""
    a = arrays
    if isinstance(model, SlidingPredictor):
        return {"hidden.weight": window_columns(a["W_xh"], model.window, model.input_size),
                "hidden.bias": a["b_h"], "out.weight": a["W_hy"], "out.bias": a["b_y"]}
    if isinstance(model, NARX):
        W = np.concatenate([
            window_columns(a["W_xh"], model.input_delays + 1, model.input_size),
            window_columns(a["W_yh"], model.output_delays, model.output_size)], axis=1)
        return {"hidden.weight": W, "hidden.bias": a["b_h"], "out.weight": a["W_hy"],
                "out.bias": a["b_y"]}
    if isinstance(model, Elman):
        layout = {**_rnn_layout(a, "", "rnn.", 0, gradients), "out.weight": a["W_hy"],
                  "out.bias": a["b_y"]}
        if model.learn_initial_state:
            layout["h0"] = a["h0"].reshape(1, 1, -1)
        return layout
    if isinstance(model, (LSTM, GRU)):
        layout = {f"rnn.{torch_name}_l0": a[name] for torch_name, name in GATED_NAMES.items()}
        layout.update({"out.weight": a["W_hy"], "out.bias": a["b_y"]})
        for part in model.state_parts if model.learn_initial_state else ():
            layout[f"{part}0"] = a[f"{part}0"].reshape(1, 1, -1)
        return layout
    if isinstance(model, MultiLayerRNN):
        layers = range(len(model.layer))
        layout = {"out.weight": a["W_hy"], "out.bias": a["b_y"],
                  "h0": np.stack([a[f"layer{l}.h0"] for l in layers])[:, None]}
        if model.cell == "lstm":
            layout["c0"] = np.stack([a[f"layer{l}.c0"] for l in layers])[:, None]
        for l in layers:
            if model.cell == "elman":
                layout.update(_rnn_layout(a, f"layer{l}.", "rnn.", l, gradients))
            else:
                layout.update({f"rnn.{torch_name}_l{l}": a[f"layer{l}.{name}"]
                               for torch_name, name in GATED_NAMES.items()})
        return layout
    if isinstance(model, Jordan):
        return {"inp.weight": a["W_xh"], "inp.bias": a["b_h"], "read.weight": a["W_mh"],
                "out.weight": a["W_hy"], "out.bias": a["b_y"], "mu": a["mu"]}
    if isinstance(model, ExplicitMemory):
        return {"inp.weight": a["W_xh"], "inp.bias": a["b_h"],
                "memory.weight": np.concatenate([a["W_ym"], a["W_hm"], a["W_mm"]], axis=1),
                "memory.bias": a["b_m"], "read.weight": a["W_mh"], "out.weight": a["W_hy"],
                "out.bias": a["b_y"]}
    if isinstance(model, Seq2Seq):
        _check_seq2seq(model)
        if model.mode == "synchronous":  # the encoder alone
            return torch_layout(model.encoder,
                                {k[len("encoder."):]: v for k, v in a.items()
                                 if k.startswith("encoder.")}, gradients)
        return {**_rnn_layout(a, "encoder.", "encoder.", 0, gradients),
                "h0": a["encoder.h0"].reshape(1, 1, -1),
                **_rnn_layout(a, "decoder.", "decoder.", 0, gradients),
                "out.weight": a["decoder.W_hy"], "out.bias": a["decoder.b_y"]}
    raise NotImplementedError(f"no PyTorch equivalent for {type(model).__name__}")


def torch_equivalent(model) -> nn.Module:
    """The PyTorch model computing what minirnn ``model`` computes (its sizes and options, in
    its dtype), with PyTorch's own initial weights (``from_minirnn`` copies minirnn's)."""
    if isinstance(model, NARX) and model.mode != "open":
        raise NotImplementedError("a PyTorch NARX is here in open loop only (mode='open')")
    if isinstance(model, Seq2Seq):
        _check_seq2seq(model)
        if model.mode == "synchronous":
            return torch_equivalent(model.encoder)
        e = model.encoder
        built = TorchSeq2Seq(e.input_size, e.hidden_size, model.decoder.output_size,
                             e.activation, model.decoder.output_activation)
        return built.to(getattr(torch, str(model.dtype)))
    sizes = {"input_size": model.input_size, "output_size": model.output_size}
    acts = {"activation": model.activation, "output_activation": model.output_activation}
    if isinstance(model, SlidingPredictor):
        built = TorchSlidingPredictor(**sizes, hidden_size=model.hidden_size,
                                      window=model.window, **acts)
    elif isinstance(model, NARX):
        built = TorchOpenLoopNARX(**sizes, hidden_size=model.hidden_size,
                                  input_delays=model.input_delays,
                                  output_delays=model.output_delays, **acts)
    elif isinstance(model, Elman):
        built = TorchRNN(**sizes, hidden_size=model.hidden_size,
                         learn_initial_state=model.learn_initial_state, **acts)
    elif isinstance(model, (LSTM, GRU)):
        built = TorchGated("lstm" if isinstance(model, LSTM) else "gru", **sizes,
                           hidden_size=model.hidden_size,
                           learn_initial_state=model.learn_initial_state,
                           output_activation=model.output_activation)
    elif isinstance(model, MultiLayerRNN):
        if model.connectivity != "stacked" or len(set(model.hidden_sizes)) != 1:
            raise NotImplementedError("a PyTorch multi-layer RNN is here nn.RNN's: the "
                                      "'stacked' connectivity, every layer the same size")
        layers = {"hidden_size": model.hidden_sizes[0], "num_layers": len(model.hidden_sizes),
                  "learn_initial_state": True}
        built = (TorchRNN(**sizes, **layers, **acts) if model.cell == "elman" else
                 TorchGated(model.cell, **sizes, **layers,
                            output_activation=model.output_activation))
    elif isinstance(model, Jordan):
        built = TorchJordan(**sizes, hidden_size=model.hidden_size, mu=float(model.mu.data),
                            learn_mu=model.mu.requires_grad, **acts)
    elif isinstance(model, ExplicitMemory):
        built = TorchExplicitMemory(**sizes, hidden_size=model.hidden_size,
                                    memory_size=model.memory_size,
                                    memory_activation=model.memory_activation, **acts)
    else:
        raise NotImplementedError(f"no PyTorch equivalent for {type(model).__name__}")
    return built.to(getattr(torch, str(model.dtype)))


def copy_parameters(source, target: nn.Module) -> nn.Module:
    """Copy minirnn model ``source``'s parameters into its PyTorch equivalent ``target``
    (``torch_layout``); every entry of the target's ``state_dict`` is set."""
    layout = torch_layout(source, source.state_dict())
    target.load_state_dict({name: torch.from_numpy(np.ascontiguousarray(value))
                            for name, value in layout.items()}, strict=True)
    return target


def from_minirnn(model) -> nn.Module:
    """The PyTorch equivalent of minirnn ``model`` (``torch_equivalent``) with its parameters
    copied (``copy_parameters``)."""
    return copy_parameters(model, torch_equivalent(model))
