"""The ``minirnn`` command line (installed as ``minirnn.cli``)."""


def run():
    """The ``minirnn`` command. The application (NumPy, Numba, the models) is imported here,
    inside a guard, so that Ctrl-C during its seconds-long import ends with one line, not a
    traceback."""
    import sys

    try:
        from .main import main
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        sys.exit(1)
    main()
