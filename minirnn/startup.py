"""How long the ``minirnn`` command takes to answer, each time in a fresh process as a user
runs it: ``--help``, ``minirnn models``, a usage error, and a warm one-epoch training run
(its kernels already in Numba's cache), beside the Python interpreter alone and the imports
the command cannot do without (NumPy and Numba, and Numba's CPU target) for scale; and the
same one-epoch run with an empty kernel cache (``cold_start``). ``minirnn bench --startup``.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

#: (what, the command's arguments, or the Python code for a baseline)
CASES = [
    ("python -c pass", ("-c", "pass")),
    ("import numpy", ("-c", "import numpy")),
    ("import numpy, numba", ("-c", "import numpy, numba")),
    # what any run of a cached Numba kernel waits for, however little it loads: the imports,
    # Numba's CPU target and its runtime (NRT), as the command starts them (the garbage
    # collector paused, then every object frozen: ``cli/common.py``; the target's registries
    # are left unfilled: ``kernels/kernel_cache.py``)
    ("numba's runtime ready, collector paused",
     ("-c", "import gc; gc.disable(); import numpy, numba; "
            "from numba.core.registry import cpu_target; from numba.core.runtime import rtsys; "
            "rtsys.initialize(cpu_target.target_context); gc.freeze()")),
    ("minirnn --help", ("-m", "minirnn.cli", "--help")),
    ("minirnn models", ("-m", "minirnn.cli", "models")),
    ("minirnn train --hidden x", ("-m", "minirnn.cli", "train", "elman", "--hidden", "x")),
    ("minirnn train --help", ("-m", "minirnn.cli", "train", "--help")),
    ("minirnn train elman --data sine --epochs 1",
     ("-m", "minirnn.cli", "train", "elman", "--data", "sine", "--epochs", "1")),
]


#: the run timed with an empty kernel cache: a user's first run after installing
COLD_CASE = ("minirnn train elman --data sine --epochs 1 (empty kernel cache)",
             ("-m", "minirnn.cli", "train", "elman", "--data", "sine", "--epochs", "1"))


def user_environment(**extra) -> dict:
    """This process's environment with ``extra``, as a user's shell has it for a timed run:
    Python caches the modules' bytecode (``PYTHONDONTWRITEBYTECODE`` dropped: with it, every
    run of an editable install compiled minirnn's sources again, a tenth of a second)."""
    env = dict(os.environ, **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _seconds(args: tuple, folder: str, env: dict | None = None, check: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=folder, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=check, env=env or user_environment())
    return time.perf_counter() - start


def cold_start(repeat: int = 3) -> dict:
    """{"case", "median_s", "min_s"} of ``COLD_CASE`` over ``repeat`` runs, each with Numba's
    cache in a new empty folder (``NUMBA_CACHE_DIR``), so that it compiles every kernel it
    uses, as the first run after installing minirnn does."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(repeat):
            cache = os.path.join(folder, f"cache{run}")
            os.mkdir(cache)
            times.append(_seconds(COLD_CASE[1], folder,
                                  env=user_environment(NUMBA_CACHE_DIR=cache), check=True))
    return {"case": COLD_CASE[0], "median_s": statistics.median(times), "min_s": min(times)}


def startup_table(repeat: int = 5) -> list:
    """[{"case", "median_s", "min_s"}] over ``repeat`` runs of each case, the cases taken in
    turns (each round runs every case once) so that a machine's busy moment falls on all of
    them alike. A first untimed round warms the kernel cache, the file cache and Python's
    bytecode cache."""
    with tempfile.TemporaryDirectory() as folder:
        for _, args in CASES:
            _seconds(args, folder)
        times = {what: [] for what, _ in CASES}
        for _ in range(repeat):
            for what, args in CASES:
                times[what].append(_seconds(args, folder))
    return [{"case": what, "median_s": statistics.median(t), "min_s": min(t)}
            for what, t in times.items()]
