"""``minirnn bench``: time the engines, the families, and whole training steps.

One command of several kinds of benchmark (``--families``, ``--scaling``, ``--memory``,
``--full-narx``, ``--load``, ``--training``, ``--startup``, ``--forecast``, ``--checkpoint``,
``--sweep``, or by default the engines against the tape): the flags are checked together, then
one function per kind calls the library (``minirnn.bench``, ``minirnn.startup``,
``minirnn.forecast_bench``, ``minirnn.write_cost``, ``minirnn.sweep_bench``) and shows its
table (or one JSON document).
"""
from __future__ import annotations

import json
import os
import statistics

import click
from rich.markup import escape

from minirnn.catalog import DTYPES

from .common import (USER_ERRORS, announce_compiling, backend_option, backends_option, console,
                     fail, fail_with, json_option, new_table, progress_bar)


def _parse_size(text: str):
    try:
        batch, steps, hidden = (int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not B,T,H (three integers)") from None
    if min(batch, steps, hidden) < 1:
        raise click.BadParameter(f"{text!r}: sizes must be positive")
    from minirnn.sizing import check_memory
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
    table = new_table(title=title, caption=caption)
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

@click.command()
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
@click.option("--cell", type=click.Choice(["statespace", "lstm", "gru"]), default="statespace",
              show_default=True,
              help="The default benchmark's model: the state-space RNN (against nn.RNN), or an "
                   "LSTM or GRU from a zero state (against nn.LSTM / nn.GRU, and JAX's "
                   "lax.scan of the same cell).")
@click.option("--training", "training_steps", is_flag=True,
              help="Instead: a whole training step (fwd, MSE, BPTT, Adam) of every family at "
                   "B=32, T=100, H=64 (or each --size) on the numpy, cpu and cuda engines "
                   "(the cuda engine device-resident; --backend picks one), and the same step "
                   "of each family's PyTorch equivalent, when PyTorch is installed.")
@click.option("--startup", is_flag=True,
              help="Instead: how long the command takes to answer, each a fresh process: "
                   "--help, models, a usage error, a warm one-epoch train, beside Python "
                   "alone and NumPy's and Numba's imports (median of --repeat); and the "
                   "one-epoch train with an empty kernel cache (median of up to 3).")
@click.option("--forecast", is_flag=True,
              help="Instead: minirnn's recommended command for each of statsmodels' data "
                   "sets (sunspots, co2, nile, elnino, macrodata) beside the classical "
                   "reference (AR / ARIMA / SARIMA by AIC on the training rows): test "
                   "one-step, 5-step and free-run RMSE (needs minirnn[forecast]).")
@click.option("--data", "data_sets", multiple=True, metavar="NAME",
              help="With --forecast: the data sets to compare; repeat for several "
                   "(default: all).")
@click.option("--checkpoint", "checkpoint_writes", is_flag=True,
              help="Instead: what a checkpoint write of the default elman run on sine costs "
                   "with a history of 10, 100 and 1,000 epochs (the JSON document's share and "
                   "size beside it), and an epoch of that run with no file, a write every "
                   "epoch and the default --checkpoint-every (median of --repeat).")
@click.option("--sweep", "sweeps", is_flag=True,
              help="Instead: 16 five-epoch trials (elman, jordan; hidden 8, 16; lr 0.01, "
                   "0.003; 2 seeds) as one minirnn sweep on 2 workers, as 16 minirnn train "
                   "commands one after another, and on a plain pool of 2 processes, in turns "
                   "(--repeat rounds); and one trial's fixed cost, warm and fresh.")
@click.option("--alone", is_flag=True,
              help="The default benchmark without PyTorch and JAX: under "
                   "OMP_WAIT_POLICY=ACTIVE their threads spin after each of their calls and "
                   "take cores from the next engine's call (a sixth of the cpu engine's speed "
                   "at B,T,H = 256,100,1024 on 2 cores).")
@click.option("--deterministic", "deterministic_too", is_flag=True,
              help="With --training: also the cpu engine in deterministic mode (results that do "
                   "not depend on the thread count), timed in turns, and what it costs.")
@json_option
def bench(backend, sizes, dtype, repeat, full_narx, families, scaling, long_sequence,
          under_load, others, loss, cell, training_steps, startup, forecast, data_sets,
          checkpoint_writes, sweeps, alone, deterministic_too, as_json):
    """Time forward + backward of a StateSpaceRNN (or --cell lstm|gru) on each engine, against
    the tape engine (and PyTorch's CPU nn.RNN / nn.LSTM / nn.GRU and JAX when installed)."""
    modes = {"--full-narx": full_narx, "--families": families, "--scaling": scaling,
             "--memory": long_sequence, "--load": under_load, "--training": training_steps,
             "--startup": startup, "--forecast": forecast, "--checkpoint": checkpoint_writes,
             "--sweep": sweeps}
    chosen = [flag for flag, on in modes.items() if on]
    _check_options(chosen, backend, sizes, loss, under_load, deterministic_too)
    if data_sets and chosen != ["--forecast"]:
        fail("--data is an option of --forecast (the data sets compared)")
    if cell != "statespace" and chosen:
        fail(f"--cell is for the default benchmark, not {chosen[0]}")
    if alone and chosen:
        fail(f"--alone is for the default benchmark, not {chosen[0]}")
    mode = chosen[0] if chosen else None
    if mode == "--forecast":
        rows, show = _forecast(data_sets)
    elif mode == "--startup":
        rows, show = _startup(repeat)
    elif mode == "--checkpoint":
        rows, show = _checkpoint(repeat)
    elif mode == "--sweep":
        rows, show = _sweep(repeat)
    elif mode == "--training":
        rows, show = _training(backend, sizes, dtype, repeat, deterministic_too)
    elif mode == "--load":
        rows, show = _load(backend, sizes, dtype, others)
    elif mode == "--memory":
        rows, show = _memory(dtype)
    elif mode in ("--families", "--scaling"):
        rows, show = _families_or_scaling(mode, backend, dtype, repeat)
    elif mode == "--full-narx":
        rows, show = _full_narx(backend, dtype, repeat)
    else:
        rows, show = _engines(backend, sizes, dtype, repeat, loss, cell, alone)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        show()


def _check_options(modes: list, backend, sizes, loss, under_load, deterministic_too):
    """One kind of benchmark at a time, and only the options that apply to it."""
    ctx = click.get_current_context()
    if len(modes) > 1:
        fail(f"{' and '.join(modes)}: choose one kind of benchmark")
    if sizes and modes and modes[0] in ("--full-narx", "--families", "--scaling", "--memory",
                                        "--startup", "--forecast", "--checkpoint",
                                        "--sweep"):
        fail(f"--size does not apply to {modes[0]} (its sizes are fixed: see --help)")
    if ctx.get_parameter_source("others") == click.core.ParameterSource.COMMANDLINE and \
            not under_load:
        fail("--others is an option of --load (the processes beside the timed one)")
    if loss != "weighted" and modes:
        fail(f"--loss is for the default benchmark, not {modes[0]} (--training always "
             f"differentiates the MSE)")
    if deterministic_too and "--training" not in modes:
        fail("--deterministic is an option of --training (a whole training step)")
    if deterministic_too and backend not in ("all", "cpu"):
        fail("--deterministic times the cpu engine's deterministic mode beside the cpu engine: "
             "give --backend cpu (or all)")


def _startup(repeat):
    """--startup: the command's answers, each in a fresh process, in seconds."""
    from minirnn.startup import cold_start, startup_table

    rows = startup_table(repeat)
    cold = min(repeat, 3)  # each compiles every kernel it uses: seconds
    rows.append(cold_start(cold))
    return rows, lambda: _print_rows(f"seconds to answer, a fresh process each, {repeat} runs "
                                     f"in turns ({cold} of the empty-cache run)", rows, digits=3)


def _forecast(data_sets):
    """--forecast: minirnn against the classical reference on statsmodels' data sets."""
    from minirnn.forecast_bench import DATA_SETS, forecast_table

    unknown = [name for name in data_sets if name not in DATA_SETS]
    if unknown:
        fail(f"--data {unknown[0]}: not one of the forecast benchmark's data sets "
             f"({', '.join(DATA_SETS)})")
    try:
        import statsmodels  # noqa: F401
    except ImportError:
        fail("--forecast needs statsmodels: pip install 'minirnn[forecast]'")
    with progress_bar() as progress:
        names = list(dict.fromkeys(data_sets)) or list(DATA_SETS)
        task = progress.add_task("forecast", total=len(names))
        try:
            rows = forecast_table(names, on_row=lambda _: progress.advance(task))
        except USER_ERRORS as error:
            fail_with(error)
    return rows, lambda: _show_forecast(rows)


def _show_forecast(rows):
    """One line per data set: the command, minirnn / the reference for each error."""
    k = rows[0]["k"]
    table = new_table(title=f"test RMSE, minirnn / the classical reference (fitted on the "
                            f"training rows, parameters fixed): one-step, {k}-step, free run",
                      caption="bold: minirnn at or below the reference; the command's data "
                              "file is the statsmodels set written with a date column")
    for column in ("data", "command", "one-step", f"{k}-step", "free run", "reference"):
        table.add_column(column, justify="left" if column in ("data", "command", "reference")
                         else "right", overflow="fold")
    for r in rows:
        cells = []
        for what in ("one_step", "k_step", "free_run"):
            ours, theirs = r[f"minirnn_{what}"], r[f"reference_{what}"]
            text = f"{ours:.4g} / {theirs:.4g}"
            cells.append(f"[bold]{text}[/bold]" if ours <= theirs else text)
        table.add_row(r["data"], escape(r["command"]), *cells, r["reference"])
    console.print(table)


def _checkpoint(repeat):
    """--checkpoint: a write by the history's length, and an epoch with and without writes."""
    from minirnn.write_cost import epoch_costs, save_costs

    writes = save_costs(repeat=max(repeat, 5) * 6)
    epochs = epoch_costs(repeat=repeat)

    def show():
        _print_rows(f"a checkpoint write by the history's epochs, {max(repeat, 5) * 6} in turns",
                    writes, digits=3)
        _print_rows(f"an epoch of the same run (100 epochs), {repeat} runs in turns; the share "
                    f"of the run's time inside its writes", epochs, digits=3)
    return {"writes": writes, "epochs": epochs}, show


def _sweep(repeat):
    """--sweep: a sweep's trials against the same trials one after another and on a plain
    pool; a trial's fixed cost in a warm process and in a fresh one."""
    from minirnn.sweep_bench import sweep_times, trial_fixed_cost

    with progress_bar() as progress:
        progress.add_task(f"sweep, sequential commands, pool: {repeat} rounds", total=None)
        times = sweep_times(rounds=repeat)
        cost = trial_fixed_cost(repeat=max(repeat, 5))

    def show():
        ways = [{"way": way, "median_s": times[f"{way}_s"],
                 "rounds_s": " ".join(f"{v:.2f}" for v in times[f"{way}_all_s"])}
                for way in ("sweep", "sequential", "pool")]
        _print_rows(f"{times['trials']} five-epoch trials, {times['workers']} workers, "
                    f"{repeat} rounds in turns, seconds", ways, digits=2)
        console.print(f"sequential / sweep: {times['sequential_over_sweep']:.2f}x (target at "
                      f"least 1.8x); sweep / pool: {times['sweep_over_pool']:.2f}x (target at "
                      f"most 1.2x)")
        console.print(f"one trial of one epoch on 100 rows (its fixed cost and more): "
                      f"{cost['warm_s']:.3f} s in a warm trial server, {cost['fresh_s']:.3f} s "
                      f"as a fresh process (medians of {len(cost['warm_all_s'])}, in turns)")
    return {"times": times, "fixed_cost": cost}, show


def _one_engine(backend) -> str:
    """The engine of a benchmark that times one: cpu unless --backend names another."""
    return "cpu" if backend == "all" else backends_option(backend)[0]


def _training(backend, sizes, dtype, repeat, deterministic_too):
    """--training: a whole training step of every family, per engine and size."""
    from minirnn.bench import training_table
    from minirnn.comparisons import torch_available

    engines = backends_option(backend) if backend != "all" else \
        [b for b in backends_option("all") if b in ("numpy", "cpu", "cuda")]
    rows = [row for size in ([_parse_size(s) for s in sizes] or [(32, 100, 64)])
            for row in training_table(*size, backends=tuple(engines), dtype=dtype,
                                      repeat=repeat, deterministic=deterministic_too,
                                      torch=torch_available() and "cpu" in engines)]
    return rows, lambda: _print_rows(
        f"a whole training step (fwd, MSE, BPTT, clip, Adam), {dtype}, median of {repeat}, ms",
        rows, digits=3, caption="a / b: a's time over b's (det.: the cpu engine in "
                                "deterministic mode; torch: PyTorch's step; cpu / cuda above "
                                "1: the GPU faster)")


def _load(backend, sizes, dtype, others):
    """--load: a training step alone, beside other runs, beside busy loops."""
    from minirnn.bench import LOAD_CELLS, load_table

    engines = ("cpu", "numpy") if backend == "all" else tuple(backends_option(backend))
    cells = [("elman", *_parse_size(size)) for size in sizes] or LOAD_CELLS
    rows = load_table(cells, backends=engines, dtype=dtype, others=others)

    def show():
        beside = "a second minirnn run" if others == 1 else f"{others} other minirnn runs"
        loops = "a busy loop" if others == 1 else f"{others} busy loops"
        table = new_table(title=f"a whole training step (fwd, MSE, BPTT, Adam), {dtype}, mean ms: "
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
    return rows, show


def _memory(dtype):
    """--memory: time and peak memory of one 100,000-step sequence."""
    from minirnn.bench import long_sequence_memory

    row = long_sequence_memory(dtype=dtype)
    return row, lambda: console.print(
        f"T = {row['steps']:,}, B = 1, H = {row['hidden']}, {dtype}, cpu engine, one forward + "
        f"backward: {row['ms']:.0f} ms; peak memory allocated during it {row['peak_mib']:.0f} "
        f"MiB = {row['arrays']:.1f} arrays of (T, H) ({row['one_T_by_H_array_mib']:.1f} MiB "
        f"each)")


def _families_or_scaling(mode, backend, dtype, repeat):
    """--families: every recurrent family against Elman; --scaling: cpu time as T, B, H and
    the threads grow."""
    from minirnn.bench import family_times, scaling_table

    families = mode == "--families"
    engine = _one_engine(backend)
    rows = family_times(dtype=dtype, repeat=repeat, backend=engine) if families else \
        scaling_table(dtype=dtype, repeat=repeat)
    return rows, lambda: _print_rows(
        (f"recurrent families, {engine}, B=32, T=100, H=64" if families else
         "cpu engine scaling") + f", {dtype}, forward + backward", rows, digits=2,
        caption="time / Elman: the family's time over Elman's; per weight: that over weights "
                "/ Elman" if families else None)


def _full_narx(backend, dtype, repeat):
    """--full-narx: the full NARX's cost against T, beside two output delays."""
    from minirnn.bench import full_narx_curve

    engine = _one_engine(backend)
    rows = full_narx_curve(engine, repeat=repeat, dtype=dtype)

    def show():
        table = new_table(title=f"full NARX vs 2 output delays, {engine}, B=8, H=16, {dtype}: "
                            f"forward + backward")
        for column in ("T", "full ms", "K=2 ms", "full / K=2"):
            table.add_column(column, justify="right")
        for r in rows:
            table.add_row(str(r["steps"]), f"{r['full_ms']:.2f}", f"{r['k2_ms']:.2f}",
                          f"{r['full_ms'] / r['k2_ms']:.1f}")
        console.print(table)
    return rows, show


def _engines(backend, sizes, dtype, repeat, loss, cell="statespace", alone=False):
    """The default benchmark: forward + backward of a StateSpaceRNN (or ``cell``) on each engine,
    against the tape engine, PyTorch and JAX (when installed, unless ``alone``), and a large
    product as the yardstick (``bench.matmul_step``), timed in turns with them at each size."""
    from minirnn.bench import DEFAULT_SIZES, run_benchmarks
    from minirnn.comparisons import jax_available, torch_available

    cases = [_parse_size(s) for s in sizes] or DEFAULT_SIZES
    backends = backends_option(backend)
    if "cpu" in backends:  # seconds of silence otherwise, the table coming at the end
        announce_compiling(cell, {}, "cpu")
    with_torch, with_jax = (False, False) if alone else (torch_available(), jax_available())
    with progress_bar() as progress:
        task = progress.add_task("bench", total=len(cases))  # one advance per size
        rows = run_benchmarks(backends, cases, dtype, repeat, loss=loss,
                              progress=lambda: progress.advance(task), torch=with_torch,
                              jax=with_jax, cell=cell)
    document = {"matmul_gflops": statistics.median(r.matmul_gflops for r in rows),
                "loss": loss, "cell": cell, "alone": alone, "rows": [vars(r) for r in rows]}
    return document, lambda: _show_engines(rows, dtype, repeat, loss, with_torch, with_jax,
                                           cell, alone)


def _show_engines(rows, dtype, repeat, loss, with_torch, with_jax, cell="statespace",
                  alone=False):
    """The default benchmark's table, what its GFLOP/s count, and who was not compared."""
    what = "MSE" if loss == "mse" else "Σ y ⊙ R"
    name = {"statespace": "StateSpaceRNN", "lstm": "LSTM", "gru": "GRU"}[cell]
    table = new_table(title=f"forward + backward of {what}, {name}, {dtype}, median of {repeat}")
    ratio = lambda v: "" if v is None else f"{v:.1f}"  # noqa: E731
    cells = {"B,T,H": lambda r: f"{r.batch},{r.steps},{r.hidden}",
             "engine": lambda r: r.backend, "ms": lambda r: f"{r.median_ms:.4g}",
             "x tape": lambda r: ratio(r.speedup_vs_tape),
             "x pytorch": lambda r: ratio(r.speedup_vs_torch),
             "x jax": lambda r: ratio(r.speedup_vs_jax), "GFLOP/s": lambda r: f"{r.gflops:.1f}",
             "% matmul": lambda r: f"{100 * r.gflops / r.matmul_gflops:.0f}"}
    shown = [c for c in cells if any(cells[c](r) for r in rows)]  # no empty columns
    ratios = [c for c in shown if c.startswith("x ")]
    if ratios:
        table.caption = f"{', '.join(ratios)}: their time over the row's engine's (above 1: " \
            f"the row's engine is faster)"
    for column in shown:
        table.add_column(column, justify="left" if column == "engine" else "right",
                         no_wrap=column in ("B,T,H", "engine", "ms"))
    for r in rows:
        table.add_row(*(cells[c](r) for c in shown))
    console.print(table)
    low, high = (f(r.matmul_gflops for r in rows) for f in (min, max))
    yardstick = f"One 2048 x 2048 {dtype} product (NumPy's BLAS on each of Numba's threads), " \
        f"timed in turns with the engines at each size (% matmul: of it): {low:.1f}" \
        f"{'' if f'{low:.1f}' == f'{high:.1f}' else f'-{high:.1f}'} GFLOP/s."
    if cell == "statespace":
        console.print(f"GFLOP/s count 18·B·T·H² per forward + backward (three H x H products: "
                      f"input, recurrence, output; the recurrence alone is 6·B·T·H²). "
                      f"{yardstick}")
    else:
        gates = 4 if cell == "lstm" else 3
        console.print(f"GFLOP/s count 6·B·T·H²·{2 * gates + 1} per forward + backward (the "
                      f"input and recurrent products of {gates} gates and the output; the "
                      f"gates' elementwise work is not counted). {yardstick}")
    if with_torch and os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        console.print("PyTorch's threads wait asleep here too (OMP_WAIT_POLICY=PASSIVE, which "
                      "minirnn sets unless told otherwise), which slows its many small ops "
                      "on 2 or more threads; OMP_WAIT_POLICY=ACTIVE minirnn bench compares "
                      "both with spinning threads, as on a quiet machine.")
    for name, found in (("PyTorch", with_torch), ("JAX", with_jax)):
        if not found and not alone:
            console.print(escape(f"{name} not installed (pip install 'minirnn[bench]'): no "
                                 f"comparison with it"))
