"""``minirnn``: gradient-check and benchmark recurrent networks from the command line.

The commands only parse, call library code in ``minirnn`` and show the result with ``rich``.
"""
from __future__ import annotations

import json
import os
import signal
import sys

import click
from rich.markup import escape
from rich.table import Table

from minirnn.models.base import DTYPES
from minirnn.models.registry import MODELS

from .common import (backend_option, backends_option, check_interrupted, console, err_console,
                     fail, interrupts_caught, json_option, progress_bar)
from .predict import predict
from .sweep import sweep
from .train import train


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


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="minirnn")
@click.option("--blas-threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads for NumPy's BLAS (the matmuls); Numba's kernels use every core, so "
                   "more BLAS threads compete with them on a small machine.")
def main(blas_threads):
    """minirnn: classic recurrent networks with explicit BPTT, checked and fast."""
    from minirnn.kernels.blas import prepare_cpu

    prepare_cpu(blas_threads)





@main.command()
@json_option
def models(as_json):
    """List every model with its equations and parameters."""
    entries = []
    for info in MODELS.values():
        params = [n for n, _ in info.build(input_size=1, hidden_size=1, output_size=1,
                                           **info.check_options).named_parameters()]
        entries.append({"name": info.name, "class": info.cls.__name__,
                        "equations": info.equations, "parameters": params,
                        "recurrent": info.recurrent})
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    table = Table(title="minirnn models")
    for column in ("name", "class", "equations", "parameters"):
        table.add_column(column)
    for e in entries:
        table.add_row(e["name"], e["class"], escape(e["equations"]), ", ".join(e["parameters"]))
    console.print(table)


def _parse_size(text: str):
    try:
        batch, steps, hidden = (int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not B,T,H (three integers)") from None
    if min(batch, steps, hidden) < 1:
        raise click.BadParameter(f"{text!r}: sizes must be positive")
    from minirnn.experiment import check_memory
    from minirnn.models.registry import model_config

    try:  # the benchmark's StateSpaceRNN on B·T rows, before anything is allocated
        check_memory("statespace", model_config("statespace", hidden, hidden, hidden,
                                                dtype="float64"), batch * steps, batch, steps)
    except MemoryError as error:
        fail(f"--size {text}: {error}")
    return batch, steps, hidden


# the table headers of --families (the JSON keeps the keys)
_LABELS = {"x_elman": "time / Elman", "weights_x_elman": "weights / Elman",
           "x_elman_per_weight": "per weight / Elman", "cpu_ms": "cpu ms",
           "cpu-deterministic_ms": "det. ms", "deterministic_cost": "det. / cpu",
           "pytorch_ms": "torch ms", "x_pytorch": "torch / cpu", "numpy_ms": "numpy ms",
           "cuda_ms": "cuda ms", "cuda_speedup": "cpu / cuda"}


def _print_rows(title: str, rows: list, digits: int, caption: str | None = None):
    """A table of rows that are dicts: a column per key any row has, in the order they first
    come (labelled by ``_LABELS`` where it has one; blank where a row lacks it), words on the
    left, numbers on the right."""
    columns = list(dict.fromkeys(key for r in rows for key in r))
    table = Table(title=title, caption=caption)
    for column in columns:
        words = column in ("family", "vary")
        longest = max(len(str(r.get(column, ""))) for r in rows)
        table.add_column(_LABELS.get(column, column), justify="left" if words else "right",
                         min_width=min(12, longest) if words else None,  # short names whole
                         overflow="fold")
    for r in rows:
        table.add_row(*("" if r.get(c) is None else f"{r[c]:.{digits}f}"
                        if isinstance(r[c], float) else str(r[c]) for c in columns))
    console.print(table)


@main.command()
@click.argument("model", type=click.Choice(["all", *MODELS]), default="all")
@backend_option
@click.option("--mode", type=click.Choice(["full", "fast"]), default="full", show_default=True,
              help="full: every element; fast: random directions (large models).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sizes' values.")
@click.option("--per-step", is_flag=True,
              help="Also show ‖∂L/∂x_t‖ per time step for a loss at the last step.")
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
    steps = {n: per_step_gradient_norms(n).tolist() for n in names} if per_step else None
    if as_json:
        click.echo(json.dumps({"passed": passed, "rows": [r.as_dict() for r in rows],
                               **({"per_step": steps} if steps else {})}, indent=2))
    else:
        console.print(f"gradcheck ({mode}, float64): analytic gradient against finite "
                      f"differences (fd) and against the tape engine")
        fmt = lambda v: "" if v is None else f"{v:.1e}"  # noqa: E731
        # a table per model, its name as the title: a column of names as long as
        # multilayer:output_feedback cut every other column short at 80 characters
        for model in dict.fromkeys(r.model for r in rows):
            table = Table(title=model, title_justify="left")
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
                step_table = Table(title=f"{n}: ‖∂L/∂x_t‖ for L at the last step")
                step_table.add_column("t", justify="right")
                step_table.add_column("norm", justify="right")
                for t, v in enumerate(norms):
                    step_table.add_row(str(t), f"{v:.3e}")
                console.print(step_table)
        failed = sum(not r.passed for r in rows)
        console.print("[green]all gradients check[/]" if passed else
                      f"[bold red]{failed} check(s) failed[/]")
    sys.exit(0 if passed else 1)


@main.command()
@backend_option
@click.option("--size", "sizes", multiple=True, metavar="B,T,H",
              help="Batch, time steps, hidden size; repeat for several (default: a few).")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32",
              show_default=True, help="Floating-point type.")
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True,
              help="Timed runs per case (the median is reported).")
