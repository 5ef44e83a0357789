"""Every example script runs to the end (a smoke test, so none silently breaks)."""
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    """Each example with --quick (tiny sizes), in a scratch folder for any picture it writes."""
    run = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                         text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip()


def test_bptt_by_hand_shows_three_agreeing_columns():
    script = Path(__file__).parent.parent / "examples" / "bptt_by_hand.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=600).stdout
    rows = [line.split()[2:] for line in out.splitlines() if line.strip().startswith("[")]
    assert len(rows) == 9
    for tape, bptt, numeric in ((float(a), float(b), float(c)) for a, b, c in rows):
        assert abs(tape - bptt) < 1e-9 and abs(tape - numeric) < 1e-8
