"""Typed view of params.yaml: the one source of truth for every tunable number.

Every group is a strict pydantic model, so a misspelt key or a wrong type fails at start-up
with the dotted name of the offending key instead of being silently ignored.
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


FEATURE_STREAMS = ("mfcc", "wav2vec", "emotion", "3dmm", "va", "au", "fe")
Device = Literal["auto", "cpu", "cuda"]


class MfccParams(_Strict):
    sample_rate: PositiveInt = 16000
    n_mfcc: PositiveInt = 26
    n_mels: PositiveInt = 26
    window_ms: PositiveInt = 40
    hop_ms: PositiveInt = 40


class Wav2VecParams(_Strict):
    checkpoint: Path | None = None  # a local model directory; never downloaded
    batch_size: PositiveInt = 4  # equal-length chunks per forward pass
    chunk_seconds: Annotated[float, Field(gt=0)] = 30.0
    device: Device = "auto"


class FacialParams(_Strict):
    backend: Literal["annotations", "torchscript"] = "annotations"
    va: Path | None = None  # TorchScript modules: (B, 3, crop, crop) -> (B, ...)
    au: Path | None = None
    fe: Path | None = None
    resize: PositiveInt = 256
    crop: PositiveInt = 224
    mean: float = 0.5
    std: Annotated[float, Field(gt=0)] = 0.5
    batch_size: PositiveInt = 64
    device: Device = "auto"


class FeaturesParams(_Strict):
    out: Path = Path("data/features")
    streams: tuple[Literal[FEATURE_STREAMS], ...] = ("mfcc", "emotion", "3dmm")
    dtype: Literal["float16", "float32"] = "float32"
    workers: PositiveInt = 2
    mfcc: MfccParams = MfccParams()
    wav2vec: Wav2VecParams = Wav2VecParams()
    facial: FacialParams = FacialParams()


class ModelScale(_Strict):
    """Sizes of the MMT (and of the latent the diffusion stage works in)."""

    hidden_dim: PositiveInt
    latent_dim: PositiveInt
    heads: PositiveInt
    depth: PositiveInt
    decoder_layers: PositiveInt
    ff_dim: PositiveInt
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    window_size: PositiveInt = 50  # latent windows; also the MMT encoder's attention span
    decoder_window: Annotated[int, Field(ge=0)] = 0  # decoder attention span; 0 = whole clip


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
    checkpoint: Path  # written every epoch; `--resume` continues from it
    model_out: Path
    metrics_file: Path
    plots_dir: Path
    registered_name: str  # the MLflow registered model
    weight_decay: Annotated[float, Field(ge=0)] = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)
    ema_decay: Annotated[float, Field(ge=0, lt=1)] = 0.999
    grad_clip: Annotated[float, Field(gt=0)] = 1.0
    amp: bool = True
    device: str = "auto"
    num_workers: Annotated[int, Field(ge=0)] = 0


_DEMO = ModelScale(
    hidden_dim=64, latent_dim=32, heads=4, depth=1, decoder_layers=2, ff_dim=128, decoder_window=150
)
_PAPER = ModelScale(
    hidden_dim=1024, latent_dim=128, heads=4, depth=2, decoder_layers=2, ff_dim=2048
)


class MMTParams(_Scaled):
    scales: dict[str, ModelScale] = {"demo": _DEMO, "paper": _PAPER}
    scale: str = "demo"
    video_streams: tuple[str, ...] = ("emotion", "3dmm")  # the first queries the others
    audio_streams: tuple[str, ...] = ("mfcc",)
    paper_feature_dims: dict[str, PositiveInt] = {
        "au": 25088,
        "fe": 1408,
        "va": 64,
        "wav2vec": 1536,
        "mfcc": 26,
    }
    w_3dmm: Annotated[float, Field(ge=0)] = 10.0
    w_emotion: Annotated[float, Field(ge=0)] = 10.0

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
    groups: PositiveInt = 32  # GroupNorm groups
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1


_DDIM_DEMO = DDIMScale(
    cond_dim=256, base_width=64, width_mults=(1, 2, 2), blocks_per_level=1, time_dim=128, groups=8
)
_DDIM_PAPER = DDIMScale(
    cond_dim=1024, base_width=128, width_mults=(1, 2, 2, 2), blocks_per_level=2, time_dim=512
)


class DDIMParams(_Scaled):
    num_train_timesteps: PositiveInt = 20
    sampling_steps: PositiveInt = 20
    eta: Annotated[float, Field(ge=0, le=1)] = 0.0
    cfg_dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0  # > 0: classifier-free guidance
    guidance: Annotated[float, Field(ge=0)] = 1.0  # 1 = plain conditional sampling (paper)
    clip_x0: bool = True  # clip each step's predicted x0 to the range of the train latents
    scales: dict[str, DDIMScale] = {"demo": _DDIM_DEMO, "paper": _DDIM_PAPER}
    scale: str = "demo"

    @model_validator(mode="after")
    def _steps_within_schedule(self) -> DDIMParams:
        if self.sampling_steps > self.num_train_timesteps:
            raise ValueError(
                f"sampling_steps {self.sampling_steps} exceeds "
                f"num_train_timesteps {self.num_train_timesteps}"
            )
        if self.guidance != 1.0 and self.cfg_dropout == 0:
            raise ValueError("guidance != 1 needs cfg_dropout > 0 (a learned null condition)")
        return self

    @property
    def sizes(self) -> DDIMScale:
        return self.scales[self.scale]


class EvaluateParams(_Strict):
    split: Literal["train", "val", "test"] = "test"
    samples: PositiveInt = 10
    methods: tuple[str, ...] = (
        "GT",
        "B_Random",
        "B_Mime",
        "B_MeanSeq",
        "B_MeanFr",
        "ReactDiff (offline)",
        "ReactDiff (online)",
        "ReactDiff w/o diffusion",
    )
    device: Literal["cpu", "cuda"] = "cpu"
    metrics_file: Path = Path("metrics/eval.json")
    report_file: Path = Path("reports/eval.md")
    plot_file: Path = Path("reports/eval.png")


class TrackingParams(_Strict):
    experiment: str = "reactdiff"
    default_uri: str = "sqlite:///mlflow.db"


class Params(_Strict):
    base: BaseParams = BaseParams()
    data: DataParams = DataParams()
    format: FormatParams = FormatParams()
    validate_: ValidateParams = Field(default=ValidateParams(), alias="validate")
    split: SplitParams = SplitParams()
    features: FeaturesParams = FeaturesParams()
    mmt: MMTParams = MMTParams()
    train_mmt: TrainParams = TrainParams(
        epochs=15,
        batch_size=16,
        lr=2e-3,
        checkpoint=Path("models/checkpoints/mmt.pt"),
        model_out=Path("models/mmt.pt"),
        metrics_file=Path("metrics/mmt.json"),
        plots_dir=Path("plots/mmt"),
        registered_name="reactdiff-mmt",
    )
    ddim: DDIMParams = DDIMParams()
    train_ddim: TrainParams = TrainParams(
        epochs=20,
        batch_size=64,
        lr=1e-3,
        checkpoint=Path("models/checkpoints/ddim.pt"),
        model_out=Path("models/reactdiff.pt"),
        metrics_file=Path("metrics/ddim.json"),
        plots_dir=Path("plots/ddim"),
        registered_name="reactdiff",
    )
    evaluate: EvaluateParams = EvaluateParams()
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
