"""Typed view of params.yaml: the one source of truth for every tunable number.

Every group is a strict pydantic model, so a misspelt key or a wrong type fails at start-up
with the dotted name of the offending key instead of being silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PARAMS_FILE = Path("params.yaml")

PositiveInt = Annotated[int, Field(gt=0)]


class ConfigError(ValueError):
    """params.yaml is missing, unreadable, or has an unknown key or a bad value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class BaseParams(_Strict):
    seed: int = 42


class SyntheticParams(_Strict):
    sessions: Annotated[int, Field(ge=3)] = 24
    clips_per_session: PositiveInt = 8
    video: bool = True
    video_size: Annotated[int, Field(ge=32, multiple_of=16)] = 96
    workers: PositiveInt = 2
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    neighbour_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.5

    @field_validator("split_fractions")
    @classmethod
    def _fractions_sum_to_one(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(f <= 0 for f in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"must be three positive fractions summing to 1, got {list(v)}")
        return v


class DataParams(_Strict):
    source: str = "synthetic"
    root: Path = Path("data/raw")
    synthetic: SyntheticParams = SyntheticParams()

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def react_root(self) -> Path:
        """The REACT-layout root that every stage after `data` reads."""
        return self.root if self.is_synthetic else Path(self.source).expanduser()


class FormatParams(_Strict):
    fps: PositiveInt = 25
    clip_frames: PositiveInt = 751
    frames: PositiveInt = 750
    audio_rate: PositiveInt = 44100
    min_audio_seconds: Annotated[float, Field(gt=0)] = 30.0


class ValidateParams(_Strict):
    report_dir: Path = Path("data/validation")
    prob_sum_tolerance: Annotated[float, Field(gt=0)] = 1e-3
    max_failures_shown: PositiveInt = 50


class SplitParams(_Strict):
    out: Path = Path("data/splits")


class TrackingParams(_Strict):
    experiment: str = "reactdiff"
    default_uri: str = "sqlite:///mlflow.db"


class Params(_Strict):
    base: BaseParams = BaseParams()
    data: DataParams = DataParams()
    format: FormatParams = FormatParams()
    validate_: ValidateParams = Field(default=ValidateParams(), alias="validate")
    split: SplitParams = SplitParams()
    tracking: TrackingParams = TrackingParams()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def validation(self) -> ValidateParams:
        return self.validate_


def _describe(err: ValidationError, source: Path) -> str:
    lines = [f"{source}: invalid parameters"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]).replace("validate_", "validate")
        if e["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            lines.append(f"  {key}: {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def parse_params(raw: dict, source: Path = PARAMS_FILE) -> Params:
    """Validate an already-loaded mapping; errors name the file and the dotted key."""
    try:
        return Params.model_validate(raw or {})
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the repository root)") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of parameter groups at the top level")
    return parse_params(raw, path)
