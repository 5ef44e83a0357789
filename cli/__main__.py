"""``python -m minirnn.cli``: the ``minirnn`` command (what a sweep's trials run)."""
from . import run

run()
