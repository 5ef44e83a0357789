"""Warm processes that run ``minirnn`` commands: each command a fork of a process that has
imported the command and loaded its kernels, so a sweep's trial does not pay the start-up.

A fresh ``python -m minirnn.cli train`` pays about a second or more before its first epoch:
the interpreter, NumPy's and Numba's imports, and loading each cached kernel. A *trial server*
pays that once. It is a process of its own (``python -m minirnn.trial_server``, one per Dask
worker that runs trials: started by that worker's process, which for a local sweep is the
sweep's own, before its cluster is up: ``prestart``), which first runs each *warm-up*
command in itself (a sweep passes one short ``train`` per model: one epoch, no checkpoint),
then for each request forks: the child runs the command exactly as ``python -m minirnn.cli``
would (``runpy``, the same ``sys.argv``), its standard output and error captured, and exits;
the server reports the exit code and the output. Why a fork:

- the child starts from the warm parent's memory (imports done, kernels loaded, copy on
  write) at the cost of a fork, about 10 ms; the warm-ups, as every command, end with every
  object of the process frozen (``gc.freeze``: ``cli/common.py``), so a child's garbage
  collections neither search the parent's objects nor write to (and so copy) their pages;
- nothing of one trial can reach the next: each is a fresh copy of the same parent, which
  never runs a trial; a crash kills only its child (reported as its exit code, as a process's);
- what the warm-up could leave in the parent (the global random generators, the environment,
  the folder, the signal handlers, the deterministic mode, Numba's and the BLAS's thread
  counts) is put back as it was before the warm-up (``process_state`` is compared in the
  tests), and a trial's report is checked equal, bit for bit, to the same command typed by
  hand;
- the server runs Numba's ``workqueue`` threading layer on one thread (``NUMBA_NUM_THREADS=1``,
  as every trial had; OpenBLAS on one thread too): GNU OpenMP, Numba's default here, ends a
  process that forks after using it. On one thread every kernel call is one block of rows, which
  runs the kernel's serial compilation (``kernels.blas.RowBlockKernel``) and starts no thread
  pool at all, so the layer costs nothing; it matters only where a pool does start (the
  deterministic mode's fixed blocks), and there a fork stays safe.

Nothing runs on behind a dead worker or an interrupted sweep: the server ends when its
standard input closes (``close``, ``close_all``, or the process that started it died,
however), even mid-trial, and a child gets SIGTERM when the server goes
(``PR_SET_PDEATHSIG``), as a trial's process did when its worker died. A server and its
trials ignore Ctrl-C: the process that started them handles it and ends them.

Where there is no fork with ``PR_SET_PDEATHSIG`` (not Linux), ``run_program`` falls back to
a fresh ``python -m minirnn.cli`` per command.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

#: how a trial's command runs: the same program a user types, ``python -m minirnn.cli``
PROGRAM = ["-m", "minirnn.cli"]
#: warm processes only where a forked child can be tied to its parent's life
FORKS = sys.platform.startswith("linux") and hasattr(os, "fork")
#: the environment of a server and its trials: one core per worker, and a threading layer
#: that survives a fork
SERVER_ENV = {"NUMBA_NUM_THREADS": "1", "NUMBA_THREADING_LAYER": "workqueue",
              "OPENBLAS_NUM_THREADS": "1", "PYTHONSAFEPATH": "1"}


class TrialServerDied(RuntimeError):
    """The trial server ended (killed, or out of memory) before it answered."""


def _die_with_parent(parent: int | None = None):  # pragma: no cover - runs in a child
    """Linux: this process gets SIGTERM when its parent dies (a killed worker or server
    leaves no trial running on behind its rerun); if the parent is already gone, now."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


