"""``minirnn sweep``: a model search on a Dask cluster, each trial in a fork of a warm server.

A sweep is many ``minirnn train`` runs; the tests check that a grid runs to completion with
every trial recorded, that a trial equals the same ``minirnn train`` typed by hand, that a
sweep killed half-way resumes with only its missing trials, that a trial server killed
mid-sweep does not lose its trial, that a failing trial fails alone, and the one-line errors.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from minirnn import sweep as sweeps  # noqa: E402

DATA = ["--data", "sine", "--length", "300", "--epochs", "2"]
#: trials long enough (half a second or more each) that an interrupt sent once the first is
#: recorded, or once the plan is, lands before the sweep is over, even on a busy machine
LONG = ["--data", "sine", "--length", "300", "--epochs", "300", "--patience", "300"]


def minirnn(*args, cwd, check=True):
    run = subprocess.run([sys.executable, "-m", "minirnn.cli", *args], cwd=cwd,
                         capture_output=True, text=True, timeout=600)
    if check:
        assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.mark.slow
def test_a_grid_runs_every_trial_and_equals_train_by_hand(tmp_path):
    run = minirnn("sweep", "--model", "elman,jordan", "--grid", "hidden=3,6", "--seeds", "2",
                  "--workers", "2", "--out", "best.npz", "--json", "--", *DATA, cwd=tmp_path)
    report = json.loads(run.stdout)
    assert len(report["trials"]) == 8 and all(t["status"] == "done" for t in report["trials"])
    assert len(report["configurations"]) == 4
    assert all(row["done"] == 2 for row in report["configurations"])
    recorded = json.loads((tmp_path / "sweep" / "results.json").read_text())
    assert len(recorded["trials"]) == 8 and recorded["shared"] == DATA
    # best first; the best trial's checkpoint copied to --out, byte for byte
    scores = [row["validation"] for row in report["configurations"]]
    assert scores == sorted(scores)
    best = report["best"]
    assert best["validation"] == min(t["validation"] for t in report["trials"])
    assert (tmp_path / "best.npz").read_bytes() == Path(best["checkpoint"]).read_bytes()
    # one trial, typed by hand: the same numbers
    trial = next(t for t in report["trials"] if t["name"] == "jordan-hidden=6-seed=1")
    by_hand = json.loads(minirnn("train", "jordan", *DATA, "--hidden", "6", "--seed", "1",
                                 "--json", cwd=tmp_path).stdout)
    assert by_hand["metrics"]["validation"]["model"]["rmse"] == trial["validation"]
    assert by_hand["metrics"]["test"]["model"]["rmse"] == trial["test"]


@pytest.mark.slow
def test_a_sweep_searches_over_the_optimizer(tmp_path):
    """First- and second-order optimisers side by side: each trial is the train command with
    its --optimizer (the second-order ones on the whole series, their own defaults)."""
    run = minirnn("sweep", "--model", "narx", "--grid", "optimizer=adam,lbfgs,lm",
                  "--workers", "2", "--json", "--", "--data", "narendra", "--length", "300",
                  "--epochs", "2", "--hidden", "4", cwd=tmp_path)
    report = json.loads(run.stdout)
    assert sorted(t["params"]["optimizer"] for t in report["trials"]) == ["adam", "lbfgs", "lm"]
    assert all(t["status"] == "done" for t in report["trials"])


@pytest.mark.slow
def test_an_interrupted_sweep_resumes_with_only_the_missing_trials(tmp_path):
    args = ["sweep", "--model", "elman", "--grid", "hidden=2,3,4,5,6,7", "--workers", "1",
            "--", *LONG]
    process = subprocess.Popen([sys.executable, "-m", "minirnn.cli", *args], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    results = tmp_path / "sweep" / "results.json"
    deadline = time.time() + 300
    while time.time() < deadline:  # stop it once a trial or two are recorded
        if results.exists() and json.loads(results.read_text())["trials"]:
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: to the whole group, workers included
    _, err = process.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.strip() and "wrote " not in line]
    assert process.returncode == 1 and "Traceback" not in err
    assert lines[-1].startswith("Error: interrupted") and "--resume" in lines[-1]
    before = {t["name"]: t for t in json.loads(results.read_text())["trials"]}
    assert 1 <= len(before) < 6
    stamps = {name: os.stat(t["checkpoint"]).st_mtime_ns for name, t in before.items()}
    refused = minirnn(*args, cwd=tmp_path, check=False)
    assert refused.returncode == 1 and "--resume continues it" in refused.stderr
    other = minirnn(*args[:4], "hidden=2,3", "--resume", "--", *LONG, cwd=tmp_path, check=False)
    assert other.returncode == 1 and "holds another search" in other.stderr
    run = minirnn(*args[:-len(LONG) - 1], "--resume", "--json", "--", *LONG, cwd=tmp_path)
    after = {t["name"]: t for t in json.loads(run.stdout)["trials"]}
    assert len(after) == 6 and all(t["status"] == "done" for t in after.values())
    for name, record in before.items():  # the recorded trials were not run again
        assert after[name] == record
        assert os.stat(record["checkpoint"]).st_mtime_ns == stamps[name]


@pytest.mark.slow
def test_a_sweep_interrupted_before_any_trial_finished_resumes(tmp_path):
    """Ctrl-C once the cluster runs but before a trial is done: the advice to --resume
    works (the plan is recorded before the first trial starts)."""
    args = ["sweep", "--model", "elman", "--grid", "hidden=2,3", "--workers", "1", "--",
            *LONG]
    process = subprocess.Popen([sys.executable, "-m", "minirnn.cli", *args], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    results = tmp_path / "sweep" / "results.json"
    deadline = time.time() + 300
    while not results.exists() and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in err
    assert json.loads(results.read_text())["trials"] == []  # none finished
    assert "0 trial(s) recorded" in err and "--resume runs the other 2" in err
    run = minirnn(*args[:-len(LONG) - 1], "--resume", "--json", "--", *LONG, cwd=tmp_path)
    assert [t["status"] for t in json.loads(run.stdout)["trials"]] == ["done", "done"]


def test_the_sweep_quiets_dask_after_importing_it():
    """Dask's import sets its logger to INFO, over a level set before it; the command sets
    its own once Dask is imported, so that the cluster's closing logs (a traceback for each
    closed connection) do not follow the sweep's one line."""
    import logging

    import distributed  # noqa: F401

    from minirnn.cli.sweep_command import dask_quiet

    logger = logging.getLogger("distributed")
    level = logger.level
    try:
        logger.setLevel(logging.INFO)  # as Dask's import leaves it
        dask_quiet()
        assert logger.getEffectiveLevel() == logging.CRITICAL
        assert logging.getLogger("distributed.batched").getEffectiveLevel() == logging.CRITICAL
    finally:
        logger.setLevel(level)


