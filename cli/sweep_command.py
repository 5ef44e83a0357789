"""``minirnn sweep``: a model search, each trial a ``minirnn train`` run, on Dask."""
from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import click
from rich.markup import escape

from minirnn.catalog import MODELS

from .common import (check_checkpoint_out, check_writable, console, fail, interrupts_held,
                     json_option, new_table, progress_bar, wrote)

#: the train options a sweep may search or share (not the ones it sets on each trial itself)
OWN = ("out", "resume", "seed", "as_json", "plot", "overwrite", "model")


def _train_options():
    """train's options a sweep may search: not its own, and not the on/off flags (give a
    flag after -- to set it for every trial)."""
    from .train_command import train

    return {p.name: p for p in train.params
            if p.name not in OWN and not getattr(p, "is_flag", False)}


def _option_name(name: str, searchable) -> str:
    key = name.strip().lstrip("-").replace("-", "_")
    if key not in searchable:
        fail(f"{name!r} is not an option of minirnn train that a sweep can vary; choose from "
             f"{', '.join(sorted(searchable))}")
    return key


def _named(texts, option: str, searchable, parse) -> dict:
    """``NAME=VALUES`` texts of ``option`` -> {train option: parse(VALUES)}, each name once."""
    found = {}
    for text in texts:
        if "=" not in text:
            fail(f"{option} needs NAME=VALUES, got {text!r}")
        name, values = text.split("=", 1)
        key = _option_name(name, searchable)
        if key in found:
            fail(f"{option} {name} is given twice; list every value in one {option}")
        found[key] = parse(values)
    return found


@click.command(context_settings={"ignore_unknown_options": False})
@click.option("--model", "models", required=True,
              help="The model(s) to search, comma-separated: " + ", ".join(MODELS) + ".")
@click.option("--grid", "grids", multiple=True, metavar="NAME=V1,V2,…",
              help="A train option and the values to try (repeat for more: every "
                   "combination runs), e.g. --grid hidden=8,16,32 --grid lr=0.01,0.003.")
@click.option("--random", "random_count", type=click.IntRange(min=1),
              help="Instead of a grid: this many configurations drawn from the --range's.")
@click.option("--range", "ranges", multiple=True, metavar="NAME=LO:HI[:log|:int]",
              help="A train option's range for --random: uniform, log-uniform or integers.")
@click.option("--search-seed", type=int, default=0, show_default=True,
              help="The seed of the --random draws.")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trials per configuration, with seeds 0, 1, …: the spread says how much a "
                   "result owes to luck.")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default="sweep",
              show_default=True,
              help="Where every trial's checkpoint (trials/) and the results (results.json, "
                   "written as each trial finishes) go.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Copy the best trial's checkpoint here (.npz; as minirnn train's --out).")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing --out that holds another run.")
@click.option("--scheduler", metavar="ADDRESS",
              help="A running Dask scheduler (tcp://host:8786) to run the trials on; without "
                   "it, a local cluster of one single-threaded worker per core.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Workers of the local cluster (default: one per core).")
