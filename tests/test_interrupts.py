"""Interrupts after a command's end: Ctrl-C (SIGINT) or a polite kill (SIGTERM) that lands
while the interpreter shuts down ends the process with one line, ``Error: interrupted``,
never a traceback or a silent death by the signal (tests/test_bad_inputs.py has the signals
that land during the imports and the command)."""
import subprocess
import sys


LATE = """
import os, signal, sys, threading, time
from minirnn.cli import run

def late():  # once the main thread has finished: the interpreter is shutting down
    while threading.main_thread().is_alive():
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.5)

threading.Thread(target=late).start()
sys.argv = ["minirnn", "models"]
run()
"""


def test_a_signal_after_the_command_ended_is_one_line(tmp_path):
    """SIGTERM while the interpreter shuts down, after the command wrote everything (a
    sweep's Dask and multiprocessing clean up there for a while): the output is whole, and the
    signal is the usual one line, not a traceback from the shutdown or a silent exit 0."""
    run = subprocess.run([sys.executable, "-c", LATE], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert "statespace" in run.stdout  # the table, whole
    assert run.returncode == 1 and run.stderr.splitlines() == ["Error: interrupted"], run.stderr


def test_an_error_that_an_interrupt_left_behind_ends_as_the_interrupt(monkeypatch, tmp_path):
    """A Ctrl-C inside Numba's compiler (a first run) is swallowed there, and the compiler then
    fails with an error of its own ("no compiled object yet for <Library 'gemm'>"): the
    command says it was interrupted, not that error."""
    from click.testing import CliRunner

    import minirnn.app.training
    from minirnn.cli import common
    from minirnn.cli.main import main

    def interrupted_compile(*args, **kwargs):
        common._signalled.append(2)  # the handler saw SIGINT; its exception went missing
        raise RuntimeError("no compiled object yet for <Library 'gemm' at 0x7f00>")

    monkeypatch.setattr(minirnn.app.training, "fit_run", interrupted_compile)
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["--json"]):
        result = CliRunner().invoke(main, ["train", "elman", "--data", "sine", "--epochs", "1",
                                           *extra])
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines()[-1] == "Error: interrupted", result.stderr
        if extra:
            assert result.stdout.strip() == '{"error": "interrupted"}'


def test_an_interrupt_a_callback_swallowed_is_raised_again():
    """A Ctrl-C whose exception is raised inside a callback that Python cannot let it out of
    (here a garbage-collection callback, as Dask installs one) is sent again, and raised
    where the command's code goes on: a sweep noticed it only after every trial had run."""
    import gc
    import signal
    import time

    import pytest

    from minirnn.cli.common import interrupts_caught

    fired = []

    def callback(phase, info):
        if phase == "start" and not fired:
            fired.append(phase)
            signal.raise_signal(signal.SIGINT)  # the handler runs inside this callback
            sum(range(100))  # bytecode, where Python runs the handler: the exception is here

    with interrupts_caught():
        gc.callbacks.append(callback)
        try:
            with pytest.raises(KeyboardInterrupt):
                gc.collect()
                for _ in range(500):  # the command goes on, and is interrupted on its way
                    time.sleep(0.01)
        finally:
            gc.callbacks.remove(callback)
    assert fired


def test_an_interrupt_sent_again_as_the_command_ends_is_not_raised_after_it(monkeypatch):
    """The worst moment for a resend: its timer's thread starts sending just as the command
    ends and stops the timers. It sends nothing then, or what it sent is only remembered:
    no KeyboardInterrupt comes out after the command's end (one did, raised once Python's own
    handler was back, and killed an interrupted sweep by SIGINT after its one line)."""
    import threading
    import time

    import pytest

    from minirnn.cli import common

    senders = []

    class RacingTimer(threading.Timer):
        def cancel(self):  # the thread wakes up as the command stops it, and sends
            sender = threading.Thread(target=self.function, args=self.args)
            sender.start()
            sender.join(timeout=0.2)  # done at once, or waiting until the timers are stopped
            senders.append(sender)

    monkeypatch.setattr(threading, "Timer", RacingTimer)
    try:
        with common.interrupts_caught():
            swallowed = type("Info", (), {"exc_type": KeyboardInterrupt})()
            sys.unraisablehook(swallowed)  # as when Dask's collection callback swallowed one
            common._signalled.append(2)  # and the command saw the signal itself meanwhile
            try:
                common.check_interrupted()
            except KeyboardInterrupt:
                pass  # the command ends as interrupted ...
        for sender in senders:
            sender.join()
        for _ in range(20):  # ... and nothing is raised after (each call runs the handlers)
            time.sleep(0.001)
    except KeyboardInterrupt:
        pytest.fail("an interrupt sent again was raised after the command's end")
    assert len(senders) == 1


CAUGHT_IN_EXEC = """
import sys
import minirnn.cli.main  # its imports run code from strings too (which clears the record)
try:  # a Ctrl-C inside code run from a string (the methods dataclasses write, in an import)
    exec("raise KeyboardInterrupt")
except KeyboardInterrupt:  # caught, as the command catches an interrupt and says so
    pass
sys.argv = ["minirnn", "models", "--json"]
from minirnn.cli import run
run()
"""


def test_an_interrupt_caught_on_the_way_does_not_kill_python_m_at_its_exit(tmp_path):
    """Under ``python -m``, CPython ends a process killed by SIGINT once a KeyboardInterrupt
    has left code run from a string, even one caught since; the command clears that record
    as it ends, so its exit code is its own."""
    (tmp_path / "caught_in_exec.py").write_text(CAUGHT_IN_EXEC)
    run = subprocess.run([sys.executable, "-m", "caught_in_exec"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr)
    assert '"elman"' in run.stdout
