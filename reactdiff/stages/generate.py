"""`reactdiff generate`: reactions of a trained model (any family) to one speaker clip, in the
REACT formats.

Not a DVC stage (it reads a model, not the pipeline's data) but run the same way. The clip's
files are arranged as a one-clip drop in the layout of ``data.format`` (symlinks in a temp
folder), so its features come from exactly the extractors the `features` stage uses. Sampling
settings come from the ``sampling`` params; a clip longer than ``evaluate.chunk_frames`` is
generated in chunks of that length, as the evaluation does. Where a format's clips have no
fixed length, their emotion file (``--speaker-emotion``) fixes it, so it is required.

Besides the files of each reaction and a plot, it writes ``reactions.mp4``, to watch whether
the reactions fit: the speaker (its video when the clip has one, else its face drawn from its
emotion and 3DMM files) next to a drawn face per reaction, with the speaker's audio
(``reactdiff.data.render``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from reactdiff.atomic import atomic_path, make_dir, save_npy
from reactdiff.config import TARGET_STREAMS, Params
from reactdiff.data.columns import (
    AU_SLICE,
    EXPR_SLICE,
    EXPRESSION_COLUMNS,
    VA_SLICE,
    read_emotion,
)
from reactdiff.data.formats import Format, Layout, open_layout, resolve_format
from reactdiff.data.readers import read_3dmm
from reactdiff.data.render import reaction_video
from reactdiff.errors import ConfigError, DataFileError
from reactdiff.features.facial import TORCHSCRIPT_STREAMS
from reactdiff.features.streams import build_extractors
from reactdiff.models import load_model
from reactdiff.models.family import ReactionModel
from reactdiff.stages.result import StageOptions, StageResult

NAME = "generate"
STAGED_SPLIT = "test"


@dataclass(frozen=True)
class SpeakerFiles:
    audio: Path | None = None
    video: Path | None = None
    emotion: Path | None = None
    face_3dmm: Path | None = None


def required_inputs(streams: list[str], fmt: Format) -> dict[str, str]:
    """Which speaker files the model's feature streams (and the format) need -> the option
    that supplies each."""
    need = {"audio": "--speaker-audio"}
    if any(s in TORCHSCRIPT_STREAMS for s in streams):
        need["video"] = "--speaker-video"
    if any(s in TARGET_STREAMS for s in streams):
        need.update(emotion="--speaker-emotion", face_3dmm="--speaker-3dmm")
    if fmt.needs_emotion_file():  # its rows are the clip's frames
        need["emotion"] = "--speaker-emotion"
    return need


def stage_clip(files: SpeakerFiles, streams: list[str], tmp: Path, fmt: Format) -> Layout:
    """A one-clip drop of symlinks in ``fmt``'s layout; a missing input is an error naming its
    option."""
    need = required_inputs(streams, fmt)
    missing = [opt for key, opt in need.items() if getattr(files, key) is None]
    if missing:
        raise ConfigError(f"the model's streams {streams} need {', '.join(missing)}")
    layout = open_layout(tmp, fmt)
    for stream, key in (
        ("audio", "audio"),
        ("video", "video"),
        ("emotion", "emotion"),
        ("3dmm", "face_3dmm"),
    ):
        src = getattr(files, key)
        if src is None:
            continue
        src = Path(src).resolve()
        if not src.exists():
            raise DataFileError(src, "speaker input not found")
        dst = layout.clip_path(STAGED_SPLIT, fmt.staged_rel, stream)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src)
    return layout


def clip_features(
    params: Params, layout: Layout, split: str, rel: str, streams: list[str]
) -> dict[str, torch.Tensor]:
    """(T, d) float tensors of ``streams`` for one clip, by the `features` stage's extractors."""
    out: dict[str, np.ndarray] = {}
    for ex in build_extractors(params.features, streams, layout.fmt):
        wanted = [s for s in ex.streams if s in streams]
        if wanted:
            out.update(ex.extract(layout, split, rel, wanted))
    return {s: torch.from_numpy(np.asarray(out[s], dtype=np.float32)) for s in streams}


def trained_model(model: str | Path) -> ReactionModel:
    """The model in its file, of any family (a registered version's file is downloaded by the
    caller)."""
    if not Path(model).is_file():
        raise DataFileError(model, "model not found (train it with `dvc repro train_ddim`)")
    return load_model(model)


def write_reactions(
    out: Path, face: torch.Tensor, emotion: torch.Tensor, fmt: Format
) -> list[Path]:
    """``reaction_<i>_3dmm.npy`` (T, 58) and ``reaction_<i>`` with the emotion in the format's
    own file type."""
    paths = []
    for i, (f, e) in enumerate(zip(face.numpy(), emotion.numpy(), strict=True)):
        emotion_file = fmt.write_reaction_emotion(out / f"reaction_{i:02d}", e)
        save_npy(out / f"reaction_{i:02d}_3dmm.npy", f.astype(np.float32))
        paths += [emotion_file, out / f"reaction_{i:02d}_3dmm.npy"]
    return paths


@dataclass(frozen=True)
class SpeakerView:
    """What the video shows of the speaker: its files resolved out of the staged drop (which is
    a temp folder of symlinks), and its annotations when it has them."""

    audio: Path
    video: Path | None
    emotion: np.ndarray | None
    face_3dmm: np.ndarray | None


