"""What every model family offers, so that evaluation, ``generate`` and serving need no class.

A family is one module of ``reactdiff.models`` with one model class, listed in
``reactdiff.models.registry.FAMILIES`` under the name its files carry. Its model satisfies
``ReactionModel``; a capability only some families have (the latent ReactDiff's "w/o diffusion"
ablation) is a protocol of its own (``Reconstructs``) that a caller asks for.

Reactions are in the challenge format: 3DMM (S, T, face_dim) and emotion (S, T, emotion_dim)
per clip, (B, S, T, ...) for a batch. The ``**sampling`` keyword arguments are the fields of
``reactdiff.generation.Generation.sampling``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch

Reactions = tuple[torch.Tensor, torch.Tensor]  # (3DMM, emotion)


class ReactionStream(Protocol):
    """Online generation: speaker chunks of any size in, the listener frames now due out."""

    def push(self, speaker: dict[str, torch.Tensor]) -> Reactions: ...

    def finish(self) -> Reactions: ...


@runtime_checkable
class ReactionModel(Protocol):
    """A trained model that generates listener reactions to a speaker's feature streams."""

    family: ClassVar[str]  # the name its files carry (``registry.FAMILIES``)

    @property
    def speaker_streams(self) -> dict[str, int]:
        """The input feature streams, name -> width, in the model's order."""

    @property
    def face_dim(self) -> int: ...

    @property
    def emotion_dim(self) -> int: ...

    @property
    def frame_unit(self) -> int:
        """``generate_clip``'s ``chunk_frames`` must be a multiple of this."""

    @property
    def can_stream(self) -> bool:
        """Whether this model generates online (``stream``, ``online=True``)."""

    def generate(
        self,
        speaker: dict[str, torch.Tensor],
        num_samples: int,
        *,
        online: bool = False,
        seed: int | None = None,
        **sampling: Any,
    ) -> Reactions:
        """Reactions to streams (T, d), or (B, T, d) for a batch, of the length the model
        generates in one piece."""

    def generate_clip(
        self,
        speaker: dict[str, torch.Tensor],
        num_samples: int,
        chunk_frames: int | None = None,
        *,
        online: bool = False,
        seed: int | None = None,
        **sampling: Any,
    ) -> Reactions:
        """Reactions to one clip (T, d) of any length, offline in chunks of ``chunk_frames``
        (None: in one piece)."""

    def stream(
        self, num_samples: int, *, seed: int | None = None, **sampling: Any
    ) -> ReactionStream: ...

    def neutral_speaker(self, frames: int | None = None) -> dict[str, torch.Tensor]:
        """A silent, expressionless speaker of ``frames`` frames (default: the shortest clip
        the model generates in one piece): serving's input example."""

    def save(self, path: Path | str, **extra: Any) -> None:
        """One weights-only file that records ``family`` (``extra``: e.g. the history)."""

    @classmethod
    def from_state(cls, state: dict[str, Any], path: Path | str) -> ReactionModel:
        """The model of a loaded file's dict (``registry.load_model`` reads the file)."""

    def to(self, device: torch.device | str) -> ReactionModel: ...


@runtime_checkable
class Reconstructs(Protocol):
    """Decoding the speaker's own latent: the latent ReactDiff's "w/o diffusion" ablation."""

    def reconstruct(self, speaker: dict[str, torch.Tensor]) -> Reactions:
        """Streams (B, T, d) -> 3DMM (B, T, face_dim), emotion (B, T, emotion_dim)."""

    def reconstruct_clip(self, speaker: dict[str, torch.Tensor], chunk_frames: int) -> Reactions:
        """One clip (T, d) of any length -> (1, T, ...)."""
