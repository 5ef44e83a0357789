"""The command line, driven with Click's CliRunner and once as a real subprocess."""
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import minirnn as mr
from minirnn.checks import CheckRow
from minirnn.cli.main import main


def invoke(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("command", [[], ["gradcheck"], ["models"], ["bench"]])
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    assert len(result.output.splitlines()) > 4


@pytest.mark.parametrize("name", ["train", "predict", "sweep", "bench", "gradcheck"])
def test_every_option_s_default_is_in_its_help(name):
    """An option with a default (a value, or what the model or the data decide) says it in
    its --help line; a flag's default is off, and an option without one has none to show."""
    import click

    command = main.commands[name]
    with click.Context(main, info_name="minirnn", **main.context_settings) as parent:
        context = click.Context(command, info_name=name, parent=parent)
        for option in command.params:
            if not isinstance(option, click.Option) or option.is_flag or option.hidden:
                continue
            record = option.get_help_record(context)
            decided_elsewhere = option.name in (  # by the model, the data or a checkpoint
                "layers", "connectivity", "window", "input_delays", "output_delays", "mode",
                "mu", "memory_size", "cell", "open_epochs", "backend", "length",
                "seasonal_period")
            if option.default not in (None, click.core.UNSET) or decided_elsewhere:
                assert "default:" in record[1], f"{name} {record[0]}"


def test_models_fit_80_columns_whatever_the_terminal():
    result = CliRunner().invoke(main, ["models"], terminal_width=200, env={"COLUMNS": "200"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) > 40 and max(map(len, lines)) <= 80
    assert "lstm (LSTM)" in lines and "  h_t = o_t ⊙ tanh(c_t)" in lines
    assert "  parameters: W_xh, W_hh, b_h, W_hy, b_y" in lines  # elman's


def test_gradcheck_passes_and_reports_every_tensor_as_json():
    result = invoke("gradcheck", "statespace", "--backend", "numpy", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True
    tensors = {r["tensor"] for r in report["rows"]}
    assert tensors == {"y", "W_xh", "W_hh", "b_h", "W_hy", "b_y", "h0", "x"}
    assert all(r["tape_rel_error"] < 1e-10 for r in report["rows"])


def test_gradcheck_table_and_per_step_view():
    result = invoke("gradcheck", "elman", "--backend", "cpu", "--per-step")
    assert result.exit_code == 0, result.output
    assert "all gradients check" in result.output
    # the state's gradient, what comes back through time, beside the input's
    assert "‖∂L/∂h_t‖" in result.output and "‖∂L/∂x_t‖" in result.output


def test_gradcheck_tables_keep_every_name_whole_at_80_columns():
    """A table per model, titled with its name: the longest names (a multi-layer network's
    connectivity, its layers' tensors) and every number read whole in 80 columns."""
    result = CliRunner().invoke(main, ["gradcheck", "multilayer", "--backend", "cpu"],
                                env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for name in ("multilayer:output_feedback", "layer0.W_xh", "layer0.W_fb"):
        assert name in result.output


def test_gradcheck_exits_1_when_a_check_fails(monkeypatch):
    failing = [CheckRow("elman", "cpu", "W_hh", 1.0, 1.0, None, False)]
    monkeypatch.setattr("minirnn.checks.check_model", lambda *a, **k: failing)
    result = invoke("gradcheck", "elman", "--backend", "cpu")
    assert result.exit_code == 1 and "1 check(s) failed" in result.output


def test_models_lists_equations_and_parameters():
    result = invoke("models", "--json")
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert entries["statespace"]["parameters"] == ["W_xh", "W_hh", "b_h", "W_hy", "b_y", "h0"]
    assert "W_hh h_{t-1}" in entries["elman"]["equations"]
    # a parameter that an option adds is listed with that option, not as always there
    assert entries["lstm"]["parameters"] == ["W_xh", "W_hh", "b_xh", "b_hh", "W_hy", "b_y"]
    assert entries["lstm"]["optional_parameters"] == {"learn_initial_state": ["h0", "c0"]}


@pytest.mark.slow
def test_bench_times_each_engine_against_the_tape():
    result = invoke("bench", "--size", "2,3,4", "--backend", "all", "--repeat", "1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = report["rows"]
    assert {r["backend"] for r in rows} >= {"tape", "numpy", "cpu"}
    assert all(r["median_ms"] > 0 and r["speedup_vs_tape"] > 0 for r in rows)
    # FLOP/s of the case (18·B·T·H²) and of the machine's reference matmul, timed in turns
    assert all(r["gflops"] == pytest.approx(18 * 2 * 3 * 4 ** 2 / r["median_ms"] / 1e6)
               for r in rows)
    assert all(r["matmul_gflops"] > 0 for r in rows) and report["matmul_gflops"] > 0


@pytest.mark.slow
def test_bench_alone_leaves_pytorch_and_jax_out():
    """--alone: no other library's threads on the cores (its idle threads spin after its
    calls); for the default benchmark only."""
    result = invoke("bench", "--size", "2,3,4", "--backend", "cpu", "--repeat", "1", "--alone",
                    "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["backend"] for r in report["rows"]] == ["cpu"] and report["alone"] is True
    wrong = invoke("bench", "--families", "--alone")
    assert wrong.exit_code == 1 and "--alone is for the default benchmark" in wrong.output


@pytest.mark.slow
def test_bench_can_time_the_loss_a_training_step_differentiates():
    """--loss mse: the timed call is the MSE's forward and backward too, as in training."""
    from minirnn.bench import _one_step
    from minirnn.models import StateSpaceRNN

    result = invoke("bench", "--size", "2,3,4", "--backend", "cpu", "--repeat", "1", "--loss",
                    "mse", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["loss"] == "mse" and report["rows"][0]["median_ms"] > 0
    rng = np.random.default_rng(0)
    x, target = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    timed = StateSpaceRNN(input_size=4, hidden_size=4, output_size=4, backend="cpu", seed=1)
    _one_step(timed, x, target, "mse")
    by_hand = StateSpaceRNN(input_size=4, hidden_size=4, output_size=4, backend="tape", seed=1)
    mr.losses.mse(by_hand(mr.Tensor(x)), target).backward()
    for (name, p), (_, q) in zip(timed.named_parameters(), by_hand.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-10, err_msg=name)


def test_bench_says_when_it_compiles_first(monkeypatch):
    """With the kernels not cached yet, the default benchmark says so on stderr before its
    seconds of compiling (its table comes at the end), and its --json output stays one
    document."""
    monkeypatch.setattr("minirnn.kernels.kernel_cache.uncached_kernels", lambda *_: ["a kernel"])
    result = invoke("bench", "--size", "2,3,4", "--backend", "cpu", "--repeat", "1", "--alone",
                    "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("compiling the cpu kernels") == 1
    assert json.loads(result.stdout)["rows"][0]["backend"] == "cpu"


def test_bench_times_the_contestants_in_turns():
    """One warm-up call each, then `repeat` turns; in each turn every contestant makes untimed
    calls (up to four while they take under a millisecond) and a timed one, so a noisy spell,
    or threads another library left spinning, hit all of them alike."""
    import time

    from minirnn.bench import _interleaved_medians

    calls = []
    medians = _interleaved_medians({name: (lambda n=name: calls.append(n)) for name in "ab"},
                                   repeat=2)
    assert calls == ["a", "b"] + ["a"] * 5 + ["b"] * 5 + ["a"] * 5 + ["b"] * 5  # quick calls
    calls.clear()
    _interleaved_medians({name: (lambda n=name: (calls.append(n), time.sleep(0.002)))
                          for name in "ab"}, repeat=2)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 2  # a slow call: one untimed
    assert set(medians) == {"a", "b"} and all(m >= 0 for m in medians.values())


def test_bench_full_narx_curve():
    result = invoke("bench", "--full-narx", "--repeat", "1", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["steps"] for r in rows] == [25, 50, 100, 200]
    assert all(r["full_ms"] > 0 and r["k2_ms"] > 0 for r in rows)


@pytest.mark.parametrize("args,message", [
    (["gradcheck", "transformer"], "'transformer' is not one of 'all',"),
    (["bench", "--size", "2,x,4"], "is not B,T,H"),
    (["bench", "--size", "2,0,4"], "sizes must be positive"),
    (["gradcheck", "--backend", "cuda"], "backend 'cuda' needs an NVIDIA GPU"),
])
def test_bad_input_gives_a_one_line_error_without_traceback(args, message):
    from minirnn.kernels.cuda_support import cuda_available

    if "cuda" in args and cuda_available():
        pytest.skip("this machine has a GPU")
    result = invoke(*args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert message in error_lines[0], result.output


def test_installed_command_runs_as_a_subprocess():
    run = subprocess.run([sys.executable, "-m", "minirnn.cli.main", "models"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "StateSpaceRNN" in run.stdout


@pytest.mark.slow
def test_readme_quickstart_runs():
    """The README's Python quickstart is real code: run it."""
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "PASS" in run.stdout


@pytest.mark.slow
def test_bench_compares_with_pytorch_when_installed():
    pytest.importorskip("torch")
    result = invoke("bench", "--size", "2,3,4", "--backend", "cpu", "--repeat", "1", "--json")
    rows = {r["backend"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows["pytorch"]["median_ms"] > 0 and rows["pytorch"]["speedup_vs_torch"] == 1.0
    assert rows["cpu"]["speedup_vs_torch"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bench_times_a_gated_cell(cell):
    """--cell times an LSTM or a GRU on each engine; with PyTorch installed, nn.LSTM / nn.GRU
    beside it (and JAX's lax.scan of the same cell, when installed)."""
    result = invoke("bench", "--cell", cell, "--size", "2,3,4", "--backend", "numpy",
                    "--repeat", "1", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    rows = {r["backend"]: r for r in document["rows"]}
    assert document["cell"] == cell and rows["numpy"]["median_ms"] > 0
    gates = 4 if cell == "lstm" else 3
    expected = 6 * 2 * 3 * 4 * 4 * (2 * gates + 1) / (rows["numpy"]["median_ms"] / 1e3) / 1e9
    assert rows["numpy"]["gflops"] == pytest.approx(expected)


@pytest.mark.slow
def test_bench_times_the_command_s_start_up_in_fresh_processes():
    result = invoke("bench", "--startup", "--repeat", "1", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["case"]: r for r in json.loads(result.stdout)}
    assert {"python -c pass", "minirnn --help", "minirnn models",
            "minirnn train elman --data sine --epochs 1"} <= set(rows)
    assert all(r["median_s"] >= r["min_s"] > 0 for r in rows.values())
    # a training run does everything --help does, and more; with an empty kernel cache it
    # compiles its kernels too
    warm = rows["minirnn train elman --data sine --epochs 1"]["min_s"]
    assert warm > rows["minirnn --help"]["min_s"]
    assert rows["minirnn train elman --data sine --epochs 1 (empty kernel cache)"]["min_s"] > warm


def test_bench_families():
    result = invoke("bench", "--families", "--repeat", "1", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["family"] == "elman" and rows[0]["x_elman"] == 1.0
    assert all(r["ms"] > 0 for r in rows)
    work = {r["family"]: r["weights_x_elman"] for r in rows}
    # NARX with L=2, K=2 reads W_xh (H x 3H), W_yh (H x 2H), W_hy: twice Elman's 3 H x H
    assert work["elman"] == 1.0 and work["narx (closed, L=2, K=2)"] == 2.0
    for r in rows:  # the time per unit of work, against Elman's
        assert r["x_elman_per_weight"] == r["x_elman"] / r["weights_x_elman"]
    other = invoke("bench", "--families", "--backend", "numpy", "--repeat", "1")
    assert other.exit_code == 0 and "recurrent families, numpy" in other.output


def test_scaling_table_varies_one_axis_at_a_time():
    from minirnn.bench import scaling_table

    rows = scaling_table(base=(2, 5, 4), factors=(1, 2), repeat=1)
    assert [(r["vary"], r["B"], r["T"], r["H"]) for r in rows[:6]] == [
        ("T", 2, 5, 4), ("T", 2, 10, 4), ("B", 2, 5, 4), ("B", 4, 5, 4),
        ("H", 2, 5, 4), ("H", 2, 5, 8)]
    assert {r["threads"] for r in rows if r["vary"] == "threads"} >= {1}


@pytest.mark.slow
def test_bench_memory_of_a_long_sequence():
    result = invoke("bench", "--memory", "--json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["steps"] == 100_000 and row["ms"] > 0
    assert row["one_T_by_H_array_mib"] == pytest.approx(100_000 * 64 * 4 / 2 ** 20)
    assert 1 <= row["arrays"] < 5.5  # hs at least; what the rest is: test_elman.py


@pytest.mark.slow
def test_bench_under_load_times_a_step_alone_and_beside_other_processes():
    """Each cell: a whole training step alone, beside a second process doing the same, beside
    a busy loop; the other processes are started warm and gone afterwards."""
    from minirnn.bench import load_table, training_step

    step = training_step("narx", 2, 6, 3, "numpy")
    step()  # one whole step: forward, loss, backward, Adam
    rows = load_table(cells=[("elman", 1, 5, 2)], backends=("cpu", "numpy"), seconds=0.1)
    assert [r["engine"] for r in rows] == ["cpu", "numpy"]
    for r in rows:
        assert r["alone_ms"] > 0 and r["minirnn_ms"] > 0 and r["busy_ms"] > 0
        assert r["x_alone"] == r["minirnn_ms"] / r["alone_ms"]
    assert rows[1]["x_numpy_loaded"] == 1.0
    rows = load_table(cells=[("elman", 1, 5, 2)], backends=("cpu",), seconds=0.1, others=2)
    assert rows[0]["others"] == 2 and rows[0]["minirnn_ms"] > 0


def test_bench_training_times_deterministic_mode_beside_the_default_and_restores_it():
    from minirnn.bench import training_table
    from minirnn.kernels import deterministic

    rows = training_table(2, 3, 4, backends=("cpu",), repeat=1, deterministic=True)
    assert [r["family"] for r in rows][:3] == ["sliding", "narx", "elman"]
    for r in rows:
        assert r["deterministic_cost"] == pytest.approx(r["cpu-deterministic_ms"] / r["cpu_ms"])
    assert deterministic() is False
    assert "--deterministic is an option of --training" in invoke("bench", "--deterministic").output
    assert "--others is an option of --load" in invoke("bench", "--others", "2").output
    assert "--others is an option of --load" in invoke("bench", "--others", "2",
                                                       "--training").output


@pytest.mark.parametrize("args,message", [
    (["--training", "--load"], "--load and --training: choose one kind of benchmark"),
    (["--families", "--size", "4,10,8"], "--size does not apply to --families"),
    (["--training", "--loss", "mse"], "--loss is for the default benchmark, not --training"),
    (["--families", "--cell", "lstm"], "--cell is for the default benchmark, not --families"),
    (["--training", "--deterministic", "--backend", "numpy"],
     "--deterministic times the cpu engine's deterministic mode"),
])
def test_bench_options_that_do_not_apply_are_errors(args, message):
    result = invoke("bench", *args)
    assert result.exit_code == 1 and message in result.output


@pytest.mark.slow
def test_bench_training_times_pytorch_for_every_family():
    pytest.importorskip("torch")
    from minirnn.bench import TORCH_FAMILIES, TRAINING_FAMILIES, training_table

    assert set(TORCH_FAMILIES) == set(TRAINING_FAMILIES)
    rows = training_table(2, 3, 4, backends=("cpu",), repeat=1, torch=True)
    assert [r["family"] for r in rows] == TRAINING_FAMILIES
    for r in rows:
        assert r["pytorch_ms"] > 0
        assert r["x_pytorch"] == pytest.approx(r["pytorch_ms"] / r["cpu_ms"])


def test_bench_times_jax_beside_the_engines_when_it_is_installed():
    pytest.importorskip("jax")
    from minirnn.bench import run_benchmarks

    rows = run_benchmarks(["cpu"], [(2, 3, 4)], repeat=1, jax=True)
    assert [r.backend for r in rows] == ["cpu", "jax"]
    assert rows[0].speedup_vs_jax == pytest.approx(rows[1].median_ms / rows[0].median_ms)


def test_text_with_brackets_is_shown_as_written():
    """rich reads [x] as markup: equations and hints are escaped, so nothing is swallowed."""
    result = invoke("models")
    assert any("[x_t … x_{t-L}]" in line for line in result.output.splitlines())
    assert any("[r_t, z_t] = σ(W_x[rz] x_t" in line for line in result.output.splitlines())


def test_json_mode_prints_one_document_even_for_an_error():
    result = invoke("train", "elman", "--data", "weather", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"error": "unknown data source 'weather': a CSV file or "
                                                  "one of sine, stock, narendra, memory, text"}
    assert result.stderr.startswith("Error: unknown data source 'weather'")


@pytest.mark.parametrize("args", [["train", "transformer", "--data", "sine", "--json"],
                                  ["train", "elman", "--data", "sine", "--epochs", "0", "--json"],
                                  ["predict", "--json"]])
def test_json_mode_usage_errors_are_json_too(args):
    result = invoke(*args)
    assert result.exit_code == 2 and "Usage:" in result.stderr
    assert set(json.loads(result.stdout)) == {"error"}


def test_gradcheck_all_says_when_it_leaves_the_cuda_engine_out():
    from minirnn.kernels.cuda_support import cuda_available

    if cuda_available():
        pytest.skip("this machine has a GPU")
    result = invoke("gradcheck", "elman", "--backend", "all", "--json")
    assert result.exit_code == 0
    assert "the cuda engine is not checked" in result.stderr
    assert {r["backend"] for r in json.loads(result.stdout)["rows"]} == {"tape", "numpy", "cpu"}
