"""The command line answers at once where it has nothing to compute: ``--help``, ``minirnn
models`` and a usage error import neither NumPy nor Numba nor the models (half a second of
imports a run pays before its first step), only Click, Rich and ``minirnn.catalog``."""
import subprocess
import sys

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

