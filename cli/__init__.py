"""The ``minirnn`` command line (installed as ``minirnn.cli``)."""
