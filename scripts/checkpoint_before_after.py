"""Checkpoint writes before and after a change, side by side: two source trees of minirnn, each
put on ``PYTHONPATH`` in a fresh process, in alternating rounds, each round running
``minirnn.write_cost`` (a write with a history of 10, 100 and 1,000 epochs; an epoch of the
default Elman run on sine with no file, a write every epoch and the write policy).

    git archive <before> minirnn | tar -x -C /tmp/before
    git archive <after> minirnn | tar -x -C /tmp/after
    python scripts/checkpoint_before_after.py /tmp/before /tmp/after --rounds 5 --epochs 100
    [--lr 0.1]

Both trees need ``minirnn/write_cost.py``. A first untimed round fills each tree's kernel
cache. Each number printed is the median over the rounds of each round's median.
"""
from __future__ import annotations

import argparse
import statistics

from source_trees import run_in_tree

CODE = """
import json
import os
import minirnn.write_cost as cost
cost.RUN.update({options})
made = cost._run  # each case after the last one's files are written back, in either tree
cost._run = lambda epochs: (made(epochs), os.sync())[0]
print(json.dumps({{"writes": cost.save_costs(repeat=10),
                  "epochs": cost.epoch_costs(epochs={epochs}, repeat=1)}}))
"""


def once(tree: str, epochs: int, options: dict) -> dict:
    return run_in_tree(tree, CODE.format(options=options, epochs=epochs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=None)
    args = parser.parse_args()
    options = {} if args.lr is None else {"lr": args.lr}
    trees = {"before": args.before, "after": args.after}
    for tree in trees.values():
        once(tree, 2, options)
    got = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            got[name].append(once(tree, args.epochs, options))
    for name, rounds in got.items():
        print(name)
        for i, row in enumerate(rounds[0]["writes"]):
            write = statistics.median(r["writes"][i]["median_ms"] for r in rounds)
            dump = statistics.median(r["writes"][i]["json_ms"] for r in rounds)
            print(f"  write, history {row['history']:5d}: {write:6.2f} ms (JSON {dump:5.2f} ms),"
                  f" document {row['document_bytes']:6d} B, file {row['file_bytes']:6d} B")
        for i, row in enumerate(rounds[0]["epochs"]):
            epoch = statistics.median(r["epochs"][i]["median_ms"] for r in rounds)
            print(f"  epoch, {row['writes']:14s}: {epoch:6.2f} ms, "
                  f"{row['files_written']} writes in {args.epochs} epochs")


if __name__ == "__main__":
    main()
