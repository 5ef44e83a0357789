"""The benchmark's case in the other frameworks: the forward + backward that ``bench.model_step``
times in minirnn, written in PyTorch (``torch_step``: ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` and
an ``nn.Linear`` output, on the CPU or with cuDNN on the GPU) and in JAX (``jax_step``: a
jitted ``lax.scan``), for ``bench.run_benchmarks``'s ratios. Neither framework is needed to
import this module: each is imported when its step is made, and ``torch_available`` /
``jax_available`` say whether it can be.
"""
from __future__ import annotations

import numpy as np


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def torch_step(batch: int, steps: int, hidden: int, dtype: str = "float32", seed: int = 0,
               device: str = "cpu", loss: str = "weighted", cell: str = "statespace"):
    """A callable doing the same forward + backward in PyTorch: ``nn.RNN`` (tanh, one layer;
    ``nn.LSTM`` or ``nn.GRU`` for a gated ``cell``) and an ``nn.Linear`` output, gradients of
    every parameter and of x; on the CPU in as many threads as Numba uses, or with
    ``device="cuda"`` on the GPU (cuDNN's RNN), waiting for the GPU to finish each call. On the
    GPU, TF32 is turned off for cuDNN and cuBLAS (PyTorch lets cuDNN use it by default):
    float32 is then float32 on both sides, as in the cuda engine."""
    import numba
    import torch

    if device == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False

    torch.set_num_threads(numba.get_num_threads())
    torch.manual_seed(seed)
    tdtype = getattr(torch, dtype)
    layer = {"statespace": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = layer(hidden, hidden, batch_first=True).to(device=device, dtype=tdtype)
    out = torch.nn.Linear(hidden, hidden).to(device=device, dtype=tdtype)
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.standard_normal((batch, steps, hidden)), dtype=tdtype, device=device,
                     requires_grad=True)
    weights = torch.tensor(rng.standard_normal((batch, steps, hidden)), dtype=tdtype,
                           device=device)
    finish = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step():
        for p in (*rnn.parameters(), *out.parameters()):
            p.grad = None
        x.grad = None
        y = out(rnn(x)[0])
        (torch.nn.functional.mse_loss(y, weights) if loss == "mse" else
         (y * weights).sum()).backward()
        finish()

    return step


def jax_available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def _jax_cell(cell: str, hidden: int):
    """(rows per unit of W_xh and W_hh, the scan's step (state, a_t, p) -> (state, h_t), and
    the initial state from the parameters and the batch) of a JAX RNN: tanh, LSTM or GRU, the
    equations of ``models.elman`` and ``models.gated``."""
    import jax
    import jax.numpy as jnp

    H = hidden
    if cell == "lstm":
        def step(state, a_t, p):
            h, c = state
            z = a_t + h @ p["W_hh"].T
            i, f = jax.nn.sigmoid(z[:, :H]), jax.nn.sigmoid(z[:, H:2 * H])
            g, o = jnp.tanh(z[:, 2 * H:3 * H]), jax.nn.sigmoid(z[:, 3 * H:])
            c = f * c + i * g
            h = o * jnp.tanh(c)
            return (h, c), h
        return 4, step, lambda p, B: (jnp.zeros((B, H), p["W_hh"].dtype),) * 2
    if cell == "gru":
        def step(h, a_t, p):
            u = h @ p["W_hh"].T + p["b_hh"]
            r = jax.nn.sigmoid(a_t[:, :H] + u[:, :H])
            z = jax.nn.sigmoid(a_t[:, H:2 * H] + u[:, H:2 * H])
            n = jnp.tanh(a_t[:, 2 * H:] + r * u[:, 2 * H:])
            h = (1 - z) * n + z * h
            return h, h
        return 3, step, lambda p, B: jnp.zeros((B, H), p["W_hh"].dtype)

    def step(h, a_t, p):
        h = jnp.tanh(a_t + h @ p["W_hh"].T)
        return h, h
    return 1, step, lambda p, B: jnp.broadcast_to(p["h0"], (B, H))


def jax_step(batch: int, steps: int, hidden: int, dtype: str = "float32", seed: int = 0,
             loss: str = "weighted", cell: str = "statespace"):
    """A callable doing the same forward + backward in JAX on the CPU, written as JAX users
    write an RNN: ``jax.jit(jax.value_and_grad(…))`` of a ``lax.scan`` over time, with the
    input projection W_xh x_t + b_h hoisted out of the scan (one product over every step);
    the state-space RNN's learned h0 (a gated ``cell``: an LSTM or GRU from a zero state);
    gradients of every parameter and of x. XLA picks its own threads."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(hidden)
    gates, cell_step, initial = _jax_cell(cell, hidden)
    G = gates * hidden
    shapes = {"W_xh": (G, hidden), "W_hh": (G, hidden), "b_h": (G,), "b_hh": (G,),
              "W_hy": (hidden, hidden), "b_y": (hidden,), "h0": (hidden,)}
    params = {name: jnp.asarray(rng.uniform(-bound, bound, shape).astype(dtype))
              for name, shape in shapes.items()}
    x = jnp.asarray(rng.standard_normal((batch, steps, hidden)).astype(dtype))
    weights = jnp.asarray(rng.standard_normal((batch, steps, hidden)).astype(dtype))

    def objective(p, x):
        a = x @ p["W_xh"].T + p["b_h"]  # (B, T, G·H), outside the scan
        _, hs = jax.lax.scan(lambda state, a_t: cell_step(state, a_t, p), initial(p, batch),
                             jnp.swapaxes(a, 0, 1))
        y = jnp.swapaxes(hs, 0, 1) @ p["W_hy"].T + p["b_y"]
        return jnp.mean((y - weights) ** 2) if loss == "mse" else jnp.sum(y * weights)

    gradient = jax.jit(jax.value_and_grad(objective, argnums=(0, 1)))

    def step():
        jax.block_until_ready(gradient(params, x))

    return step
