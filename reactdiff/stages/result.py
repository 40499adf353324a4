"""What a stage hands back: everything tracking logs and the command line prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reactdiff.errors import DataQualityError

EpochHook = Callable[[dict[str, float]], None]


@dataclass(frozen=True)
class StageOptions:
    """What every stage takes besides params: a progress bar, and a hook per training epoch."""

    progress: bool = True
    on_epoch: EpochHook | None = None


@dataclass(frozen=True)
class RegisteredModel:
    """A model to log and register: ``load()`` builds the object MLflow pickles."""

    load: Callable[[], Any]
    artifact_path: str  # the run's folder for it ("mmt", "reactdiff")
    registered_name: str
    model_file: Path  # the stage's output it was loaded from (its sha256 tags the version)
    files: tuple[Path, ...] = ()  # logged next to it


@dataclass(frozen=True)
class Champion:
    """Move the registry's champion alias to ``model_file``'s version if its FRDist is lower:
    ``method``'s FRDist on ``split``, the selection split (never the one reported)."""

    registered_name: str
    model_file: Path
    metrics_file: Path  # the selection split's metrics JSON
    method: str  # the row whose FRDist counts
    split: str  # the split of metrics_file: the run says what it chose on


@dataclass
class StageResult:
    summary: str  # one line for the terminal
    run_params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: list[tuple[Path, str]] = field(default_factory=list)  # (file or folder, run path)
    documents: dict[str, Any] = field(default_factory=dict)  # run path -> JSON-able or text
    tags: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    model: RegisteredModel | None = None
    champion: Champion | None = None
    failure: DataQualityError | None = None  # raised once everything above is logged
    report: str | None = None  # printed before the summary (e.g. the evaluation table)
    notes: list[str] = field(default_factory=list)  # what tracking did (registered, champion)

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure
