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


def deflate_bomb(good, path, unpacked=2 ** 30):
    """``good`` with its best/W_hh replaced by a member that deflates ``unpacked`` bytes of
    zeros (an .npy whose header says so, float64) into a few MB."""
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                                                          compresslevel=1) as bomb:
        for info in source.infolist():
            if info.filename != "best/W_hh.npy":
                bomb.writestr(info.filename, source.read(info))
        rows = unpacked // 8 // 1024
        with bomb.open("best/W_hh.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                          "shape": (rows, 1024)})
            zeros = bytes(2 ** 24)
            for _ in range(rows * 1024 * 8 // len(zeros)):
                member.write(zeros)
    return path


def bomb(d, t):
    """m.npz whose W_hh unpacks to 64 MiB from about 64 KB (tests/test_untrusted_files.py
    measures the memory a load of a larger one takes)."""
    deflate_bomb(t / "m.npz", d / "m.npz", unpacked=64 * 2 ** 20)
