"""How reactions are drawn from a trained model: the one definition of the generation settings.

Every family's ``generate``, ``generate_clip`` and ``stream`` take the sampling fields as
keyword arguments (``Generation.sampling``), ``config`` builds the pipeline's settings from
params.yaml (``Params.generation``), and the served model carries them in its model_config, so
that the evaluation, ``reactdiff generate`` and the server sample alike. The defaults here are
the only ones: a call that names nothing samples with them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Generation:
    """Sampling settings (the first four) and how a long clip is cut (``chunk_frames``)."""

    steps: int | None = None  # DDIM steps; None: every step of the model's scheduler
    eta: float = 0.0  # 0: deterministic DDIM given the initial noise
    guidance: float = 1.0  # classifier-free guidance scale; 1: plain conditional sampling
    delay_frames: int = 0  # online: listener frame t sees speaker frames <= t + delay_frames
    chunk_frames: int | None = (
        None  # offline, a longer clip is generated in such chunks; None: whole
    )

    def sampling(self) -> dict[str, Any]:
        """The keyword arguments of a model's ``generate``, ``generate_clip`` and ``stream``."""
        return {k: v for k, v in asdict(self).items() if k != "chunk_frames"}

    @staticmethod
    def from_dict(settings: dict[str, Any] | None) -> Generation:
        """From a plain dict (a served model's model_config); an unknown key is an error."""
        settings = dict(settings or {})
        unknown = sorted(set(settings) - {f.name for f in fields(Generation)})
        if unknown:
            raise ValueError(f"unknown generation settings {unknown}")
        return Generation(**settings)
