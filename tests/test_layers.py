"""The package's floors, read from its own imports: every import points down (or stays on its
floor), and no two modules import each other, round about or directly.

    cli                the ``minirnn`` command
    application        data, experiment, sizing, train, forecast, forecast_bench, diagnostics,
                       checkpoint, checks, bench, startup, comparisons, sweep, sweep_bench,
                       trial_server, torch_models, inside, app (what the command does, as
                       library calls)
    models             the networks of the seed article
    kernels            the fused ops, their engines and the cpu runtime (all the Numba code)
    framework          losses, optimisers
    autograd           Tensor, the tape, primitive ops (NumPy alone)
    names              the catalogue of names and equations, the errors (plain Python)

Every import statement counts, at the top of a file or inside a function. A module that runs
another as a program (``python -m minirnn.cli``) depends on it too, without importing it:
each such run is declared in ``PROGRAMS``, with why.
"""
import ast
from itertools import pairwise
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = [
    ("names", ["minirnn.catalog", "minirnn.errors"]),
    ("autograd", ["minirnn.autograd"]),
    ("framework", ["minirnn.losses", "minirnn.optim"]),
    ("kernels", ["minirnn.kernels"]),
    ("models", ["minirnn.models"]),
    ("application", ["minirnn.data", "minirnn.experiment", "minirnn.sizing", "minirnn.train",
                     "minirnn.forecast", "minirnn.diagnostics", "minirnn.checkpoint",
                     "minirnn.checks", "minirnn.bench", "minirnn.comparisons", "minirnn.sweep",
                     "minirnn.torch_models", "minirnn.inside", "minirnn.app", "minirnn.startup",
                     "minirnn.forecast_bench", "minirnn.write_cost", "minirnn.trial_server",
                     "minirnn.sweep_bench", "minirnn.compile_ahead"]),
    ("cli", ["minirnn.cli"]),
]


def modules() -> dict:
    """Module name -> file, for the package (``cli/`` installs as ``minirnn.cli``)."""
    found = {}
    for path in [*(ROOT / "minirnn").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[0] == "cli":
            parts = ["minirnn", *parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known) -> set:
    """The package's modules that ``name`` imports (a package for ``from package import x``
    unless x is a module)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names if a.name.startswith("minirnn")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.startswith("minirnn"):
                targets |= {f"{source}.{a.name}" if f"{source}.{a.name}" in known else source
                            for a in node.names}
    return {t for t in targets if t != name and t in known}


def runs(path: Path) -> set:
    """The package's modules that a file runs as a program: ``[..., "-m", "minirnn.x", ...]``
    in a list or tuple of its code (a command line for ``subprocess``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.List, ast.Tuple)):
            values = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            found |= {b for a, b in pairwise(values)
                      if a == "-m" and isinstance(b, str) and b.startswith("minirnn")}
    return found


#: (module, the program it runs) → why it runs a process rather than calling a function
PROGRAMS = {
    ("minirnn.trial_server", "minirnn.cli"): "each trial of a sweep is a whole `minirnn train` "
                                             "run in a process of its own (a fork of the warm "
                                             "server, or a fresh one): the same checkpoint and "
                                             "JSON document as a run by hand, and a crash or a "
                                             "leak stays in its trial",
    ("minirnn.trial_server", "minirnn.trial_server"): "a Dask worker's warm process, started "
                                                      "once, that forks a trial per command: "
                                                      "it must not be the worker itself, a "
                                                      "threaded process that cannot fork "
                                                      "safely",
    ("minirnn.sweep_bench", "minirnn.cli"): "the sweep benchmark times the sweep and the "
                                            "sequential trials as a user runs them: fresh "
                                            "processes",
    ("minirnn.bench", "minirnn.bench"): "the load benchmark times a training step while a "
                                        "second process (itself) trains or spins beside it",
    ("minirnn.startup", "minirnn.cli"): "the start-up benchmark times the command as a user "
                                        "runs it: a fresh process",
}


def floor(name: str) -> int:
    for level, (_, prefixes) in enumerate(FLOORS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return level
    raise AssertionError(f"{name} is on no floor: add it to FLOORS")


def graph() -> dict:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()
            if name != "minirnn"}  # the package root loads its submodules lazily, by name


def test_every_import_points_down():
    upward = [f"{a} ({FLOORS[floor(a)][0]}) imports {b} ({FLOORS[floor(b)][0]})"
              for a, targets in graph().items() for b in targets
              if b != "minirnn" and floor(b) > floor(a)]
    assert not upward, "\n".join(upward)


def test_the_command_line_and_the_library_share_no_module_name():
    """``cli/train.py`` beside ``minirnn/train.py`` made a reader ask which one trains: the
    command's modules are named for their command (``train_command.py``). (The kernel families
    share their file names, ``op.py``, ``cpu.py``, … by design: a folder per family.)"""
    package = ROOT / "minirnn"
    library = {p.stem for p in [*package.glob("*.py"), *package.glob("*/*.py")]
               if p.parent.name not in ("kernels", "cli")  # minirnn/cli: a link to cli/, if any
               and p.stem not in ("__init__", "__main__")}
    command = {p.stem for p in (ROOT / "cli").glob("*.py")} - {"__init__", "__main__"}
    assert not command & library, sorted(command & library)


def test_every_program_a_module_runs_is_declared():
    found = {(name, program) for name, path in modules().items() for program in runs(path)}
    assert found == set(PROGRAMS)


def test_no_module_imports_one_that_imports_it_back():
    edges = {a: {b for b in targets if b != "minirnn"} for a, targets in graph().items()}
    # a cycle is a strongly connected set of modules (Tarjan's algorithm, iteratively)
    index, low, on_stack, stack, cycles, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(component)

    for name in sorted(edges):
        if name not in index:
            visit(name)
    assert cycles == []


def test_the_tape_engine_imports_no_numba():
    """The autograd engine, the losses and the optimisers run, and can be copied, with NumPy
    alone."""
    code = ("import sys, numpy as np, minirnn.autograd, minirnn.losses, minirnn.optim\n"
            "x = minirnn.autograd.Tensor(np.ones((2, 3)), requires_grad=True)\n"
            "minirnn.losses.mse(x.tanh(), np.zeros((2, 3))).backward()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_wheel_lists_every_package():
    """pyproject.toml names the packages a wheel carries one by one (the command line's lives
    apart, in cli/): a new folder of modules missing from the list would install without its
    code. Every folder of minirnn with an __init__.py is listed, and nothing else."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts)
             for init in (ROOT / "minirnn").rglob("__init__.py")
             if "__pycache__" not in init.parts and not init.parent.is_symlink()}
    assert listed == found | {"minirnn.cli"}