@click.option("--dashboard", is_flag=True,
              help="Run Dask's dashboard for the local cluster, on 127.0.0.1 (its address is "
                   "printed); without it, none.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="More attempts for a trial whose task failed (a trial whose worker died is "
                   "run again by Dask itself).")
@click.option("--resume", is_flag=True,
              help="Continue the sweep recorded in --dir: run only the trials not done.")
@json_option
@click.argument("train_args", nargs=-1, type=click.UNPROCESSED)
def sweep(models, grids, random_count, ranges, search_seed, seeds, directory, out, overwrite,
          scheduler, workers, dashboard, retries, resume, as_json, train_args):
    """Train many models and compare them: one `minirnn train` per (configuration, seed), run
    as Dask tasks. TRAIN_ARGS (after --) go to every trial, e.g.

        minirnn sweep --model elman,narx --grid hidden=8,16 --seeds 3 -- --data sine
    """
    from minirnn import sweep as sweeps

    searchable = _train_options()
    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if not names or unknown:
        what = f"unknown model(s) {', '.join(unknown)}" if unknown else "no model given"
        fail(f"{what}; choose from {', '.join(MODELS)}")
    shared = list(train_args)
    for arg in shared:
        key = arg.lstrip("-").split("=")[0].replace("-", "_")
        if arg.startswith("--") and key in OWN:
            fail(f"{arg.split('=')[0]} is set by the sweep for each trial; leave it out of "
                 f"the train options")
    trials = _trials(names, grids, random_count, ranges, search_seed, seeds, searchable)
    for trial in trials:  # every option named twice is a mistake
        for key in trial.params:
            flag = "--" + key.replace("_", "-")
            if any(a == flag or a.startswith(flag + "=") for a in shared):
                fail(f"{flag} is both searched and given to every trial; give it once")
    if dashboard and scheduler:
        fail("--dashboard is the local cluster's; a --scheduler has its own")
    plan = sweeps.Sweep(trials, Path(directory), shared)
    starting = None
    if not scheduler:  # its trial servers warm up and the local cluster starts while the
        workers = workers or sweeps.default_workers()  # trials' options and data are checked
        plan.start_servers(workers)
        starting = sweeps.StartingCluster(workers, dashboard)
    try:
        _checked_sweep(plan, out, overwrite, resume, (scheduler, starting, dashboard, retries),
                       as_json)
    finally:  # the trial servers first: a worker thread waits for its server's answer
        with interrupts_held():  # (a second Ctrl-C meanwhile changes nothing)
            dask_quiet()
            plan.stop_servers()
            if starting is not None:
                starting.close()


def _checked_sweep(plan, out, overwrite, resume, cluster, as_json):
    """Check the trials' commands and the paths, lock the folder, run the sweep."""
    data_files = _check_commands(plan.trials, plan.shared, plan.directory)
    folder = Path(plan.directory)
    if out:
        for data in data_files or [None]:
            check_checkpoint_out(out, data)
        _check_out(out, plan, overwrite)
    if resume and not plan.results_path.exists():
        fail(f"nothing to resume: {plan.results_path} does not exist")
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    check_writable(plan.results_path, "--dir")
    from minirnn.checkpoint import CheckpointError, WriterLock

    try:
        lock = WriterLock(plan.results_path).__enter__()
    except CheckpointError:
        fail(f"another minirnn sweep is running in {folder}: wait for it, or choose another "
             f"--dir")
    try:
        _sweep(plan, plan.trials, resume, out, overwrite, cluster, as_json)
    finally:
        lock.__exit__(None, None, None)
        if created and not any(folder.iterdir()):  # a sweep that never started leaves nothing
            folder.rmdir()


def _sweep(plan, trials, resume, out, overwrite, cluster, as_json):
    """The sweep itself, with its folder locked: resume or start, run, report."""
    from minirnn import sweep as sweeps

    if resume:
        try:
            plan.load()
        except sweeps.SweepError as error:
            fail(str(error))
    elif plan.results_path.exists():
        fail(f"{plan.results_path} holds a sweep already: --resume continues it, or choose "
             f"another --dir")
    pending = plan.pending()
    if pending:
        _run(plan, pending, *cluster, as_json)
    records = [plan.results[t.name] for t in trials if t.name in plan.results]
    rows = sweeps.summarize(records)
    best = sweeps.best_record(records)
    if out and best is not None:
        _copy(plan, best, out, overwrite)
    nothing = f"no trial finished: see the errors in {plan.results_path}"
    if as_json:
        click.echo(json.dumps({"directory": str(plan.directory), "shared": plan.shared,
                               "trials": records, "configurations": rows, "best": best,
                               **({"error": nothing} if best is None else {})}, indent=2))
    else:
        _table(rows, len(trials))
    if best is None:
        fail(nothing, json_sent=as_json)


def _check_commands(trials, shared, directory):
    """Parse each distinct trial command as ``minirnn train`` would, before any runs: a bad
    shared option or value fails here, once, not in every trial."""
    from .train_command import train

    seen, data_seen = set(), {}
    for trial in trials:
        key = (trial.model, tuple(sorted(trial.params.items())))
        if key in seen:
            continue
        seen.add(key)
        args = trial.command(shared, Path(directory))[1:]
        try:
            ctx = train.make_context("minirnn train", list(args), resilient_parsing=False)
        except click.exceptions.Exit:
            continue
        except click.UsageError as error:
            fail(f"the train options of {trial.configuration}: {error.format_message()}")
        _check_data(ctx.params, data_seen)
    return sorted({params["data"] for params in data_seen.values()})


def _check_data(params, seen):
    """Read the trials' data once here: a missing file or column fails now, in one line, not
    in every trial."""
    from minirnn.data.series import DataError
    from minirnn.app.tasks import load_data

    if params.get("data") is None:
        fail("the trials need --data after -- (a built-in data set or a CSV file)")
    key = tuple(params.get(k) for k in ("data", "target", "inputs", "length", "data_seed",
                                        "missing", "series_id"))
    if key in seen:
        return
    seen[key] = params
    try:
        load_data(params["data"], params.get("target"), params.get("inputs"),
                  params.get("length"), params.get("data_seed") or 0,
                  params.get("missing") or "error", params.get("series_id"))
    except (DataError, ValueError) as error:
        fail(f"the trials' data: {error}")


def dask_quiet():
    """The command says what happens in its own lines (a failed trial in one); Dask's logs,
    which the local cluster silences only while it runs, added tracebacks as it closed
    ("Batched Comm Closed … CommClosedError"). Set once Dask is imported: its import sets
    its logger's level itself (INFO), over one set before."""
    if "distributed" in sys.modules:
        logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _run(plan, pending, scheduler, starting, dashboard, retries, as_json):
    """Run the pending trials on the --scheduler or the local cluster ``starting`` (closed
    by the caller)."""
    from distributed import Client

    from minirnn import sweep as sweeps

    dask_quiet()

    counts = {"done": 0, "failed": 0}
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, ValueError, TypeError) as error:  # unreachable, or not an address
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            fail(f"cannot reach the Dask scheduler {scheduler}: {reason}")
    else:
        client = Client(starting.result())
    if dashboard:
        click.echo(f"dashboard: {client.dashboard_link}", err=True)
    plan.save()  # the plan, recorded before the first trial: an interrupt can be resumed
    try:
        with progress_bar(transient=False) as progress:
            task = progress.add_task("sweep", total=len(pending))

            def update(record):
                counts["done" if record["status"] == "done" else "failed"] += 1
                best = sweeps.best_record(plan.results.values())
                running = len(pending) - counts["done"] - counts["failed"]
                text = (f"sweep: {counts['done']} done, {running} to go, "
                        f"{counts['failed']} failed")
                if best is not None:
                    text += f"; best {best['configuration']} seed {best['seed']}: " \
                            f"val {best['metric']} {best['validation']:.4g}"
                progress.update(task, advance=1, description=escape(text))
                if record["status"] != "done" and not as_json:
                    click.echo(f"trial {record['name']} failed: {record.get('error')}",
                               err=True)

            plan.run(client, on_update=update, retries=retries)
    except KeyboardInterrupt:
        left = len(plan.pending())
        fail(f"interrupted: {len(plan.results)} trial(s) recorded in {plan.results_path}; the "
             f"same command with --resume " + (f"runs the other {left}" if left else
                                               "shows the table"))
    finally:
        client.close()
    wrote(plan.results_path, f"{len(plan.results)} trials")


