"""REACT 2024 (NoXI + RECOLA): 30 s clips at 25 fps, split CSVs and neighbour matrices.

A clip's rel path is ``NoXI/<session>/Expert_video/<clip>`` (or ``Novice_video``) or
``RECOLA/group-<k>/P<id>/<clip>``, living under ``<root>/<split>/<stream dir>/<rel>.<ext>``;
only the Emotion files name the two sides P1/P2 instead of Expert/Novice or the RECOLA ids.
The root's ``<split>.csv`` lists the pairs and ``neighbour_emotion_<split>.npy`` is the
organisers' appropriateness matrix over the mirrored samples.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from reactdiff.atomic import atomic_path
from reactdiff.config import Params
from reactdiff.data.columns import write_emotion
from reactdiff.data.formats.base import Format, Synthesized
from reactdiff.data.readers import load_npy
from reactdiff.data.splits import (
    SPLITS,
    Pair,
    SplitRow,
    clips_of,
    mirrored,
    neighbour_matrix_name,
    read_split_csv,
    read_split_rows,
)
from reactdiff.errors import DataFileError

STREAM_DIRS: dict[str, str] = {
    "video": "Video_files",
    "audio": "Audio_files",
    "emotion": "Emotion",
    "3dmm": "3D_FV_files",
}
STREAM_EXT: dict[str, str] = {"video": ".mp4", "audio": ".wav", "emotion": ".csv", "3dmm": ".npy"}

# Emotion files rename the sides of a dyad: NoXI Expert/Novice and the RECOLA ids to P1/P2.
NOXI_SIDES = {"Expert_video": "P1", "Novice_video": "P2"}
RECOLA_SIDES = {"P25": "P1", "P41": "P1", "P45": "P1", "P26": "P2", "P42": "P2", "P46": "P2"}
DATASET_SIDES: dict[str, dict[str, str]] = {"NoXI": NOXI_SIDES, "RECOLA": RECOLA_SIDES}
RECOLA_SESSION = re.compile(r"group-[0-9]+")


@dataclass(frozen=True)
class React2024(Format):
    def layout(self, root: Path | str) -> ReactLayout:
        return ReactLayout(Path(root))

    def looks_like(self, root: Path) -> bool:
        return any((root / f"{s}.csv").is_file() for s in SPLITS)

    def required_paths(self, root: Path) -> list[Path]:
        return [p for s in SPLITS for p in (self.layout(root).split_csv(s), root / s)]

    def rel_problem(self, parts: list[str]) -> str | None:
        dataset, session, side, _ = parts
        sides = DATASET_SIDES.get(dataset)
        if sides is None:
            return f"has unknown dataset {dataset!r} ({' or '.join(DATASET_SIDES)})"
        if side not in sides:
            return f"has unknown {dataset} side {side!r} ({', '.join(sides)})"
        if dataset == "RECOLA" and not RECOLA_SESSION.fullmatch(session):
            return f"has RECOLA session {session!r}, not group-<k>"
        return None

    def write_synthetic(
        self,
        out: Path,
        params: Params,
        overrides: dict[str, Any],
        workers: int,
        progress: bool,
        owner: str,
    ) -> Synthesized:
        from dataclasses import asdict

        # heavy (audio, video encoders) and built on this module's layout: imported when used
        from reactdiff.data.synthetic.react2024 import SynthSpec, write_drop

        spec = SynthSpec.from_params(params, **overrides)
        write_drop(out, spec, workers=workers, progress=progress, owner=owner)
        return Synthesized(
            spec=asdict(spec),
            summary={
                "source": "synthetic",
                "sessions": spec.sessions,
                "clips": spec.sessions * spec.clips_per_session,
            },
            line=f"wrote {spec.sessions} sessions x {spec.clips_per_session} clips to {out}",
        )

    def write_reaction_emotion(self, stem: Path, values: np.ndarray) -> Path:
        """An Emotion CSV."""
        path = stem.with_suffix(".csv")
        with atomic_path(path) as tmp:
            write_emotion(tmp, values)
        return path


# 30 s clips at 25 fps, stored with one extra frame (751); the challenge trains and evaluates
# on the first 750. Audio is 44.1 kHz.
REACT2024 = React2024(
    name="react2024",
    title="REACT 2024",
    fps=25,
    clip_frames=751,
    frames=750,
    audio_rate=44100,
    min_audio_seconds=30.0,
    audio_slack_frames=0,
    protocol="neighbour",
    rel_components=4,
    clip_path_shape=(
        "NoXI/<session>/{Expert_video,Novice_video}/<clip> or RECOLA/group-<k>/P<id>/<clip>"
    ),
    video_folder=STREAM_DIRS["video"],
    staged_rel="NoXI/generate/Expert_video/1",
    synth_counts=("sessions", "clips_per_session"),
)


def emotion_rel(rel: str) -> str:
    """Map a clip's rel path to the one its Emotion CSV uses (side renamed to P1/P2)."""
    dataset, session, side, clip = REACT2024.check_rel(rel).split("/")
    return f"{dataset}/{session}/{DATASET_SIDES[dataset][side]}/{clip}"


