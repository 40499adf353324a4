"""The package's layering, checked on the source: imports point down, and every DVC stage
declares the code it runs as a dependency (so editing that code re-runs the stage)."""

from __future__ import annotations

import difflib
from pathlib import Path

from tools.dvc_deps import COMMAND, DVC_YAML, render
from tools.import_graph import REPO, closure, imported_modules, internal_imports, module_name

PKG = REPO / "reactdiff"
SHARED = {
    "reactdiff",
    "reactdiff.atomic",
    "reactdiff.errors",
    "reactdiff.devices",
    "reactdiff.processes",
    "reactdiff.telemetry",
    "reactdiff.generation",
}

# package -> the reactdiff packages (besides itself and SHARED) it may import
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "dvc_pipeline": set(),  # dvc.yaml and dvc.lock, for tracking (and flows/)
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
    "serving": {"models"},
    # the server: MLflow's scoring app (of the serving family) behind the guard, under uvicorn
    "serve": {"config", "serving", "models"},
    # stages.result: what it logs; dvc_pipeline: the upstream hashes it tags a run with
    "tracking": {"config", "stages", "models", "serving", "dvc_pipeline"},
    "cli": {"config", "stages", "tracking", "data", "evaluation", "training", "serve"},
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
        for above in ("prefect", "flows", "ops"):
            if any(m.split(".")[0] == above for m in _all_imports(path)):
                out.append(f"{path.relative_to(REPO)} imports {above} (the library never does)")
    return out


def _all_imports(path: Path) -> set[str]:
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


def test_only_tracking_and_serving_import_mlflow():
    users = {
        str(p.relative_to(REPO))
        for root in (PKG, REPO / "flows", REPO / "ops", REPO / "benchmarks")
        for p in root.rglob("*.py")
        if any(m.split(".")[0] == "mlflow" for m in _all_imports(p))
    }
    serve = {"reactdiff/serve/server.py", "reactdiff/serve/workers.py"}  # serving's family
    assert users == {"reactdiff/tracking.py", "reactdiff/serving.py", *serve}


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


def test_dvc_yaml_code_deps_are_the_import_closures():
    """Every stage depends on exactly the code it runs (dvc.yaml's lists are generated)."""
    text = DVC_YAML.read_text()
    fresh = render(text)
    stale = [
        line
        for line in difflib.unified_diff(
            text.splitlines(), fresh.splitlines(), "dvc.yaml", "generated", lineterm="", n=0
        )
        if line.startswith(("+ ", "- ", "+  ", "-  "))
    ]
    assert fresh == text, f"dvc.yaml's code deps are stale: run `{COMMAND}`\n" + "\n".join(stale)


def test_the_closure_follows_lazy_imports():
    files = {str(f.relative_to(REPO)) for f in closure(PKG / "cli.py")}
    assert {"reactdiff/stages/evaluate.py", "reactdiff/evaluation/dtw/cuda.py"} <= files
