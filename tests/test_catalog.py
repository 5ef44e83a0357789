"""The catalogue (``minirnn.catalog``) is where each model's name, equations and parameters are
written once: these tests hold the models, the lists of names the library uses, and README's
table of models to it."""
import re
from pathlib import Path

import pytest

from minirnn import catalog
from minirnn.models.registry import MODELS, build_model, model_config

ROOT = Path(__file__).resolve().parent.parent


def test_the_registry_joins_every_catalogue_entry_to_a_class_of_that_name():
    assert list(MODELS) == list(catalog.MODELS)
    for name, entry in catalog.MODELS.items():
        assert MODELS[name].cls.__name__ == entry.cls
        assert MODELS[name].equations == entry.equations


@pytest.mark.parametrize("name", list(catalog.MODELS))
def test_each_entry_names_the_parameters_its_model_learns(name):
    """Built with its default options, a model learns the entry's parameters, in order; each
    option of ``optional`` adds exactly the parameters it lists (Jordan's μ is a parameter
    either way, learnt only with learn_mu)."""
    def learnt(config):
        model = build_model(name, config)
        return [n for n, p in model.named_parameters() if p.requires_grad]

    entry = catalog.MODELS[name]
    assert learnt(model_config(name, 1, 1, 1)) == list(entry.parameters)
    for option, added in entry.optional:
        more = learnt(model_config(name, 1, 1, 1, **{option: True}))
        assert sorted(more) == sorted([*entry.parameters, *added])


def test_the_lists_of_names_are_the_library_s():
    from minirnn.data.sources import BUILTIN
    from minirnn.models.multilayer import CELLS, CONNECTIVITIES
    from minirnn.optim import OPTIMIZERS

    assert tuple(BUILTIN) == catalog.BUILTIN_DATA
    assert tuple(OPTIMIZERS) == catalog.OPTIMIZERS
    assert (CELLS, CONNECTIVITIES) == (catalog.CELLS, catalog.CONNECTIVITIES)
    for option in catalog.CONNECTIVITIES:  # every connectivity builds
        build_model("multilayer", model_config("multilayer", 1, 1, 1, connectivity=option))


def test_readme_s_table_of_models_is_the_catalogue_s():
    """README shows each model's row as ``catalog.MODELS`` has it: the rows below are what
    README must hold, in this order (copy them there when an entry changes)."""
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"\| name \| class \| equations \| notes \|\n\| --- .*?\n((?:\|.*\n)+)",
                      readme)
    assert table, "README has no table of models"
    expected = [f"| `{e.name}` | `{e.cls}` | {e.equations} | {e.note} |"
                for e in catalog.MODELS.values()]
    assert table.group(1).splitlines() == expected


def test_the_catalogue_imports_nothing_heavy():
    """The command line reads its choices and ``minirnn models`` from the catalogue alone,
    so that neither waits for NumPy or Numba."""
    import subprocess
    import sys

    code = ("import sys, minirnn.catalog, minirnn.errors; "
            "print(sorted(m for m in ('numpy', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