def speaker_view(layout: Layout, split: str, rel: str, frames: int | None) -> SpeakerView:
    """The clip's audio, video (if any) and emotion/3DMM rows (if any; the first ``frames``,
    all when None); a 3DMM file too short for the clip is an error naming it."""
    video = layout.video_path(split, rel)
    emotion_file = layout.clip_path(split, rel, "emotion")
    face_file = layout.clip_path(split, rel, "3dmm")
    emotion = read_emotion(emotion_file, frames) if emotion_file.exists() else None
    if frames is None and emotion is not None:  # no fixed length: the emotion rows are the clip
        frames = len(emotion)
    return SpeakerView(
        audio=layout.clip_path(split, rel, "audio").resolve(),
        video=video.resolve() if video.exists() else None,
        emotion=emotion,
        face_3dmm=read_3dmm(face_file, frames) if face_file.exists() else None,
    )


def plot_reactions(path: Path, emotion: torch.Tensor, speaker: np.ndarray | None, fps: int) -> None:
    """Valence, arousal, AU activity and the dominant expression over time, speaker in black."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = emotion.numpy()
    t = np.arange(e.shape[1]) / fps
    panels = [
        ("valence", lambda x: x[..., VA_SLICE.start]),
        ("arousal", lambda x: x[..., VA_SLICE.start + 1]),
        (f"active AUs (of {AU_SLICE.stop})", lambda x: x[..., AU_SLICE].sum(-1)),
        ("dominant expression", lambda x: x[..., EXPR_SLICE].argmax(-1)),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 8), sharex=True)
    for ax, (title, get) in zip(axes, panels, strict=True):
        for i, sample in enumerate(e):
            ax.plot(t, get(sample), lw=0.8, alpha=0.7, label=f"listener {i}" if i < 3 else None)
        if speaker is not None:
            ax.plot(t, get(speaker[: e.shape[1]]), color="black", lw=1.5, label="speaker")
        ax.set_ylabel(title, fontsize=9)
    axes[3].set_yticks(range(len(EXPRESSION_COLUMNS)), EXPRESSION_COLUMNS, fontsize=7)
    axes[-1].set_xlabel("seconds")
    axes[0].legend(loc="upper right", fontsize=7, ncol=4)
    who = "speaker (black) and " if speaker is not None else ""
    fig.suptitle(f"{who}{len(e)} generated listener reactions")
    fig.tight_layout()
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        fig.savefig(f, format="png", dpi=90)
    plt.close(fig)


@dataclass(frozen=True)
class Options(StageOptions):
    out: Path = Path("reactions")  # folder for the reactions (created; files replaced)
    files: SpeakerFiles = SpeakerFiles()  # the speaker's own files, or
    clip: tuple[Path, str, str] | None = None  # (root, split, rel) of a clip of a drop
    samples: int = 10
    online: bool = False
    seed: int | None = None
    model: Path | None = None  # the model file [train_ddim.model_out]


def run(params: Params, options: Options) -> StageResult:
    """Generate for the speaker files, or for a clip of a drop; write CSVs, .npy, a plot and a
    video."""
    if options.clip is None and options.files.audio is None:
        raise ConfigError(
            "give the speaker's files (--speaker-audio ...) or --clip REL [--root DIR]"
        )
    model = trained_model(options.model or params.train_ddim.model_out)
    streams = list(model.speaker_streams)
    fmt = resolve_format(params.data) if options.clip is None else None
    with tempfile.TemporaryDirectory(prefix="reactdiff-generate-") as tmp:
        if options.clip is not None:
            root, split, rel = options.clip
            layout = open_layout(Path(root), resolve_format(params.data, Path(root)))
        else:
            layout, split, rel = (
                stage_clip(options.files, streams, Path(tmp), fmt),
                STAGED_SPLIT,
                fmt.staged_rel,
            )
        fmt = layout.fmt
        features = clip_features(params, layout, split, rel, streams)
        speaker = speaker_view(layout, split, rel, fmt.fixed_frames)
        generation = params.generation(model.family)
        face, emotion = model.generate_clip(
            features,
            options.samples,
            generation.chunk_frames,
            online=options.online,
            seed=options.seed,
            **generation.sampling(),
        )
    out = options.out
    make_dir(out)
    written = write_reactions(out, face.cpu(), emotion.cpu(), fmt)
    plot_reactions(out / "reactions.png", emotion.cpu(), speaker.emotion, fmt.fps)
    reaction_video(
        out / "reactions.mp4",
        speaker.video,
        speaker.emotion,
        speaker.face_3dmm,
        emotion.cpu().numpy(),
        face.cpu().numpy(),
        fmt.fps,
        speaker.audio,
    )
    ext = written[0].suffix
    return StageResult(
        summary=f"wrote {len(written) + 2} files to {out}: reaction_XX{ext}, "
        "reaction_XX_3dmm.npy, reactions.png, reactions.mp4",
        run_params={
            "samples": options.samples,
            "online": options.online,
            "seed": options.seed,
            **({"online.delay_frames": params.online.delay_frames} if options.online else {}),
        },
    )
