"""The pipeline as dvc.yaml declares it and dvc.lock records it: the one reader of both files.

``reactdiff.tracking`` tags a stage's run with the dvc.lock hashes of what it reads; ``flows``
runs the stages in file order and hands their inputs and outputs between machines. Both ask
here, so the two files' shapes are known in one place. Running a stage stays DVC's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def parse_stages(text: str) -> dict[str, dict[str, Any]]:
    """The stages of a dvc.yaml's text by name, in file order (the order they run in)."""
    return (yaml.safe_load(text) or {}).get("stages") or {}


def stage_definitions(repo: Path) -> dict[str, dict[str, Any]]:
    """The stages of ``repo``'s dvc.yaml by name, in file order (the order they run in)."""
    return parse_stages((repo / "dvc.yaml").read_text())


def pipeline_stages(repo: Path) -> list[str]:
    """The stages of ``repo``'s dvc.yaml in file order, which is the order they run in."""
    return list(stage_definitions(repo))


def stage_deps(definition: Mapping[str, Any]) -> list[str]:
    """The paths a dvc.yaml stage depends on (an entry is a path, or a one-key mapping)."""
    return [d if isinstance(d, str) else next(iter(d)) for d in definition.get("deps") or []]


def stage_outputs(definition: Mapping[str, Any]) -> list[str]:
    """The paths a dvc.yaml stage writes: its outs, metrics and plots (cached or not)."""
    paths = []
    for key in ("outs", "metrics", "plots"):
        for item in definition.get(key) or []:
            paths.extend(item if isinstance(item, dict) else [item])
    return paths


def _within(path: str, output: str) -> bool:
    return path == output or path.startswith(output.rstrip("/") + "/")


def pipeline_outputs(repo: Path) -> list[str]:
    """Every path a stage of ``repo``'s dvc.yaml writes."""
    stages = stage_definitions(repo)
    return [path for definition in stages.values() for path in stage_outputs(definition)]


def is_pipeline_output(path: str, outputs: list[str]) -> bool:
    """Whether ``path`` is one of ``outputs`` or lies in one of them."""
    return any(_within(path, output) for output in outputs)


def upstream_stages(repo: Path, stage: str) -> list[str]:
    """The stages of ``repo``'s dvc.yaml whose outputs ``stage`` depends on, in file order."""
    stages = stage_definitions(repo)
    deps = stage_deps(stages[stage])
    return [
        name
        for name, definition in stages.items()
        if name != stage
        and any(_within(dep, out) for dep in deps for out in stage_outputs(definition))
    ]


def locked_output_hashes(repo: Path) -> dict[str, str]:
    """Each output path dvc.lock records, with its hash (md5, or the hash DVC names)."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text()) or {}
    return {
        out["path"]: out.get("md5") or out.get("hash", "")
        for entry in lock.get("stages", {}).values()
        for out in entry.get("outs", [])
    }
