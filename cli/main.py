"""``minirnn``: gradient-check and benchmark recurrent networks from the command line.

The commands only parse, call library code in ``minirnn`` and show the result with ``rich``.
Nothing here imports NumPy, Numba or the models before a command runs (``common`` says why).
"""
from __future__ import annotations

import functools
import json
import os
import signal
import sys
import textwrap
import warnings

import click
from rich.markup import escape

from minirnn.catalog import MODELS
from minirnn.errors import NO_CACHE, NoKernelCache

from .bench_command import bench
from .common import (backend_option, backends_option, check_interrupted,
                     compiling_undisturbed, console, err_console,
                     fail, interrupted_meanwhile, interrupts_caught, json_option,
                     long_lived_objects, new_table, note, progress_bar)
from .predict_command import predict
from .sweep_command import sweep
from .train_command import train


class GuardedGroup(click.Group):
    """Every failure of every command is one ``Error:`` line and a non-zero exit: the commands
    report the errors they expect themselves; this catches what they did not (an interrupt,
    memory running out, a full disk, a bug), so that a user never sees a traceback.
    MINIRNN_DEBUG=1 shows the traceback of an unexpected error instead."""

    def parse_args(self, ctx, args):
        ctx.meta["minirnn.args"] = list(args)  # the words typed, for --json usage errors
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        with interrupts_caught():
            try:
                result = super().invoke(ctx)
                check_interrupted()  # a signal whose exception was swallowed on the way
                return result
            except click.ClickException as error:  # a usage error: Click reports it (exit 2)
                if "--json" in ctx.meta.get("minirnn.args", ()):  # and stdout gets it as JSON
                    click.echo(json.dumps({"error": error.format_message()}))
                raise
            except (click.exceptions.Exit, click.Abort):
                raise
            except KeyboardInterrupt:
                fail("interrupted")
            except BrokenPipeError:  # `minirnn predict m.npz | head`: the reader has had enough
                _quiet_exit_after_broken_pipe()
            except MemoryError as error:
                fail(f"out of memory{': ' + str(error) if str(error) else ''}")
            except OSError as error:  # the system said no: a full disk, a permission
                where = f": {error.filename}" if error.filename else ""
                fail(f"{error.strerror or error}{where}")
            except Exception as error:  # noqa: BLE001 - the last line of defence, see above
                if interrupted_meanwhile():  # what a swallowed interrupt left (``fail_with``)
                    fail("interrupted")
                if os.environ.get("MINIRNN_DEBUG"):
                    raise
                fail(f"{type(error).__name__}: {error} (an unexpected error; run again with "
                     f"MINIRNN_DEBUG=1 to see where, and please report it)")


