"""Typed view of params.yaml: the one source of truth for every tunable number.

Every group is a strict pydantic model that declares types and constraints only: the values
live in params.yaml alone, so a misspelt, missing or mistyped key fails at start-up with its
dotted name instead of being silently replaced by a default kept somewhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from reactdiff.errors import ConfigError

PARAMS_FILE = Path("params.yaml")

PositiveInt = Annotated[int, Field(gt=0)]
Probability = Annotated[float, Field(ge=0, lt=1)]


class _Strict(BaseModel):
    """Every key required (params.yaml is the one source of values), none unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class BaseParams(_Strict):
    seed: int


class SyntheticParams(_Strict):
    sessions: Annotated[int, Field(ge=3)]
    clips_per_session: PositiveInt
    video: bool
    video_size: Annotated[int, Field(ge=32, multiple_of=16)]
    workers: PositiveInt
    split_fractions: tuple[float, float, float]
    neighbour_threshold: Annotated[float, Field(gt=0, lt=1)]

    @field_validator("split_fractions")
    @classmethod
    def _fractions_sum_to_one(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(f <= 0 for f in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"must be three positive fractions summing to 1, got {list(v)}")
        return v


class DataParams(_Strict):
    source: str  # "synthetic", or the path of a real root
    format: Literal["react2024"]  # the release's layout and timing (reactdiff.data.format)
    root: Path
    synthetic: SyntheticParams

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def react_root(self) -> Path:
        """The REACT-layout root that every stage after `data` reads."""
        return self.root if self.is_synthetic else Path(self.source).expanduser()


class ValidateParams(_Strict):
    report_dir: Path
    prob_sum_tolerance: Annotated[float, Field(gt=0)]
    max_failures_shown: PositiveInt


class SplitParams(_Strict):
    out: Path


FEATURE_STREAMS = ("mfcc", "wav2vec", "emotion", "3dmm", "va", "au", "fe")
Device = Literal["auto", "cpu", "cuda"]


class MfccParams(_Strict):
    sample_rate: PositiveInt
    n_mfcc: PositiveInt
    n_mels: PositiveInt
    window_ms: PositiveInt
    hop_ms: PositiveInt


class Wav2VecParams(_Strict):
    checkpoint: Path | None  # a local model directory; never downloaded
    batch_size: PositiveInt  # equal-length chunks per forward pass
    chunk_seconds: Annotated[float, Field(gt=0)]
    device: Device


class FacialParams(_Strict):
    backend: Literal["annotations", "torchscript"]
    va: Path | None  # TorchScript modules: (B, 3, crop, crop) -> (B, ...)
    au: Path | None
    fe: Path | None
    resize: PositiveInt
    crop: PositiveInt
    mean: float
    std: Annotated[float, Field(gt=0)]
    batch_size: PositiveInt
    device: Device


class FeaturesParams(_Strict):
    out: Path
    streams: tuple[Literal[FEATURE_STREAMS], ...]
    dtype: Literal["float16", "float32"]
    workers: PositiveInt
    mfcc: MfccParams
    wav2vec: Wav2VecParams
    facial: FacialParams


class ModelScale(_Strict):
    """Sizes of the MMT (and of the latent the diffusion stage works in)."""

    hidden_dim: PositiveInt
    latent_dim: PositiveInt
    heads: PositiveInt
    depth: PositiveInt
    decoder_layers: PositiveInt
    ff_dim: PositiveInt
    dropout: Probability
    window_size: PositiveInt  # latent windows; also the MMT encoder's attention span
    decoder_window: Annotated[int, Field(ge=0)]  # decoder attention span; 0 = whole clip


class _Scaled(_Strict):
    """A group with named ``scales`` (demo, paper) of which ``scale`` picks one."""

    @field_validator("scale", check_fields=False)
    @classmethod
    def _known_scale(cls, v: str, info) -> str:
        scales = info.data.get("scales", {})
        if scales and v not in scales:
            raise ValueError(f"unknown scale {v!r}; defined: {sorted(scales)}")
        return v


class TrainParams(_Strict):
    """A training stage's loop settings and outputs (groups train_mmt and train_ddim)."""

    epochs: PositiveInt
    batch_size: PositiveInt
    lr: Annotated[float, Field(gt=0)]
    weight_decay: Annotated[float, Field(ge=0)]
    betas: tuple[float, float]
    ema_decay: Probability
    grad_clip: Annotated[float, Field(gt=0)]
    amp: bool
    device: Device
    num_workers: Annotated[int, Field(ge=0)]
    checkpoint: Path  # written every epoch; `--resume` continues from it
    model_out: Path
    metrics_file: Path
    plots_dir: Path
    registered_name: str  # the MLflow registered model


class MMTParams(_Scaled):
    scales: dict[str, ModelScale]
    scale: str
    video_streams: tuple[str, ...]  # the first queries the others
    audio_streams: tuple[str, ...]
    w_3dmm: Annotated[float, Field(ge=0)]
    w_emotion: Annotated[float, Field(ge=0)]

    @property
    def sizes(self) -> ModelScale:
        return self.scales[self.scale]


class DDIMScale(_Strict):
    """Sizes of the diffusion U-Net; its window and latent sizes are the MMT's."""

    cond_dim: PositiveInt  # z_bc, one vector per speaker window
    base_width: PositiveInt
    width_mults: tuple[PositiveInt, ...]  # one U-Net level each; the length halves between them
    blocks_per_level: PositiveInt
    time_dim: Annotated[int, Field(gt=0, multiple_of=2)]
    groups: PositiveInt  # GroupNorm groups
    dropout: Probability


class DDIMParams(_Scaled):
    """The diffusion model and its scheduler (what training fixes)."""

    num_train_timesteps: PositiveInt
    beta_schedule: Literal["squaredcos_cap_v2"]
    prediction_type: Literal["epsilon"]
    clip_sample: bool  # clip each step's predicted x0 to the range of the train latents
    cfg_dropout: Probability  # > 0: classifier-free guidance training
    scales: dict[str, DDIMScale]
    scale: str

    @property
    def sizes(self) -> DDIMScale:
        return self.scales[self.scale]


class SamplingParams(_Strict):
    """How reactions are drawn from a trained model (what evaluation and generation choose)."""

    steps: PositiveInt  # DDIM steps, at most ddim.num_train_timesteps
    eta: Annotated[float, Field(ge=0, le=1)]
    guidance: Annotated[float, Field(ge=0)]  # 1 = plain conditional sampling (paper)


class EvaluateParams(_Strict):
    split: Literal["train", "val", "test"]
    samples: PositiveInt
    methods: tuple[str, ...]
    device: Literal["cpu", "cuda"]
    metrics_file: Path
    report_file: Path
    plot_file: Path


class TrackingParams(_Strict):
    experiment: str
    default_uri: str


class BenchmarkParams(_Strict):
    """Only the benchmarks read these; no stage depends on them."""

    paper_feature_dims: dict[str, PositiveInt]  # feature dims of the paper's streams


class Params(_Strict):
    base: BaseParams
    data: DataParams
    validate_: ValidateParams = Field(alias="validate")
    split: SplitParams
    features: FeaturesParams
    mmt: MMTParams
    ddim: DDIMParams
    sampling: SamplingParams
    train_mmt: TrainParams
    train_ddim: TrainParams
    evaluate: EvaluateParams
    tracking: TrackingParams
    benchmarks: BenchmarkParams

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def validation(self) -> ValidateParams:
        return self.validate_

    @model_validator(mode="after")
    def _sampling_fits_the_model(self) -> Params:
        if self.sampling.steps > self.ddim.num_train_timesteps:
            raise ValueError(
                f"sampling.steps {self.sampling.steps} exceeds "
                f"ddim.num_train_timesteps {self.ddim.num_train_timesteps}"
            )
        if self.sampling.guidance != 1.0 and self.ddim.cfg_dropout == 0:
            raise ValueError(
                "sampling.guidance != 1 needs ddim.cfg_dropout > 0 (a learned null condition)"
            )
        return self


def _describe(err: ValidationError, source: Path) -> str:
    lines = [f"{source}: invalid parameters"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]).replace("validate_", "validate")
        if e["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        elif e["type"] == "missing":
            lines.append(f"  {key}: missing (every key is set in params.yaml)")
        elif not key:  # a rule across groups: the message names the keys
            lines.append(f"  {e['msg'].removeprefix('Value error, ')}")
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