# --- the client: in the process that wants commands run (a Dask worker) -------------------------
class TrialServer:
    """A warm server process: started with its warm-up commands, then ``run(args)`` for each
    command, one at a time. Starting one does not wait for its warm-up (``ready`` does, and
    so does the first ``run``): a caller starts its servers, then does something else."""

    def __init__(self, warmups=()):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minirnn.trial_server"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, **SERVER_ENV))
        self._ready, self._busy = None, False
        with _lock:
            _live.add(self)
        self._send({"warmups": [list(w) for w in warmups]})

    @property
    def ready(self) -> dict:
        """The server's answer to its warm-up: its pid and ``process_state`` before and after
        (waited for the first time)."""
        return self._wait_ready()

    def _wait_ready(self) -> dict:
        if self._ready is None:
            self._ready = self._receive()
        return self._ready

    def _send(self, message: dict):
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (OSError, ValueError):  # a server gone, or closed (``close_all``) since it was
            pass  # taken for this command: ``_receive`` says so

    def _receive(self, abandoned=None) -> dict:
        """The server's next answer; ``abandoned()``, when given, is asked every
        ``POLL_SECONDS`` meanwhile, and True ends the server (and the command it runs)."""
        while abandoned is not None and not _readable(self.process.stdout, POLL_SECONDS):
            if abandoned():
                self._end(reader=True)
                raise TrialServerDied("the command was abandoned (its task was cancelled): "
                                      "the trial server ended it")
        try:
            line = self.process.stdout.readline()
        except (OSError, ValueError):  # the pipe closed meanwhile
            line = ""
        if not line:
            self._end(reader=True)
            raise TrialServerDied(f"the trial server ended (exit {self.process.poll()}) "
                                  f"before it answered")
        return json.loads(line)

    def run(self, args: list, abandoned=None) -> tuple:
        """(exit code, standard output, standard error) of ``minirnn *args`` in a fork;
        ``abandoned``: see ``_receive``."""
        self._busy = True
        try:
            self._wait_ready()  # the warm-up's answer comes first
            self._send({"args": list(args)})
            answer = self._receive(abandoned)
        finally:
            self._busy = False
        return answer["code"], answer["stdout"], answer["stderr"]

    def close(self):
        """End the server: it ends when its input closes, and a command it is running ends
        with it (the command's process gets SIGTERM), the thread waiting for its answer
        getting ``TrialServerDied``. Killed if it does not end, or if it is still warming up
        (a sweep that ends before its first trial: nothing of the server's is lost, and its
        warm-up would be waited for)."""
        self._end(reader=not self._busy)

    def _end(self, reader: bool):
        try:
            self.process.stdin.close()
        except OSError:
            pass
        if self._ready is None:
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if reader:  # (a thread waiting for an answer closes it once it has read the end)
            self.process.stdout.close()
        with _lock:
            _live.discard(self)


#: how often a running command's ``abandoned()`` is asked
POLL_SECONDS = 0.5


def _readable(stream, seconds: float) -> bool:
    """Whether ``stream`` has something to read (or its end) within ``seconds``."""
    import select

    return bool(select.select([stream], [], [], seconds)[0])


_idle: dict = {}  # (warm-ups, folder, environment) -> idle servers of this process
_live: set = set()  # every server of this process not yet ended, idle or running a command
_lock = threading.Lock()


def _key(warmups) -> tuple:
    """What a server's state depends on: its warm-ups, and the folder and environment it
    was started in (a trial inherits both)."""
    return json.dumps([list(w) for w in warmups]), os.getcwd(), json.dumps(dict(os.environ))


def _idle_servers(key) -> tuple:
    """(this process's idle servers of ``key``, those of any other key taken out: another
    sweep's, not needed again, for the caller to end once it has let go of ``_lock``, which
    ending takes). Call with ``_lock`` held."""
    stale = [server for other in [k for k in _idle if k != key] for server in _idle.pop(other)]
    return _idle.setdefault(key, []), stale


def prestart(warmups=(), count: int = 1):
    """Start ``count`` servers warmed with ``warmups`` for the commands this process will run
    (``run_program``), without waiting: they import and warm up while the caller goes on (a
    sweep: while its local cluster starts). Nothing where there is no fork."""
    if not FORKS:
        return
    started = [TrialServer(warmups) for _ in range(count)]
    with _lock:
        idle, stale = _idle_servers(_key(warmups))
        idle.extend(started)
    for server in stale:
        server.close()


def close_all():
    """End every server of this process, idle or running a command (whose process ends
    with it): a sweep that has run its trials, or one interrupted."""
    with _lock:
        servers = list(_live)
        _idle.clear()
    for server in servers:
        server.close()


def run_program(args: list, warmups=(), abandoned=None) -> tuple:
    """(exit code, standard output, standard error) of ``minirnn *args``: in a warm server of
    this process warmed with ``warmups`` (started on first use or by ``prestart``, kept for
    the next command of the same warm-ups, folder and environment), or a fresh process where
    there is no fork. ``abandoned()``, asked while the command runs, ends it (and its
    server) when True: a sweep that was interrupted."""
    if not FORKS:
        env = dict(os.environ, NUMBA_NUM_THREADS="1", PYTHONSAFEPATH="1")
        run = subprocess.run([sys.executable, *PROGRAM, *args], capture_output=True, text=True,
                             env=env)
        return run.returncode, run.stdout, run.stderr
    key = _key(warmups)
    with _lock:
        idle, stale = _idle_servers(key)
        server = idle.pop() if idle else None
    for other in stale:
        other.close()
    if server is None:
        server = TrialServer(warmups)
    result = server.run(args, abandoned)  # a server that died is ended, the error raised
    with _lock:
        _idle.setdefault(key, []).append(server)
    return result


