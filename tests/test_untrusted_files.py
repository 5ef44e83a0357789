"""Files minirnn reads but did not necessarily write: a checkpoint is checked before what it
holds is unpacked, so a small file cannot make a load take gigabytes."""
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from minirnn.checkpoint import read_archive

from test_experiment import new_experiment, train

GIB = 2 ** 30


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    exp, task = new_experiment("elman", epochs=1)
    train(exp, task)
    path = tmp_path_factory.mktemp("saved") / "elman.npz"
    exp.save(path)
    return path


def deflate_bomb(good, path, unpacked=GIB):
    """``good`` with its best/W_hh replaced by a member that deflates ``unpacked`` bytes of
    zeros (an .npy whose header says so, float64) into a few MB."""
    _, arrays = read_archive(good)
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                                                          compresslevel=1) as bomb:
        for info in source.infolist():
            if info.filename != "best/W_hh.npy":
                bomb.writestr(info.filename, source.read(info))
        header = np.lib.format
        rows = unpacked // 8 // 1024
        with bomb.open("best/W_hh.npy", "w", force_zip64=True) as member:
            header.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                   "shape": (rows, 1024)})
            zeros = bytes(2 ** 24)
            for _ in range(rows * 1024 * 8 // len(zeros)):
                member.write(zeros)
    return path


LOAD = """
import resource, sys
from minirnn.checkpoint import CheckpointError
from minirnn.experiment import Experiment
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    Experiment.load(sys.argv[1])
    print("loaded")
except CheckpointError as error:
    print(error)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_a_deflate_bomb_is_refused_before_it_is_unpacked(saved, tmp_path):
    bomb = deflate_bomb(saved, tmp_path / "bomb.npz")
    assert bomb.stat().st_size < 8 * 2 ** 20  # a few MB that unpack to 1 GiB
    run = subprocess.run([sys.executable, "-c", LOAD, str(bomb)], capture_output=True,
                         text=True, timeout=300)
    message, extra = run.stdout.strip().splitlines()
    assert "its arrays would unpack to 1,073," in message and "more than the model's weights " \
        "need" in message
    assert int(extra) < 100 * 2 ** 20  # the peak grew by less than 100 MB while loading it
