"""A toy regression task for the training loop: small, with dropout (so RNG matters)."""

import torch
from torch import nn
from torch.utils.data import Dataset

from reactdiff.training.loop import LoopConfig


def toy_loop(**overrides) -> LoopConfig:
    """Loop settings for the toy task (the test's own values, not the stages')."""
    base = {"weight_decay": 5e-4, "betas": (0.9, 0.999), "ema_decay": 0.999, "grad_clip": 1.0,
            "amp": True, "seed": 42, "num_workers": 0}  # fmt: skip
    return LoopConfig(**{**base, **overrides})


class ToySet(Dataset):
    def __init__(self, n: int, seed: int) -> None:
        weights = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))  # one task
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 8, generator=g)
        self.y = self.x @ weights + 0.1 * torch.randn(n, 2, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"x": self.x[i], "y": self.y[i], "index": i}


def toy_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))


def toy_loss(model: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
    mse = nn.functional.mse_loss(model(batch["x"]), batch["y"])
    return {"loss": mse, "mse": mse}
