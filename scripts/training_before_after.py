"""A whole training step before and after a change, against PyTorch's: two source trees of
minirnn, each put on ``PYTHONPATH`` in a fresh process, in alternating rounds; each process
times the cpu engine's step (``bench.training_step``) and PyTorch's (``bench.
torch_training_step``) in turns, as CPU time of the calling thread (``time.thread_time``: on
a machine shared with other work, the time spent waiting for a core is left out; meant for
``--threads 1``, where each library computes on that thread).

    git archive <before> | tar -x -C /tmp/before
    python scripts/training_before_after.py /tmp/before . --families sliding,narx \\
        --size 32,100,64 --size 1,100,8 --rounds 2 --threads 1

Each process makes two untimed calls of each step (which compile or load the kernels), then
``--repeat`` turns of an untimed and a timed call of each. Printed: per size and family, the
median over the rounds of each round's median (ms) and of PyTorch's time over minirnn's.
"""
from __future__ import annotations

import argparse
import os
import statistics

from source_trees import run_in_tree

CODE = """
import json, statistics, time
from minirnn.kernels.blas import prepare_cpu
from minirnn.bench import training_step, torch_training_step
prepare_cpu()
out = {{}}
for size in {sizes}:
    for family in {families}:
        runs = {{"minirnn": training_step(family, *size, "cpu"),
                 "pytorch": torch_training_step(family, *size)}}
        for run in runs.values():
            run(); run()
        times = {{name: [] for name in runs}}
        for _ in range({repeat}):
            for name, run in runs.items():
                run()
                start = time.thread_time(); run(); times[name].append(time.thread_time() - start)
        out[f"{{family}} {{size}}"] = {{n: 1e3 * statistics.median(t) for n, t in times.items()}}
print(json.dumps(out))
"""


def once(tree: str, sizes, families, repeat: int, threads: int) -> dict:
    return run_in_tree(tree, CODE.format(sizes=sizes, families=families, repeat=repeat),
                       NUMBA_NUM_THREADS=str(threads))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--families", default="sliding,narx")
    parser.add_argument("--size", action="append", default=None, help="B,T,H (repeatable)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sizes = [tuple(map(int, s.split(","))) for s in (args.size or ["32,100,64"])]
    families = args.families.split(",")
    results = {"before": [], "after": []}
    for _ in range(args.rounds):
        for which in ("before", "after"):
            tree = os.path.abspath(getattr(args, which))
            results[which].append(once(tree, sizes, families, args.repeat, args.threads))
    print("case | before ms | after ms | PyTorch ms | x PyTorch before | x PyTorch after")
    for case in results["after"][0]:
        print(" | ".join([case, *summary(results, case)]))


def summary(results: dict, case: str) -> list:
    """The medians over the rounds: minirnn's ms before and after, PyTorch's ms (every
    process), PyTorch's time over minirnn's before and after."""
    def median(which, name):
        return statistics.median(r[case][name] for r in results[which])

    def ratio(which):
        return statistics.median(r[case]["pytorch"] / r[case]["minirnn"] for r in results[which])
    pytorch = statistics.median(r[case]["pytorch"] for w in results.values() for r in w)
    return [f"{median('before', 'minirnn'):.3f}", f"{median('after', 'minirnn'):.3f}",
            f"{pytorch:.3f}", f"{ratio('before'):.2f}", f"{ratio('after'):.2f}"]

if __name__ == "__main__":
    main()
