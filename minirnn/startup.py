"""How long the ``minirnn`` command takes to answer, each time in a fresh process as a user
runs it: ``--help``, ``minirnn models``, a usage error, and a warm one-epoch training run
(its kernels already in Numba's cache), beside the Python interpreter alone and the imports
the command cannot do without (NumPy and Numba) for scale. ``minirnn bench --startup``.
"""
from __future__ import annotations

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
    ("minirnn --help", ("-m", "minirnn.cli", "--help")),
    ("minirnn models", ("-m", "minirnn.cli", "models")),
    ("minirnn train --hidden x", ("-m", "minirnn.cli", "train", "elman", "--hidden", "x")),
    ("minirnn train --help", ("-m", "minirnn.cli", "train", "--help")),
    ("minirnn train elman --data sine --epochs 1",
     ("-m", "minirnn.cli", "train", "elman", "--data", "sine", "--epochs", "1")),
]


def _seconds(args: tuple, folder: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=folder, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def startup_table(repeat: int = 5) -> list:
    """[{"case", "median_s", "min_s"}] over ``repeat`` runs of each case, the cases taken in
    turns (each round runs every case once) so that a machine's busy moment falls on all of
    them alike. A first untimed round warms the kernel cache and the file cache."""
    with tempfile.TemporaryDirectory() as folder:
        for _, args in CASES:
            _seconds(args, folder)
        times = {what: [] for what, _ in CASES}
        for _ in range(repeat):
            for what, args in CASES:
                times[what].append(_seconds(args, folder))
    return [{"case": what, "median_s": statistics.median(t), "min_s": min(t)}
            for what, t in times.items()]
