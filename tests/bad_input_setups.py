"""Setups of the bad-input table (tests/test_bad_inputs.py) that take more than a line or two:
each writes the files a case starts from in its folder ``d`` (from the trained checkpoints in
``t``), and may return a patch for the case's circumstances (a full disk)."""
import errno
import json
import os
import shutil
import zipfile
from datetime import date, timedelta

import numpy as np

from minirnn.checkpoint import read_archive


def results(shared, **record):
    """sweep/results.json of a finished one-trial sweep (train options ``shared``) whose
    record of the trial has ``record``'s keys changed by hand; its checkpoint is m.npz, put
    where the sweep keeps it."""
    def setup(d, t):
        (d / "sweep" / "trials").mkdir(parents=True)
        own = d / "sweep" / "trials" / "elman-seed=0.npz"
        shutil.copy(t / "m.npz", own)
        done = {"name": "elman-seed=0", "status": "done", "metric": "rmse", "validation": 0.2,
                "test": 0.3, "naive_validation": 0.5, "naive_test": 0.5, "epochs": 2,
                "model": "elman", "params": {}, "seed": 0, "configuration": "elman",
                "checkpoint": str(own.resolve()), **record}
        document = {"shared": shared, "planned": ["elman-seed=0"], "trials": [done]}
        (d / "sweep" / "results.json").write_text(json.dumps(document))
    return setup


def deeply_nested(d, t):
    """m.npz with a list nested 5,000 deep in its document (the JSON text written as is)."""
    document, arrays = read_archive(t / "m.npz")
    text = json.dumps(document).replace('"config": {', '"config": {"extra": ' + "[" * 5000 +
                                        "]" * 5000 + ", ", 1)
    np.savez(d / "m.npz", meta=np.array(text), **arrays)


def daily(name, first, rows):
    """The file ``name`` of good.csv's columns and ``rows`` (as good_rows gives them), dated
    one a day from ``first`` (ISO)."""
    start = date.fromisoformat(first)
    lines = [",".join([(start + timedelta(days=k)).isoformat(), *r[1:]])
             for k, r in enumerate(rows)]

    def setup(d, t):
        (d / name).write_text("\n".join(["date,a,b,c", *lines]) + "\n")
    return setup


def disk_full(what):
    """A setup whose case runs on a full disk for ``what``: "lock" (the process id written
    into a checkpoint's lock file just taken) or "figure" (an image, after its first bytes)."""
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def lock(monkeypatch):
        write = os.write

        def write_unless_a_lock(fd, data):
            if os.readlink(f"/proc/self/fd/{fd}").endswith(".lock"):
                raise full
            return write(fd, data)
        monkeypatch.setattr(os, "write", write_unless_a_lock)

    def figure(monkeypatch):
        def savefig(self, handle, **options):  # to a file name or an open file
            if isinstance(handle, (str, os.PathLike)):
                with open(handle, "wb") as opened:
                    opened.write(b"\x89PNG\r\n")
            else:
                handle.write(b"\x89PNG\r\n")
            raise full
        monkeypatch.setattr("matplotlib.figure.Figure.savefig", savefig)

    return lambda d, t: {"lock": lock, "figure": figure}[what]


def deflate_bomb(d, t):
    """m.npz whose W_hh member deflates 64 MiB of zeros (its header says so) into 64 KB
    (tests/test_untrusted_files.py measures the memory of a larger one)."""
    with zipfile.ZipFile(t / "m.npz") as good, zipfile.ZipFile(d / "m.npz", "w",
                                                               zipfile.ZIP_DEFLATED) as bomb:
        for info in good.infolist():
            if info.filename != "best/W_hh.npy":
                bomb.writestr(info.filename, good.read(info))
        with bomb.open("best/W_hh.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                          "shape": (4096, 4096)})
            member.write(bytes(4096 * 4096 * 4))
