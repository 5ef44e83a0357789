"""Results that do not depend on the thread count: in deterministic mode the cpu kernels cut
the batch into blocks by its size alone (``blas.set_deterministic``), so a machine with 1
thread and one with 2 train every family to the same weights, bit for bit."""
import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from minirnn import losses
from minirnn.kernels import blas
from minirnn.models.registry import build_model, model_config
from minirnn.optim import Adam

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                reason="needs Numba's pool to have 2 threads")

FAMILIES = {"elman": {}, "statespace": {}, "memory": {}, "jordan": {"learn_mu": True},
            "narx": {"mode": "closed"}, "multilayer": {"connectivity": "feedback"},
            "sliding": {}, "seq2seq": {}}


def trained_weights(name: str, threads: int, dtype: str, batch: int) -> dict:
    """Every weight after three Adam steps on the cpu engine with ``threads`` threads."""
    numba.set_num_threads(threads)
    try:
        model = build_model(name, model_config(name, 2, 2, 12, backend="cpu", dtype=dtype,
                                               seed=1, **FAMILIES[name]))
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, 17, 2)).astype(dtype)
        y = np.roll(x, 1, axis=1)
        optimizer = Adam(model.parameters(), lr=1e-2)
        for _ in range(3):
            optimizer.zero_grad()
            out = model(x, y) if name == "seq2seq" else model(x)
            losses.mse(out, y).backward()
            optimizer.step()
        return {n: p.data.copy() for n, p in model.named_parameters()}
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


@pytest.mark.parametrize("batch", [3, 11])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_deterministic_mode_trains_to_the_same_weights_on_1_and_2_threads(
        monkeypatch, name, dtype, batch):
    monkeypatch.setattr(blas, "SPLIT_WORK", 0)  # every kernel and product cut into blocks
    monkeypatch.setattr(blas, "_deterministic", True)
    one, two = (trained_weights(name, threads, dtype, batch) for threads in (1, 2))
    for weight in one:
        assert np.array_equal(one[weight], two[weight]), weight


def _train(threads: int, *args) -> dict:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    result = subprocess.run([sys.executable, "-m", "minirnn.cli", "train", *map(str, args),
                             "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_a_deterministic_run_moves_between_machines_of_other_thread_counts(tmp_path):
    """``minirnn train --deterministic`` (hidden 200: the kernels' work is above
    ``SPLIT_WORK``, so they are cut into blocks): 2 epochs in a process of 1 thread, resumed to
    3 in one of 2 threads, end exactly as 3 epochs in one go on 2 threads; the checkpoint keeps
    the mode, and the resume takes it from there."""
    from minirnn.experiment import Experiment

    args = ["elman", "--data", "sine", "--length", "400", "--hidden", "200", "--batch", "11",
            "--patience", "9", "--deterministic"]
    whole = _train(2, *args, "--epochs", "3", "--out", tmp_path / "whole.npz")
    _train(1, *args, "--epochs", "2", "--out", tmp_path / "part.npz")
    assert Experiment.load(tmp_path / "part.npz").trained_with["deterministic"] is True
    resumed = _train(2, "--resume", tmp_path / "part.npz", "--epochs", "3")
    assert resumed["resumed_from_epoch"] == 2
    assert whole["history"] == resumed["history"] and whole["metrics"] == resumed["metrics"]
