"""Noise schedule and DDIM sampler (paper section 3.4: T = 20, cosine schedule, epsilon target).

A diffusers-style object: ``add_noise(x0, eps, t)``, ``set_timesteps(n)``, ``step(eps, t, x_t)``.
It knows nothing of the network. Written here rather than taken from diffusers to avoid a large
dependency for ~60 lines; the maths is that of ``diffusers.DDIMScheduler`` with
``beta_schedule="squaredcos_cap_v2"``, ``set_alpha_to_one=True`` and
``timestep_spacing="trailing"`` (sampling always starts at t = T - 1, whatever the step count).

Like diffusers' ``clip_sample``, ``step`` can clip the predicted x0 (here to per-dimension bounds,
the range of the train latents). It matters with T = 20: the cosine schedule ends at
alpha-bar = 6e-6, so the first step divides the noise prediction's error by sqrt(6e-6) = 0.0025,
and without the clip a sample starts hundreds of standard deviations off and never recovers.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import torch


@dataclasses.dataclass(frozen=True)
class SchedulerConfig:
    """Everything that fixes the schedule, saved with a model as one dict (``to_dict``).

    ``clip_sample``: clip every step's predicted x0 to a range given at sampling (``step``'s
    ``x0_range``; ReactDiff passes the range of its standardised train latents).
    """

    num_train_timesteps: int
    beta_schedule: Literal["squaredcos_cap_v2"]
    prediction_type: Literal["epsilon"]
    clip_sample: bool

    def __post_init__(self) -> None:
        if self.num_train_timesteps < 1:
            raise ValueError(f"num_train_timesteps must be >= 1, got {self.num_train_timesteps}")
        if self.beta_schedule != "squaredcos_cap_v2":
            raise ValueError(f"beta_schedule {self.beta_schedule!r}: only squaredcos_cap_v2")
        if self.prediction_type != "epsilon":
            raise ValueError(f"prediction_type {self.prediction_type!r}: only epsilon")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> SchedulerConfig:
        return SchedulerConfig(**d)


def cosine_betas(num_steps: int, max_beta: float = 0.999) -> torch.Tensor:
    """Betas of the cosine schedule (Nichol & Dhariwal 2021), float64, capped at ``max_beta``."""

    def alpha_bar(s: float) -> float:
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [
        min(1 - alpha_bar((i + 1) / num_steps) / alpha_bar(i / num_steps), max_beta)
        for i in range(num_steps)
    ]
    return torch.tensor(betas, dtype=torch.float64)


class DDIMScheduler:
    """Forward noising for training and the DDIM reverse step for sampling (cosine betas)."""

    def __init__(self, config: SchedulerConfig) -> None:
        self.config = config
        self.num_train_timesteps = num_train_timesteps = config.num_train_timesteps
        self.betas = cosine_betas(num_train_timesteps)
        self.alphas_cumprod = torch.cumprod(1 - self.betas, 0)
        self.set_timesteps(num_train_timesteps)

    def set_timesteps(self, num_inference_steps: int) -> None:
        """Choose the ``num_inference_steps`` timesteps (descending) that ``step`` walks."""
        n, t_max = num_inference_steps, self.num_train_timesteps
        if not 1 <= n <= t_max:
            raise ValueError(f"num_inference_steps must be in [1, {t_max}], got {n}")
        ts = torch.round(torch.arange(t_max, 0, -t_max / n, dtype=torch.float64)).long() - 1
        self.timesteps = ts
        self._prev = {int(t): int(p) for t, p in zip(ts, [*ts[1:].tolist(), -1], strict=True)}

    def _abar(self, t: torch.Tensor | int, ref: torch.Tensor) -> torch.Tensor:
        """alpha-bar at ``t`` (1 for t = -1), as ``ref``'s dtype and device, broadcastable."""
        t = torch.as_tensor(t, dtype=torch.long)
        abar = torch.cat([self.alphas_cumprod.new_ones(1), self.alphas_cumprod])[t + 1]
        return abar.to(ref).reshape(*t.shape, *([1] * (ref.ndim - t.ndim)))

    def add_noise(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps; ``t`` is (B,) long over x0's first axis."""
        abar = self._abar(t.cpu(), x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * eps

    def predict_x0(
        self, eps: torch.Tensor, t: int | torch.Tensor, x_t: torch.Tensor
    ) -> torch.Tensor:
        """The x0 that noise ``eps`` at timestep ``t`` (an int, or (B,) over x_t's first axis)
        implies: (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)."""
        abar = self._abar(t.cpu() if isinstance(t, torch.Tensor) else t, x_t)
        return (x_t - (1 - abar).sqrt() * eps) / abar.sqrt()

    def step(
        self,
        eps_pred: torch.Tensor,
        t: int | torch.Tensor,
        x_t: torch.Tensor,
        eta: float = 0.0,
        generator: torch.Generator | None = None,
        x0_range: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x at the timestep after ``t`` in ``timesteps`` (DDIM eq. 12; eta = 0: deterministic).

        ``x0_range`` (low, high), broadcastable to ``x_t``: with ``config.clip_sample``, clip the
        predicted x0 to it (the noise prediction itself is kept, as diffusers does by default);
        it must be given then, and is ignored otherwise.
        """
        if self.config.clip_sample and x0_range is None:
            raise ValueError("clip_sample needs the x0_range to clip to")
        t = int(t)
        if t not in self._prev:
            raise ValueError(f"timestep {t} is not one of set_timesteps' {self.timesteps.tolist()}")
        abar_t, abar_prev = self._abar(t, x_t), self._abar(self._prev[t], x_t)
        x0_pred = self.predict_x0(eps_pred, t, x_t)
        if self.config.clip_sample:
            x0_pred = torch.maximum(torch.minimum(x0_pred, x0_range[1]), x0_range[0])
        var = (1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)
        sigma = eta * var.sqrt()
        x_prev = (
            abar_prev.sqrt() * x0_pred + (1 - abar_prev - sigma**2).clamp_min(0).sqrt() * eps_pred
        )
        if eta > 0:
            noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype, device=x_t.device)
            x_prev = x_prev + sigma * noise
        return x_prev
