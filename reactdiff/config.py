"""Typed view of params.yaml: the one source of truth for every tunable number.

Every group is a strict pydantic model that declares types and constraints only: the values
live in params.yaml alone, so a misspelt, missing or mistyped key fails at start-up with its
dotted name instead of being silently replaced by a default kept somewhere else. Sizes and
names that must agree across keys (attention heads and widths, the streams the model reads and
those the store holds) are checked here too, so a bad combination fails before a stage runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from reactdiff.errors import ConfigError
from reactdiff.generation import Generation

PARAMS_FILE = Path("params.yaml")

PositiveInt = Annotated[int, Field(gt=0)]
Probability = Annotated[float, Field(ge=0, lt=1)]
NonNegativeFloat = Annotated[float, Field(ge=0)]

# The groups are strict (no "3" for 3, no true for 1; an int is still a float), except where
# YAML has no such type: a path is written as a string, a tuple as a list. Their items stay strict.
YamlPath = Annotated[Path, Strict(False)]
FROM_LIST = Strict(False)


class _Strict(BaseModel):
    """Every key required (params.yaml is the one source of values), none unknown, no coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _no_repeats(v: tuple) -> tuple:
    if repeated := sorted({x for x in v if v.count(x) > 1}):
        raise ValueError(f"listed more than once: {repeated}")
    return v


def _not_empty(v: tuple) -> tuple:
    """After the items' own checks (a length constraint would also fire when an item is bad)."""
    if not v:
        raise ValueError("empty: list at least one")
    return v


class BaseParams(_Strict):
    seed: int


class SyntheticMarsParams(_Strict):
    """How a synthetic REACT 2025 (MARS) drop is drawn: dyads split between train/val/test,
    each dyad recording every session (topic), clip lengths drawn per clip."""

    dyads: Annotated[int, Field(ge=3)]
    sessions: PositiveInt
    min_seconds: Annotated[float, Field(ge=4)]
    max_seconds: Annotated[float, Field(gt=0)]

    @field_validator("max_seconds")
    @classmethod
    def _range(cls, v: float, info) -> float:
        low = info.data.get("min_seconds")
        if low is not None and v < low:
            raise ValueError(f"below min_seconds {low}")
        return v


