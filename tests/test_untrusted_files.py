"""Files minirnn reads but did not necessarily write: a checkpoint is checked before what it
holds is unpacked, so a small file cannot make a load take gigabytes."""
import subprocess
import sys

from bad_input_setups import deflate_bomb
from test_experiment import saved  # noqa: F401 - the fixture: a checkpoint of one epoch

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


def test_a_deflate_bomb_is_refused_before_it_is_unpacked(saved, tmp_path):  # noqa: F811
    bomb = deflate_bomb(saved, tmp_path / "bomb.npz")
    assert bomb.stat().st_size < 8 * 2 ** 20  # a few MB that unpack to 1 GiB
    run = subprocess.run([sys.executable, "-c", LOAD, str(bomb)], capture_output=True,
                         text=True, timeout=300)
    message, extra = run.stdout.strip().splitlines()
    assert "its arrays would unpack to 1,073," in message and "more than the model's weights " \
        "need" in message
    assert int(extra) < 100 * 2 ** 20  # the peak grew by less than 100 MB while loading it