def _check_out(out, plan, overwrite):
    """An --out that exists is replaced only with --overwrite, or when it holds a copy of one
    of this sweep's own trials (a resumed sweep's best so far)."""
    from minirnn.app.training import check_out

    if _holds_a_trial(out, plan):
        return
    try:
        check_out(out, overwrite=overwrite, continuable=False)
    except ValueError as error:
        fail(str(error))


def _holds_a_trial(out, plan) -> bool:
    from minirnn.sweep import checkpoint_path

    target = Path(out)
    if not target.is_file():
        return False
    for trial in plan.trials:
        own = checkpoint_path(plan.directory, trial)
        if own.is_file() and own.stat().st_size == target.stat().st_size and \
                own.read_bytes() == target.read_bytes():
            return True
    return False


def _copy(plan, best, out, overwrite):
    """The best trial's checkpoint to --out, once it is checked to be that trial's own
    file (results.json is only a record: a path or score edited there copies nothing)."""
    from minirnn.checkpoint import CheckpointError, atomic_write
    from minirnn.sweep import SweepError

    try:
        source = plan.checked_checkpoint(best)
    except (SweepError, CheckpointError) as error:
        fail(f"the best trial's checkpoint is not copied to --out: {error}")
    _check_out(out, plan, overwrite)  # (a file that appeared there meanwhile)
    with open(source, "rb") as src, atomic_write(out) as dst:
        shutil.copyfileobj(src, dst)
    wrote(out, f"the best trial, {source.stem}")


