"""Bad input, case by case: every mistake a user can make with a file, an option or a checkpoint
ends with exactly one ``Error:`` line naming the problem, a non-zero exit (1; 2 for Click's own
usage errors), no traceback, and no file written, changed or left behind.

Each case runs in an empty folder holding only the files its setup makes: ``good.csv`` (a date
column, target ``a``, inputs ``b`` and ``c``), ``m.npz`` (an Elman model trained on the built-in
sine for 2 epochs) and ``c.npz`` (an Elman model trained on good.csv with inputs b, c).
"""
import datetime
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from minirnn.checkpoint import read_archive
from minirnn.cli.main import main

from bad_input_setups import bomb, daily, deeply_nested, disk_full, results

SMALL = ["--length", "300", "--epochs", "2", "--hidden", "6", "--bptt", "20"]


def good_rows(n=60, seed=0):
    """One row a day from 2024-01-01 (no day left out: that would be a gap in the dates)."""
    rng = np.random.default_rng(seed)
    first = datetime.date(2024, 1, 1)
    return [[(first + datetime.timedelta(days=i)).isoformat(), f"{v:.4f}", f"{w:.4f}",
             f"{z:.4f}"] for i, (v, w, z) in enumerate(rng.standard_normal((n, 3)))]


def csv_text(header=("date", "a", "b", "c"), rows=None):
    rows = good_rows() if rows is None else rows
    return "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The checkpoints the cases start from, trained once."""
    folder = tmp_path_factory.mktemp("trained")
    (folder / "good.csv").write_text(csv_text())
    runner = CliRunner()
    for args in (["train", "elman", "--data", "sine", *SMALL, "--out", folder / "m.npz"],
                 ["train", "elman", "--data", folder / "good.csv", "--target", "a", "--inputs",
                  "b,c", *SMALL[2:], "--out", folder / "c.npz"]):
        result = runner.invoke(main, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    return folder


# --- setups: each writes the files a case starts from --------------------------------------
def good(d, t):
    shutil.copy(t / "good.csv", d / "good.csv")


def model(d, t):
    shutil.copy(t / "m.npz", d / "m.npz")


def csv_model(d, t):
    good(d, t)
    shutil.copy(t / "c.npz", d / "c.npz")


def text(name, content):
    def setup(d, t):
        (d / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return setup


def cell(line, column, value):
    """good.csv with one cell replaced (line: the file's line number, 1 = the header)."""
    rows = good_rows()
    rows[line - 2][column] = value
    return text("bad.csv", csv_text(rows=rows))


def edited(change_document=None, change_arrays=None):
    """m.npz with its JSON document or arrays edited."""
    def setup(d, t):
        document, arrays = read_archive(t / "m.npz")
        if change_document:
            change_document(document)
        if change_arrays:
            change_arrays(arrays)
        np.savez(d / "m.npz", meta=np.array(json.dumps(document)), **arrays)
    return setup


def both(*setups):
    def setup(d, t):
        patches = [s(d, t) for s in setups]
        return lambda monkeypatch: [p(monkeypatch) for p in patches if callable(p)]
    return setup


def nan_weight(arrays):
    arrays["best/W_hh"][...] = np.nan


def hidden(size):
    def change(document):
        document["config"]["hidden_size"] = size
    return change


def source(path):
    def change(document):
        document["data"]["source"] = path
    return change


def source_changed(d, t):
    """c.npz trained on ./good.csv, whose rows have changed since."""
    document, arrays = read_archive(t / "c.npz")
    document["data"]["source"] = str(d / "good.csv")
    np.savez(d / "c.npz", meta=np.array(json.dumps(document)), **arrays)
    (d / "good.csv").write_text(csv_text(rows=good_rows(seed=5)))


def csv_model_here(d, t):
    """c.npz trained on ./good.csv."""
    document, arrays = read_archive(t / "c.npz")
    document["data"]["source"] = str(d / "good.csv")
    np.savez(d / "c.npz", meta=np.array(json.dumps(document)), **arrays)
    good(d, t)


def no_meta(d, t):
    np.savez(d / "m.npz", weights=np.zeros(3))


def not_json(d, t):
    np.savez(d / "m.npz", meta=np.array("{not json"))


def a_folder(name):
    def setup(d, t):
        (d / name).mkdir()
    return setup


def not_a_folder(d, t):
    (d / "file").write_text("x")


TRAIN = ["train", "elman"]
SWEEP_SHARED = ["--data", "sine", "--length", "300", "--epochs", "2"]
SWEEP = ["sweep", "--model", "elman", "--", *SWEEP_SHARED]
CSV = ["--data", "bad.csv", "--target", "a", "--inputs", "b"]
PREDICT = ["predict", "m.npz"]

# (case id, setup or None, arguments, exit code, what the Error: line says)
CASES = [
    # CSV files
    ("csv-missing", None, TRAIN + CSV, 1, "data file not found: bad.csv"),
    ("csv-empty", text("bad.csv", ""), TRAIN + CSV, 1, "bad.csv is empty: no header row"),
    ("csv-blank-header", text("bad.csv", "\n\n"), TRAIN + CSV, 1, "is empty: no header row"),
    ("csv-header-only", text("bad.csv", "date,a,b\n"), TRAIN + CSV, 1,
     "has a header but no rows"),
    ("csv-duplicate-header", text("bad.csv", csv_text(("date", "a", "b", "a"))), TRAIN + CSV, 1,
     "bad.csv has 2 columns named 'a' (columns 2, 4)"),
    ("csv-target-as-input", text("bad.csv", csv_text()),
     TRAIN + ["--data", "bad.csv", "--target", "a", "--inputs", "b,a"], 1,
     "'a' given as both the target and an input"),
    ("csv-input-twice", text("bad.csv", csv_text()),
     TRAIN + ["--data", "bad.csv", "--target", "a", "--inputs", "b,b"], 1,
     "--inputs names column(s) 'b' more than once"),
    ("csv-target-twice", text("bad.csv", csv_text()),
     TRAIN + ["--data", "bad.csv", "--target", "a,a"], 1,
     "--target names column(s) 'a' more than once"),
    ("csv-empty-target", text("bad.csv", csv_text()),
     TRAIN + ["--data", "bad.csv", "--target", ","], 1, "--target names no column"),
    ("csv-no-target", text("bad.csv", csv_text()), TRAIN + ["--data", "bad.csv"], 1,
     "--target is required for a CSV file"),
    ("csv-text-cell", cell(5, 1, "abc"), TRAIN + CSV, 1,
     "bad.csv, line 5, column 'a': 'abc' is not a number"),
    ("csv-nan-cell", cell(7, 2, "nan"), TRAIN + CSV, 1,
     "line 7, column 'b': a missing value ('nan'); --missing drop or --missing interpolate"),
    ("csv-inf-cell", cell(3, 1, "inf"), TRAIN + CSV, 1,
     "line 3, column 'a': inf (infinite values cannot be used)"),
    ("csv-huge-cell", cell(4, 2, "1e308"), TRAIN + CSV, 1,
     "bad.csv, line 4, column 'b': 1e308 is too large to use (its square overflows)"),
    ("predict-huge-cell", both(csv_model, cell(4, 3, "-2e200")),
     ["predict", "c.npz", "--data", "bad.csv"], 1,
     "bad.csv, line 4, column 'c': -2e200 is too large to use"),
    ("csv-empty-cell", cell(9, 1, ""), TRAIN + CSV, 1, "line 9, column 'a': a missing value"),
    ("missing-for-a-builtin", None, TRAIN + ["--data", "sine", "--missing", "drop"], 1,
     "--missing is for CSV files"),
    ("missing-unknown", good, TRAIN + ["--data", "good.csv", "--target", "a", "--missing",
                                       "guess"], 2, "'--missing': 'guess' is not one of"),
    ("csv-line-after-blank-lines", text("bad.csv", "a,b\n1,2\n\n\n3,x\n"), TRAIN + CSV, 1,
     "bad.csv, line 5, column 'b': 'x' is not a number"),
    ("csv-short-row", text("bad.csv", "date,a,b\n2024-01-01,1,2\n2024-01-02,3\n"), TRAIN + CSV,
     1, "bad.csv, line 3: 2 fields, the header has 3"),
    ("csv-long-row", text("bad.csv", "a,b\n1,2\n1,234.5,6\n"), TRAIN + CSV, 1,
     "line 3: 3 fields, the header has 2 (a thousands separator"),
    ("csv-unknown-target", text("bad.csv", csv_text()),
     TRAIN + ["--data", "bad.csv", "--target", "zz"], 1,
     "column 'zz' not in bad.csv; columns: a, b, c"),
    ("csv-unknown-input", text("bad.csv", csv_text()),
     TRAIN + ["--data", "bad.csv", "--target", "a", "--inputs", "q"], 1,
     "column 'q' not in bad.csv"),
    ("csv-bom-header-listed-clean", text("bad.csv", "\ufeff" + csv_text()),
     TRAIN + ["--data", "bad.csv", "--target", "zz"], 1, "columns: a, b, c"),
    ("csv-decimals-are-not-dates", text("bad.csv", "YEAR,SUN\n1700,5.0\n1701,1707.4\n"),
     TRAIN + ["--data", "bad.csv", "--target", "sun"], 1, "columns: YEAR, SUN"),
    ("csv-dates-out-of-order", text("bad.csv", csv_text(rows=[*good_rows()[:9],
                                                            good_rows()[10], good_rows()[9],
                                                            *good_rows()[11:]])),
     TRAIN + CSV, 1, "bad.csv, line 12: date '2024-01-10' does not come after the line before "
                     "('2024-01-11'): rows must be in time order"),
    ("csv-date-gap", text("bad.csv", csv_text(rows=good_rows()[:20] + good_rows()[26:])),
     TRAIN + CSV, 1, "bad.csv, lines 21-22: 6 rows missing between date 2024-01-20 and "
                     "2024-01-27 (the rows step by 1 day); add the rows, or interpolate them"),
    ("csv-long-format", text("bad.csv", csv_text(rows=good_rows(30) + good_rows(30, seed=1))),
     TRAIN + CSV, 1, "line 32: date '2024-01-01' does not come after the line before"),
    ("series-id-not-a-column", text("bad.csv", csv_text()), TRAIN + CSV + ["--series-id", "s"],
     1, "the series id column 's' is not in bad.csv; columns: date, a, b, c"),
    ("series-id-is-the-target", text("bad.csv", csv_text()), TRAIN + CSV + ["--series-id", "a"],
     1, "--series-id 'a' is a target or an input"),
    ("series-id-is-the-date", text("bad.csv", csv_text()),
     TRAIN + CSV + ["--series-id", "date"], 1, "--series-id 'date' is a date column"),
    ("series-id-on-built-in-data", None, TRAIN + ["--data", "sine", "--series-id", "s"], 1,
     "--series-id is for a long-format CSV file; the built-in data set 'sine' is one series"),
    ("series-id-for-seq2seq", text("bad.csv", csv_text()),
     ["train", "seq2seq"] + CSV + ["--series-id", "c"], 1,
     "seq2seq reads windows of one series"),
    ("series-id-out-of-order", text("bad.csv", csv_text(
        rows=[[d, v, w, "x" if i % 2 else "y"] for i, (d, v, w, _) in enumerate(
            good_rows()[:20] + good_rows()[:20])])), TRAIN + CSV + ["--series-id", "c"], 1,
     "line 23: series 'x' has date '2024-01-02' after '2024-01-20' (line 21)"),
    ("predict-other-series-id", csv_model, ["predict", "c.npz", "--series-id", "b"], 1,
     "the model was trained on one series (no --series-id); --series-id b cannot change that"),
    ("csv-date-column-with-junk", text("bad.csv", csv_text(rows=[*good_rows()[:30],
                                                               ["soon", "1", "2", "3"],
                                                               *good_rows()[31:]])),
     TRAIN + CSV, 1, "bad.csv, line 32, column 'date': 'soon' is not a date like the column's"),
    ("csv-dates-in-two-layouts", cell(20, 0, "2024/01/19"), TRAIN + CSV, 1,
     "bad.csv, line 20, column 'date': '2024/01/19' is not written like the column's first "
     "date ('2024-01-01')"),
    ("csv-too-few-rows", text("bad.csv", csv_text(rows=good_rows(6))), TRAIN + CSV, 1,
     "too few for a train / validation / test split"),
    ("csv-not-utf8", text("bad.csv", b"a,b\n1,\xff\xfe\n"), TRAIN + CSV, 1, "cannot read bad.csv"),
    ("data-unknown-name", None, TRAIN + ["--data", "weather"], 1,
     "unknown data source 'weather'"),
    ("data-builtin-other-target", None, TRAIN + ["--data", "sine", "--target", "x"], 1,
     "the built-in data set 'sine' has target y"),
    ("data-text-for-narx", None, ["train", "narx", "--data", "text"], 1,
     "narx models numeric series"),
    ("data-text-difference", None, TRAIN + ["--data", "text", "--difference"], 1,
     "--difference is for numeric series"),
    ("data-seq2seq-difference", None, ["train", "seq2seq", "--data", "sine", "--difference"], 1,
     "--difference is not available for seq2seq"),
    ("data-seq2seq-context", None,
     ["train", "seq2seq", "--data", "sine", "--length", "40", "--context", "30"], 1,
     "too few for windows of 30 + 5 rows"),
    ("data-batch-too-large", None, TRAIN + ["--data", "sine", "--length", "100", "--batch",
                                            "500"], 1, "cannot make 500 streams: lower --batch"),
    ("data-missing", None, TRAIN, 2, "Missing option '--data'"),
    ("model-missing", None, ["train", "--data", "sine"], 2, "Missing argument 'MODEL'"),
    # option values
    ("opt-lr-nan", None, TRAIN + ["--data", "sine", "--lr", "nan"], 2,
     "'--lr': 'nan' is not a finite number"),
    ("opt-lr-inf", None, TRAIN + ["--data", "sine", "--lr", "inf"], 2,
     "'--lr': 'inf' is not a finite number"),
    ("opt-lr-zero", None, TRAIN + ["--data", "sine", "--lr", "0"], 2,
     "'--lr': 0 is not in the range x > 0"),
    ("opt-lr-text", None, TRAIN + ["--data", "sine", "--lr", "fast"], 2,
     "'--lr': 'fast' is not a number"),
    ("opt-clip-nan", None, TRAIN + ["--data", "sine", "--clip", "nan"], 2,
     "'--clip': 'nan' is not a finite number"),
    ("opt-clip-negative", None, TRAIN + ["--data", "sine", "--clip", "-1"], 2,
     "'--clip': -1 is not in the range x >= 0"),
    ("opt-seed-negative", None, TRAIN + ["--data", "sine", "--seed", "-1"], 2,
     "'--seed': -1 is not in the range x>=0"),
    ("opt-hidden-zero", None, TRAIN + ["--data", "sine", "--hidden", "0"], 2,
     "'--hidden': 0 is not in the range x>=1"),
    ("opt-epochs-zero", None, TRAIN + ["--data", "sine", "--epochs", "0"], 2,
     "'--epochs': 0 is not in the range x>=1"),
    ("opt-mu-one", None, ["train", "jordan", "--data", "sine", "--mu", "1"], 2,
     "'--mu': 1 is not in the range 0 <= x < 1"),
    ("opt-mu-nan", None, ["train", "jordan", "--data", "sine", "--mu", "nan"], 2,
     "'--mu': 'nan' is not a finite number"),
    ("opt-length-short", None, TRAIN + ["--data", "sine", "--length", "5"], 2,
     "'--length': 5 is not in the range x>=10"),
    ("opt-dtype", None, TRAIN + ["--data", "sine", "--dtype", "float16"], 2,
     "'--dtype': 'float16' is not one of"),
    ("opt-backend", None, TRAIN + ["--data", "sine", "--backend", "tpu"], 2,
     "'--backend': 'tpu' is not one of"),
    ("opt-model", None, ["train", "transformer", "--data", "sine"], 2,
     "'transformer' is not one of"),
    ("size-hidden-absurd", None, TRAIN + ["--data", "sine", "--hidden", "100000000"], 1,
     "elman with hidden size 100,000,000 on 2,000 rows needs ~"),
    ("size-hidden-large", None, TRAIN + ["--data", "sine", "--hidden", "40000"], 1,
     "elman with hidden size 40,000 on 2,000 rows needs ~47.4 GiB; this machine has 16.0 GiB "
     "available"),
    ("size-length-absurd", None, TRAIN + ["--data", "sine", "--length", "10000000000000"], 1,
     "--length 10,000,000,000,000 needs ~"),
    ("size-window-absurd", None, ["train", "sliding", "--data", "sine", "--window",
                                  "1000000000000"], 1, "needs ~"),
    ("size-delays-absurd", None, ["train", "narx", "--data", "narendra", "--input-delays",
                                  "1000000000000"], 1, "needs ~"),
    ("size-batch-absurd", None, TRAIN + ["--data", "sine", "--batch", "100000000000"], 1,
     "needs ~"),
    ("size-window-beyond-the-rows", None, ["train", "sliding", "--data", "sine", "--window",
                                           "100000"], 1,
     "sliding reads 100,000 rows back (window), as many as or more than the 1,400 training "
     "rows"),
    ("size-window-longer-than-the-data", None, ["train", "sliding", "--data", "sine",
                                                "--window", "3000"], 1,
     "sliding reads 3,000 rows back (window)"),
    ("size-delays-beyond-the-rows", None, ["train", "narx", "--data", "narendra",
                                           "--input-delays", "100000"], 1,
     "narx reads 100,000 rows back (input delays)"),
    ("size-layers-hours-of-work", None, ["train", "multilayer", "--data", "sine", "--layers",
                                         "5000", "--epochs", "300"], 1,
     "multilayer with 5,000 layers of 16 units on 2,000 rows needs ~37.0 hours of computing "
     "for 300 epoch(s)"),
    ("size-horizon-absurd", None, TRAIN + ["--data", "sine", "--horizon", "100000000"], 1,
     "elman with hidden size 16 on 2,000 rows needs ~"),
    ("size-lm-jacobian", None, ["train", "narx", "--data", "narendra", "--hidden", "10000",
                                "--optimizer", "lm"], 1,
     "narx with hidden size 10,000 on 2,000 rows, full batch with Levenberg-Marquardt (its "
     "Jacobian, rows x weights, and J^T J), needs ~"),
    ("opt-bptt-full-batch", None, TRAIN + ["--data", "sine", "--optimizer", "lbfgs", "--bptt",
                                           "20"], 1, "--bptt does not apply to lbfgs"),
    ("opt-iterations-first-order", None, TRAIN + ["--data", "sine", "--iterations", "5"], 1,
     "--iterations is for lbfgs and lm"),
    ("opt-lm-text", None, ["train", "elman", "--data", "text", "--optimizer", "lm"], 1,
     "Levenberg-Marquardt needs a least-squares loss; the text task's is not"),
    ("opt-lr-lm", None, TRAIN + ["--data", "sine", "--optimizer", "lm", "--lr", "0.1"], 1,
     "--lr does not apply to lm"),
    # paths
    ("out-missing-folder", None, TRAIN + ["--data", "sine", "--out", "no/such/m.npz"], 1,
     "--out no/such/m.npz: the folder no/such does not exist"),
    ("out-is-folder", a_folder("m.npz"), TRAIN + ["--data", "sine", "--out", "m.npz"], 2,
     "is a directory"),
    ("out-not-npz", None, TRAIN + ["--data", "sine", "--out", "m.pt"], 1,
     "--out m.pt: a checkpoint file must end in .npz"),
    ("out-unwritable", None, TRAIN + ["--data", "sine", "--out", "/proc/m.npz"], 1,
     "--out /proc/m.npz: cannot write in /proc"),
    ("out-under-a-file", not_a_folder, TRAIN + ["--data", "sine", "--out", "file/m.npz"], 1,
     "file is not a folder"),
    ("out-holds-another-run", model, TRAIN + ["--data", "sine", "--out", "m.npz"], 1,
     "--out m.npz already exists (the model 'elman', 2 epoch(s)): continue it with --resume m.npz"),
    ("out-holds-a-plain-archive", text("m.npz", b""), TRAIN + ["--data", "sine", "--out",
                                                               "m.npz"], 1,
     "--out m.npz already exists and is not a minirnn checkpoint"),
    ("plot-on-a-full-disk", disk_full("figure"), TRAIN + SMALL + ["--data", "sine", "--plot",
                                                                   "fit.png"], 1,
     "--plot fit.png: cannot write it (No space left on device)"),
    ("resume-lock-on-a-full-disk", both(model, disk_full("lock")),
     ["train", "elman", "--resume", "m.npz", "--epochs", "4"], 1,
     "m.npz: writing .m.npz.lock failed (No space left on device)"),
    ("plot-unknown-format", None, TRAIN + ["--data", "sine", "--plot", "fit.xyz"], 1,
     "--plot fit.xyz: unknown image format 'xyz'"),
    ("plot-no-extension", None, TRAIN + ["--data", "sine", "--plot", "fit"], 1,
     "unknown image format '(no extension)'"),
    ("plot-missing-folder", None, TRAIN + ["--data", "sine", "--plot", "no/fit.png"], 1,
     "--plot no/fit.png: the folder no does not exist"),
    ("predict-length-without-data", model, PREDICT + ["--length", "100"], 1,
     "--length is the size of a built-in data set given with --data"),
    ("predict-out-is-the-checkpoint", model, PREDICT + ["--out", "m.npz"], 1,
     "--out m.npz is the checkpoint: writing there would destroy it"),
    ("predict-out-is-the-data", both(model, good), PREDICT + ["--data", "good.csv", "--out",
                                                             "good.csv"], 1,
     "--out good.csv is the --data file: writing there would destroy it"),
    ("predict-out-is-the-training-data", csv_model_here, ["predict", "c.npz", "--out",
                                                          "good.csv"], 1,
     "--out good.csv is the model's training data"),
    ("predict-out-is-the-plot", model, PREDICT + ["--out", "p.png", "--plot", "p.png"], 1,
     "--plot p.png is --out"),
    ("predict-out-missing-folder", model, PREDICT + ["--out", "no/p.csv"], 1,
     "--out no/p.csv: the folder no does not exist"),
    # checkpoints
    ("predict-steps-absurd", model, PREDICT + ["--steps", "100000000000"], 1,
     "--steps 100,000,000,000 needs ~"),
    ("ckpt-missing", None, PREDICT, 1, "checkpoint not found: m.npz"),
    ("ckpt-empty", text("m.npz", b""), PREDICT, 1, "m.npz is empty (0 bytes)"),
    ("ckpt-truncated", lambda d, t: (d / "m.npz").write_bytes((t / "m.npz").read_bytes()[:900]),
     PREDICT, 1, "not an .npz archive, or a truncated one"),
    ("ckpt-text-file", text("m.npz", "weights: 1 2 3\n"), PREDICT, 1,
     "m.npz is not a minirnn checkpoint: not an .npz archive"),
    ("ckpt-deflate-bomb", bomb, PREDICT, 1,
     "m.npz: its arrays would unpack to 67,"),
    ("ckpt-no-meta", no_meta, PREDICT, 1, "it has no 'meta' document"),
    ("ckpt-meta-not-json", not_json, PREDICT, 1, "its 'meta' document is not valid JSON"),
    ("ckpt-no-config", edited(lambda d: d.pop("config")), PREDICT, 1,
     "the checkpoint has no 'config' section"),
    ("ckpt-absurd-hidden", edited(hidden(10 ** 9)), PREDICT, 1,
     "elman with hidden size 1,000,000,000 on 300 rows needs ~"),
    ("ckpt-nan-weight", edited(change_arrays=nan_weight), PREDICT, 1,
     "best weights: W_hh holds NaN or infinite values"),
    ("ckpt-weights-overflow", edited(change_arrays=lambda a: a["best/W_hy"].fill(3e38)),
     PREDICT, 1, "m.npz: the model's predictions overflow its float32 range (17 of 300 rows "
                 "not finite): its weights are too large for these data (the largest, in W_hy"),
    ("ckpt-scale-subnormal",
     edited(lambda d: d["scalers"]["targets"].update(scale=[1e-320])), PREDICT, 1,
     "scalers.targets.scale 1e-320 is too small to scale values around"),
    ("ckpt-builtin-length-absurd", edited(lambda d: d["data"].update(length=10 ** 13)),
     PREDICT, 1, "data.length 10,000,000,000,000 needs ~"),
    ("ckpt-old-schema", edited(lambda d: d.update(schema=1)), PREDICT, 1,
     "an older minirnn wrote it"),
    ("ckpt-source-not-csv", edited(source("/etc/passwd")), PREDICT, 1,
     "names training data '/etc/passwd', not a CSV file: give --data"),
    ("ckpt-source-changed", source_changed, ["predict", "c.npz"], 1,
     "which no longer holds that data (or is gone): give --data"),
    ("ckpt-wrong-model-on-resume", model, ["train", "jordan", "--resume", "m.npz"], 1,
     "m.npz holds the model 'elman', not 'jordan'"),
    # data and options against a checkpoint
    ("predict-future-inputs-a-month-late",
     both(csv_model, daily("days.csv", "2024-01-01", good_rows()),
          daily("next.csv", "2024-04-01", good_rows(5))),
     ["predict", "c.npz", "--data", "days.csv", "--steps", "3", "--future-inputs", "next.csv"],
     1, "--future-inputs next.csv starts at 2024-04-01, further after the data's last row "
        "(2024-02-29) than any row from the one before"),
    ("predict-missing-column", both(csv_model, text("other.csv", csv_text(
        ("date", "a", "b"), [r[:3] for r in good_rows()]))),
     ["predict", "c.npz", "--data", "other.csv"], 1,
     "column 'c' not in other.csv; columns: a, b (the model was trained on target a; "
     "inputs b, c)"),
    ("predict-fewer-inputs", csv_model, ["predict", "c.npz", "--inputs", "b"], 1,
     "the model was trained on target a; inputs b, c; --inputs gives b"),
    ("predict-inputs-reordered", csv_model, ["predict", "c.npz", "--inputs", "c,b"], 1,
     "--inputs gives c, b (expected b, c, in that order)"),
    ("predict-inputs-for-a-model-without", both(model, good),
     PREDICT + ["--data", "good.csv", "--target", "a", "--inputs", "b"], 1,
     "the model was trained on target y; inputs none; --target gives a"),
    ("predict-other-builtin", model, PREDICT + ["--data", "narendra"], 1,
     "the model was trained on target y; inputs none; narendra has target y; inputs u"),
    ("resume-other-hidden", model, ["train", "elman", "--resume", "m.npz", "--hidden", "32"], 1,
     "m.npz cannot continue with other options: --hidden 32 (it was trained with 6)"),
    ("resume-other-dtype", model, ["train", "elman", "--resume", "m.npz", "--dtype", "float64"],
     1, "--dtype float64 (it was trained with float32)"),
    ("resume-other-optimizer", model, ["train", "elman", "--resume", "m.npz", "--optimizer",
                                       "sgd"], 1, "--optimizer sgd (it was trained with adam)"),
    ("resume-other-flag", model, ["train", "elman", "--resume", "m.npz", "--difference"], 1,
     "--difference (it was trained without it)"),
    ("out-is-a-pipe", lambda d, t: __import__("os").mkfifo(d / "m.npz"),
     TRAIN + ["--data", "sine", "--out", "m.npz"], 1,
     "--out m.npz is not a regular file: a checkpoint cannot go there"),
    ("data-is-a-folder", a_folder("x.csv"), TRAIN + ["--data", "x.csv", "--target", "a"], 1,
     "x.csv is a folder, not a data file"),
    ("option-for-another-model", None, TRAIN + ["--data", "sine", "--window", "3"], 1,
     "--window does not apply to elman (it is an option of sliding)"),
    ("open-epochs-for-elman", None, TRAIN + ["--data", "sine", "--open-epochs", "3"], 1,
     "--open-epochs applies to narx in closed loop (--mode closed) alone"),
    ("open-epochs-in-open-loop", None, ["train", "narx", "--data", "narendra", "--mode", "open",
                                        "--open-epochs", "3"], 1,
     "--open-epochs applies to narx in closed loop"),
    ("length-for-a-csv", good, TRAIN + ["--data", "good.csv", "--target", "a", "--length",
                                        "100"], 1,
     "--length is the size of a built-in data set; a CSV file has its own rows"),
    ("resume-option-not-applicable", model,
     ["train", "elman", "--resume", "m.npz", "--window", "3"], 1,
     "--window (it does not apply to this elman model)"),
    ("resume-other-builtin", model, ["train", "elman", "--resume", "m.npz", "--data", "memory",
                                     "--epochs", "4"], 1, "m.npz was trained on other data"),
    ("resume-other-csv", both(csv_model, text("other.csv", csv_text(rows=good_rows(seed=3)))),
     ["train", "elman", "--resume", "c.npz", "--data", "other.csv", "--epochs", "4"], 1,
     "c.npz was trained on other data"),
    ("resume-same-values-other-dates", both(csv_model, text("other.csv", csv_text(
        rows=[[(datetime.date(2025, 1, 1) + datetime.timedelta(days=i)).isoformat(), *r[1:]]
              for i, r in enumerate(good_rows())]))),
     ["train", "elman", "--resume", "c.npz", "--data", "other.csv", "--epochs", "4"], 1,
     "c.npz was trained on other data"),
    ("resume-other-target", csv_model, ["train", "elman", "--resume", "c.npz", "--target", "b",
                                        "--epochs", "4"], 1, "--target gives b (expected a"),
    ("resume-nothing-left", model, ["train", "elman", "--resume", "m.npz"], 1,
     "m.npz has already trained 2 of its 2 epochs: give --epochs above 2"),
    ("resume-epochs-absurd", model, ["train", "elman", "--resume", "m.npz", "--epochs",
                                     "100000000"], 1,
     "elman with hidden size 6 on 300 rows needs ~"),
    ("resume-out-holds-another", both(model, csv_model),
     ["train", "elman", "--resume", "m.npz", "--out", "c.npz", "--epochs", "4"], 1,
     "--out c.npz already exists"),
    ("ckpt-best-score-nan", edited(lambda d: d["run"].update(best_score=float("nan"))), PREDICT,
     1, "m.npz: its 'meta' document is refused: it holds NaN"),
    ("ckpt-best-score-null", edited(lambda d: d["run"].update(best_score=None)),
     ["train", "elman", "--resume", "m.npz", "--epochs", "4"], 1,
     "run.best_score must be a finite number where an epoch was best (best epoch"),
    ("ckpt-meta-nested-deeply", deeply_nested, PREDICT, 1,
     "its 'meta' document is refused: it nests 5002 levels deep (at most 32)"),
    # sweeps: --out follows train's rules; results.json is checked before it is trusted
    ("sweep-out-is-the-data", good, SWEEP[:3] + ["--out", "good.csv", "--", "--data",
                                                  "good.csv", "--target", "a"], 1,
     "--out good.csv: a checkpoint file must end in .npz"),
    ("sweep-out-not-npz", None, SWEEP[:3] + ["--out", "b.txt"] + SWEEP[3:], 1,
     "--out b.txt: a checkpoint file must end in .npz"),
    ("sweep-out-holds-another-run", model, SWEEP[:3] + ["--out", "m.npz"] + SWEEP[3:], 1,
     "--out m.npz already exists (the model 'elman', 2 epoch(s)): choose another --out, or "
     "give --overwrite"),
    ("sweep-results-score-edited", results(SWEEP_SHARED, validation=-1),
     SWEEP[:3] + ["--resume", "--out", "best.npz"] + SWEEP[3:], 1,
     "the record of elman-seed=0: its validation score -1 is not a possible rmse"),
    ("sweep-results-checkpoint-edited", both(csv_model, results(SWEEP_SHARED, checkpoint="c.npz")),
     SWEEP[:3] + ["--resume", "--out", "best.npz"] + SWEEP[3:], 1,
     "the record of elman-seed=0 names a checkpoint that is not its own file in sweep/trials"),
    ("sweep-results-nan", results(SWEEP_SHARED, test=float("nan")),
     SWEEP[:3] + ["--resume", "--out", "best.npz"] + SWEEP[3:], 1,
     "results.json is not a sweep's results: it holds NaN"),
    ("sweep-scheduler-not-an-address", None, SWEEP[:3] + ["--scheduler", "zzz://::"] + SWEEP[3:],
     1, "cannot reach the Dask scheduler zzz://::: unknown address scheme 'zzz'"),
    # the other commands
    ("gradcheck-model", None, ["gradcheck", "transformer"], 2,
     "'transformer' is not one of 'all',"),
    ("bench-size-text", None, ["bench", "--size", "2,x,4"], 2, "is not B,T,H"),
    ("bench-size-zero", None, ["bench", "--size", "2,0,4"], 2, "sizes must be positive"),
    ("models-extra-argument", None, ["models", "extra"], 2, "unexpected extra argument"),
]


def test_the_table_is_large_and_every_case_distinct():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)
    setups = {c[0]: (c[1], tuple(c[2])) for c in CASES}
    assert len(set(setups.values())) == len(CASES)  # no two cases are the same run


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case,setup,args,code,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, monkeypatch, trained, case, setup, args, code, message):
    monkeypatch.chdir(tmp_path)
    # every case sees a machine with 16 GiB available (this project's machines have 24)
    monkeypatch.setattr("minirnn.sizing.available_memory", lambda: 16 * 2 ** 30)
    patch = setup(tmp_path, trained) if setup is not None else None
    if callable(patch):  # the case's circumstances: a full disk
        patch(monkeypatch)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "Warning" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert message in errors[0], result.output
    assert snapshot(tmp_path) == before  # nothing written, changed or left behind


