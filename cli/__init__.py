"""The ``minirnn`` command line (installed as ``minirnn.cli``)."""


def run():
    """The ``minirnn`` command. The application (NumPy, Numba, the models) is imported here,
    inside a guard, so that Ctrl-C or SIGTERM during its seconds-long import ends with one
    line, not a traceback or a silent exit."""
    import signal
    import sys

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # a polite kill during the imports: one line too
    try:
        from .main import main
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        sys.exit(1)
    main()
