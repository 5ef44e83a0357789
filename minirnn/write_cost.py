"""What writing a checkpoint costs, beside what an epoch costs: ``minirnn bench --checkpoint``.

``save_costs``: ``Experiment.save`` of the default Elman run on the built-in sine (2,000 rows,
16 hidden units), its history made 10, 100 and 1,000 epochs long, and of that the JSON
document alone (``json.dumps``) and its size, to see which part grows with the epochs.
``epoch_costs``: an epoch of the same run (training and validation) with no file, with a write
after every epoch, and with the write policy (``app.saving``), the three in turns.
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

#: the run timed: ``minirnn train elman --data sine`` with its defaults
RUN = dict(model="elman", data="sine")


def _run(epochs: int):
    from minirnn.app.training import TrainOptions, prepare

    return prepare(TrainOptions(**RUN, epochs=epochs, patience=epochs))


def _ms(seconds: list) -> dict:
    return {"median_ms": 1e3 * statistics.median(seconds), "min_ms": 1e3 * min(seconds)}


def save_costs(histories=(10, 100, 1000), repeat: int = 30) -> list:
    """[{"history", "median_ms", "min_ms", "json_ms", "document_bytes", "file_bytes"}]: one
    write of the checkpoint (``repeat`` of them, sizes in turns, the median and the least),
    and the JSON document's share, per length of the history."""
    from minirnn.app.training import fit_run

    run = _run(1)
    fit_run(run)
    exp, record = run.experiment, run.experiment.run.history[-1]
    runs = {n: [dict(record, epoch=i + 1) for i in range(n)] for n in histories}
    saves, dumps = {n: [] for n in histories}, {n: [] for n in histories}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        for _ in range(repeat):
            for n in histories:  # the same run, its history n epochs long
                exp.run.history = runs[n]
                start = time.perf_counter()
                exp.save(path)
                saves[n].append(time.perf_counter() - start)
                start = time.perf_counter()
                json.dumps(exp.document())
                dumps[n].append(time.perf_counter() - start)
        for n in histories:
            exp.run.history = runs[n]
            exp.save(path)
            rows.append({"history": n, **_ms(saves[n]),
                         "json_ms": 1e3 * statistics.median(dumps[n]),
                         "document_bytes": len(json.dumps(exp.document())),
                         "file_bytes": path.stat().st_size})
    return rows


def epoch_costs(epochs: int = 100, repeat: int = 3) -> list:
    """[{"writes", "median_ms", "min_ms", "files_written", "writing_share"}]: an epoch of the
    run (the whole run's time over ``epochs``), with no file, a write after every epoch, and
    the write policy's default (30 s: the writes are those on improvement and the last), in
    turns; and the share of the run's time spent inside its writes (median). The files of
    one case are written back (``os.sync``) before the next case's timer starts."""
    from minirnn.app.training import fit_run

    cases = {"no file": None, "every epoch": 0.0, "policy (30 s)": 30.0}
    times, written, shares = {c: [] for c in cases}, {}, {c: [] for c in cases}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeat):
            for case, every in cases.items():
                run, saved, writing = _run(epochs), [], []
                save = run.experiment.save

                def timed_save(path, save=save, writing=writing):
                    began = time.perf_counter()
                    save(path)
                    writing.append(time.perf_counter() - began)

                run.experiment.save = timed_save  # (the writer calls the experiment's)
                out = None if every is None else Path(folder) / "m.npz"
                os.sync()
                start = time.perf_counter()
                fit_run(run, out, on_saved=saved.append,
                        every=every if every is not None else 30.0)
                seconds = time.perf_counter() - start
                times[case].append(seconds / epochs)
                shares[case].append(sum(writing) / seconds)
                written[case] = len(saved)
    return [{"writes": case, **_ms(times[case]), "files_written": written[case],
             "writing_share": statistics.median(shares[case])} for case in cases]
