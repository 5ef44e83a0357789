"""The ``minirnn`` command line (installed as ``minirnn.cli``)."""


def run():
    """The ``minirnn`` command. The application (NumPy, Numba, the models) is imported here,
    inside a guard, so that Ctrl-C or SIGTERM during its seconds-long import ends with one
    line, not a traceback or a silent exit."""
    import atexit
    import signal
    import sys

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # a polite kill during the imports: one line too
    atexit.register(_report_held_signals)  # the last of the exit handlers to run
    try:
        from .common import command_ended, own_process
        from .main import main
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        _caught_interrupts_forgotten()
        sys.exit(1)
    own_process()  # Python's collector is the command's to tune (``common``)
    try:
        main()
    finally:
        _hold_signals()
        command_ended()
        _caught_interrupts_forgotten()


def _caught_interrupts_forgotten():
    """Run as ``python -m minirnn.cli`` (as the tests and a sweep's own scripts do), CPython
    ends the process killed by SIGINT, after the command's one line and whatever its exit
    code, if a KeyboardInterrupt ever left code that ``exec`` or ``eval`` ran from a string
    (the methods that ``dataclasses`` and ``namedtuple`` write, in an import that a Ctrl-C
    landed in), even one the command caught: the flag that records it is cleared only when
    such code starts. So one starts here, once no interrupt can be raised any more (7 of 60
    interrupted sweeps under load exited killed by SIGINT before)."""
    exec("pass")  # noqa: S102 - see above


_held = []  # the signals received after the command ended


def _hold_signals():
    """Once the command has ended, Ctrl-C and SIGTERM are only remembered: raised while the
    interpreter shuts down (joining threads, Dask's and multiprocessing's exit handlers), one
    printed a traceback from wherever it landed, and one after Python put back the default
    handlers killed the process silently. ``_report_held_signals`` says so instead."""
    import signal

    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), lambda signum, frame: _held.append(signum))


def _report_held_signals():
    """The last exit handler: from here on the signals are ignored (nothing is left to do),
    and one received since the command ended ends the process with the usual one line and
    exit code 1 (what the command wrote is complete)."""
    import os
    import signal
    import sys

    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    if _held:
        sys.stdout.flush()
        sys.stderr.write("Error: interrupted\n")
        sys.stderr.flush()
        os._exit(1)
