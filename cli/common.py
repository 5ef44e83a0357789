"""What the commands share: the console, one-line errors, the progress bar, option bundles.

Light to import, as every command module is at its top: Click, Rich's console and the
catalogue of names, never NumPy, Numba or the models, so that ``--help``, ``minirnn models``
and a usage error answer at once. The commands import the library inside their bodies."""
from __future__ import annotations

import _thread
import json
import math
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console

from minirnn.catalog import BACKENDS, BUILTIN_DATA, MISSING
from minirnn.errors import CheckpointError, DataError

#: the library's errors that are the user's to fix: each one line, no traceback
USER_ERRORS = (DataError, CheckpointError, ValueError, TypeError, RuntimeError, MemoryError)

console = Console()
err_console = Console(stderr=True)


def new_table(*args, **kwargs):
    """A ``rich.table.Table`` (imported when a table is made: a tenth of --help's time)."""
    from rich.table import Table

    return Table(*args, **kwargs)


def available_backends() -> list[str]:
    from minirnn.app.engines import available_backends

    return available_backends()


def progress_bar(transient=True):
    """A progress line on a terminal; nothing at all when stderr is a file or a pipe."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=transient,
                    disable=not err_console.is_terminal)


def fail(message: str, json_sent: bool = False):
    """End with a one-line error and exit code 1 (never a traceback); with --json, standard
    output also gets the error as its one JSON document, {"error": message}, unless the
    command has printed its document already (``json_sent``: with an "error" key in it)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get(JSON_MODE) and not json_sent:
        click.echo(json.dumps({"error": message}))
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def note(text: str):
    """A note for the user on stderr, wrapped to the terminal (80 columns elsewhere), its text
    shown as written (no rich markup)."""
    from rich.markup import escape

    err_console.print(escape(f"note: {text}"))


def wrote(path, what: str):
    """The line that says a file was written (on stderr: standard output stays the data)."""
    click.echo(f"wrote {path} ({what})", err=True)


def fail_with(error: Exception):
    """A library error as a one-line message; with MINIRNN_DEBUG=1 set, the full traceback
    instead (for finding a bug rather than a bad input). After a Ctrl-C or SIGTERM the error is
    taken for what the interrupt left behind and the command ends as interrupted: a Ctrl-C
    inside Numba's compiler is swallowed there, which then fails with an error of its own ("no
    compiled object yet for <Library 'gemm'>")."""
    check_interrupted()
    if os.environ.get("MINIRNN_DEBUG"):
        raise error
    fail(str(error))


def backends_option(value: str) -> list[str]:
    if value == "all":
        return available_backends()
    if value == "cuda" and "cuda" not in available_backends():
        from minirnn.app.engines import CUDA_MISSING

        fail(CUDA_MISSING)
    return [value]


JSON_MODE = "minirnn.json"  # ctx.meta's key: the command prints one JSON document


def _remember_json(ctx, param, value):
    if value:
        ctx.meta[JSON_MODE] = True
    return value


json_option = click.option("--json", "as_json", is_flag=True, callback=_remember_json,
                           help="Print one JSON document on standard output instead of a "
                                "table (an error as {\"error\": …}).")
backend_option = click.option(
    "--backend", type=click.Choice(["all", *BACKENDS]), default="all", show_default=True,
    help="Engine(s) to run: every available one, or one of them.")


def data_options(f):
    """--data, --target, --inputs, --series-id, --length, --missing: shared by train and
    predict."""
    f = click.option("--series-id", default=None, metavar="COLUMN",
                     help="CSV in long format: the column that names each row's series. One "
                          "model learns them all (each series split in time and scaled on its "
                          "own, streams of one batch) and is scored per series and overall "
                          "(predict and --resume: the checkpoint's).")(f)
    f = click.option("--missing", type=click.Choice(MISSING), default=None,
                     help="CSV: what a missing value (empty, NA, NaN, null, ?) does: error (the "
                          "default for train), drop its row, or interpolate between its "
                          "neighbours (predict and --resume: the checkpoint's).")(f)
    f = click.option("--length", type=click.IntRange(min=10), default=None,
                     help="Rows of a built-in data set [default: 2000; the text corpus: 40000 "
                          "words].")(f)
    f = click.option("--inputs", default=None,
                     help="CSV: exogenous input columns, comma-separated.")(f)
    f = click.option("--target", default=None,
                     help="CSV: the column(s) to predict, comma-separated.")(f)
    return f