def test_cuda_engine_without_a_gpu_is_one_error(tmp_path, monkeypatch, trained):
    from minirnn.kernels.cuda_support import cuda_available

    if cuda_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.chdir(tmp_path)
    model(tmp_path, trained)
    for args in (["train", "elman", "--data", "sine", "--backend", "cuda"],
                 ["predict", "m.npz", "--backend", "cuda"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and result.output.count("Error:") == 1
        assert "backend 'cuda' needs an NVIDIA GPU" in result.output


def test_bench_refuses_a_size_beyond_memory():
    result = CliRunner().invoke(main, ["bench", "--size", "1,10,10000000", "--backend", "cpu"])
    assert result.exit_code == 1 and result.output.count("Error:") == 1
    assert "--size 1,10,10000000: statespace with hidden size 10,000,000" in result.output
    assert "needs ~" in result.output


def test_an_interrupt_at_any_moment_is_one_line(tmp_path):
    """Ctrl-C while the command imports NumPy and Numba, or while it runs: never a traceback
    (the moment the signal lands varies; each outcome must be clean)."""
    import signal
    import subprocess
    import sys
    import time

    # sent once the child says it calls the command (a signal during CPython's own start or
    # the child's first lines, before any of minirnn's code, is Python's to report), then after
    # a delay that lands it in the imports, the command or its end
    code = ("import sys; from minirnn.cli import run; sys.argv = ['minirnn', 'train', "
            "'elman', '--data', 'sine', '--epochs', '1']; sys.stderr.write('started\\n'); "
            "sys.stderr.flush(); run()")
    for delay, sent in ((0.05, signal.SIGINT), (0.3, signal.SIGTERM), (1.0, signal.SIGINT)):
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        assert process.stderr.readline() == "started\n"
        time.sleep(delay)
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        if process.returncode != 0:
            assert stderr.strip().splitlines()[-1:] == ["Error: interrupted"], stderr


@pytest.mark.slow
def test_an_interrupt_while_the_kernels_compile_is_one_line(tmp_path):
    """Ctrl-C lands in Numba's compiler (an empty kernel cache), where its exception is raised
    inside a ctypes callback that cannot pass it on: still one line, no "Exception ignored"
    report, and the run stops instead of training on."""
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen([sys.executable, "-m", "minirnn.cli.main", "train", "elman",
                                "--data", "sine", "--epochs", "200", "--patience", "200"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, env=env)
    # ready when it says it compiles (the line comes just before the compiler starts, and
    # compiling takes seconds): a readiness signal, not a guess at how long imports take
    first = process.stderr.readline()
    assert first.startswith("compiling the cpu kernels"), first
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, first + stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("compiling")]
    assert lines == ["Error: interrupted"], first + stderr