def _trials(names, grids, random_count, ranges, search_seed, seeds, searchable) -> list:
    """The trials of a grid (--grid) or of a random search (--random over --range's)."""
    from minirnn import sweep as sweeps

    try:
        if random_count:
            if grids:
                fail("--random draws from --range's; give either --grid or --random")
            if not ranges:
                fail("--random needs at least one --range NAME=LO:HI")
            bounds = _named(ranges, "--range", searchable, sweeps.parse_range)
            return sweeps.random_trials(names, bounds, random_count, seeds, search_seed)
        if ranges:
            fail("--range is for --random; a grid takes --grid NAME=V1,V2")
        grid = _named(grids, "--grid", searchable, sweeps.parse_values)
        return sweeps.grid_trials(names, grid, seeds)
    except sweeps.SweepError as error:
        fail(str(error))


def _cell(r: dict, key: str) -> str:
    """A score: the mean ± the spread over seeds (the value alone for one seed)."""
    return f"{r[key]:.3g}±{r[key + '_spread']:.1g}" if r["done"] > 1 else f"{r[key]:.3g}"


def _table(rows, trials):
    metric = next((r["metric"] for r in rows if r["metric"]), "score")
    table = new_table(title=f"{trials} trials: validation and test {metric}, mean ± spread over "
                        f"seeds, best first")
    seasonal = any("seasonal_naive_test" in r for r in rows)
    columns = ("configuration", "done", "validation", "test", "naive val", "naive test",
               *(("seasonal\ntest",) if seasonal else ()))
    for column in columns:
        table.add_column(column, justify="left" if column == "configuration" else "right",
                         no_wrap=column != "configuration")
    for r in rows:
        if r["metric"] is None:
            table.add_row(escape(r["configuration"]), f"0/{r['failed']} failed",
                          *[""] * (len(columns) - 2))
            continue
        label = r["configuration"] + (" (simulation*)" if r.get("scored_as") == "simulation"
                                      else "")
        table.add_row(escape(label),
                      f"{r['done']}" + (f" ({r['failed']} failed)" if r["failed"] else ""),
                      _cell(r, "validation"), _cell(r, "test"), f"{r['naive_validation']:.4g}",
                      f"{r['naive_test']:.4g}",
                      *((f"{r['seasonal_naive_test']:.4g}" if "seasonal_naive_test" in r
                         else "",) if seasonal else ()))
    console.print(table)
    if any(r.get("scored_as") == "simulation" for r in rows):
        console.print("* a closed-loop NARX is scored by its simulation from the first row "
                      "(its own outputs fed back), the others by one-step forecasts: compare "
                      "it with them by its 5-step and free-run errors (minirnn train's table)")