def announce_compiling(model: str, config: dict, backend: str):
    """One line on stderr, in every output mode, when the run's recurrence kernels are not in
    Numba's cache yet (the seconds a first run spends compiling)."""
    from minirnn.app.engines import needs_compiling

    if needs_compiling(model, config, backend):
        click.echo("compiling the cpu kernels not cached yet (after installing or editing "
                   "minirnn; up to half a minute, once)", err=True)


class FiniteFloat(click.ParamType):
    """A finite number within bounds (Click's FloatRange lets NaN through)."""

    name = "number"

    def __init__(self, min=None, max=None, min_open=False, max_open=False):
        self.min, self.max, self.min_open, self.max_open = min, max, min_open, max_open

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        low = self.min is not None and (number <= self.min if self.min_open else
                                        number < self.min)
        high = self.max is not None and (number >= self.max if self.max_open else
                                         number > self.max)
        if low or high:
            if self.max is None:
                bound = f"x {'>' if self.min_open else '>='} {self.min}"
            else:
                low = "" if self.min is None else f"{self.min} {'<' if self.min_open else '<='} "
                bound = f"{low}x {'<' if self.max_open else '<='} {self.max}"
            self.fail(f"{value} is not in the range {bound}", param, ctx)
        return number


def check_writable(path, option: str):
    """Fail now, before any work, if ``path`` cannot be written: a directory, a missing or
    read-only folder. Nothing is left behind by the check."""
    target = Path(path)
    if target.is_symlink():  # written through: check where it points
        target = Path(os.path.realpath(path))
    if target.is_dir():
        fail(f"{option} {path} is a directory, not a file")
    if target.exists() and not target.is_file():
        return  # a device or a pipe (/dev/null, a FIFO): written to as it is
    folder = target.parent
    if not folder.exists():
        fail(f"{option} {path}: the folder {folder} does not exist")
    if not folder.is_dir():
        fail(f"{option} {path}: {folder} is not a folder")
    probe = folder / f".{target.name}.{os.getpid()}.probe"
    try:
        probe.open("x").close()
        probe.unlink()
    except OSError as error:
        fail(f"{option} {path}: cannot write in {folder} ({error.strerror or error})")


def check_checkpoint_out(out, data=None):
    """The rules for a checkpoint written to ``--out`` (train's and sweep's), before any work: a
    name ending in .npz, a regular file or none yet, in a folder that can be written, and not
    the ``data`` file the run reads. (Replacing a checkpoint that exists is
    ``app.training.check_out``'s to allow.)"""
    if Path(out).suffix != ".npz":
        fail(f"--out {out}: a checkpoint file must end in .npz")
    real = Path(os.path.realpath(out))
    if real.exists() and not real.is_file() and not real.is_dir():
        fail(f"--out {out} is not a regular file: a checkpoint cannot go there")
    check_writable(out, "--out")
    check_not_inputs({"--out": out},
                     {"the --data file": data if data not in BUILTIN_DATA else None})


def check_not_inputs(outputs: dict, inputs: dict):
    """Fail if an output path (option → path) is one of the command's input files (label →
    path), or another output: writing it would destroy what is being read."""
    seen = {os.path.realpath(path): label for label, path in inputs.items() if path}
    for option, path in outputs.items():
        if not path:
            continue
        real = os.path.realpath(path)
        if real in seen:
            fail(f"{option} {path} is {seen[real]}: writing there would destroy it; choose "
                 f"another file")
        seen[real] = option


