"""A first run's kernels compiled two at a time (``minirnn.compile_ahead``): a training step
run with its kernel calls recorded and not run names exactly the kernels, and the argument
types, that the real step calls; the kernels the disk cache lacks are compiled, the
backward's in a forked process whose work this process then loads from the cache; and
training is the same with or without it.
"""
import copy
import os
import subprocess
import importlib
import sys
import textwrap
import threading

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

from minirnn import train
from minirnn.app.training import TrainOptions, new_run
from minirnn.catalog import MODELS
from minirnn.compile_ahead import calls_recorded, compile_ahead, needs_compiling, record_step
from minirnn.kernels.elman.cpu import elman_forward
from minirnn.train import fit


def small_run(name, seed=0):
    options = TrainOptions(model=name, data="sine", length=160, hidden=5, backend="cpu",
                           dtype="float64", epochs=2, batch=3, bptt=12, seed=seed)
    return new_run(options)


def step_of(run, x, y):
    """A training step's two parts on ``run``'s task: (forward(model) -> loss, backward)."""
    return (lambda model: run.task.loss(run.task.step(model, x, y, None)[0], y),
            lambda loss: loss.backward())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_recorded_step_names_the_kernels_the_real_step_calls(name):
    run = small_run(name)
    x, y = run.task.training_chunks(3, 12, run.net.dtype, 0)[0]
    forward, backward = step_of(run, x, y)
    twin = copy.deepcopy(run.net)
    dry = record_step(lambda: forward(twin), backward)
    with calls_recorded(run=True) as real:  # the same calls, run for real
        loss = forward(run.net)
        real.phase = "backward"
        backward(loss)
    assert dry.calls == real.calls
    assert dry.of("forward") and dry.of("backward")  # every model has kernels both ways
    assert np.isfinite(loss.item())


def test_recording_runs_no_kernel_and_leaves_numba_as_it_was():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    W_in, b, W, h0 = np.ones((5, 4)), np.zeros(5), np.eye(5), np.zeros((2, 5))
    lengths = np.array([3, 3])
    with calls_recorded() as seen:
        hs = elman_forward(x, W_in, b, W, h0, lengths, "tanh")
    [(phase, kernel, types)] = seen.calls
    assert phase == "forward" and kernel.py_func.__name__ == "_elman_forward_serial"
    assert str(types[1]) == "array(float64, 3d, C)"  # x as the kernel gets it
    assert "__call__" not in vars(CPUDispatcher)  # Numba's own call again
    ran = elman_forward(x, W_in, b, W, h0, lengths, "tanh")
    assert not np.array_equal(np.nan_to_num(hs), ran)  # the recorded call wrote nothing
    np.testing.assert_allclose(ran[:, 0], np.tanh(x[:, 0] @ W_in.T))


def test_other_threads_run_their_kernels_while_one_records():
    x = np.random.default_rng(1).standard_normal((1, 2, 3))
    args = (x, np.ones((4, 3)), np.zeros(4), np.eye(4), np.zeros((1, 4)), np.array([2]), "tanh")
    expected = elman_forward(*args)
    got = []
    with calls_recorded() as seen:
        worker = threading.Thread(target=lambda: got.append(elman_forward(*args)))
        worker.start()
        worker.join()
    assert seen.calls == [] and np.array_equal(got[0], expected)


KERNELS = '''
import numba

@numba.njit(cache=True)
def double_into(x, out):
    for i in range(x.size):
        out[i] = 2 * x[i]

@numba.njit(cache=True)
def add_into(x, out):
    for i in range(x.size):
        out[i] += x[i]
'''


@pytest.fixture
def kernels_module(tmp_path, monkeypatch):
    """Two cacheable kernels in a module of their own, cached beside it (an empty cache)."""
    name = f"compile_ahead_kernels_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(KERNELS))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


def test_the_backwards_kernels_are_compiled_in_another_process(kernels_module):
    k = kernels_module
    x, out = np.arange(3.0), np.zeros(3)
    types = (k.double_into.typeof_pyval(x), k.double_into.typeof_pyval(out))
    assert needs_compiling(k.double_into, types) and needs_compiling(k.add_into, types)

    done = compile_ahead(lambda: k.double_into(x, out), lambda _: k.add_into(x, out))
    assert done == {"here": 1, "forked": 1}
    assert not np.any(out)  # recorded, not run
    assert k.double_into.stats.cache_misses[types] == 1  # compiled here
    assert k.add_into.stats.cache_hits[types] == 1  # loaded: the other process compiled it
    assert not needs_compiling(k.double_into, types) and not needs_compiling(k.add_into, types)
    k.double_into(x, out)
    k.add_into(x, out)
    np.testing.assert_array_equal(out, 3 * x)
    # all compiled now: nothing more to do, nothing forked
    assert compile_ahead(lambda: k.double_into(x, out), lambda _: None) == {"here": 0,
                                                                           "forked": 0}


def test_a_kernel_that_fails_to_compile_is_left_to_its_call(kernels_module):
    k = kernels_module
    pair, out = (1, 2), np.zeros(2)  # a tuple has no .size: no code for it
    done = compile_ahead(lambda: None, lambda _: k.add_into(pair, out))
    assert done == {"here": 0, "forked": 1}  # tried there, and here again, quietly
    with pytest.raises(Exception, match="size"):
        k.add_into(pair, out)  # its own call says what is wrong, as it always did


@pytest.mark.parametrize("name", ["elman", "narx", "lstm"])
def test_training_is_the_same_with_and_without_compiling_ahead(name, monkeypatch):
    first = small_run(name)
    with_it = fit(first.net, first.task, first.experiment.train)
    monkeypatch.setattr(train, "_kernels_compiled", lambda *args: None)
    second = small_run(name)
    without = fit(second.net, second.task, second.experiment.train)
    assert with_it.history == without.history
    trained = dict(second.net.named_parameters())
    for key, p in first.net.named_parameters():
        np.testing.assert_array_equal(p.data, trained[key].data, err_msg=key)


def test_compiling_ahead_leaves_the_model_as_it_was():
    run = small_run("gru")
    x, y = run.task.training_chunks(3, 12, run.net.dtype, 0)[0]
    before = {k: (p.data.copy(), None if p.grad is None else p.grad.copy())
              for k, p in run.net.named_parameters()}
    train._kernels_compiled(run.task, run.net, run.task.step, x, y)
    for key, p in run.net.named_parameters():
        np.testing.assert_array_equal(p.data, before[key][0])
        assert (p.grad is None) == (before[key][1] is None)


def test_no_fork_once_gnu_openmp_runs_threads_here():
    """GNU OpenMP ends a forked child that starts threads, as compiling a parallel kernel
    does: a process whose Numba runs on it compiles everything itself."""
    program = textwrap.dedent("""
        import numba, numpy as np
        from minirnn.compile_ahead import can_fork
        before = can_fork()

        @numba.njit(parallel=True)
        def total(x):
            s = 0.0
            for i in numba.prange(x.size):
                s += x[i]
            return s

        total(np.ones(10))
        print(before, numba.threading_layer(), can_fork())
    """)
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         env=dict(os.environ, NUMBA_THREADING_LAYER="omp"))
    if run.returncode != 0 and "omp" in run.stderr:
        pytest.skip("Numba has no GNU OpenMP layer here")
    assert run.stdout.split() == ["True", "omp", "False"], run.stderr
