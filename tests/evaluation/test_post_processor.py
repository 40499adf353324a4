"""The challenge's post-processor wrapper: its segment indices, decoding and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reactdiff.evaluation.post_processor import (
    ChallengeAlignment,
    PostProcessorError,
    load_challenge_post_processor,
    segments,
)
from reactdiff.evaluation.protocols.session import score_whole_items
from tests.helpers.emotions import emotion_sequences


class _Echo(torch.nn.Module):
    """A stand-in auto-encoder with the baseline's signature: its input frames as the AU and
    expression logits, the segment's (input_end, output_end) as valence/arousal."""

    def forward(
        self,
        x: torch.Tensor,
        in_start: torch.Tensor,
        in_end: torch.Tensor,
        out_start: torch.Tensor,
        out_end: torch.Tensor,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
        ends = torch.stack((in_end, out_end), dim=-1).float()[:, None, :]
        va = ends.expand(x.shape[0], x.shape[1], 2) + 0 * in_start[:, None, None]
        return (x[..., :15] - 0.5, va + 0 * out_start[:, None, None], x[..., 17:]), x


class _Short(torch.nn.Module):
    def forward(
        self,
        x: torch.Tensor,
        in_start: torch.Tensor,
        in_end: torch.Tensor,
        out_start: torch.Tensor,
        out_end: torch.Tensor,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
        return (x[:, :3, :15], x[:, :3, 15:17], x[:, :3, 17:]), x


def _save(module: torch.nn.Module, path: Path) -> Path:
    torch.jit.script(module).save(str(path))
    return path


def _gt(frames: int, seed: int = 0) -> np.ndarray:
    return emotion_sequences(np.random.default_rng(seed), (), frames).astype(np.float32)


def test_segments_of_a_longer_item() -> None:
    """2500 frames from a 250-frame ground truth: 3 segments reading ceil(250/3) = 84 frames
    (the last 82) and writing 1000 (the last 500), as the baseline's index lists say."""
    gt = _gt(250)
    seg = segments(gt, 2500)
    assert seg.inputs.shape == (3, 1000, 25)
    assert seg.input_end.tolist() == [83, 83, 81] and seg.output_end.tolist() == [999, 999, 499]
    assert np.array_equal(seg.inputs[:, :84].reshape(-1, 25)[:250], gt)
    assert not seg.inputs[2, 82:].any() and not seg.inputs[:, 84:].any()


def test_segments_of_a_shorter_item() -> None:
    """250 frames from a 2500-frame ground truth: 3 segments reading 1000 (the last 500) and
    writing ceil(250/3) = 84 frames (the last 82)."""
    gt = _gt(2500)
    seg = segments(gt, 250)
    assert seg.input_end.tolist() == [999, 999, 499] and seg.output_end.tolist() == [83, 83, 81]
    assert np.array_equal(seg.inputs.reshape(-1, 25)[:2500], gt)
    assert not seg.inputs[2, 500:].any()


def test_one_segment_reads_and_writes_whole_lengths() -> None:
    seg = segments(_gt(300), 500)
    assert seg.input_end.tolist() == [299] and seg.output_end.tolist() == [499]
    seg = segments(_gt(700), 400)
    assert seg.input_end.tolist() == [699] and seg.output_end.tolist() == [399]


def test_alignment_decodes_each_segment(tmp_path: Path) -> None:
    align = load_challenge_post_processor(_save(_Echo(), tmp_path / "ae.pt"))
    assert isinstance(align, ChallengeAlignment)
    gt, pred = _gt(250, 1), np.zeros((2, 2500, 25), dtype=np.float32)
    out = align(pred, gt)
    assert out.shape == (2500, 25)
    seg = segments(gt, 2500)
    rows = np.concatenate([seg.inputs[i, : e + 1] for i, e in enumerate(seg.output_end)])
    assert np.array_equal(out[:, :15], (rows[:, :15] >= 0.5).astype(np.float32))
    expressions = np.exp(rows[:, 17:]) / np.exp(rows[:, 17:]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out[:, 17:], expressions, rtol=1e-6)
    ends = np.repeat(np.stack([seg.input_end, seg.output_end], axis=1), [1000, 1000, 500], axis=0)
    assert np.array_equal(out[:, 15:17], ends.astype(np.float32))


def test_a_ground_truth_of_the_item_length_is_kept(tmp_path: Path) -> None:
    align = load_challenge_post_processor(_save(_Echo(), tmp_path / "ae.pt"))
    gt = _gt(300)
    assert align(np.zeros((1, 300, 25), np.float32), gt) is gt


def test_whole_items_with_the_challenge_alignment(tmp_path: Path) -> None:
    align = load_challenge_post_processor(_save(_Echo(), tmp_path / "ae.pt"))
    rng = np.random.default_rng(3)
    preds = [emotion_sequences(rng, (2,), n).astype(np.float32) for n in (300, 200)]
    speakers = [emotion_sequences(rng, (), n).astype(np.float32) for n in (300, 200)]
    listeners = [_gt(300, 4), _gt(200, 5)]
    _, per_item, context = score_whole_items(preds, speakers, listeners, [[0, 1], [1, 0]], align)
    assert context["alignment"] == "challenge" and context["padded_gts"] == 0
    assert per_item["FRDist"].shape == (2,)


def test_post_processor_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(PostProcessorError, match=r"missing\.pt: no such"):
        load_challenge_post_processor(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a module")
    with pytest.raises(PostProcessorError, match=r"junk\.pt: not a TorchScript module"):
        load_challenge_post_processor(junk)
    short = load_challenge_post_processor(_save(_Short(), tmp_path / "short.pt"))
    with pytest.raises(PostProcessorError, match=r"short\.pt: gave shape \(9, 25\)"):
        short(np.zeros((1, 2500, 25), np.float32), _gt(250))
    with pytest.raises(PostProcessorError, match=r"short\.pt: failed on ground truth \(2, 25\)"):
        short(np.zeros((1, 2500, 25), np.float32), _gt(2))