# --- interrupts ---------------------------------------------------------------------------------
_signalled = []  # the signals received while a command ran
_deferred = []  # non-empty inside ``interrupts_deferred``
_resends = []  # the timers that will send a swallowed interrupt again (``_quiet_about_interrupts``)
_resending = _thread.allocate_lock()  # held to send again, and to stop the timers


def _on_signal(signum, frame):
    _signalled.append(signum)
    if not _deferred:
        raise KeyboardInterrupt


@contextmanager
def interrupts_deferred():
    """A block a signal must not cut (writing a checkpoint): a Ctrl-C or SIGTERM that arrives
    inside it is remembered and raised when the block ends. Raised inside ``np.savez``, it
    left a half-written archive whose closing raised a ValueError of its own ("Can't close the
    ZIP file while there is an open writing handle"), which replaced the interrupt: the run
    ended with that error and a traceback instead of its one line."""
    _deferred.append(True)
    try:
        yield
    finally:
        _deferred.pop()
    check_interrupted()


@contextmanager
def interrupts_held():
    """A clean-up that must run to its end (a sweep ending its trial servers and cluster): a
    Ctrl-C or SIGTERM inside it is remembered, not raised. After an interrupt the command
    has said its one line already; otherwise the end of the command raises it."""
    _deferred.append(True)
    try:
        yield
    finally:
        _deferred.pop()


@contextmanager
def interrupts_caught():
    """Ctrl-C (SIGINT) and a polite kill (SIGTERM) end a command as an interrupt: one line, the
    checkpoint lock released. Each signal is also remembered, because the exception it raises
    can land inside a callback that swallows it (Numba compiling, through ctypes): the training
    loop and the end of the command look again (``check_interrupted``)."""
    import signal
    import threading

    _signalled.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # a signal the process was started to ignore (SIGINT of a background job) stays ignored
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(s) is not signal.SIG_IGN}
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_about_interrupts(hook)
    try:
        yield
    finally:
        sys.unraisablehook = hook
        _stop_resending()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _stop_resending():
    """No interrupt is sent again from now on, and one already sent is only remembered: a
    timer's thread that had checked that it may send, then was held up (a loaded machine) and
    sent once the command's handlers were gone, would raise a KeyboardInterrupt under Python's
    own handler after the command had ended."""
    _deferred.append(True)
    try:
        with _resending:
            for timer in _resends:
                timer.cancel()
            _resends.clear()
        _signals_handled()
    finally:
        _deferred.pop()


def _signals_handled():
    """Nothing, called: CPython runs the handlers of the signals that have arrived (or been
    sent by ``_thread.interrupt_main``) on entering a Python function."""


def _quiet_about_interrupts(hook):
    """Python prints "Exception ignored … Traceback" when an exception is raised where it
    cannot propagate (a ctypes callback of Numba's compiler, a garbage-collection callback of
    Dask's) and goes on; an interrupt there is not printed but sent again a moment later, by
    a timer's thread, so that it is raised where the command's code has got to by then (sent
    at once, it was raised inside this hook again, and lost). Swallowed by Dask's collection
    callback, a sweep's Ctrl-C was noticed only once every trial had run."""
    import signal
    import threading

    def unraisable(info):
        if info.exc_type is None or not issubclass(info.exc_type, KeyboardInterrupt):
            hook(info)
            return
        def send_again(signum):
            with _resending:  # not once the command's handlers are going (``_stop_resending``)
                if _resends:
                    _thread.interrupt_main(signum)

        _deferred.append(True)  # a signal meanwhile is only remembered: it is sent below
        try:
            signum = _signalled[-1] if _signalled else signal.SIGINT
            timer = threading.Timer(0.01, send_again, (signum,))
            timer.daemon = True
            _resends.append(timer)
            timer.start()
        finally:
            _deferred.pop()
    return unraisable


def interrupted_meanwhile() -> bool:
    """Whether a Ctrl-C or SIGTERM arrived while the command ran."""
    return bool(_signalled)


def check_interrupted():
    """Raise KeyboardInterrupt if a signal arrived whose exception went missing."""
    if _signalled:
        raise KeyboardInterrupt


PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")


