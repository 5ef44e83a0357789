"""Interrupts: Ctrl-C (SIGINT) or a polite kill (SIGTERM) at any moment of a command, from
its first imports to the interpreter's shutdown, ends it with one line, ``Error:
interrupted``, and never a traceback or a silent death by the signal."""
import os
import signal
import subprocess
import sys
import time


def test_an_interrupt_at_any_moment_is_one_line(tmp_path):
    """Ctrl-C while the command imports NumPy and Numba, or while it runs: never a traceback
    (the moment the signal lands varies; each outcome must be clean)."""
    code = "import sys; from minirnn.cli import run; sys.argv = ['minirnn', 'models']; run()"
    for delay, sent in ((0.2, signal.SIGINT), (0.6, signal.SIGTERM), (1.2, signal.SIGINT)):
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        time.sleep(delay)
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        if process.returncode == -sent:  # it landed before the interpreter ran our first line
            assert stderr == ""          # on a slow machine: ended by the signal, silently
        elif process.returncode != 0:
            assert stderr.strip().splitlines() == ["Error: interrupted"], stderr


def test_an_interrupt_while_the_kernels_compile_is_one_line(tmp_path):
    """Ctrl-C lands in Numba's compiler (an empty kernel cache), where its exception is raised
    inside a ctypes callback that cannot pass it on: still one line, no "Exception ignored"
    report, and the run stops instead of training on."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen([sys.executable, "-m", "minirnn.cli.main", "train", "elman",
                                "--data", "sine", "--epochs", "200", "--patience", "200"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, env=env)
    # ready when it says it compiles (the line comes just before the compiler starts, and
    # compiling takes seconds): a readiness signal, not a guess at how long imports take
    first = process.stderr.readline()
    assert first.startswith("compiling the cpu kernels"), first
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, first + stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("compiling")]
    assert lines == ["Error: interrupted"], first + stderr


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
