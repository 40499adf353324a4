"""Run by torchrun in the DDP test: train the toy task, write this rank's final weights."""

import sys
from pathlib import Path

import torch

from reactdiff.training.distributed import cleanup_distributed, init_distributed
from reactdiff.training.loop import Trainer
from tests.training.toy import ToySet, toy_loop, toy_loss, toy_model

out = Path(sys.argv[1])
info = init_distributed("cpu")
trainer = Trainer(
    toy_model(),
    toy_loss,
    ToySet(64, 1),
    ToySet(16, 2),
    toy_loop(epochs=3, batch_size=8, lr=1e-2, seed=3),
    out / "ckpt.pt",
    info,
    progress=False,
)
history = trainer.fit()
torch.save({"weights": trainer.model.state_dict(), "history": history}, out / f"rank{info.rank}.pt")
cleanup_distributed()
