"""The code's shape, held where a reviewer would hold it: ruff finds nothing (pycodestyle,
pyflakes, bugbear, and a cyclomatic complexity of at most 15: pyproject.toml), no source file
is over 600 lines and no function over 60 lines of code, so that each can be read whole."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "minirnn").rglob("*.py"), *(ROOT / "cli").rglob("*.py")])
MAX_FILE_LINES, MAX_FUNCTION_LINES = 600, 60


def code_lines(function: ast.AST, lines: list) -> int:
    """A function's lines of code: from its ``def`` to its end, less blank lines, comments and
    its docstring (what documents the code is not what makes it long)."""
    body = function.body
    docstring = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        docstring = set(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for n in range(function.lineno, function.end_lineno + 1)
               if n not in docstring and lines[n - 1].strip()
               and not lines[n - 1].strip().startswith("#"))


def test_ruff_finds_nothing():
    pytest.importorskip("ruff", reason="ruff is in the test extra: pip install -e '.[test]'")
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                          str(ROOT)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_no_source_file_is_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in SOURCES
            if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES}
    assert not long, long


def test_no_function_is_over_60_lines_of_code():
    long = []
    for path in SOURCES:
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(node, lines)
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n}")
    assert not long, "\n".join(long)