def _quiet_exit_after_broken_pipe():
    """Exit as a program killed by SIGPIPE would, with nothing more written to the closed
    pipe (Python would otherwise complain while flushing standard output at exit)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(128 + signal.SIGPIPE)


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                 "show_default": True})
@click.version_option(package_name="minirnn")
@click.option("--blas-threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads for NumPy's BLAS (the matmuls); Numba's kernels use every core, so "
                   "more BLAS threads compete with them on a small machine.")
def main(blas_threads):
    """minirnn: classic recurrent networks with explicit BPTT, checked and fast."""


def computing(command: click.Command) -> click.Command:
    """``command`` with the cpu engine's process settings made (NumPy's BLAS on
    --blas-threads threads, freed memory kept, Numba's target without SciPy's BLAS: see
    ``minirnn.kernels.process``) just before its body runs: after its options
    are parsed, so that its --help and its usage errors import nothing heavy."""
    body = command.callback

    @functools.wraps(body)
    def prepared(*args, **kwargs):
        # NumPy's and Numba's imports, Numba's CPU target; a kernel cache that Numba has
        # nowhere to keep is said in a note, not as Python's warning with its source line
        with long_lived_objects(), warnings.catch_warnings():
            warnings.simplefilter("ignore", NoKernelCache)
            from minirnn.kernels.blas import UNCACHED, prepare_cpu
            from minirnn.kernels.process import scipy_blas_unprobed_when_compiling

            prepare_cpu(click.get_current_context().find_root().params["blas_threads"])
            scipy_blas_unprobed_when_compiling()
        if UNCACHED:
            note(NO_CACHE)
        compiling_undisturbed()
        return body(*args, **kwargs)

    command.callback = prepared
    return command


@main.command()
@json_option
def models(as_json):
    """List every model with its equations and parameters."""
    entries = [{"name": e.name, "class": e.cls, "equations": e.equations,
                "parameters": list(e.parameters),
                "optional_parameters": {option: list(names) for option, names in e.optional},
                "recurrent": e.recurrent, "note": e.note} for e in MODELS.values()]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    # a block per model, not a table: the equations are too long for a column of an
    # 80-character terminal; each line wraps at 80 under its indent, whatever the terminal
    def indented(text, style=None):
        console.print(escape(textwrap.fill(text, width=80,
                                           initial_indent="  ", subsequent_indent="    ")),
                      style=style, soft_wrap=True)

    for e in entries:
        console.print(f"[bold]{e['name']}[/] ({e['class']})")
        for equation in e["equations"].split("; "):  # one to a line
            indented(equation, "cyan")
        optional = "".join(f"; with {option}: {', '.join(names)}"
                           for option, names in e["optional_parameters"].items())
        indented(f"parameters: {', '.join(e['parameters'])}{optional}")
        if e["note"]:
            indented(e["note"], "dim")
        console.print()


@computing
@main.command()
@click.argument("model", type=click.Choice(["all", *MODELS]), default="all")
@backend_option
@click.option("--mode", type=click.Choice(["full", "fast"]), default="full", show_default=True,
              help="full: every element; fast: random directions (large models).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sizes' values.")
@click.option("--per-step", is_flag=True,
              help="Also show ‖∂L/∂h_t‖ (each state) beside ‖∂L/∂x_t‖ per time step for a loss "
                   "at the last step.")
@json_option
def gradcheck(model, backend, mode, seed, per_step, as_json):
    """Check every model's gradients against finite differences and the tape engine.

    Builds each MODEL (or all) with small random sizes in float64 and compares the analytic
    gradient of every parameter, the initial state and the input with central finite
    differences, and each engine's outputs and gradients with the tape engine's. Exits with
    code 1 if anything fails.
    """
    from minirnn.checks import check_model, per_step_gradient_norms

    names = list(MODELS) if model == "all" else [model]
    backends = backends_option(backend)
    if backend == "all" and "cuda" not in backends:
        err_console.print("note: the cuda engine is not checked: no NVIDIA GPU with a working "
                          "driver here (the tests check its kernels in Numba's simulator)")
    rows = []
    with progress_bar() as progress:
        task = progress.add_task("gradcheck", total=len(names) * len(backends))
        for name in names:
            for b in backends:
                progress.update(task, description=f"gradcheck {name} [{b}]")
                rows.extend(check_model(name, b, mode=mode, seed=seed))
                progress.advance(task)
    passed = all(r.passed for r in rows)
    steps = ({n: {k: v.tolist() for k, v in per_step_gradient_norms(n).items()}
              for n in names} if per_step else None)
    if as_json:
        click.echo(json.dumps({"passed": passed, "rows": [r.as_dict() for r in rows],
                               **({"per_step": steps} if steps else {})}, indent=2))
    else:
        _show_gradcheck(rows, steps, mode, passed)
    sys.exit(0 if passed else 1)


def _show_gradcheck(rows, steps, mode, passed: bool):
    """gradcheck's tables: one per model (and per model its gradient norms by time step)."""

    def fmt(v):
        return "" if v is None else f"{v:.1e}"

    console.print(f"gradcheck ({mode}, float64): analytic gradient against finite "
                  f"differences (fd) and against the tape engine")
    # a table per model, its name as the title: a column of names as long as
    # multilayer:output_feedback cut every other column short at 80 characters
    for model in dict.fromkeys(r.model for r in rows):
        table = new_table(title=model, title_justify="left")
        for column in ("backend", "tensor", "fd abs err", "fd rel err", "vs tape rel err",
                       "result"):
            table.add_column(column, justify="right" if "err" in column else "left")
        for r in rows:
            if r.model == model:
                table.add_row(r.backend, r.tensor, fmt(r.fd_abs_error),
                              fmt(r.fd_rel_error), fmt(r.tape_rel_error),
                              "[green]pass[/]" if r.passed else "[bold red]FAIL[/]")
        console.print(table)
    if steps:
        for n, norms in steps.items():
            # the states first (‖∂L/∂h_t‖: what comes back through time), then the input
            names_shown = [k for k in norms if k != "x"] + ["x"]
            step_table = new_table(title=f"{n}: gradient norms for L at the last step")
            step_table.add_column("t", justify="right")
            for k in names_shown:
                step_table.add_column(f"‖∂L/∂{k}_t‖", justify="right")
            for t in range(len(norms["x"])):
                step_table.add_row(str(t), *(f"{norms[k][t]:.3e}" for k in names_shown))
            console.print(step_table)
    failed = sum(not r.passed for r in rows)
    console.print("[green]all gradients check[/]" if passed else
                  f"[bold red]{failed} check(s) failed[/]")


for command in (train, bench, predict):
    main.add_command(computing(command))
main.add_command(sweep)  # its process computes nothing: the trials run in their servers' forks


if __name__ == "__main__":  # pragma: no cover
    main()