# --- the server -----------------------------------------------------------------------------------
def process_state() -> dict:
    """What a command run in this process could inherit from an earlier one: the folder, the
    environment, the global random generators, NumPy's error handling, the kernels'
    deterministic mode, Numba's and the BLAS's thread counts, the Ctrl-C and SIGTERM handlers,
    ``sys.argv``."""
    import hashlib
    import random

    import numba
    import numpy as np

    from minirnn.kernels import deterministic
    from minirnn.kernels.blas import get_blas_threads

    def digest(value) -> str:
        return hashlib.sha256(repr(value).encode()).hexdigest()

    return {"cwd": os.getcwd(), "environ": dict(os.environ), "argv": list(sys.argv),
            "random": digest(random.getstate()), "numpy_random": digest(np.random.get_state()),
            "numpy_errors": np.geterr(), "deterministic": deterministic(),
            "numba_threads": numba.get_num_threads(), "blas_threads": get_blas_threads(),
            "signals": {name: repr(signal.getsignal(getattr(signal, name)))
                        for name in ("SIGINT", "SIGTERM")}}


def _run_command(args: list) -> int:
    """Run ``minirnn *args`` in this process as ``python -m minirnn.cli`` runs it; its exit
    code."""
    import runpy

    sys.argv = ["", *args]  # runpy puts the program's path first, as ``python -m`` does
    try:
        runpy.run_module(PROGRAM[1], run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    return 0


def _warm_up(warmups) -> dict:
    """Run the warm-up commands here (their output discarded, a failure ignored: it only
    leaves less loaded), then put back what they could change; the state before and after."""
    import random

    import numba
    import numpy as np

    from minirnn.kernels import deterministic, set_deterministic
    from minirnn.kernels.blas import set_blas_threads

    before = process_state()
    saved = (random.getstate(), np.random.get_state(), np.geterr(), deterministic(),
             {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)})
    for args in warmups:
        try:
            _run_command(args)
        except Exception:  # noqa: BLE001 - a warm-up that fails leaves the kernels cold
            pass
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    os.chdir(before["cwd"])
    os.environ.clear()
    os.environ.update(before["environ"])
    sys.argv = before["argv"]
    random.setstate(saved[0])
    np.random.set_state(saved[1])
    np.seterr(**saved[2])
    set_deterministic(saved[3])
    numba.set_num_threads(before["numba_threads"])
    if before["blas_threads"] is not None:
        set_blas_threads(before["blas_threads"])
    for number, handler in saved[4].items():
        signal.signal(number, handler)
    return {"before": before, "after": process_state()}


def _fork_command(args: list, requests, replies) -> dict:
    """Run one command in a fork of this process: its exit code and output. Ends this
    process (and so the child) if ``requests`` closes meanwhile."""
    import select
    import tempfile

    server = os.getpid()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child, measured through its output
            code = 1
            try:
                _die_with_parent(server)
                replies.close()  # the worker's end of it sees the server's end alone
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                code = _run_command(args)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        if hasattr(os, "pidfd_open"):  # wait for the child, or for the end of the input
            ended = os.pidfd_open(child)
            ready, _, _ = select.select([requests, ended], [], [])
            os.close(ended)
            if requests in ready:  # only an end of input comes mid-command: the worker is
                os._exit(0)  # gone, and the child follows (PR_SET_PDEATHSIG)
        _, status = os.waitpid(child, 0)
        out.seek(0)
        err.seek(0)
        return {"code": os.waitstatus_to_exitcode(status),
                "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace")}


def serve():
    """The server's loop: the first line of standard input holds the warm-up commands
    (``{"warmups": [[...], ...]}``), each next line a command (``{"args": [...]}``); each gets
    one line of JSON back. Ends at the end of its input."""
    replies = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # what the warm-ups print goes nowhere; the answers go to ``replies``
    requests = sys.stdin
    first = requests.readline()
    if not first:
        return
    ready = _warm_up(json.loads(first).get("warmups", []))
    replies.write(json.dumps({"ready": True, "pid": os.getpid(), **ready}) + "\n")
    replies.flush()
    for line in requests:
        replies.write(json.dumps(_fork_command(json.loads(line)["args"], requests, replies)) + "\n")
        replies.flush()
    # the end of the input: nothing is left to clean up (each command's files are closed), and
    # an interpreter's shutdown with Numba loaded took 0.3 s on the 2-core machine of
    # BENCHMARKS.md, which a sweep ending its servers would wait for
    os._exit(0)


if __name__ == "__main__":
    # Ctrl-C is the sweep's to handle (it says how to resume, then closes its servers, whose
    # input closing ends them); a server and its trials, in the sweep's process group, ignore it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve()