def all_gone(processes, within: float = 30) -> bool:
    """Whether every one of ``processes`` (psutil) has ended within ``within`` seconds
    (ended: gone, or a zombie its parent has not reaped yet)."""
    import psutil

    def gone(process):
        try:
            return process.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    deadline = time.time() + within
    while not all(gone(p) for p in processes) and time.time() < deadline:
        time.sleep(0.1)
    return all(gone(p) for p in processes)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_ends_the_running_trials_with_the_sweep(tmp_path, signum):
    """Ctrl-C (to the process group, as a terminal sends it) or SIGTERM (to the sweep's process
    alone) while two trials run: the sweep says its one line, and its trial servers and the
    trials they were running end with it, instead of running on to their end unrecorded."""
    import psutil

    process = subprocess.Popen(
        [sys.executable, "-m", "minirnn.cli", "sweep", "--model", "elman", "--grid",
         "hidden=3,4", "--workers", "2", "--", "--data", "sine", "--length", "2000", "--epochs",
         "100000", "--patience", "100000"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline, running = time.time() + 300, []
    while len(running) < 2 and time.time() < deadline:  # a trial is a child of a server
        running = [trial for server in psutil.Process(process.pid).children()
                   for trial in server.children()]
        time.sleep(0.1)
    assert len(running) == 2
    servers = psutil.Process(process.pid).children()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in err, err
    assert err.strip().splitlines() == ["Error: interrupted: 0 trial(s) recorded in "
                                        "sweep/results.json; the same command with --resume "
                                        "runs the other 2"]
    assert all_gone(servers + running)


def _counting_servers(monkeypatch) -> list:
    """Every trial server this process starts from now on, in the order started."""
    from minirnn import trial_server

    started, start = [], trial_server.TrialServer.__init__

    def counted(self, warmups=()):
        start(self, warmups)
        started.append(self)

    monkeypatch.setattr(trial_server.TrialServer, "__init__", counted)
    return started


@pytest.mark.slow
def test_a_cancelled_task_ends_its_running_trial(tmp_path, monkeypatch):
    """A Dask worker cannot stop a task that runs, so a trial's task asks, while its trial
    runs, whether it was cancelled (the sweep that asked for it was interrupted: on a user's
    cluster, nothing else would end it) and then ends its server, and so the trial."""
    import psutil
    from distributed import Client

    monkeypatch.chdir(tmp_path)
    started = _counting_servers(monkeypatch)
    long = ["train", "elman", "--data", "sine", "--epochs", "100000", "--patience", "100000",
            "--json"]
    with sweeps.local_cluster(1) as cluster, Client(cluster) as client:
        task = client.submit(sweeps.run_trial, long, "long", [], pure=False)
        deadline, trials = time.time() + 300, []
        while not trials and time.time() < deadline:
            trials = psutil.Process(started[0].process.pid).children() if started else []
            time.sleep(0.1)
        assert trials
        server = psutil.Process(started[0].process.pid)
        task.cancel()
        assert all_gone([server, trials[0]])


@pytest.mark.slow
def test_a_local_sweep_runs_its_trials_in_the_servers_it_started_first(tmp_path, monkeypatch):
    """The local cluster's workers are threads of the sweep's own process: the trial servers
    started before the cluster is up (``start_servers``, one per worker) are the ones its
    trials run in, and they end with the sweep."""
    from distributed import Client

    monkeypatch.chdir(tmp_path)
    started = _counting_servers(monkeypatch)
    plan = sweeps.Sweep(sweeps.grid_trials(["elman"], {"hidden": [3, 4, 5]}, seeds=1),
                        tmp_path, DATA)
    plan.start_servers(2)
    assert len(started) == 2
    with sweeps.local_cluster(2) as cluster, Client(cluster) as client:
        plan.run(client)
    assert sorted(plan.results) == sorted(t.name for t in plan.trials)
    assert all(r["status"] == "done" for r in plan.results.values())
    assert len(started) == 2  # no other server was needed
    assert all(server.process.poll() is not None for server in started)


def _runs_a_trial(server) -> bool:
    """Whether a trial server has a trial running (a live child) right now."""
    import psutil

    try:
        return server.process.poll() is None and any(
            trial.status() != psutil.STATUS_ZOMBIE
            for trial in psutil.Process(server.process.pid).children())
    except psutil.NoSuchProcess:  # it ended while we looked
        return False


@pytest.mark.slow
def test_a_trial_server_killed_mid_sweep_does_not_lose_its_trial(tmp_path, monkeypatch):
    """SIGKILL to a trial server while it runs a trial (once the first trial is in): the task
    that was waiting for it fails and is run again on a new server; every trial is done."""
    from distributed import Client

    monkeypatch.chdir(tmp_path)
    started = _counting_servers(monkeypatch)
    plan = sweeps.Sweep(sweeps.grid_trials(["elman"], {"hidden": [3, 4, 5, 6]}, seeds=1),
                        tmp_path, ["--data", "sine", "--length", "300", "--epochs", "20"])
    plan.start_servers(2)
    killed = []

    def kill_one(record):
        deadline = time.time() + 60
        while not killed and time.time() < deadline:  # a server whose trial runs
            busy = [server for server in started if _runs_a_trial(server)]
            if busy:
                busy[0].process.kill()
                killed.append(busy[0].process.pid)
            time.sleep(0.005)

    with sweeps.local_cluster(2) as cluster, Client(cluster) as client:
        plan.run(client, on_update=kill_one)
    assert killed
    assert sorted(plan.results) == sorted(t.name for t in plan.trials)
    assert all(r["status"] == "done" for r in plan.results.values())
    assert len(started) == 3  # the rerun's new server


@pytest.mark.slow
def test_a_failing_trial_fails_alone(tmp_path):
    run = minirnn("sweep", "--model", "elman,narx", "--grid", "hidden=3,100000000", "--workers",
                  "2", "--json", "--", *DATA, cwd=tmp_path)
    trials = {t["name"]: t for t in json.loads(run.stdout)["trials"]}
    assert trials["elman-hidden=3-seed=0"]["status"] == "done"
    failed = trials["elman-hidden=100000000-seed=0"]
    assert failed["status"] == "failed" and "needs ~" in failed["error"]
    # a closed-loop NARX is scored by its simulation, and the record says so
    assert trials["narx-hidden=3-seed=0"]["scored_as"] == "simulation"
    assert trials["elman-hidden=3-seed=0"]["scored_as"] == "forecasts"


@pytest.mark.slow
def test_a_sweep_with_no_finished_trial_says_so_in_its_json(tmp_path):
    run = minirnn("sweep", "--model", "elman", "--grid", "hidden=100000000", "--workers", "1",
                  "--json", "--", *DATA, cwd=tmp_path, check=False)
    assert run.returncode == 1 and "no trial finished" in json.loads(run.stdout)["error"]


@pytest.mark.parametrize("args,message", [
    (["--model", "elman", "--grid", "hiden=3,4"], "'hiden' is not an option of minirnn train"),
    (["--model", "transformer"], "unknown model(s) transformer"),
    (["--model", "elman", "--grid", "hidden=3", "--", "--hidden", "4"],
     "--hidden is both searched and given to every trial"),
    (["--model", "elman", "--", "--seed", "4"], "--seed is set by the sweep"),
    (["--model", "elman", "--grid", "hidden=three"], "the train options of elman hidden=three"),
    (["--model", "elman", "--random", "3"], "--random needs at least one --range"),
    (["--model", "elman", "--random", "3", "--range", "lr=1:0.1"], "a range needs lo < hi"),
    (["--model", "elman", "--resume", "--", "--data", "sine"], "nothing to resume"),
    (["--model", "elman", "--grid", "hidden=3", "--grid", "hidden=4"],
     "--grid hidden is given twice"),
    (["--model", "elman", "--grid", "difference=1,0"], "'difference' is not an option"),
    (["--model", "elman", "--", "--data", "nosuch.csv", "--target", "y"],
     "the trials' data: data file not found: nosuch.csv"),
    (["--model", "elman", "--", "--epochs", "2"], "the trials need --data"),
])
def test_a_sweep_that_cannot_run_says_why_in_one_line(tmp_path, args, message):
    run = minirnn("sweep", *args, cwd=tmp_path, check=False)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], lines
    assert not (tmp_path / "sweep" / "trials").exists()


def test_random_draws_are_seeded_and_within_their_ranges():
    ranges = {"lr": sweeps.parse_range("0.001:0.1:log"), "hidden": sweeps.parse_range("4:9:int")}
    first = sweeps.random_trials(["elman"], ranges, 5, seeds=2, search_seed=3)
    again = sweeps.random_trials(["elman"], ranges, 5, seeds=2, search_seed=3)
    assert [t.params for t in first] == [t.params for t in again] and len(first) == 10
    assert all(0.001 <= t.params["lr"] <= 0.1 and 4 <= t.params["hidden"] <= 9 for t in first)
    assert [t.seed for t in first[:2]] == [0, 1] and first[0].params == first[1].params


@pytest.mark.slow
def test_two_sweeps_in_one_folder_do_not_overwrite_each_other(tmp_path):
    args = ["sweep", "--model", "elman", "--grid", "hidden=2,3,4", "--workers", "1", "--",
            *DATA]
    first = subprocess.Popen([sys.executable, "-m", "minirnn.cli", *args], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "sweep" / ".results.json.lock"
    deadline = time.time() + 120
    while not lock.exists() and time.time() < deadline:
        time.sleep(0.1)
    second = minirnn(*args, cwd=tmp_path, check=False)
    assert second.returncode == 1
    assert "another minirnn sweep is running in sweep" in second.stderr
    first.communicate(timeout=300)
    assert first.returncode == 0
    recorded = json.loads((tmp_path / "sweep" / "results.json").read_text())["trials"]
    assert len(recorded) == 3 and all(t["status"] == "done" for t in recorded)


def test_a_configuration_runs_once_and_names_stay_apart():
    assert len(sweeps.grid_trials(["elman"], {"hidden": [4, 4, 8]}, seeds=1)) == 2
    draws = sweeps.random_trials(["elman"], {"hidden": (4, 5, "int")}, 10, seeds=1)
    assert sorted(t.params["hidden"] for t in draws) == [4, 5]  # 10 draws, 2 values
    with pytest.raises(sweeps.SweepError, match="would share the name"):
        sweeps.grid_trials(["elman"], {"data": ["a/b.csv", "a_b.csv"]}, seeds=1)


def listening(process) -> set:
    """The addresses a process and its children (a sweep's cluster, its trial servers and
    their trials) listen on, as (ip, port)."""
    import psutil

    found = set()
    for one in [process, *process.children(recursive=True)]:
        try:
            found |= {tuple(c.laddr) for c in one.net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:  # it ended between the listing and the look
            pass
    return found


@pytest.mark.slow
@pytest.mark.parametrize("dashboard", [[], ["--dashboard"]], ids=["default", "dashboard"])
def test_a_sweep_listens_on_the_loopback_address_alone(tmp_path, dashboard):
    """While the trials run, every listening socket of the sweep's processes is on
    127.0.0.1: the scheduler, the workers, and the dashboard when one is asked for (none
    otherwise)."""
    import psutil

    process = subprocess.Popen([sys.executable, "-m", "minirnn.cli", "sweep", "--model",
                                "elman", "--grid", "hidden=2,3,4", "--workers", "2",
                                *dashboard, "--", *DATA], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    seen = set()
    while process.poll() is None:
        seen |= listening(psutil.Process(process.pid))
        time.sleep(0.2)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert len({port for _, port in seen}) >= 3  # the scheduler and two workers, at least
    assert {ip for ip, _ in seen} == {"127.0.0.1"}, seen
    assert ("dashboard: http://127.0.0.1:" in err) == bool(dashboard)


@pytest.mark.slow
def test_two_sweeps_at_once_each_say_only_their_own_lines(tmp_path):
    """Two sweeps started together in one folder (each its own --dir): both finish, and each
    says only that it wrote its results (the second scheduler's web server finds Dask's
    usual port held by the first, and takes another without a warning)."""
    def start(folder):
        return subprocess.Popen([sys.executable, "-m", "minirnn.cli", "sweep", "--model",
                                 "elman", "--grid", "hidden=3,4", "--workers", "1", "--dir",
                                 folder, "--json", "--", *DATA], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    runs = {folder: start(folder) for folder in ("first", "second")}
    for folder, run in runs.items():
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        assert [t["status"] for t in json.loads(out)["trials"]] == ["done", "done"]
        assert err.strip().splitlines() == [f"wrote {folder}/results.json (2 trials)"], err


@pytest.mark.slow
def test_the_trials_import_the_installed_package_whatever_the_folder_holds(tmp_path):
    """A folder named minirnn where the sweep starts (a clone of the repository, no
    __init__.py at its top) would be imported by ``python -m`` as a namespace package in
    place of the installed one; the trials run as they do anywhere else."""
    (tmp_path / "minirnn" / "minirnn").mkdir(parents=True)
    (tmp_path / "minirnn" / "README.md").write_text("a clone\n")
    env = dict(os.environ)  # the package as installed, not from a path entry holding it
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in env.get("PYTHONPATH", "").split(os.pathsep)
        if p and not (Path(p) / "minirnn" / "__init__.py").exists())
    run = subprocess.run([sys.executable, "-P", "-m", "minirnn.cli", "sweep", "--model",
                          "elman", "--workers", "1", "--json", "--", *DATA], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [t["status"] for t in json.loads(run.stdout)["trials"]] == ["done"]


def test_the_summary_keeps_the_seasonal_naive_score_when_the_trials_have_a_period():
    """Trials of a seasonal series (their train summary has a seasonal naive score): the
    configuration's row has its mean over the seeds beside the naive one's."""
    def trial(seed, seasonal):
        return {"configuration": "elman", "model": "elman", "params": {}, "name": f"s{seed}",
                "checkpoint": f"s{seed}.npz", "status": "done", "metric": "rmse",
                "validation": 1.0 + seed, "test": 2.0, "naive_validation": 3.0,
                "naive_test": 4.0, "seasonal_naive_test": seasonal}

    row, = sweeps.summarize([trial(0, 5.0), trial(1, 7.0)])
    assert row["seasonal_naive_test"] == 6.0 and row["seasonal_naive_test_spread"] == 1.0
    row, = sweeps.summarize([trial(0, None), trial(1, None)])  # no period: no such score
    assert "seasonal_naive_test" not in row


# --- the warm trial server ----------------------------------------------------------------------
BY_HAND = ["train", "elman", *DATA, "--hidden", "5", "--seed", "1", "--json"]


def test_a_trial_in_a_warm_server_is_the_command_typed_by_hand(tmp_path, monkeypatch):
    """Bit for bit: a fork of a server warmed by a run of another model prints what the same
    command typed by hand prints, and so does the same trial after another one (nothing of a
    trial reaches the next); the warm-up leaves the process's state as it found it."""
    from minirnn.trial_server import TrialServer

    monkeypatch.chdir(tmp_path)
    server = TrialServer([["train", "jordan", *DATA, "--seed", "3", "--json", "--epochs",
                           "1"]])
    try:
        assert server.ready["before"] == server.ready["after"]
        first = server.run(BY_HAND)
        between = server.run([*BY_HAND[:-3], "--seed", "2", "--lr", "0.1", "--json"])
        again = server.run(BY_HAND)
    finally:
        server.close()
    by_hand = minirnn(*BY_HAND, cwd=tmp_path).stdout
    assert first[0] == 0 and between[0] == 0 and again[0] == 0
    assert json.loads(by_hand)["metrics"]["test"]["model"]["rmse"] > 0
    assert first[1] == by_hand and again[1] == by_hand
    assert between[1] != by_hand


def test_a_killed_trial_dies_alone_and_the_server_goes_on(tmp_path, monkeypatch):
    import threading

    import psutil

    from minirnn.trial_server import TrialServer

    monkeypatch.chdir(tmp_path)
    server = TrialServer([])
    answers = []
    try:
        long = ["train", "elman", "--data", "sine", "--epochs", "500", "--patience", "500",
                "--json"]
        running = threading.Thread(target=lambda: answers.append(server.run(long)))
        running.start()
        deadline, trials = time.time() + 120, []
        while not trials and time.time() < deadline:
            trials = psutil.Process(server.process.pid).children()
            time.sleep(0.05)
        trials[0].kill()
        running.join(120)
        code, out, _ = answers[0]
        assert code == -signal.SIGKILL and out == ""
        code, out, _ = server.run(BY_HAND)  # the next trial runs as if nothing happened
        assert code == 0 and out == minirnn(*BY_HAND, cwd=tmp_path).stdout
    finally:
        server.close()


def test_a_second_sweep_s_commands_end_the_first_one_s_idle_servers(tmp_path, monkeypatch):
    """A process that runs the commands of two sweeps in turn (a worker of a user's cluster
    keeps its servers between sweeps): the first sweep's idle server is ended when a command
    with other warm-ups comes, and the command runs in a new server."""
    import threading

    from minirnn import trial_server

    monkeypatch.chdir(tmp_path)
    started, done = _counting_servers(monkeypatch), []

    def two_sweeps():
        for warmups in ([], [["models"]]):
            done.append(trial_server.run_program(["models", "--json"], warmups)[0])

    runs = threading.Thread(target=two_sweeps, daemon=True)
    runs.start()
    runs.join(300)
    try:
        assert done == [0, 0], "the second sweep's command did not finish"
        assert len(started) == 2
        assert started[0].process.poll() is not None and started[1].process.poll() is None
    finally:
        trial_server.close_all()


WORKER = """
import sys
from minirnn.trial_server import TrialServer
server = TrialServer([])
print(server.process.pid, flush=True)
server.run(["train", "elman", "--data", "sine", "--epochs", "500", "--patience", "500"])
"""


@pytest.mark.slow
def test_a_trial_does_not_outlive_the_worker_that_asked_for_it(tmp_path):
    """The worker killed mid-trial (SIGKILL: no clean-up of its own): its trial server and the
    trial end too, so nothing runs on beside the trial's rerun."""
    import psutil

    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True)
    server = psutil.Process(int(worker.stdout.readline()))
    deadline, trials = time.time() + 120, []
    while not trials and time.time() < deadline:
        trials = server.children()
        time.sleep(0.05)
    assert trials
    worker.kill()
    worker.wait()
    assert all_gone([server, trials[0]])


@pytest.mark.slow
def test_the_sweep_benchmark_times_the_three_ways_and_a_trial_s_fixed_cost():
    """``minirnn bench --sweep``'s measures, on two one-epoch trials: the sweep, the commands
    one after another and the pool, each round in turns; the tiny trial warm and fresh."""
    from minirnn.sweep_bench import sweep_times, trial_fixed_cost

    row = sweep_times(workers=1, rounds=1, models=("elman",), grid={"hidden": [3]}, seeds=2,
                      epochs=1)
    assert row["trials"] == 2 and row["workers"] == 1
    for way in ("sweep", "sequential", "pool"):
        assert row[f"{way}_all_s"] == [row[f"{way}_s"]] and row[f"{way}_s"] > 0
    assert row["sequential_over_sweep"] == row["sequential_s"] / row["sweep_s"]
    assert row["sweep_over_pool"] == row["sweep_s"] / row["pool_s"]
    cost = trial_fixed_cost(repeat=1)
    assert len(cost["warm_all_s"]) == len(cost["fresh_all_s"]) == 1
    assert cost["warm_s"] > 0 and cost["fresh_s"] > 0


def test_the_sweep_benchmark_takes_no_sizes(tmp_path):
    run = minirnn("bench", "--sweep", "--size", "2,3,4", cwd=tmp_path, check=False)
    assert run.returncode == 1
    assert run.stderr.strip() == "Error: --size does not apply to --sweep (its sizes are " \
                                 "fixed: see --help)"
