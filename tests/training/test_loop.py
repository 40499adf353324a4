import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reactdiff.training.checkpoint import load_checkpoint
from reactdiff.training.distributed import init_distributed
from reactdiff.training.loop import LoopConfig, Trainer
from tests.training.toy import ToySet, toy_loop, toy_loss, toy_model

REPO = Path(__file__).resolve().parents[2]
CFG = toy_loop(epochs=4, batch_size=8, lr=1e-2, ema_decay=0.9, seed=5)


def _trainer(ckpt: Path, on_epoch=None, cfg: LoopConfig = CFG) -> Trainer:
    return Trainer(
        toy_model(),
        toy_loss,
        ToySet(64, 1),
        ToySet(16, 2),
        cfg,
        ckpt,
        init_distributed("cpu"),
        progress=False,
        on_epoch=on_epoch,
    )


class Killed(Exception):
    pass


def _kill_after(epoch: int):
    def hook(metrics):
        if metrics["epoch"] == epoch:
            raise Killed

    return hook


def test_loss_falls_and_checkpoint_holds_everything(tmp_path):
    cfg = toy_loop(epochs=8, batch_size=8, lr=3e-2, ema_decay=0.9, seed=5)
    history = _trainer(tmp_path / "c.pt", cfg=cfg).fit()
    assert [h["epoch"] for h in history] == list(range(1, 9))
    assert history[-1]["val_loss"] < 0.5 * history[0]["val_loss"]
    state = load_checkpoint(tmp_path / "c.pt")
    assert {"model", "ema", "optimizer", "scheduler", "rng", "history", "epoch"} <= set(state)
    assert state["epoch"] == 8 and len(state["rng"]) == 1


def test_resume_equals_uninterrupted_run(tmp_path):
    straight = _trainer(tmp_path / "a.pt")
    straight.fit()
    with pytest.raises(Killed):
        _trainer(tmp_path / "b.pt", on_epoch=_kill_after(2)).fit()
    assert load_checkpoint(tmp_path / "b.pt")["epoch"] == 2
    resumed = _trainer(tmp_path / "b.pt")
    history = resumed.fit(resume=True)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    for name, tensor in straight.ema.state_dict().items():
        assert torch.equal(tensor, resumed.ema.state_dict()[name]), name
    assert history == straight.history


def test_resume_refuses_other_params(tmp_path):
    _trainer(tmp_path / "c.pt", cfg=toy_loop(epochs=1, batch_size=8, lr=1e-2)).fit()
    with pytest.raises(ValueError, match="saved with other training params"):
        _trainer(tmp_path / "c.pt", cfg=toy_loop(epochs=2, batch_size=4, lr=1e-2)).fit(resume=True)


@pytest.mark.slow
def test_ddp_two_cpu_processes_agree(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(REPO / "tests/training/ddp_worker.py"),
        str(tmp_path),
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for name, tensor in r0["weights"].items():
        assert torch.equal(tensor, r1["weights"][name]), name
    assert r0["history"] == r1["history"]  # losses are reduced over both ranks
    assert len(load_checkpoint(tmp_path / "ckpt.pt")["rng"]) == 2
