"""A split's reactions come from any family through ``ReactionModel`` alone; a mode a family
lacks (reconstruct) is a clear error, not a wrong row."""

from __future__ import annotations

import pytest
import torch

from reactdiff.errors import ConfigError
from reactdiff.evaluation.predictions import (
    BATCH,
    clip_predictions,
    model_predictions,
    split_predictions,
)
from reactdiff.generation import Generation
from tests.helpers.toy_family import ToyMirror

STREAMS = {"emotion": 25, "mfcc": 26}


def _clips(n: int, frames: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [{s: torch.rand(frames, d, generator=g) for s, d in STREAMS.items()} for _ in range(n)]


def _batches() -> list[dict]:
    """Two batches (4 clips and 1) of 20 frames, as a DataLoader over a split gives them."""
    clips = _clips(5, 20)
    return [
        {"speaker": {s: torch.stack([c[s] for c in part]) for s in STREAMS}}
        for part in (clips[:4], clips[4:])
    ]


def test_model_rows_of_another_family():
    toy, batches = ToyMirror(STREAMS), _batches()
    for mode in ("offline", "online"):
        rows = model_predictions(toy, batches, mode, 3, 5, Generation(steps=2), progress=False)
        assert rows.emotion.shape == (5, 3, 20, 25) and rows.face.shape == (5, 3, 20, 58)
        last = batches[1]["speaker"]["emotion"][0] * toy.gain.item()  # the toy's mirror
        torch.testing.assert_close(torch.from_numpy(rows.emotion[4, 1]), last)
    with pytest.raises(ConfigError, match="a toy-mirror model does not reconstruct"):
        model_predictions(toy, batches, "reconstruct", 3, 5, Generation(), progress=False)


def test_clip_rows_of_another_family():
    toy, items = ToyMirror(STREAMS), [{"speaker": c} for c in _clips(2, 33)]
    rows = clip_predictions(toy, items, "offline", 2, 0, Generation(chunk_frames=10), False)
    assert [e.shape for e in rows.emotion] == [(2, 33, 25)] * 2
    with pytest.raises(ConfigError, match="does not reconstruct"):
        clip_predictions(toy, items, "reconstruct", 2, 0, Generation(chunk_frames=10), False)


def test_a_split_is_generated_one_way_whoever_asks():
    """split_predictions is model_predictions over batches of BATCH items (batch i: seed + i)
    for clips of one length, clip_predictions item by item otherwise: per-item arrays."""
    toy, clips = ToyMirror(STREAMS), _clips(BATCH + 3, 20)
    items = [{"speaker": c} for c in clips]
    generation = Generation(steps=2, chunk_frames=10)
    got = split_predictions(toy, items, "offline", 2, 7, generation, True, False)
    assert len(got.emotion) == BATCH + 3 and got.face[0].shape == (2, 20, 58)
    batches = [
        {"speaker": {s: torch.stack([c[s] for c in part]) for s in STREAMS}}
        for part in (clips[:BATCH], clips[BATCH:])
    ]
    want = model_predictions(toy, batches, "offline", 2, 7, generation, False)
    for k in range(BATCH + 3):
        assert (got.emotion[k] == want.emotion[k]).all() and (got.face[k] == want.face[k]).all()
    whole = split_predictions(toy, items, "offline", 2, 7, generation, False, False)
    clipwise = clip_predictions(toy, items, "offline", 2, 7, generation, False)
    assert all((a == b).all() for a, b in zip(whole.emotion, clipwise.emotion, strict=True))
