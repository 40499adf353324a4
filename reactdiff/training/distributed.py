"""Process-group setup for `torchrun` (NCCL on GPU, gloo on CPU) and single-process runs alike."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from reactdiff.devices import resolve_device


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if world > 1:
        if dev.type == "cuda":
            dev = torch.device("cuda", local_rank)
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return DistInfo(rank=rank, world=world, local_rank=local_rank, device=dev)


def is_worker_process() -> bool:
    """A non-zero torchrun rank: it trains its shard; rank 0 tracks and writes."""
    return int(os.environ.get("RANK", "0")) != 0


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def reduce_sums(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """Sum scalars over ranks (identity for one process)."""
    if not info.enabled:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return dict(zip(keys, t.tolist(), strict=True))
