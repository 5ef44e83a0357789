"""A first run's kernels compiled two at a time (``minirnn.compile_ahead``): a training step
run with its kernel calls recorded and not run names exactly the kernels, and the argument
types, that the real step calls; the kernels the disk cache lacks are compiled, the
backward's in a forked process whose work this process then loads from the cache; and
training is the same with or without it.
"""
import copy
import os
import subprocess
import sys
import tempfile
import textwrap
import threading

import numba
import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

from minirnn import train
from minirnn.app.training import TrainOptions, new_run
from minirnn.catalog import MODELS
from minirnn.compile_ahead import building_blocks, calls_recorded, record_steps
from minirnn.kernels.elman.cpu import elman_forward
from minirnn.train import fit


def small_run(name, seed=0, **options):
    settings = dict(data="sine", length=160, hidden=5, backend="cpu", dtype="float64",
                    epochs=2, batch=3, bptt=12, seed=seed)
    return new_run(TrainOptions(model=name, **{**settings, **options}))


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
    dry = record_steps([(lambda: forward(twin), backward)])
    with calls_recorded(run=True) as real:  # the same calls, run for real
        loss = forward(run.net)
        real.phase = "backward"
        backward(loss)
    assert dry.calls == real.calls
    assert dry.of("forward") and dry.of("backward")  # every model has kernels both ways
    assert np.isfinite(loss.item())


@pytest.mark.slow
def test_the_building_blocks_compiled_first_are_those_the_kernels_call():
    """Before its kernels, the command's process compiles ``gemm`` for its usual types, and the
    summed outer products where a kernel's module calls them (Elman's does, Jordan's does
    not). Those types must be the ones Numba compiles them for inside the kernels, or the
    other process compiles them again: checked on an Elman step compiled from an empty cache
    in a fresh process (a kernel loaded from the cache does not load what it calls)."""
    def blocks_of(name):
        run = small_run(name)
        x, y = run.task.training_chunks(3, 12, run.net.dtype, 0)[0]
        forward, backward = step_of(run, x, y)
        twin = copy.deepcopy(run.net)
        return {(d.py_func.__name__, t) for d, t in
                building_blocks(record_steps([(lambda: forward(twin), backward)]))}

    elman, jordan = blocks_of("elman"), blocks_of("jordan")
    assert {name for name, _ in elman} == {"gemm", "sum_outer_previous_rows"}
    assert {name for name, _ in jordan} == {"gemm"}
    code = textwrap.dedent("""
        import copy
        import numpy as np
        from test_compile_ahead import small_run, step_of
        from minirnn.compile_ahead import building_blocks, record_steps
        run = small_run("elman")
        x, y = run.task.training_chunks(3, 12, run.net.dtype, 0)[0]
        forward, backward = step_of(run, x, y)
        blocks = building_blocks(record_steps([(lambda: forward(copy.deepcopy(run.net)),
                                                backward)]))
        backward(forward(run.net))  # compiled here, from an empty cache
        print(len(blocks), all(d.overloads.get(t) is not None for d, t in blocks))
    """)
    with tempfile.TemporaryDirectory() as cache:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=600, cwd=os.path.dirname(__file__),
                              env=dict(os.environ, NUMBA_CACHE_DIR=cache,
                                       PYTHONPATH=os.pathsep.join(sys.path)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "True"]


def test_recording_runs_no_kernel_and_leaves_numba_as_it_was():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    W_in, b, W, h0 = np.ones((5, 4)), np.zeros(5), np.eye(5), np.zeros((2, 5))
    lengths = np.array([3, 3])
    with calls_recorded() as seen:
        hs = elman_forward(x, W_in, b, W, h0, lengths, "tanh")
    [(phase, kernel, types)] = seen.calls
    assert phase == "forward" and kernel.py_func.__name__ == "_elman_forward_serial"
    assert str(types[1]) == "array(float64, 3d, C)"  # x as the kernel gets it
    assert hs.shape == (2, 3, 5)  # allocated by the Python around the kernel, not filled
    assert "__call__" not in vars(CPUDispatcher)  # Numba's own call again
    ran = elman_forward(x, W_in, b, W, h0, lengths, "tanh")
    np.testing.assert_allclose(ran[:, 0], np.tanh(x[:, 0] @ W_in.T))

    @numba.njit
    def fill(out):
        out[:] = 1.0

    out = np.zeros(3)
    with calls_recorded():
        fill(out)
    assert not out.any()  # the recorded call wrote nothing
    fill(out)
    assert out.all()


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


KERNELS = """
import numba

@numba.njit(cache=True)
def double_into(x, out):
    for i in range(x.size):
        out[i] = 2 * x[i]

@numba.njit(cache=True)
def add_into(x, out):
    for i in range(x.size):
        out[i] += x[i]
"""


