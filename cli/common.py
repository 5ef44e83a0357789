"""What the commands share: the console, one-line errors, the progress bar, option bundles."""
from __future__ import annotations

import os
import sys

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from minirnn.models import BACKENDS

console = Console()
err_console = Console(stderr=True)


def available_backends() -> list[str]:
    from minirnn.kernels.cuda_support import cuda_available

    return [b for b in BACKENDS if b != "cuda" or cuda_available()]


def progress_bar(transient=True):
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=transient)


def fail(message: str):
    """End with a one-line error and exit code 1 (never a traceback)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def fail_with(error: Exception):
    """A library error as a one-line message; with MINIRNN_DEBUG=1 set, the full traceback
    instead (for finding a bug rather than a bad input)."""
    if os.environ.get("MINIRNN_DEBUG"):
        raise error
    fail(str(error))


def backends_option(value: str) -> list[str]:
    if value == "all":
        return available_backends()
    if value == "cuda" and "cuda" not in available_backends():
        fail("backend 'cuda' needs an NVIDIA GPU with a working CUDA driver and numba-cuda "
             "(pip install 'minirnn[cuda]'); none was found")
    return [value]


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON instead of a table.")
backend_option = click.option(
    "--backend", type=click.Choice(["all", *BACKENDS]), default="all", show_default=True,
    help="Engine(s) to run: every available one, or one of them.")