@click.option("--full-narx", is_flag=True,
              help="Instead: the cost curve of the full NARX (every past output) against T.")
@click.option("--families", is_flag=True,
              help="Instead: every recurrent family against Elman, on the cpu engine or the "
                   "one --backend names.")
@click.option("--scaling", is_flag=True,
              help="Instead: cpu time as T, B and H grow, and with 1 and all threads.")
@click.option("--memory", "long_sequence", is_flag=True,
              help="Instead: time and peak memory of one 100,000-step sequence (B=1, H=64).")
@click.option("--load", "under_load", is_flag=True,
              help="Instead: a whole training step of several models and sizes (Elman at "
                   "each --size, if given), alone, beside a second process doing the same, and "
                   "beside a busy Python loop (cpu and numpy engines).")
@click.option("--others", type=click.IntRange(min=1, max=8), default=1, show_default=True,
              help="With --load: how many other processes run beside the timed one (each "
                   "doing the same training step, or each a busy loop).")
@click.option("--loss", type=click.Choice(["weighted", "mse"]), default="weighted",
              show_default=True,
              help="What the timed call differentiates: Σ y ⊙ R (the kernels alone), or the MSE "
                   "against R, as a training step does (minirnn and PyTorch alike).")
@click.option("--training", "training_steps", is_flag=True,
              help="Instead: a whole training step (fwd, MSE, BPTT, Adam) of every family at "
                   "B=32, T=100, H=64 (or each --size) on the numpy, cpu and cuda engines "
                   "(the cuda engine device-resident; --backend picks one), and the same step "
                   "of each family's PyTorch equivalent, when PyTorch is installed.")
@click.option("--deterministic", "deterministic_too", is_flag=True,
              help="With --training: also the cpu engine in deterministic mode (results that do "
                   "not depend on the thread count), timed in turns, and what it costs.")