def in_fresh_process(tmp_path, body: str) -> str:
    """Run ``body`` in a new Python process beside a module ``kernels`` of two cacheable
    kernels (an empty cache): a process that forks, as a first run's does, before any of
    Numba's threads have run (this one's may have: ``can_fork``). Its standard output."""
    (tmp_path / "kernels.py").write_text(KERNELS)
    program = "import numpy as np\nimport kernels as k\nfrom minirnn.compile_ahead import *\n"
    run = subprocess.run([sys.executable, "-c", program + textwrap.dedent(body)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path),
                                  NUMBA_NUM_THREADS="2"))
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_the_backwards_kernels_are_compiled_in_another_process(tmp_path):
    out = in_fresh_process(tmp_path, """
        x, out = np.arange(3.0), np.zeros(3)
        types = (k.double_into.typeof_pyval(x), k.double_into.typeof_pyval(out))
        print(can_fork(), needs_compiling(k.double_into, types),
              needs_compiling(k.add_into, types))
        # and first, here, the products that both processes' kernels would compile
        from minirnn.kernels.blas import gemm, gemm_signatures
        blocks = [(gemm, t) for t in gemm_signatures(np.float64)]
        missing = sum(needs_compiling(d, t) for d, t in blocks)
        done = compile_ahead([(lambda: k.double_into(x, out), lambda _: k.add_into(x, out))])
        print(done["here"] + done["forked"], done["first"] == missing,
              any(needs_compiling(d, t) for d, t in blocks))
        print(not np.any(out))  # recorded, not run
        # the forward's compiled here; the backward's loaded if the other process compiled it
        # (this one takes it if that one has not started it by the time the forward's done)
        forked = k.add_into.stats.cache_hits[types]
        print(k.double_into.stats.cache_misses[types], forked == done["forked"],
              k.add_into.stats.cache_misses[types] == 1 - forked)
        print(needs_compiling(k.double_into, types), needs_compiling(k.add_into, types))
        k.double_into(x, out)
        k.add_into(x, out)
        print(out.tolist())
        # all compiled now: nothing more to do, nothing forked
        print(compile_ahead([(lambda: k.double_into(x, out), lambda _: None)]))
    """)
    assert out.splitlines() == ["True True True", "2 True False", "True", "1 True True",
                                "False False", "[0.0, 3.0, 6.0]",
                                "{'here': 0, 'forked': 0, 'first': 0}"]


def test_a_kernel_that_fails_to_compile_is_left_to_its_call(tmp_path):
    out = in_fresh_process(tmp_path, """
        pair, out = (1, 2), np.zeros(2)  # a tuple has no .size: no code for it
        done = compile_ahead([(lambda: None, lambda _: k.add_into(pair, out))])
        print(done["here"] + done["forked"])
        try:
            k.add_into(pair, out)
        except Exception as error:  # its own call says what is wrong, as it always did
            print(type(error).__name__, "size" in str(error))
    """)
    # tried ahead, quietly
    assert out.splitlines() == ["1", "TypingError True"]


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
    before = {k: (p.data.copy(), None if p.grad is None else p.grad.copy())
              for k, p in run.net.named_parameters()}
    train._kernels_compiled(run.task, run.net, run.experiment.train, 0, False)
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
                         env=dict(os.environ, NUMBA_THREADING_LAYER="omp",
                                  NUMBA_NUM_THREADS="2"))
    if run.returncode != 0 and "omp" in run.stderr:
        pytest.skip("Numba has no GNU OpenMP layer here")
    assert run.stdout.split() == ["True", "omp", "False"], run.stderr


def test_no_fork_in_a_process_given_one_core():
    """A sweep's trial server has one core (NUMBA_NUM_THREADS=1): a second compiler there
    would only share it."""
    run = subprocess.run([sys.executable, "-c", "from minirnn.compile_ahead import can_fork; "
                          "print(can_fork())"], capture_output=True, text=True,
                         env=dict(os.environ, NUMBA_NUM_THREADS="1"))
    assert run.stdout.split() == ["False"], run.stderr


@pytest.mark.parametrize("epochs,steps", [(2, 2), (1, 1)])
def test_a_narx_whose_loop_closes_later_has_both_steps_compiled(epochs, steps, monkeypatch):
    """Closed-loop NARX trains its first epochs in open loop: both steps' kernels are compiled
    before the first, the closed loop's only if some epoch runs it."""
    run = small_run("narx", mode="closed", epochs=epochs, open_epochs=1)
    given = []
    monkeypatch.setattr("minirnn.compile_ahead.compile_ahead", given.extend)
    train._kernels_compiled(run.task, run.net, run.experiment.train, 0, False)
    assert len(given) == steps
    kernels = [{d.py_func.__name__ for _, d, _ in record_steps([step]).calls} for step in given]
    assert all(kernels) and (steps == 1 or kernels[0] != kernels[1])
