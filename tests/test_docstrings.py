"""Every public function and class of the modules that the API reference documents, and every
public method and property of those classes, has a docstring: the reference is generated from
them (docs/api/*.md, mkdocstrings).

The modules are read from the API pages' ``::: module`` lines, so a module added to the
reference is held to this at once. A module's public names are its ``__all__`` where it has
one (a package re-exporting its parts), else the names it defines without a leading
underscore.
"""
from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1] / "docs" / "api"


def documented_modules() -> list:
    names = []
    for page in sorted(API.glob("*.md")):
        names += re.findall(r"^:::\s+([\w.]+)\s*$", page.read_text(encoding="utf-8"), re.M)
    return names


def public_objects(module):
    """(name, function or class) pairs of the module's public API."""
    exported = getattr(module, "__all__", None)
    names = exported if exported is not None else [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue  # submodules, constants
        if exported is None and getattr(obj, "__module__", None) != module.__name__:
            continue  # imported from elsewhere: documented where it is defined
        yield name, obj


def test_the_reference_lists_the_modules_it_should():
    modules = documented_modules()
    for name in ("minirnn.autograd", "minirnn.models", "minirnn.losses", "minirnn.optim",
                 "minirnn.data", "minirnn.kernels.elman.op", "minirnn.kernels.delay.op"):
        assert name in modules, f"the API reference does not document {name}"


@pytest.mark.parametrize("module_name", documented_modules())
def test_every_public_function_and_class_has_a_docstring(module_name):
    module = importlib.import_module(module_name)
    assert inspect.getdoc(module), f"{module_name} has no module docstring"
    objects = list(public_objects(module))
    assert objects, f"{module_name} has no public function or class"
    missing = [name for name, obj in objects if not (obj.__doc__ or "").strip()]
    missing += [f"{name}.{method}" for name, obj in objects if inspect.isclass(obj)
                for method, member in public_members(obj) if not (member.__doc__ or "").strip()]
    assert not missing, f"{module_name}: no docstring on {', '.join(missing)}"


def public_members(cls):
    """(name, function) of the methods and properties a class defines itself (inherited ones
    are documented where they are defined), public names only."""
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            yield name, value.fget
        elif isinstance(value, (staticmethod, classmethod)):
            yield name, value.__func__
        elif inspect.isfunction(value):
            yield name, value