@json_option
def bench(backend, sizes, dtype, repeat, full_narx, families, scaling, long_sequence,
          under_load, others, loss, training_steps, deterministic_too, as_json):
    """Time forward + backward of a StateSpaceRNN on each engine, against the tape engine
    (and PyTorch's CPU nn.RNN and JAX when they are installed)."""
    from minirnn.bench import (DEFAULT_SIZES, LOAD_CELLS, family_times, full_narx_curve,
                               load_table, long_sequence_memory, matmul_gflops, run_benchmarks,
                               jax_available, scaling_table, torch_available,
                               training_table)

    ctx = click.get_current_context()
    modes = [flag for flag, on in (("--full-narx", full_narx), ("--families", families),
                                   ("--scaling", scaling), ("--memory", long_sequence),
                                   ("--load", under_load), ("--training", training_steps)) if on]
    if len(modes) > 1:
        fail(f"{' and '.join(modes)}: choose one kind of benchmark")
    if sizes and modes and modes[0] in ("--full-narx", "--families", "--scaling", "--memory"):
        fail(f"--size does not apply to {modes[0]} (its sizes are fixed: see --help)")
    if ctx.get_parameter_source("others") == click.core.ParameterSource.COMMANDLINE and \
            not under_load:
        fail("--others is an option of --load (the processes beside the timed one)")
    if loss != "weighted" and modes:
        fail(f"--loss is for the default benchmark, not {modes[0]} (--training always "
             f"differentiates the MSE)")
    if deterministic_too and not training_steps:
        fail("--deterministic is an option of --training (a whole training step)")
    if deterministic_too and backend not in ("all", "cpu"):
        fail("--deterministic times the cpu engine's deterministic mode beside the cpu engine: "
             "give --backend cpu (or all)")
    if training_steps:
        engines = backends_option(backend) if backend != "all" else \
            [b for b in backends_option("all") if b in ("numpy", "cpu", "cuda")]
        rows = [row for size in ([_parse_size(s) for s in sizes] or [(32, 100, 64)])
                for row in training_table(*size, backends=tuple(engines), dtype=dtype,
                                          repeat=repeat, deterministic=deterministic_too,
                                          torch=torch_available() and "cpu" in engines)]
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        _print_rows(f"a whole training step (fwd, MSE, BPTT, clip, Adam), {dtype}, median of "
                    f"{repeat}, ms", rows, digits=3,
                    caption="a / b: a's time over b's (det.: the cpu engine in deterministic "
                            "mode; torch: PyTorch's step; cpu / cuda above 1: the GPU faster)")
        return

    if under_load:
        engines = ("cpu", "numpy") if backend == "all" else tuple(backends_option(backend))
        cells = [("elman", *_parse_size(size)) for size in sizes] or LOAD_CELLS
        rows = load_table(cells, backends=engines, dtype=dtype, others=others)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        beside = "a second minirnn run" if others == 1 else f"{others} other minirnn runs"
        loops = "a busy loop" if others == 1 else f"{others} busy loops"
        table = Table(title=f"a whole training step (fwd, MSE, BPTT, Adam), {dtype}, mean ms: "
                            f"alone, beside {beside}, beside {loops}")
        for column in ("model", "B,T,H", "engine", "alone", "+minirnn", "x alone", "+busy",
                       "x numpy"):
            table.add_column(column, no_wrap=True,
                             justify="left" if column in ("model", "engine") else "right")
        for r in rows:
            table.add_row(r["model"], f"{r['B']},{r['T']},{r['H']}", r["engine"],
                          f"{r['alone_ms']:.3f}", f"{r['minirnn_ms']:.3f}",
                          f"{r['x_alone']:.2f}", f"{r['busy_ms']:.3f}",
                          "" if r["x_numpy_loaded"] is None else f"{r['x_numpy_loaded']:.2f}")
        console.print(table)
        return

    if long_sequence:
        row = long_sequence_memory(dtype=dtype)
        if as_json:
            click.echo(json.dumps(row, indent=2))
            return
        console.print(f"T = {row['steps']:,}, B = 1, H = {row['hidden']}, {dtype}, cpu engine, "
                      f"one forward + backward: {row['ms']:.0f} ms; peak memory allocated "
                      f"during it {row['peak_mib']:.0f} MiB = {row['arrays']:.1f} arrays of "
                      f"(T, H) ({row['one_T_by_H_array_mib']:.1f} MiB each)")
        return

    if families or scaling:
        engine = "cpu" if backend == "all" else backends_option(backend)[0]
        rows = family_times(dtype=dtype, repeat=repeat, backend=engine) if families else \
            scaling_table(dtype=dtype, repeat=repeat)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        _print_rows((f"recurrent families, {engine}, B=32, T=100, H=64" if families else
                     "cpu engine scaling") + f", {dtype}, forward + backward", rows, digits=2,
                    caption="time / Elman: the family's time over Elman's; per weight: that "
                            "over weights / Elman" if families else None)
        return

    if full_narx:
        engine = "cpu" if backend == "all" else backends_option(backend)[0]
        rows = full_narx_curve(engine, repeat=repeat, dtype=dtype)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        table = Table(title=f"full NARX vs 2 output delays, {engine}, B=8, H=16, {dtype}: "
                            f"forward + backward")
        for column in ("T", "full ms", "K=2 ms", "full / K=2"):
            table.add_column(column, justify="right")
        for r in rows:
            table.add_row(str(r["steps"]), f"{r['full_ms']:.2f}", f"{r['k2_ms']:.2f}",
                          f"{r['full_ms'] / r['k2_ms']:.1f}")
        console.print(table)
        return

    cases = [_parse_size(s) for s in sizes] or DEFAULT_SIZES
    backends = backends_option(backend)
    with_torch, with_jax = torch_available(), jax_available()
    with progress_bar() as progress:
        task = progress.add_task("bench", total=len(cases))  # one advance per size
        reference = matmul_gflops(dtype=dtype)
        rows = run_benchmarks(backends, cases, dtype, repeat, loss=loss,
                              progress=lambda: progress.advance(task), torch=with_torch,
                              jax=with_jax)
    if as_json:
        click.echo(json.dumps({"matmul_gflops": reference, "loss": loss,
                               "rows": [vars(r) for r in rows]}, indent=2))
        return
    what = "MSE" if loss == "mse" else "Σ y ⊙ R"
    table = Table(title=f"forward + backward of {what}, StateSpaceRNN, {dtype}, median of "
                        f"{repeat}")
    ratio = lambda v: "" if v is None else f"{v:.1f}"  # noqa: E731
    cells = {"B,T,H": lambda r: f"{r.batch},{r.steps},{r.hidden}",
             "engine": lambda r: r.backend, "ms": lambda r: f"{r.median_ms:.4g}",
             "x tape": lambda r: ratio(r.speedup_vs_tape),
             "x pytorch": lambda r: ratio(r.speedup_vs_torch),
             "x jax": lambda r: ratio(r.speedup_vs_jax), "GFLOP/s": lambda r: f"{r.gflops:.1f}",
             "% matmul": lambda r: f"{100 * r.gflops / reference:.0f}"}
    shown = [c for c in cells if any(cells[c](r) for r in rows)]  # no empty columns
    table.caption = "x tape, x pytorch, x jax: their time over the row's engine's (above 1: " \
        "the row's engine is faster)"
    for column in shown:
        table.add_column(column, justify="left" if column == "engine" else "right",
                         no_wrap=column in ("B,T,H", "engine", "ms"))
    for r in rows:
        table.add_row(*(cells[c](r) for c in shown))
    console.print(table)
    console.print(f"GFLOP/s count 18·B·T·H² per forward + backward (three H x H products: "
                  f"input, recurrence, output; the recurrence alone is 6·B·T·H²). One "
                  f"2048 x 2048 {dtype} numpy.matmul in this run: {reference:.1f} GFLOP/s.")
    if with_torch and os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        console.print("PyTorch's threads wait asleep here too (OMP_WAIT_POLICY=PASSIVE, which "
                      "minirnn sets unless told otherwise), which slows its many small ops "
                      "on 2 or more threads; OMP_WAIT_POLICY=ACTIVE minirnn bench compares "
                      "both with spinning threads, as on a quiet machine.")
    for name, found in (("PyTorch", with_torch), ("JAX", with_jax)):
        if not found:
            console.print(escape(f"{name} not installed (pip install 'minirnn[bench]'): no "
                                 f"comparison with it"))


main.add_command(train)
main.add_command(predict)
main.add_command(sweep)


if __name__ == "__main__":  # pragma: no cover
    main()
