"""The command line answers at once where it has nothing to compute: ``--help``, ``minirnn
models`` and a usage error import neither NumPy nor Numba nor the models (half a second of
imports a run pays before its first step), only Click, Rich and ``minirnn.catalog``."""
import subprocess
import sys

import pytest

LIGHT = [["--help"], ["models"], ["models", "--json"], ["train", "--help"],
         ["predict", "--help"], ["sweep", "--help"], ["bench", "--help"],
         ["gradcheck", "--help"], ["train", "elman", "--hidden", "x"],
         ["train", "nosuchmodel"], ["predict"], ["gradcheck", "--mode", "slow"]]

CODE = """
import sys
import click
from minirnn.cli.main import main
for args in {arglists!r}:
    try:
        main.main(args=args, prog_name="minirnn", standalone_mode=False)
    except (click.ClickException, click.exceptions.Exit, SystemExit):
        pass
    heavy = sorted(m for m in ("numpy", "numba", "minirnn.models", "minirnn.kernels")
                   if m in sys.modules)
    print(" ".join(args), "->", ",".join(heavy) or "-", file=sys.stderr)
"""


def test_help_listing_and_usage_errors_import_nothing_heavy():
    run = subprocess.run([sys.executable, "-c", CODE.format(arglists=LIGHT)],
                         capture_output=True, text=True, timeout=120)
    lines = [line for line in run.stderr.splitlines() if "->" in line]
    assert len(lines) == len(LIGHT), run.stderr
    assert all(line.endswith("-> -") for line in lines), "\n".join(lines)



# Python's collector in a command's process (``cli/common.py``): the objects that live as long as
# the process (NumPy's, Numba's) are made with it paused and then left out of its collections,
# and so is everything once the command has ended, where the interpreter's exit would search
# them all for cycles; while the command computes, the collector runs as usual.
COLLECTOR = """
import atexit, gc, sys
from minirnn.cli import run

def report():  # an exit handler: after the command has ended
    print("frozen", gc.get_freeze_count(), "enabled", gc.isenabled(), file=sys.stderr)

atexit.register(report)
sys.argv = ["minirnn", *{args!r}]
run()
"""


@pytest.mark.parametrize("args", [["models"], ["gradcheck", "elman", "--backend", "cpu"]])
def test_a_command_leaves_its_objects_out_of_the_collection_at_exit(args, tmp_path):
    run = subprocess.run([sys.executable, "-c", COLLECTOR.format(args=args)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    words = run.stderr.split()
    frozen, enabled = int(words[words.index("frozen") + 1]), words[words.index("enabled") + 1]
    assert enabled == "True"  # the collector was on again for the command's work
    # every object of the process is frozen: with NumPy and Numba loaded, hundreds of thousands
    assert frozen > (100_000 if args[0] == "gradcheck" else 1_000)


def test_a_command_called_by_another_program_leaves_its_collector_alone():
    """A test's or a notebook's process that calls a command (Click's runner here) keeps its
    collector as it was: only ``run``, the command's own process, changes it."""
    import gc

    from click.testing import CliRunner

    from minirnn.cli.main import main

    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(main, ["gradcheck", "elman", "--backend", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_the_collector_is_paused_while_numba_compiles(monkeypatch):
    """In the command's own process, Numba's compiler (millions of short-lived objects on a
    first run) works without the collector, which is on again once it has finished."""
    import gc

    import numba
    from numba.core import event

    from minirnn.cli import common

    monkeypatch.setattr(common, "_owns_process", [True])
    monkeypatch.setattr(common, "_compile_listener", [])
    seen = []

    class Spy(event.Listener):  # told after the pause: what the compiler runs with
        def on_start(self, ev):
            seen.append(gc.isenabled())

        def on_end(self, ev):
            pass

    pause, spy = common.compiling_undisturbed(), Spy()
    assert common.compiling_undisturbed() is pause  # once per process
    event.register("numba:compile", spy)
    try:
        add_one = numba.njit(lambda x: x + 1)  # a new function: compiled, not loaded
        assert add_one(1) == 2
    finally:
        event.unregister("numba:compile", spy)
        event.unregister("numba:compile", pause)
    assert seen == [False] and gc.isenabled()


def test_an_interrupt_while_a_kernel_compiles_is_raised_once_it_is_compiled(monkeypatch):
    """Ctrl-C inside Numba's compiler lands in LLVM's callbacks (swallowed) or between
    llvmlite's steps (a segfault once in a while): in the command's process it waits for the
    end of the kernel's compilation, and is raised there."""
    import signal

    import numba
    import pytest
    from numba.core import event

    from minirnn.cli import common

    monkeypatch.setattr(common, "_owns_process", [True])
    monkeypatch.setattr(common, "_compile_listener", [])
    monkeypatch.setattr(common, "_signalled", [])
    stages = []

    class CtrlC(event.Listener):  # a Ctrl-C as the compilation starts
        def on_start(self, ev):
            signal.raise_signal(signal.SIGINT)
            stages.append("signalled, not raised")

        def on_end(self, ev):
            pass

    undisturbed, ctrl_c = common.compiling_undisturbed(), CtrlC()
    event.register("numba:compile", ctrl_c)
    try:
        with common.interrupts_caught():
            add_two = numba.njit(lambda x: x + 2)
            with pytest.raises(KeyboardInterrupt):
                add_two(1)
            assert add_two(1) == 3  # nothing was left half done
    finally:
        event.unregister("numba:compile", ctrl_c)
        event.unregister("numba:compile", undisturbed)
    assert stages[0] == "signalled, not raised"  # raised only once the kernel was compiled
    assert not common._deferred
