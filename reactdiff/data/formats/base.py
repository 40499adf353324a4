"""What a data format is: the facts of a release and the questions every stage asks of a root.

A format is one object (a ``Format`` subclass, one module of :mod:`reactdiff.data.formats`), so
the stages, the CLI, validation and evaluation ask it instead of branching on its name.
Validation and evaluation keep their per-format code in registries of their own, keyed by
``Format.name`` and ``Format.protocol`` (``data`` does not import them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from reactdiff.config import Params
from reactdiff.data.splits import Pair
from reactdiff.errors import DataFileError


class Layout(Protocol):
    """A root in one format: where a clip's files are, which clips and samples a split has."""

    root: Path

    @property
    def fmt(self) -> Format: ...

    def clip_path(self, split: str, rel: str, stream: str) -> Path:
        """Where a clip's stream file is; a ``rel`` that is not a clip path of the format is a
        DataFileError, so no path outside the root is ever formed from one."""
        ...

    def video_path(self, split: str, rel: str) -> Path: ...

    def has_video(self, split: str) -> bool: ...

    def length_file(self, split: str, rel: str) -> Path | None:
        """The file that fixes a clip's length (None: the format does)."""
        ...

    def clip_frames(self, split: str, rel: str) -> int:
        """Frames every per-frame array of the clip has (features, validation)."""
        ...

    def session(self, rel: str) -> str: ...

    def pairs(self, split: str) -> list[Pair]: ...

    def samples(self, split: str) -> list[Pair]: ...

    def clips(self, split: str) -> list[str]: ...

    def appropriateness(self, split: str, pairs: Sequence[Pair]) -> np.ndarray:
        """The 0/1 appropriateness matrix over the split's mirrored samples."""
        ...

    def write_appropriateness(self, split: str, pairs: Sequence[Pair], target: Path) -> None:
        """Write the split's matrix to ``target`` (the organisers' file as it is, when the
        format ships one)."""
        ...


@dataclass(frozen=True)
class Synthesized:
    """What writing a synthetic drop did: the spec's values (the stage's run params), a summary
    (the data stage's document) and one line for the CLI."""

    spec: dict[str, Any]
    summary: dict[str, Any]
    line: str


@dataclass(frozen=True)
class Format(ABC):
    """A data release: its timing facts, and (in subclasses) its layout, clip-path grammar,
    synthetic writer and how ``generate`` stages one clip."""

    name: str  # data.format in params.yaml
    title: str  # how messages name it, e.g. "REACT 2024"
    fps: int  # video frames per second; every per-frame stream is aligned to it
    clip_frames: int | None  # frames stored per clip; None: every clip has its own length
    frames: int  # training and scoring length: the whole clip or a chunk of it
    audio_rate: int  # sample rate of the release's wav files (the synthetic drops use it)
    min_audio_seconds: float  # a fixed-length clip's audio is at least this long
    audio_slack_frames: int  # a clip's audio may end this many frames before its last frame
    protocol: str  # the evaluation protocol's name (reactdiff.evaluation.protocols)
    rel_components: int  # a clip path has this many '/'-separated components
    clip_path_shape: str  # the grammar in words, for messages
    video_folder: str  # the folder a split's videos are in (messages: "no <folder>")
    staged_rel: str  # the clip path `generate` stages a speaker's files under
    synth_counts: tuple[str, ...] = ()  # the synthetic drop's size options (`synth`)

    @property
    def fixed_frames(self) -> int | None:
        """Rows of every clip's arrays, or None where each clip has its own length."""
        return None if self.clip_frames is None else self.frames

    def seconds(self, frames: int) -> float:
        return frames / self.fps

    @abstractmethod
    def layout(self, root: Path | str) -> Layout: ...

    @abstractmethod
    def looks_like(self, root: Path) -> bool:
        """Whether ``root`` has what marks a root of this format (format auto-detection)."""
        ...

    @abstractmethod
    def required_paths(self, root: Path) -> list[Path]:
        """What a root must have before anything else of it is read."""
        ...

    @abstractmethod
    def rel_problem(self, parts: list[str]) -> str | None:
        """What makes ``parts`` (``rel_components`` safe components) not a clip path of this
        format, or None."""
        ...

    @abstractmethod
    def write_synthetic(
        self,
        out: Path,
        params: Params,
        overrides: dict[str, Any],
        workers: int,
        progress: bool,
        owner: str,
    ) -> Synthesized:
        """Write the synthetic drop that ``params`` (and ``overrides`` of its spec) describe."""
        ...

    @abstractmethod
    def write_reaction_emotion(self, stem: Path, values: np.ndarray) -> Path:
        """Write a generated reaction's (T, 25) emotion in the format's own file type; its path."""
        ...

    def check_rel(self, rel: str) -> str:
        """``rel`` itself when it is a clip path of this format, else a DataFileError naming it
        (so no path outside the root is ever formed from one)."""
        from reactdiff.data.formats import format_of_rel  # the registry imports this module

        if (fmt := format_of_rel(rel)) is not self:
            raise DataFileError(
                rel, f"a {fmt.title} clip path, but the drop is in the {self.title} layout"
            )
        return rel

    def needs_emotion_file(self) -> bool:
        """Whether a speaker clip needs its emotion file to be read at all (it fixes the
        clip's length)."""
        return self.clip_frames is None
