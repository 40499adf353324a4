"""A second model family in a few lines, for tests that any family goes where ReactDiff goes.

``ToyMirror`` satisfies ``reactdiff.models.family.ReactionModel`` and nothing more (it does not
reconstruct): its listener's emotion is the speaker's emotion stream scaled by a weight, its
3DMM seeded noise. A test registers it with ``register_toy_family(monkeypatch)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from reactdiff.generation import Generation
from reactdiff.models.registry import FAMILIES
from reactdiff.models.serialization import load_weights

FACE_DIM, EMOTION_DIM = 58, 25


class ToyStream:
    """Online: each chunk's reactions as soon as it arrives."""

    def __init__(self, model: ToyMirror, num_samples: int, seed: int | None) -> None:
        self.model, self.samples, self.seed = model, num_samples, seed

    def push(self, speaker: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.generate(speaker, self.samples, seed=self.seed)

    def finish(self) -> tuple[torch.Tensor, torch.Tensor]:
        empty = torch.zeros(self.samples, 0, FACE_DIM), torch.zeros(self.samples, 0, EMOTION_DIM)
        return empty


class ToyMirror(nn.Module):
    family = "toy-mirror"
    face_dim, emotion_dim, frame_unit, can_stream = FACE_DIM, EMOTION_DIM, 1, True

    def __init__(self, streams: dict[str, int]) -> None:
        super().__init__()
        self.streams = dict(streams)
        self.gain = nn.Parameter(torch.tensor(0.5))

    @property
    def speaker_streams(self) -> dict[str, int]:
        return dict(self.streams)

    @torch.no_grad()
    def generate(
        self,
        speaker: dict[str, torch.Tensor],
        num_samples: int,
        *,
        online: bool = False,
        seed: int | None = None,
        **sampling: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        Generation(**sampling)  # the settings every family takes
        emotion = speaker["emotion"].float() * self.gain
        single = emotion.dim() == 2
        emotion = (emotion[None] if single else emotion)[:, None].repeat(1, num_samples, 1, 1)
        g = torch.Generator().manual_seed(seed or 0)
        face = torch.randn(*emotion.shape[:3], FACE_DIM, generator=g)
        return (face[0], emotion[0]) if single else (face, emotion)

    def generate_clip(
        self,
        speaker: dict[str, torch.Tensor],
        num_samples: int,
        chunk_frames: int | None = None,
        *,
        online: bool = False,
        seed: int | None = None,
        **sampling: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.generate(speaker, num_samples, online=online, seed=seed, **sampling)

    def stream(self, num_samples: int, *, seed: int | None = None, **sampling: Any) -> ToyStream:
        Generation(**sampling)
        return ToyStream(self, num_samples, seed)

    def neutral_speaker(self, frames: int | None = None) -> dict[str, torch.Tensor]:
        return {s: torch.zeros(frames or 4, d) for s, d in self.streams.items()}

    def save(self, path: Path | str, **extra: Any) -> None:
        state = {"family": self.family, "streams": self.streams, "state_dict": self.state_dict()}
        torch.save({**state, **extra}, path)

    @classmethod
    def from_state(cls, state: dict[str, Any], path: Path | str) -> ToyMirror:
        model = cls(state["streams"])
        load_weights(model, state["state_dict"], path, "toy model file")
        return model


def register_toy_family(monkeypatch) -> type[ToyMirror]:
    """``ToyMirror`` in the registry for the test's duration."""
    monkeypatch.setitem(FAMILIES, ToyMirror.family, ToyMirror)
    return ToyMirror