def session_of(rel: str) -> str:
    """The dyadic session a clip belongs to: ``<dataset>/<session>``."""
    return "/".join(rel.split("/")[:2])


@dataclass(frozen=True)
class ReactLayout:
    """A REACT 2024 root, synthetic or real."""

    root: Path
    fmt: ClassVar[Format] = REACT2024

    def clip_frames(self, split: str, rel: str) -> int:
        """Frames of a clip used for features: the format's fixed length."""
        return self.fmt.frames

    def length_file(self, split: str, rel: str) -> Path | None:
        """The file that fixes a clip's length (None: the format does)."""
        return None

    def session(self, rel: str) -> str:
        return session_of(rel)

    def clip_path(self, split: str, rel: str, stream: str) -> Path:
        """Where a clip's stream file is; a ``rel`` that is not a clip path is a DataFileError
        here, so no path outside the root is ever formed from one."""
        sub = emotion_rel(rel) if stream == "emotion" else REACT2024.check_rel(rel)
        return self.root / split / STREAM_DIRS[stream] / f"{sub}{STREAM_EXT[stream]}"

    def video_path(self, split: str, rel: str) -> Path:
        """The mp4, or the folder of numbered PNGs when that is what the drop has."""
        mp4 = self.clip_path(split, rel, "video")
        folder = mp4.with_suffix("")
        return folder if not mp4.exists() and folder.is_dir() else mp4

    def has_video(self, split: str) -> bool:
        return (self.root / split / STREAM_DIRS["video"]).is_dir()

    def split_csv(self, split: str) -> Path:
        return self.root / f"{split}.csv"

    def neighbour_matrix(self, split: str) -> Path:
        return self.root / neighbour_matrix_name(split)

    def split_rows(self, split: str) -> list[SplitRow]:
        """Rows of the split CSV with their lines, bad clip paths reported, not raised."""
        return read_split_rows(self.split_csv(split))

    def pairs(self, split: str) -> list[Pair]:
        """Rows of the split CSV, in file order."""
        return read_split_csv(self.split_csv(split))

    def samples(self, split: str) -> list[Pair]:
        """Mirrored sample order, the order of the appropriateness matrix and of evaluation."""
        return mirrored(self.pairs(split))

    def clips(self, split: str) -> list[str]:
        """Every clip of a split once, in first-seen order."""
        return clips_of(self.pairs(split))

    def appropriateness(self, split: str, pairs: Sequence[Pair]) -> np.ndarray:
        """The root's neighbour matrix, checked to be 2 x the pairs square."""
        src = self.neighbour_matrix(split)
        m = load_npy(src)
        n = len(pairs)
        if m.shape != (2 * n, 2 * n):
            raise DataFileError(
                src,
                f"shape {m.shape}, expected {2 * n} square (2 x the {n} pairs of "
                f"{self.split_csv(split)})",
            )
        return m

    def write_appropriateness(self, split: str, pairs: Sequence[Pair], target: Path) -> None:
        """The organisers' file, byte for byte."""
        shutil.copyfile(self.neighbour_matrix(split), target)
