"""The one-epoch run's start-up before and after a change: two source trees of minirnn, each put
on ``PYTHONPATH`` in fresh processes, in alternating rounds, timing ``minirnn train elman
--data sine --epochs 1`` with an empty kernel cache (``NUMBA_CACHE_DIR`` a new empty folder
each run: everything the run uses is compiled) and with a warm one (each tree's own cache,
filled by an untimed first run).

    git archive <before> | tar -x -C /tmp/before
    python scripts/startup_before_after.py /tmp/before . --cold 3 --warm 7

Printed: per tree, the median and minimum wall time of each kind of run, and the CPU time of
the empty-cache runs (less sensitive to other work on the machine).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ARGUMENTS = ["train", "elman", "--data", "sine", "--epochs", "1"]

#: ``python -m minirnn.cli`` with the tree's own command line: its ``cli/`` folder installs as
#: ``minirnn.cli`` (pyproject.toml), which an editable install of another tree would otherwise
#: answer for
COMMAND = ("import os, runpy, sys, minirnn; "
           "minirnn.__path__.append(os.path.dirname(os.path.dirname(minirnn.__file__))); "
           "sys.argv = ['minirnn', *sys.argv[1:]]; "
           "runpy.run_module('minirnn.cli', run_name='__main__', alter_sys=True)")


def _run(tree: str, folder: str, cache: str | None = None) -> tuple:
    """(wall seconds, CPU seconds) of one run of ``ARGUMENTS`` on ``tree``."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's shell has it (``startup.py``)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    before, start = os.times(), time.perf_counter()
    subprocess.run([sys.executable, "-c", COMMAND, *ARGUMENTS], cwd=folder, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = os.times()
    cpu = (after.children_user + after.children_system
           - before.children_user - before.children_system)
    return time.perf_counter() - start, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--cold", type=int, default=3, help="empty-cache runs per tree")
    parser.add_argument("--warm", type=int, default=7, help="warm runs per tree")
    args = parser.parse_args()
    trees = {"before": args.before, "after": args.after}
    times = {(name, kind): [] for name in trees for kind in ("cold", "cold_cpu", "warm")}
    with tempfile.TemporaryDirectory() as folder:
        for tree in trees.values():
            _run(tree, folder)  # fills the tree's own cache
        for round_ in range(max(args.cold, args.warm)):
            for name, tree in trees.items():
                if round_ < args.cold:
                    cache = os.path.join(folder, f"cache-{name}-{round_}")
                    os.mkdir(cache)
                    wall, cpu = _run(tree, folder, cache)
                    times[(name, "cold")].append(wall)
                    times[(name, "cold_cpu")].append(cpu)
                if round_ < args.warm:
                    times[(name, "warm")].append(_run(tree, folder)[0])
    for (name, kind), values in times.items():
        if values:
            print(f"{name:7s} {kind:9s} median {statistics.median(values):7.3f} s  "
                  f"min {min(values):7.3f} s  ({len(values)} runs)")


if __name__ == "__main__":
    main()
