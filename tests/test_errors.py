"""Every exception class of the project derives from ``errors.ReactdiffError``: an ``except``
of the root catches them all, and a new one cannot slip out of the hierarchy."""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

from reactdiff.errors import DataQualityError, ReactdiffError, UserError
from tests.helpers.repo import REPO

PACKAGES = ("reactdiff", "flows", "ops")


def _modules() -> list[str]:
    """Every module of PACKAGES, by name (a package by its own name, not ``__init__``)."""
    names = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(names)


def outside_the_hierarchy(module: types.ModuleType) -> list[str]:
    """The exception classes ``module`` defines that do not derive from ReactdiffError."""
    return [
        f"{module.__name__}.{name}"
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and cls.__module__ == module.__name__
        and issubclass(cls, BaseException)
        and not issubclass(cls, ReactdiffError)
    ]


def test_every_exception_class_derives_from_the_root():
    found = [
        name
        for module in _modules()
        for name in outside_the_hierarchy(importlib.import_module(module))
    ]
    assert found == [], "derive these from reactdiff.errors.ReactdiffError"


def test_the_walk_sees_a_class_outside_the_hierarchy():
    probe = types.ModuleType("probe")
    probe.ReactdiffError = ReactdiffError  # imported: not the probe's own class
    source = "class Stray(RuntimeError): pass\nclass Ours(ReactdiffError, ValueError): pass"
    exec(source, probe.__dict__)
    assert outside_the_hierarchy(probe) == ["probe.Stray"]
    assert {"reactdiff.errors", "flows.pipeline", "ops.platform"} <= set(_modules())


@pytest.mark.parametrize("kind", [UserError, DataQualityError])
def test_the_command_line_kinds_are_project_errors(kind):
    assert issubclass(kind, ReactdiffError) and kind.exit_code in (1, 2)
