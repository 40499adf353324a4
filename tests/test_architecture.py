"""The package's layering, checked on the source: imports point down, and every DVC stage
declares the code it runs as a dependency (so editing that code re-runs the stage)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers.imports import REPO, closure, internal_imports, module_name

PKG = REPO / "reactdiff"
SHARED = {
    "reactdiff",
    "reactdiff.atomic",
    "reactdiff.errors",
    "reactdiff.devices",
    "reactdiff.processes",
}

# package -> the reactdiff packages (besides itself and SHARED) it may import
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "diffusion": set(),
    "models": {"diffusion"},
    "data": {"config"},
    "features": {"config", "data", "models", "diffusion"},
    "validation": {"config", "data", "models", "diffusion"},
    "training": {"config", "data", "models", "diffusion"},
    "evaluation": {"config", "data", "models", "diffusion"},
    "stages": {
        "config",
        "data",
        "features",
        "validation",
        "models",
        "diffusion",
        "training",
        "evaluation",
    },
    "tracking": {"config", "stages", "models"},  # stages.result: what it logs; models.pyfunc
    "cli": {"config", "stages", "tracking", "data", "evaluation", "training"},
}


def _group(module: str) -> str:
    """``reactdiff.models.mmt`` -> ``models``; shared modules -> their own name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _violations() -> list[str]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        here = module_name(path)
        if here in SHARED:
            allowed = SHARED | {"reactdiff.config"}  # config and the errors it raises
            bad = {m for m in internal_imports(path) if m not in allowed}
            bad -= {"reactdiff.config"} if here != "reactdiff.config" else set()
        else:
            group = _group(here)
            ok = ALLOWED[group] | {group}
            bad = {m for m in internal_imports(path) if m not in SHARED and _group(m) not in ok}
        out += [f"{path.relative_to(REPO)} imports {m}" for m in sorted(bad)]
        if any(m.split(".")[0] == "prefect" for m in _all_imports(path)):
            out.append(f"{path.relative_to(REPO)} imports prefect (only flows/ may)")
    return out


def _all_imports(path: Path) -> set[str]:
    from tests.helpers.imports import imported_modules

    return set(imported_modules(path))


def test_imports_point_down():
    assert _violations() == []


def test_only_stages_cli_and_flows_import_tracking():
    users = {
        str(p.relative_to(REPO))
        for root in (PKG, REPO / "flows", REPO / "benchmarks")
        for p in root.rglob("*.py")
        if "reactdiff.tracking" in internal_imports(p)
    }
    assert all(
        u == "reactdiff/cli.py" or u.startswith(("reactdiff/stages/", "flows/")) for u in users
    ), users


def test_the_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    """A models module that imports training is reported (the rule is not vacuous)."""
    bad = PKG / "models" / "_forbidden_probe.py"
    bad.write_text("def f():\n    from reactdiff.training.loop import Trainer\n")
    try:
        assert (
            "reactdiff/models/_forbidden_probe.py imports reactdiff.training.loop" in _violations()
        )
    finally:
        bad.unlink()


DVC = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
REACTDIFF_STAGES = {
    name: spec for name, spec in DVC.items() if str(spec["cmd"]).startswith("reactdiff ")
}


def _entry(spec: dict) -> Path:
    command = str(spec["cmd"]).split()[1]
    return PKG / "stages" / f"{command.replace('-', '_')}.py"


def _code_deps(spec: dict) -> list[str]:
    deps = [d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps", [])]
    return [d.rstrip("/") for d in deps if d.startswith("reactdiff")]


@pytest.mark.parametrize("stage", sorted(REACTDIFF_STAGES))
def test_dvc_deps_cover_the_code_a_stage_runs(stage):
    spec = REACTDIFF_STAGES[stage]
    entry = _entry(spec)
    assert entry.is_file(), f"{stage}: no stage module {entry.relative_to(REPO)}"
    deps = _code_deps(spec)
    for dep in deps:
        assert (REPO / dep).exists(), f"{stage}: dvc.yaml lists {dep}, which does not exist"
    missing = sorted(
        str(f.relative_to(REPO))
        for f in closure(entry)
        if not any(f == (REPO / d).resolve() or (REPO / d).resolve() in f.parents for d in deps)
    )
    assert missing == [], f"dvc.yaml stage {stage} runs these files but does not depend on them"


def test_the_closure_follows_lazy_imports():
    files = {str(f.relative_to(REPO)) for f in closure(PKG / "cli.py")}
    assert {"reactdiff/stages/evaluate.py", "reactdiff/evaluation/dtw.py"} <= files