class SyntheticParams(_Strict):
    sessions: Annotated[int, Field(ge=3)]
    clips_per_session: PositiveInt
    video: bool
    video_size: Annotated[int, Field(ge=32, multiple_of=16)]
    workers: PositiveInt
    split_fractions: Annotated[tuple[float, float, float], FROM_LIST]
    neighbour_threshold: Annotated[float, Field(gt=0, lt=1)]

    react2025: SyntheticMarsParams

    @field_validator("split_fractions")
    @classmethod
    def _fractions_sum_to_one(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(f <= 0 for f in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"must be three positive fractions summing to 1, got {list(v)}")
        return v


class DataParams(_Strict):
    source: str  # "synthetic", or the path of a real root
    # a registered data format's name (reactdiff.data.formats checks it when a stage opens the
    # root: config does not import data), or auto: detected from a real root
    format: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    root: YamlPath
    synthetic: SyntheticParams

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def react_root(self) -> Path:
        """The REACT-layout root that every stage after `data` reads."""
        return self.root if self.is_synthetic else Path(self.source).expanduser()


class ValidateParams(_Strict):
    report_dir: YamlPath
    prob_sum_tolerance: Annotated[float, Field(gt=0)]
    max_failures_shown: PositiveInt


class SplitParams(_Strict):
    out: YamlPath


FEATURE_STREAMS = ("mfcc", "wav2vec", "emotion", "3dmm", "va", "au", "fe")
TARGET_STREAMS = ("emotion", "3dmm")  # the training targets: always in the feature store
Stream = Literal[FEATURE_STREAMS]
Device = Literal["auto", "cpu", "cuda"]


class MfccParams(_Strict):
    """Window and hop are one video frame of the data format (reactdiff.features.audio)."""

    sample_rate: PositiveInt
    n_mfcc: PositiveInt
    n_mels: PositiveInt

    @field_validator("n_mels")
    @classmethod
    def _enough_mel_bands(cls, v: int, info) -> int:
        n_mfcc = info.data.get("n_mfcc")
        if n_mfcc is not None and v < n_mfcc:
            raise ValueError(f"fewer than n_mfcc {n_mfcc}: each MFCC is taken from the mel bands")
        return v


class Wav2VecParams(_Strict):
    checkpoint: YamlPath | None  # a local model directory; never downloaded
    batch_size: PositiveInt  # equal-length chunks per forward pass
    chunk_seconds: Annotated[float, Field(gt=0)]
    device: Device


class FacialParams(_Strict):
    backend: Literal["annotations", "torchscript"]
    va: YamlPath | None  # TorchScript modules: (B, 3, crop, crop) -> (B, ...)
    au: YamlPath | None
    fe: YamlPath | None
    resize: PositiveInt
    crop: PositiveInt
    mean: float
    std: Annotated[float, Field(gt=0)]
    batch_size: PositiveInt
    device: Device


class FeaturesParams(_Strict):
    out: YamlPath
    streams: Annotated[tuple[Stream, ...], FROM_LIST]
    dtype: Literal["float16", "float32"]
    workers: PositiveInt
    mfcc: MfccParams
    wav2vec: Wav2VecParams
    facial: FacialParams


class ModelScale(_Strict):
    """Sizes of the MMT (and of the latent the diffusion stage works in)."""

    hidden_dim: PositiveInt
    latent_dim: PositiveInt
    heads: PositiveInt  # attention heads: they split hidden_dim evenly
    depth: PositiveInt
    decoder_layers: PositiveInt
    ff_dim: PositiveInt
    dropout: Probability
    window_size: PositiveInt  # latent windows; also the MMT encoder's attention span
    decoder_window: Annotated[int, Field(ge=0)]  # decoder attention span; 0 = whole clip

    @field_validator("heads")
    @classmethod
    def _heads_split_hidden_dim(cls, v: int, info) -> int:
        hidden = info.data.get("hidden_dim")
        if hidden is not None and hidden % v:
            raise ValueError(
                f"does not divide hidden_dim {hidden} (each head gets hidden_dim / heads)"
            )
        return v


class _Scaled(_Strict):
    """A group with named ``scales`` (demo, paper) of which ``scale`` picks one."""

    @field_validator("scale", check_fields=False)
    @classmethod
    def _known_scale(cls, v: str, info) -> str:
        scales = info.data.get("scales")  # absent when it was invalid itself
        if scales is not None and v not in scales:
            raise ValueError(f"unknown scale {v!r}; defined: {sorted(scales)}")
        return v


class TrainParams(_Strict):
    """A training stage's loop settings and outputs (groups train_mmt and train_ddim)."""

    epochs: PositiveInt
    batch_size: PositiveInt
    lr: Annotated[float, Field(gt=0)]
    weight_decay: Annotated[float, Field(ge=0)]
    betas: Annotated[tuple[Probability, Probability], FROM_LIST]  # Adam's moment decays
    ema_decay: Probability
    grad_clip: Annotated[float, Field(gt=0)]
    amp: bool
    device: Device
    num_workers: Annotated[int, Field(ge=0)]
    checkpoint: YamlPath  # written every epoch; `--resume` continues from it
    model_out: YamlPath
    metrics_file: YamlPath
    plots_dir: YamlPath
    registered_name: str  # the MLflow registered model


class MMTTrainParams(TrainParams):
    clip_frames: PositiveInt  # frames per training sequence, cropped from longer clips


class MMTParams(_Scaled):
    scales: dict[str, ModelScale]
    scale: str
    video_streams: Annotated[tuple[Stream, ...], FROM_LIST]  # the first queries the others
    audio_streams: Annotated[tuple[Stream, ...], FROM_LIST]
    w_3dmm: Annotated[float, Field(ge=0)]
    w_emotion: Annotated[float, Field(ge=0)]

    _once = field_validator("video_streams", "audio_streams")(_no_repeats)

    @field_validator("audio_streams")
    @classmethod
    def _streams_apart(cls, v: tuple[str, ...], info) -> tuple[str, ...]:
        video = info.data.get("video_streams")
        if video is None:  # invalid itself: already reported
            return v
        if not video and not v:
            raise ValueError("empty, and so is mmt.video_streams: the MMT needs an input stream")
        if both := [s for s in v if s in video]:
            raise ValueError(f"{both} also in mmt.video_streams: each stream is one modality's")
        return v

    @property
    def sizes(self) -> ModelScale:
        return self.scales[self.scale]


class DDIMScale(_Strict):
    """Sizes of the diffusion U-Net; its window and latent sizes are the MMT's."""

    cond_dim: PositiveInt  # z_bc, one vector per speaker window
    base_width: PositiveInt
    # one U-Net level each; the length (mmt latent_dim) halves between them
    width_mults: Annotated[tuple[PositiveInt, ...], FROM_LIST]
    blocks_per_level: PositiveInt
    time_dim: Annotated[int, Field(gt=0, multiple_of=2)]
    groups: PositiveInt  # GroupNorm groups (fewer where a width is not divisible by them)
    dropout: Probability

    _some = field_validator("width_mults")(_not_empty)


class PriorParams(_Strict):
    """The kinematics ReactDiff's realism priors: loss terms on decoded reactions
    (``reactdiff.training.priors``). A weight of 0 leaves the term out."""

    kinematics: NonNegativeFloat  # velocity + acceleration prior
    dependency: NonNegativeFloat  # facial-action pair prior
    pose_weight: NonNegativeFloat  # per-dimension weights in the kinematics prior: head pose,
    expression_weight: NonNegativeFloat  # the 3DMM expression coefficients,
    emotion_weight: NonNegativeFloat  # and the emotion dims
    max_timestep: Annotated[int, Field(ge=0)]  # on windows noised at t <= this only

    @property
    def active(self) -> bool:
        return self.kinematics > 0 or self.dependency > 0


class DDIMParams(_Scaled):
    """The diffusion model and its scheduler (what training fixes)."""

    num_train_timesteps: PositiveInt
    beta_schedule: Literal["squaredcos_cap_v2"]
    prediction_type: Literal["epsilon"]
    clip_sample: bool  # clip each step's predicted x0 to the range of the train latents
    cfg_dropout: Probability  # > 0: classifier-free guidance training
    priors: PriorParams
    # where a decoded AU counts as on: per AU, calibrated on the train split, or one value
    au_threshold: Literal["calibrated"] | Annotated[float, Field(gt=0, lt=1)]
    scales: dict[str, DDIMScale]
    scale: str

    @property
    def sizes(self) -> DDIMScale:
        return self.scales[self.scale]


class FamilySampling(_Strict):
    """A model family's own sampling settings (``sampling.families``): what its sampler's
    steps, stochasticity and guidance scale mean is the family's."""

    steps: PositiveInt
    eta: Annotated[float, Field(ge=0, le=1)]
    guidance: Annotated[float, Field(ge=0)]  # 1 = plain conditional sampling


class KinScale(_Strict):
    """Sizes of the kinematics ReactDiff's temporal U-Net (``reactdiff.models.kinematics``)."""

    mapping_dim: Annotated[int, Field(gt=0, multiple_of=2)]  # noise-level/position embeddings
    depths: Annotated[tuple[PositiveInt, ...], FROM_LIST]  # residual blocks per level
    channels: Annotated[tuple[PositiveInt, ...], FROM_LIST]  # width per level
    cross_attn: Annotated[tuple[bool, ...], FROM_LIST]  # per level: attend to the speaker
    head_size: PositiveInt  # attention heads = width // head_size
    group_size: PositiveInt  # GroupNorm groups = width // group_size
    dropout: Probability

    _some = field_validator("depths")(_not_empty)

    @field_validator("cross_attn")
    @classmethod
    def _one_per_level(cls, v: tuple[bool, ...], info) -> tuple[bool, ...]:
        for key in ("depths", "channels"):
            other = info.data.get(key)
            if other is not None and len(other) != len(v):
                raise ValueError(f"{len(v)} levels, but {key} has {len(other)}")
        return v


class KinPriorParams(_Strict):
    """The kinematics ReactDiff's priors (``reactdiff.training.kin_priors``); a weight of 0
    leaves the term out."""

    velocity: NonNegativeFloat  # lag-1 and lag-window differences (the code's 1.0)
    pairs: NonNegativeFloat  # symmetric / co-occurring / exclusive 3DMM pairs (the code's 0.01)
    pose_weight: NonNegativeFloat  # the velocity prior's per-dimension weights: head pose,
    expression_weight: NonNegativeFloat  # 3DMM expression coefficients,
    emotion_weight: NonNegativeFloat  # and the emotion dims
    least_noisy: Annotated[float, Field(gt=0, le=1)]  # the share of a batch they apply to


class KinParams(_Scaled):
    """The kinematics ReactDiff (Ge et al. 2025): EDM diffusion on the listener's frames."""

    audio_streams: Annotated[tuple[Stream, ...], FROM_LIST]  # the speaker's, one attention
    visual_streams: Annotated[tuple[Stream, ...], FROM_LIST]  # the speaker's facial streams
    sigma_data: Annotated[float, Field(gt=0)]  # the target's scale after standardisation
    sigma_min: Annotated[float, Field(gt=0)]
    sigma_max: Annotated[float, Field(gt=0)]
    window_size: Annotated[int, Field(ge=2)]  # frames generated at once, online and offline
    train_windows: PositiveInt  # consecutive windows per training sequence
    cfg_dropout: Probability  # > 0: the speaker is the null condition that often (CFG)
    priors: KinPriorParams
    scales: dict[str, KinScale]
    scale: str

    _once = field_validator("audio_streams", "visual_streams")(_no_repeats)
    _some = field_validator("audio_streams", "visual_streams")(_not_empty)

    @property
    def sizes(self) -> KinScale:
        return self.scales[self.scale]


class SamplingParams(_Strict):
    """How reactions are drawn from a trained model (what evaluation and generation choose;
    with ``online`` and ``evaluate.chunk_frames``, ``Params.generation``). The top-level
    settings are the latent ReactDiff's; ``families`` gives another family its own, by the
    name its files carry."""

    steps: PositiveInt  # DDIM steps, at most ddim.num_train_timesteps
    eta: Annotated[float, Field(ge=0, le=1)]
    guidance: Annotated[float, Field(ge=0)]  # 1 = plain conditional sampling (paper)
    families: dict[str, FamilySampling]


class OnlineParams(_Strict):
    """Online generation (``reactdiff.models.online``)."""

    # listener frame t sees speaker frames <= t + delay_frames; less than mmt window_size
    delay_frames: Annotated[int, Field(ge=0)]


# The rows the evaluate stage can compute: the challenge's baselines, then the trained model's
# modes. The stage dispatches on these names (a test checks it handles exactly these).
EVALUATE_METHODS = (
    "GT",
    "B_Random",
    "B_Mime",
    "B_MeanSeq",
    "B_MeanFr",
    "ReactDiff (offline)",
    "ReactDiff (online)",
    "ReactDiff w/o diffusion",
    "ReactDiff-Kin (offline)",
    "ReactDiff-Kin (online)",
)


class BootstrapParams(_Strict):
    """The 95% percentile intervals over items (reactdiff.evaluation.bootstrap)."""

    seed: int
    resamples: Annotated[int, Field(ge=100)]


class EvaluateParams(_Strict):
    select_split: Literal["train", "val", "test"]  # chooses: the champion, tuning, ablations
    select_metrics_file: YamlPath
    report_split: Literal["train", "val", "test"]  # reported once, never chosen on
    samples: PositiveInt
    methods: Annotated[tuple[Literal[EVALUATE_METHODS], ...], FROM_LIST]
    device: Device
    metrics_file: YamlPath  # the report split's
    gt_seed: int  # REACT 2025's ground-truth draw and B_Random: the same for every model
    bootstrap: BootstrapParams
    report_file: YamlPath
    plot_file: YamlPath
    videos: Annotated[int, Field(ge=0)]  # test clips rendered as videos (0: none)
    video_samples: PositiveInt  # ReactDiff samples shown per video
    video_dir: YamlPath
    # the REACT 2025 protocol (reactdiff.evaluation.protocols.session); REACT 2024 ignores these
    gt_samples: PositiveInt  # ground truths drawn per item from its session, besides its own
    session_scoring: Literal["whole", "chunked"]  # per item as the challenge, or in chunks
    chunk_frames: Annotated[int, Field(ge=100)]  # items are generated and scored in chunks
    # how ground truths of other lengths are aligned: crop (and pad), your TorchScript aligner,
    # or the challenge's wrapper around its auto-encoder exported as TorchScript
    alignment: Literal["crop", "torchscript", "challenge"]
    post_processor: YamlPath | None  # the TorchScript file, for alignment torchscript|challenge

    _once = field_validator("methods")(_no_repeats)
    _some = field_validator("methods")(_not_empty)


class TrackingParams(_Strict):
    experiment: str
    default_uri: str


class ServingParams(_Strict):
    """The model server's limits (reactdiff.serve): the work one request may ask for and how
    many requests run and wait; the defaults' costs are in params.yaml."""

    max_frames: Annotated[int, Field(ge=100)]  # the longest array a request may hold (frames)
    max_body_bytes: PositiveInt  # the largest body, checked before it is read or parsed
    timeout_s: Annotated[float, Field(gt=0)]  # arrival to answer; past it the work is killed
    max_concurrent: PositiveInt  # requests computing at once, one worker process each
    max_waiting: Annotated[int, Field(ge=0)]  # admitted requests waiting for a worker


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
    online: OnlineParams
    train_mmt: MMTTrainParams
    train_ddim: TrainParams
    kin: KinParams
    train_kin: TrainParams
    evaluate: EvaluateParams
    tracking: TrackingParams
    benchmarks: BenchmarkParams
    serving: ServingParams

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def validation(self) -> ValidateParams:
        return self.validate_

    def generation(self, family: str | None = None) -> Generation:
        """How the pipeline generates with a model of ``family``: its entry of
        ``sampling.families`` if it has one, else the sampling group's own settings, with
        ``online.delay_frames`` (which offline generation ignores) and
        ``evaluate.chunk_frames``."""
        own = self.sampling.families.get(family) if family else None
        return Generation(
            **(own or self.sampling).model_dump(exclude={"families"}),
            delay_frames=self.online.delay_frames,
            chunk_frames=self.evaluate.chunk_frames,
        )

    @model_validator(mode="after")
    def _groups_agree(self) -> Params:
        """Rules across groups, all reported at once, one line each naming its key."""
        if problems := list(_disagreements(self)):
            raise ValueError("\n".join(problems))
        return self


def _disagreements(p: Params) -> Iterator[str]:
    if p.data.is_synthetic and p.data.format == "auto":
        yield (
            "data.format: auto detects the layout of a real root, but data.source is synthetic: "
            "say which layout to generate (react2024 or react2025)"
        )
    ev = p.evaluate
    if ev.select_split == ev.report_split:
        yield (
            f"evaluate.report_split: {ev.report_split!r} is also evaluate.select_split; the split "
            "that chooses cannot be the one reported"
        )
    if (ev.alignment != "crop") != (ev.post_processor is not None):
        yield (
            "evaluate.post_processor: set it (a TorchScript file) exactly when "
            f"evaluate.alignment is torchscript or challenge (alignment {ev.alignment!r}, "
            f"post_processor {ev.post_processor})"
        )
    if p.sampling.steps > p.ddim.num_train_timesteps:
        yield (
            f"sampling.steps {p.sampling.steps} exceeds "
            f"ddim.num_train_timesteps {p.ddim.num_train_timesteps}"
        )
    if p.ddim.priors.max_timestep >= p.ddim.num_train_timesteps:
        yield (
            f"ddim.priors.max_timestep {p.ddim.priors.max_timestep}: must be less than "
            f"ddim.num_train_timesteps {p.ddim.num_train_timesteps}"
        )
    if p.sampling.guidance != 1.0 and p.ddim.cfg_dropout == 0:
        yield "sampling.guidance != 1 needs ddim.cfg_dropout > 0 (a learned null condition)"
    stored = [*p.features.streams, *(s for s in TARGET_STREAMS if s not in p.features.streams)]
    for key in ("video_streams", "audio_streams"):
        streams = getattr(p.mmt, key)
        if missing := [s for s in streams if s not in stored]:
            yield (
                f"mmt.{key}: {missing} not in the feature store, which holds features.streams "
                f"and the targets {list(stored)} (got {list(streams)})"
            )
    sizes = p.mmt.sizes
    for what, frames in (
        ("train_mmt.clip_frames", p.train_mmt.clip_frames),
        ("evaluate.chunk_frames", p.evaluate.chunk_frames),
    ):
        spans = {"window_size": sizes.window_size}
        dw = sizes.decoder_window  # a shorter sequence is decoded in one window
        if 0 < dw < frames and sizes.window_size % dw:  # else window_size's check covers it
            spans["decoder_window"] = dw
        for key, span in spans.items():
            if frames % span:
                yield (
                    f"{what} {frames} is not a multiple of mmt.scales.{p.mmt.scale}.{key} "
                    f"{span} (the model attends in whole windows of it)"
                )
    for key in ("audio_streams", "visual_streams"):
        if missing := [s for s in getattr(p.kin, key) if s not in stored]:
            yield f"kin.{key}: {missing} not in the feature store, which holds {list(stored)}"
    if p.kin.sigma_min >= p.kin.sigma_max:
        yield f"kin.sigma_min {p.kin.sigma_min}: must be below kin.sigma_max {p.kin.sigma_max}"
    if (
        "ReactDiff-Kin (online)" in p.evaluate.methods
        and p.online.delay_frames >= p.kin.window_size
    ):
        yield (
            f"online.delay_frames {p.online.delay_frames}: must be less than kin.window_size "
            f"{p.kin.window_size} (a window is sampled from the speaker's frames up to its "
            "first frame + delay_frames)"
        )
    window = sizes.window_size
    if "ReactDiff (online)" in p.evaluate.methods and (not dw or window % dw):
        yield (
            f"mmt.scales.{p.mmt.scale}.decoder_window {dw}: online generation (in "
            f"evaluate.methods) needs a block-causal decoder whose window divides window_size "
            f"{window}"
        )
    if p.online.delay_frames >= window:
        yield (
            f"online.delay_frames {p.online.delay_frames}: must be less than mmt.scales."
            f"{p.mmt.scale}.window_size {window} (a window is sampled from the speaker's "
            "frames up to its first frame + delay_frames)"
        )
    levels = len(p.ddim.sizes.width_mults)
    latent = p.mmt.sizes.latent_dim
    if latent % 2 ** (levels - 1):
        yield (
            f"mmt.scales.{p.mmt.scale}.latent_dim: not divisible by {2 ** (levels - 1)}, which "
            f"the {levels} levels of ddim.scales.{p.ddim.scale}.width_mults need (the U-Net "
            f"halves the latent length between levels) (got {latent})"
        )


def _describe(err: ValidationError, source: Path) -> str:
    """One line per problem: ``  <dotted.key>: <problem> (got <value>)``."""
    lines = [f"{source}: invalid parameters"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]).replace("validate_", "validate")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        elif e["type"] == "missing":
            lines.append(f"  {key}: missing (every key is set in params.yaml)")
        elif not key:  # rules across groups: each line names its keys
            lines += [f"  {line}" for line in msg.splitlines()]
        else:
            lines.append(f"  {key}: {msg} (got {e.get('input')!r})")
    return "\n".join(lines)


def _groups() -> list[str]:
    return [f.alias or name for name, f in Params.model_fields.items()]


def parse_params(raw: dict | None, source: Path = PARAMS_FILE) -> Params:
    """Validate an already-loaded mapping; errors name the file and the dotted key."""
    if not raw:
        raise ConfigError(
            f"{source}: no parameter groups (the file is empty or only comments); "
            f"expected {', '.join(_groups())}"
        )
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads ``1e-3`` (no dot) as a string, as YAML 1.1 says; YAML 1.2 and DVC read a
    number, and so does this loader, since a string is no number in the strict groups."""


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def read_params_yaml(path: Path | str = PARAMS_FILE) -> dict | None:
    """params.yaml as a plain mapping (None when empty), read as every loader here reads it."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(), Loader=_Yaml12Loader)  # a SafeLoader
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the repository root)") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of parameter groups at the top level")
    return raw


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    return parse_params(read_params_yaml(path), Path(path))