def check_plot_path(plot):
    """--plot: a known image format in a writable folder, and matplotlib installed."""
    if not plot:
        return
    suffix = Path(plot).suffix.lower().lstrip(".")
    if suffix not in PLOT_FORMATS:
        fail(f"--plot {plot}: unknown image format {suffix or '(no extension)'!r}; use one of "
             f"{', '.join('.' + f for f in PLOT_FORMATS)}")
    check_writable(plot, "--plot")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        fail("--plot needs matplotlib: pip install 'minirnn[plot]'")


# --- Python's garbage collector in the command's own process --------------------------------------
# A command's process makes hundreds of thousands of objects that live as long as it does: NumPy's
# and Numba's modules, Numba's typing registries, the kernels loaded from its cache. Python's
# collector, made for programs that make and drop objects, searches them all for reference cycles
# at each full collection: while they are made (twice in a one-epoch ``train``: 0.06 s on the
# 2-core machine of BENCHMARKS.md), later, and once more at the interpreter's exit, only to free
# memory that the system takes back anyway (0.2-0.3 s there). So in the command's own process
# (``run``; not a test's or a notebook's that calls the commands) they are made with the collector
# paused, then left out of every collection (``gc.freeze``: Python's permanent generation, which
# its documentation also advises before a fork), and so is everything once the command has ended.
_owns_process = []  # non-empty once ``run`` has started the command in this process
_compile_listener = []  # the one listener of ``compiling_undisturbed``


def own_process():
    """Called by ``run``: this process is the command's, its collector ours to tune."""
    _owns_process[:] = [True]


@contextmanager
def long_lived_objects():
    """Inside, no garbage collection; after it, what was made inside (and before) is left out
    of every later collection. Nothing changes outside the command's own process."""
    if not _owns_process:
        yield
        return
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def compiling_undisturbed():
    """From now on in the command's own process, neither a garbage collection nor an
    interrupt inside a kernel's compilation by Numba (the first run after installing or
    editing minirnn). Returns the listener given to Numba, once per process (None outside the
    command's own process).

    - The collector: Numba's compiler makes millions of short-lived objects, for which the
      collector ran hundreds of times, 0.5-1 s of that run's 8-9 s on the 2-core machine of
      BENCHMARKS.md. The price is 30-60 MB more memory at the run's peak (its garbage waits
      for the end of each compilation); what it leaves is collected as usual once it has
      finished. Loading a kernel from the cache is not a compilation: a warm run is unchanged.
    - Ctrl-C and SIGTERM: an interrupt raised inside the compiler lands in LLVM's callbacks,
      which swallow it (Numba then fails with an error of its own, "no compiled object yet"),
      or between two of llvmlite's steps, where it left a module to be freed twice (a
      segfault, 3 of 200 SIGTERMs in one test). So one that arrives meanwhile is remembered
      and raised once the kernel being compiled is done (a second or two)."""
    if not _owns_process:
        return None
    if _compile_listener:  # a trial server's warm-ups and trials run several commands
        return _compile_listener[0]
    import gc

    from numba.core import event

    class Undisturbed(event.Listener):
        depth = 0  # a kernel's compilation compiles the functions it calls inside it

        def on_start(self, ev):
            if self.depth == 0:
                self.enabled = gc.isenabled()
                gc.disable()
                self.signals = len(_signalled)
                _deferred.append(True)
            self.depth += 1

        def on_end(self, ev):
            self.depth -= 1
            if self.depth == 0:
                if self.enabled:
                    gc.enable()
                _deferred.pop()
                if len(_signalled) > self.signals and not _deferred:
                    raise KeyboardInterrupt  # what arrived while it compiled

    _compile_listener.append(Undisturbed())
    event.register("numba:compile", _compile_listener[0])
    return _compile_listener[0]


def command_ended():
    """Called by ``run`` once the command has ended: leave every object to the system, so that
    the interpreter's exit does not search them for cycles (every file the commands write is
    closed by then, and the exit handlers still run)."""
    import gc

    gc.freeze()
