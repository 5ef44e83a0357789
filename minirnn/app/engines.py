"""Which engine a model runs on, and the facts about it that a checkpoint records."""
from __future__ import annotations

import logging
from typing import Callable

from minirnn.catalog import BACKENDS

#: why the cuda engine cannot be chosen on a machine without it
CUDA_MISSING = ("backend 'cuda' needs an NVIDIA GPU with a working CUDA driver and numba-cuda "
                "(pip install 'minirnn[cuda]'); none was found")


def tell(on_note: Callable[[str], None] | None, text: str):
    """A note for the user: to ``on_note`` when given, else to the ``minirnn`` logger (which
    Python prints on stderr when logging is not configured)."""
    if on_note is None:
        logging.getLogger("minirnn").warning(text)
    else:
        on_note(text)


def available_backends() -> list[str]:
    """The engines this machine runs: every one, less cuda without a GPU."""
    return [b for b in BACKENDS if b != "cuda" or _has_cuda()]


def _has_cuda() -> bool:
    """Whether the cuda engine runs here: asked only when it matters, since the asking imports
    numba.cuda, a second or more of a run that never uses it."""
    from minirnn.kernels.cuda_support import cuda_available

    return cuda_available()


def choose_engine(asked: str | None, trained_on: str | None = None,
                  on_note: Callable[[str], None] | None = None) -> str:
    """The engine to run on: ``asked`` (a ValueError if this machine lacks it), else the one a
    model was trained on when this machine has it (a model trained on a GPU runs on the cpu
    engine elsewhere, with a note), else cpu."""
    if asked is not None:
        if asked not in BACKENDS:
            raise ValueError(f"unknown engine {asked!r}; choose one of {', '.join(BACKENDS)}")
        if asked == "cuda" and not _has_cuda():
            raise ValueError(CUDA_MISSING)
        return asked
    if trained_on in BACKENDS and (trained_on != "cuda" or _has_cuda()):
        return trained_on
    if trained_on is not None:
        tell(on_note, f"the model was trained on the {trained_on} engine, which this machine "
                      f"lacks; running it on the cpu engine")
    return "cpu"


def engine_facts(backend: str) -> dict:
    """What a bit-for-bit resume needs to be the same: the engine and its thread count (which
    does not matter in deterministic mode)."""
    from minirnn import __version__
    from minirnn.kernels import deterministic, thread_count

    return {"backend": backend, "threads": thread_count(), "minirnn": __version__,
            "deterministic": deterministic()}


def needs_compiling(model: str, config: dict, backend: str) -> bool:
    """Whether running ``model`` on ``backend`` will first compile recurrence kernels that are
    not in Numba's cache yet (the seconds a first run spends after installing or editing)."""
    from minirnn.kernels.kernel_cache import uncached_kernels

    if backend != "cpu":
        return False
    if model in ("lstm", "gru"):
        family = model
    elif model in ("seq2seq", "multilayer") and config.get("cell", "elman") != "elman":
        family = config["cell"]
    elif model in ("elman", "statespace", "seq2seq"):
        family = "elman"
    elif model in ("memory", "jordan") or (model == "narx" and config.get("mode") == "closed"):
        family = "memory"
    elif model == "multilayer":
        fused = config.get("connectivity") in ("feedback", "output_feedback")
        family = "layered" if fused else "elman"
    else:  # sliding, open-loop NARX: products and copies, nothing long to compile
        return False
    return bool(uncached_kernels([f"minirnn.kernels.{family}.cpu"]))
