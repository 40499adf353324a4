"""The REACT 2025 session protocol: ground-truth draws, whole-item and chunked scoring, alignment,
rectangular metrics."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from reactdiff.errors import InputError
from reactdiff.evaluation import metrics as m
from reactdiff.evaluation.baselines import TrainStats, b_mean_seq
from reactdiff.evaluation.inputs import MetricInputError, validate_metric_inputs
from reactdiff.evaluation.protocols import session as sp
from reactdiff.evaluation.protocols.session import (
    ProtocolError,
    SessionProtocol,
    draw_ground_truths,
    load_post_processor,
    pad_to_item,
    score_session_protocol,
    score_whole_items,
)
from tests.evaluation.test_metrics import _case
from tests.helpers.emotions import emotion_sequences


# --------------------------------------------------------------------------- rectangular metrics
def _as_pool(c: dict[str, np.ndarray], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The listeners permuted, some duplicated, as a pool (J, T, 25) with (N, J) neighbours that
    mark, for each speaker, every copy of each of its square neighbours."""
    rng = np.random.default_rng(seed)
    n = c["listener"].shape[0]
    order = np.concatenate([rng.permutation(n), rng.integers(0, n, 3)])
    return c["listener"][order], c["neighbours"][:, order]  # pool column i: listener order[i]


def _as_ordered_pool(c: dict[str, np.ndarray], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A pool holding the listeners in order, some twice, one speaker's neighbour never: each
    speaker marks one copy (at random) of each neighbour, so its candidates keep their order."""
    rng = np.random.default_rng(seed)
    n = c["listener"].shape[0]
    used = np.flatnonzero(c["neighbours"].any(axis=0))
    order = np.sort(np.concatenate([used, rng.choice(used, 3)]))
    nb = np.zeros((n, len(order)), dtype=np.int64)
    for k in range(n):
        for j in np.flatnonzero(c["neighbours"][k]):
            nb[k, rng.choice(np.flatnonzero(order == j))] = 1
    return c["listener"][order], nb


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rectangular_fr_corr_equals_square(seed: int) -> None:
    c = _case(seed)
    c["neighbours"][:, 4] = 0  # listener 4 is nobody's neighbour: left out of the pool
    c["neighbours"][4, 3] = 1
    pool, nb = _as_ordered_pool(c, seed)
    assert pool.shape[0] == 8 and nb.shape == (6, 8)
    assert m.fr_corr(c["pred"], pool, nb) == m.fr_corr(c["pred"], c["listener"], c["neighbours"])


def test_rectangular_fr_corr_any_order_equals_square_to_round_off() -> None:
    """Candidates of a row in another order or count: the CCC's matrix product (BLAS) may round
    differently in the last bit, the max over them is the same to round-off."""
    c = _case(1)
    pool, nb = _as_pool(c, 1)
    got = m.fr_corr(c["pred"], pool, nb)
    assert got == pytest.approx(m.fr_corr(c["pred"], c["listener"], c["neighbours"]), rel=1e-14)


@pytest.mark.parametrize(
    ("backend", "as_pool"),
    [("numba", _as_pool), ("numba", _as_ordered_pool), ("torch", _as_pool)],
    ids=["numba-any-order", "numba-ordered", "torch-any-order"],
)
def test_rectangular_fr_dist_equals_square(backend: str, as_pool) -> None:
    """Every DTW is computed on its own, so any order or duplicate gives the same minimum."""
    c = _case(2, n=4, s=2, t=100)
    pool, nb = as_pool(c, 2)
    got = m.fr_dist(c["pred"], pool, nb, backend=backend)
    assert got == m.fr_dist(c["pred"], c["listener"], c["neighbours"], backend=backend)


def test_pool_smaller_than_n() -> None:
    """J < N: every speaker scored against the same two listeners."""
    c = _case(3, n=4, s=2, t=100)
    pool = c["listener"][[2, 0]]
    nb = np.ones((4, 2), dtype=bool)
    square = np.zeros((4, 4), dtype=int)
    square[:, [0, 2]] = 1
    validate_metric_inputs(c["pred"], pool, c["speaker"], nb, pool=True)
    assert m.fr_corr(c["pred"], pool, nb) == m.fr_corr(c["pred"], c["listener"], square)
    assert m.fr_dist(c["pred"], pool, nb) == m.fr_dist(c["pred"], c["listener"], square)


POOL_BAD = {
    "columns": (
        lambda c: {"neighbours": np.ones((3, 4))},
        "neighbours: 4 columns do not match J = 5",
    ),
    "rows": (lambda c: {"neighbours": np.ones((2, 5))}, "neighbours: 2 rows do not match N = 3"),
    "rank": (lambda c: {"neighbours": np.ones(5)}, "neighbours: expected an (N, J) matrix"),
    "empty row": (lambda c: {"neighbours": np.eye(3, 5)[[0, 1, 1]] * [[1], [1], [0]]}, "row 2"),
    "T": (lambda c: {"listener": c["listener"][:, :-1]}, "listener: T = 99 does not match"),
    "empty pool": (
        lambda c: {"listener": c["listener"][:0], "neighbours": None},
        "listener: empty pool",
    ),
}


@pytest.mark.parametrize("name", sorted(POOL_BAD))
def test_pool_validation_names_the_input(name: str) -> None:
    c = _case(4, n=3, s=2, t=100)
    c["listener"] = emotion_sequences(np.random.default_rng(4), (5,), 100)
    c["neighbours"] = np.ones((3, 5))
    build, message = POOL_BAD[name]
    c.update(build(c))
    with pytest.raises(MetricInputError, match=re.escape(message)):
        validate_metric_inputs(c["pred"], c["listener"], c["speaker"], c["neighbours"], pool=True)


def test_square_check_unchanged_without_pool() -> None:
    c = _case(4, n=3, s=2, t=100)
    with pytest.raises(MetricInputError, match="neighbours: expected a square"):
        validate_metric_inputs(c["pred"], c["listener"], None, np.ones((3, 5)))


# --------------------------------------------------------------------------- ground truths
def test_draws_without_replacement_when_enough_others() -> None:
    gts = draw_ground_truths([list(range(12))], SessionProtocol())
    (row,) = gts
    assert row[0] == 0 and len(row) == 10
    assert len(set(row[1:])) == 9 and 0 not in row[1:]


def test_draws_with_replacement_from_few_others() -> None:
    gts = draw_ground_truths([[0], [1, 0, 2, 3], [2, 0]], SessionProtocol(seed=3))
    assert gts[0] == [0] * 10  # no others: the true listener, 9 times
    assert gts[1][0] == 1 and len(gts[1]) == 10 and set(gts[1][1:]) <= {0, 2, 3}
    assert len(set(gts[1][1:])) > 1
    assert gts[2] == [2] + [0] * 9


def test_draws_are_seeded() -> None:
    appropriate = [list(range(20)) for _ in range(5)]
    a = draw_ground_truths(appropriate, SessionProtocol(seed=1))
    assert a == draw_ground_truths(appropriate, SessionProtocol(seed=1))
    assert a != draw_ground_truths(appropriate, SessionProtocol(seed=2))


def test_protocol_refuses_chunks_too_short_for_the_metrics() -> None:
    with pytest.raises(ProtocolError, match="min_chunk_frames"):
        SessionProtocol(min_chunk_frames=50)
    with pytest.raises(InputError, match="gt_samples"):
        SessionProtocol(gt_samples=-1)


# --------------------------------------------------------------------------- scoring
def _items(seed: int, lengths: list[int], s: int = 2) -> tuple[list, list, list]:
    rng = np.random.default_rng(seed)
    preds = [emotion_sequences(rng, (s,), n).astype(np.float32) for n in lengths]
    speakers = [emotion_sequences(rng, (), n).astype(np.float32) for n in lengths]
    listeners = [emotion_sequences(rng, (), n).astype(np.float32) for n in lengths]
    return preds, speakers, listeners


def _direct(pred, speaker, pool, nb) -> dict[str, float]:
    """The 2024 metric functions on one rectangular input."""
    return {
        "FRCorr": m.fr_corr(pred, pool, nb),
        "FRDist": m.fr_dist(pred, pool, nb),
        "FRDiv": m.fr_div(pred),
        "FRVar": m.fr_var(pred),
        "FRSyn": m.fr_syn(pred, speaker, samples="first"),
        "FRSyn_all": m.fr_syn(pred, speaker, samples="all"),
    }


def test_equal_length_items_score_as_the_2024_metrics() -> None:
    protocol = SessionProtocol(gt_samples=3, seed=5)
    preds, speakers, listeners = _items(0, [750] * 4)
    gts = draw_ground_truths([[0, 1, 2], [1, 0], [2, 3, 0, 1], [3]], protocol)
    got, context = score_session_protocol(preds, speakers, listeners, gts, protocol)
    distinct = [list(dict.fromkeys(row)) for row in gts]
    pool = np.stack([listeners[j] for row in distinct for j in row])
    nb = np.zeros((4, len(pool)), dtype=bool)
    col = 0
    for k, row in enumerate(distinct):
        nb[k, col : col + len(row)] = True
        col += len(row)
    assert got == _direct(np.stack(preds), np.stack(speakers), pool, nb)
    assert context["scored_chunks"] == 4 and context["dropped_chunks"] == 0
    assert context["gt_per_chunk"] == nb.sum() / 4
    assert context["alignment"] == "crop" and context["au_rounding"] is True


def test_ground_truths_as_neighbours_reproduce_compute_all() -> None:
    """With every neighbour as a ground truth, the protocol is the 2024 evaluation (bit for bit
    when each item lists them in the matrix's order, see the FRCorr tests above)."""
    c = _case(6, n=5, s=2, t=120)
    gts = [np.flatnonzero(row).tolist() for row in c["neighbours"]]  # k included: diagonal 1
    got, _ = score_session_protocol(
        list(c["pred"]),
        list(c["speaker"]),
        list(c["listener"]),
        gts,
        SessionProtocol(chunk_frames=120),
        round_aus=False,
    )
    want = m.compute_all(c["pred"], c["listener"], c["speaker"], c["neighbours"])
    assert got == {key: want[key] for key in sp.SESSION_METRIC_KEYS}


def test_long_items_are_scored_in_chunks() -> None:
    """700 = 300 + 300 + 100 (kept: min 100), 690 = 300 + 300 + 90 (dropped), 80 (no chunk).

    Item 0's second ground truth (listener 1, 690 frames) does not cover its last chunk."""
    protocol = SessionProtocol(gt_samples=1, chunk_frames=300, min_chunk_frames=100)
    preds, speakers, listeners = _items(1, [700, 690, 80])
    gts = [[0, 1], [1, 0], [2, 0]]
    got, context = score_session_protocol(preds, speakers, listeners, gts, protocol)
    assert context == {
        "scoring": "chunked",
        "items": 3,
        "scored_chunks": 5,
        "dropped_chunks": 2,
        "dropped_frames": 90 + 80,
        "items_without_chunks": 1,
        "chunk_frames": 300,
        "min_chunk_frames": 100,
        "gt_per_chunk": 9 / 5,
        "alignment": "crop",
        "au_rounding": True,
    }
    chunks = [(0, 0, 300), (0, 300, 600), (0, 600, 700), (1, 0, 300), (1, 300, 600)]
    per_chunk = []
    for k, a, b in chunks:
        pool = np.stack([listeners[j][a:b] for j in gts[k] if len(listeners[j]) >= b])
        nb = np.ones((1, len(pool)), dtype=bool)
        per_chunk.append(_direct(preds[k][None, :, a:b], speakers[k][None, a:b], pool, nb))
    for key in sp.SESSION_METRIC_KEYS:
        assert got[key] == pytest.approx(np.mean([v[key] for v in per_chunk]), rel=1e-12)


def test_batches_are_weighted_by_size(monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = SessionProtocol(gt_samples=2, chunk_frames=150)
    preds, speakers, listeners = _items(2, [450, 300, 150, 420])
    gts = draw_ground_truths([[0, 1, 2, 3]] * 4, protocol)
    args = (preds, speakers, listeners, gts, protocol)
    whole, _ = score_session_protocol(*args)
    monkeypatch.setattr(sp, "_BATCH", 2)
    batched, context = score_session_protocol(*args, progress=True)
    assert context["scored_chunks"] == 3 + 2 + 1 + 3  # 420 = 150 + 150 + 120
    assert batched == pytest.approx(whole, rel=1e-12)


def _matching_case(gt_frames: int) -> tuple[dict[str, float], dict, dict[str, dict]]:
    """One 600-frame item whose prediction is listener 1's reaction (its first ``gt_frames``
    frames available), its true listener 0 unrelated; chunks of 300 frames. Returns the scores,
    the context, and the direct metrics of the chunks against chosen candidates."""
    protocol = SessionProtocol(gt_samples=1, chunk_frames=300)
    rng = np.random.default_rng(7)
    match = emotion_sequences(rng, (), 600).astype(np.float32)
    pred = np.stack([match, match])
    listeners = [emotion_sequences(rng, (), 600).astype(np.float32), match[:gt_frames]]
    speaker = emotion_sequences(rng, (), 600).astype(np.float32)
    got, context = score_session_protocol([pred], [speaker], listeners, [[0, 1]], protocol)

    def chunk(a: int, b: int, candidates: list[np.ndarray]) -> dict[str, float]:
        pool = np.stack([c[a:b] for c in candidates])
        return _direct(pred[None, :, a:b], speaker[None, a:b], pool, np.ones((1, len(pool))))

    direct = {
        "first": chunk(0, 300, [listeners[0], match]),
        "second": chunk(300, 600, [listeners[0], match]),
        "second alone": chunk(300, 600, [listeners[0]]),
    }
    return got, context, direct


def test_a_ground_truth_too_short_for_a_chunk_is_left_out() -> None:
    full, full_context, direct = _matching_case(600)
    short, short_context, _ = _matching_case(450)
    assert full_context["gt_per_chunk"] == 2.0 and short_context["gt_per_chunk"] == 1.5
    assert full["FRDist"] == 0.0  # the matching listener is a candidate in both chunks
    # without it, the second chunk has only the unrelated listener 0
    for key in ("FRCorr", "FRDist"):
        first, second, alone = (direct[c][key] for c in ("first", "second", "second alone"))
        assert full[key] == pytest.approx((first + second) / 2, rel=1e-12)
        assert short[key] == pytest.approx((first + alone) / 2, rel=1e-12)
    assert short["FRCorr"] < full["FRCorr"] - 0.1


def test_a_chunk_without_ground_truth_is_an_error() -> None:
    preds, speakers, listeners = _items(8, [400, 400])
    listeners[0] = listeners[0][:350]  # the true listener ends before the item
    with pytest.raises(ProtocolError, match=r"ground_truths\[0\].*\[300, 400\)"):
        score_session_protocol(
            preds, speakers, listeners, [[0], [1]], SessionProtocol(chunk_frames=300)
        )


def test_nothing_to_score_is_an_error() -> None:
    preds, speakers, listeners = _items(9, [90, 60])
    with pytest.raises(ProtocolError, match="nothing to score"):
        score_session_protocol(preds, speakers, listeners, [[0], [1]], SessionProtocol())


def test_mismatched_item_is_named() -> None:
    preds, speakers, listeners = _items(9, [200, 200])
    speakers[1] = speakers[1][:150]
    with pytest.raises(ProtocolError, match=r"speakers\[1\]"):
        score_session_protocol(preds, speakers, listeners, [[0], [1]], SessionProtocol())
    with pytest.raises(ProtocolError, match=r"ground_truths\[1\]: empty"):
        score_session_protocol(preds, speakers[:1] * 2, listeners, [[0], []], SessionProtocol())


def test_au_rounding() -> None:
    """AUs of 0.4/0.6 score as the rounded 0/1 prediction; the caller's array is untouched."""
    protocol = SessionProtocol(gt_samples=1, chunk_frames=200)
    preds, speakers, listeners = _items(10, [200, 200])
    soft = [p.copy() for p in preds]
    for p in soft:
        p[..., :15] = np.where(p[..., :15] > 0.5, 0.6, 0.4)
    before = [p.copy() for p in soft]
    args = (speakers, listeners, [[0, 1], [1, 0]], protocol)
    rounded, context = score_session_protocol(soft, *args)
    assert rounded == score_session_protocol(preds, *args, round_aus=False)[0]
    assert all(np.array_equal(a, b) for a, b in zip(soft, before, strict=True))
    unrounded, off = score_session_protocol(soft, *args, round_aus=False)
    assert unrounded != rounded and context["au_rounding"] and not off["au_rounding"]


# --------------------------------------------------------------------------- whole items
def test_pad_to_item_crops_or_holds_the_last_frame() -> None:
    gt = np.arange(5 * 25, dtype=np.float32).reshape(5, 25)
    cropped, added = pad_to_item(gt, 3)
    assert added == 0 and np.array_equal(cropped, gt[:3])
    padded, added = pad_to_item(gt, 8)
    assert added == 3 and np.array_equal(padded[:5], gt)
    assert np.array_equal(padded[5:], np.repeat(gt[4:], 3, axis=0))
    assert pad_to_item(gt, 5)[1] == 0


def test_each_item_is_the_2024_metrics_of_that_item_alone() -> None:
    """Items of different lengths: an item's values are the 2024 metrics of a batch of one
    against its distinct ground truths (longer ones cropped), the result their plain mean."""
    preds, speakers, listeners = _items(20, [300, 180, 420])
    gts = [[0, 2, 2], [1, 0], [2, 0, 1]]  # item 0 lists listener 2 twice: it counts once
    got, per_item, context = score_whole_items(preds, speakers, listeners, gts)
    listeners_for = {0: [0, 2], 1: [1, 0], 2: [2]}  # item 2: listeners 0, 1 are shorter
    for k, ids in listeners_for.items():
        length = preds[k].shape[1]
        pool = np.stack([listeners[j][:length] for j in ids])
        if k == 2:  # the shorter ones, last frame held up to the item's 420 frames
            pool = np.stack([listeners[2]] + [pad_to_item(listeners[j], length)[0] for j in (0, 1)])
        want = _direct(preds[k][None], speakers[k][None], pool, np.ones((1, len(pool)), bool))
        assert {key: v[k] for key, v in per_item.items()} == want, k
    for key in sp.SESSION_METRIC_KEYS:
        assert per_item[key].shape == (3,)
        assert got[key] == pytest.approx(per_item[key].mean(), rel=1e-15)
    assert context["scoring"] == "whole" and context["scored_items"] == 3
    assert context["gt_per_item"] == 7 / 3
    assert context["padded_gts"] == 2 and context["padded_frames"] == (420 - 300) + (420 - 180)


def test_whole_items_are_not_chunk_weighted() -> None:
    """A long and a short item weigh the same: not so in chunks of 200 frames."""
    preds, speakers, listeners = _items(21, [800, 200])
    gts = [[0], [1]]
    got, per_item, _ = score_whole_items(preds, speakers, listeners, gts)
    assert got["FRDist"] == pytest.approx(per_item["FRDist"].mean(), rel=1e-15)
    chunked, _ = score_session_protocol(
        preds, speakers, listeners, gts, SessionProtocol(gt_samples=0, chunk_frames=200)
    )
    assert chunked["FRDist"] != pytest.approx(got["FRDist"])


def test_whole_items_too_short_are_left_out_counted() -> None:
    preds, speakers, listeners = _items(22, [300, 60])
    got, per_item, context = score_whole_items(preds, speakers, listeners, [[0], [1]])
    assert context["short_items"] == 1 and per_item["FRCorr"].shape == (1,)
    alone, _, _ = score_whole_items(preds[:1], speakers[:1], listeners[:1], [[0]])
    assert got == alone
    with pytest.raises(ProtocolError, match="nothing to score"):
        score_whole_items(preds[1:], speakers[1:], listeners[1:], [[0]])


def test_whole_item_errors_name_the_item() -> None:
    preds, speakers, listeners = _items(23, [200, 200])
    with pytest.raises(ProtocolError, match=r"listener 5 out of range"):
        score_whole_items(preds, speakers, listeners, [[0], [5]])
    with pytest.raises(ProtocolError, match=r"ground_truths\[1\]: empty"):
        score_whole_items(preds, speakers, listeners, [[0], []])
    with pytest.raises(ProtocolError, match=r"speakers\[1\]"):
        score_whole_items(preds, [speakers[0], speakers[1][:150]], listeners, [[0], [1]])
    listeners[1][7, 3] = np.nan
    with pytest.raises(
        ProtocolError, match=r"item 0 \(pool rows: listeners \[0, 1\]\).*\(1, 7, 3\)"
    ):
        score_whole_items(preds, speakers, listeners, [[0, 1], [1]])


def test_whole_items_round_the_aus() -> None:
    preds, speakers, listeners = _items(24, [200, 200])
    soft = [p.copy() for p in preds]
    for p in soft:
        p[..., :15] = np.where(p[..., :15] > 0.5, 0.6, 0.4)
    args = (speakers, listeners, [[0, 1], [1, 0]])
    rounded = score_whole_items(soft, *args)[0]
    assert rounded == score_whole_items(preds, *args, round_aus=False)[0]
    assert score_whole_items(soft, *args, round_aus=False)[0] != rounded


# --------------------------------------------------------------------------- TorchScript
class _Resample(torch.nn.Module):
    """Nearest-frame resampling of the ground truth to the prediction's length."""

    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        length = pred.shape[1]
        index = torch.arange(length) * gt.shape[0] // length
        return gt[index]


class _Wrong(torch.nn.Module):
    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return gt[:5]


def _save(module: torch.nn.Module, path: Path) -> Path:
    torch.jit.script(module).save(str(path))
    return path


def test_torchscript_alignment_covers_every_chunk(tmp_path: Path) -> None:
    align = load_post_processor(_save(_Resample(), tmp_path / "post.pt"))
    protocol = SessionProtocol(gt_samples=2, chunk_frames=200)
    preds, speakers, listeners = _items(11, [400, 400, 260])
    listeners[1] = listeners[1][:230]  # shorter than item 0: crop leaves it out of chunk 2
    gts = [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
    got, context = score_session_protocol(preds, speakers, listeners, gts, protocol, align=align)
    assert context["alignment"] == "torchscript"
    assert context["gt_per_chunk"] == 3.0  # every ground truth covers every chunk
    _, cropped = score_session_protocol(preds, speakers, listeners, gts, protocol)
    assert cropped["gt_per_chunk"] < 3.0
    # the same as cropping ground truths resampled beforehand, item by item
    per_item = []
    for k in range(3):
        length = preds[k].shape[1]
        resampled = [listeners[j][np.arange(length) * len(listeners[j]) // length] for j in gts[k]]
        want, _ = score_session_protocol(
            [preds[k]], [speakers[k]], resampled, [[0, 1, 2]], protocol
        )
        alone, _ = score_session_protocol(
            [preds[k]], [speakers[k]], listeners, [gts[k]], protocol, align=align
        )
        assert alone == want
        per_item.append(alone)
    chunks = [2, 2, 1]  # 260 = 200 + 60 (dropped)
    for key in sp.SESSION_METRIC_KEYS:
        want = np.dot([v[key] for v in per_item], chunks) / 5
        assert got[key] == pytest.approx(want, rel=1e-12)


def test_torchscript_alignment_of_whole_items(tmp_path: Path) -> None:
    """The post-processor brings every ground truth to the item's length: nothing is padded,
    the values those of ground truths resampled beforehand."""
    align = load_post_processor(_save(_Resample(), tmp_path / "post.pt"))
    preds, speakers, listeners = _items(25, [400, 260])
    listeners[1] = listeners[1][:230]
    gts = [[0, 1], [1, 0]]
    _, per_item, context = score_whole_items(preds, speakers, listeners, gts, align=align)
    assert context["alignment"] == "torchscript" and context["padded_gts"] == 0
    for k in range(2):
        length = preds[k].shape[1]
        resampled = [listeners[j][np.arange(length) * len(listeners[j]) // length] for j in gts[k]]
        want, _, _ = score_whole_items([preds[k]], [speakers[k]], resampled, [[0, 1]])
        assert {key: v[k] for key, v in per_item.items()} == want


def test_post_processor_of_the_wrong_shape_names_the_file(tmp_path: Path) -> None:
    path = _save(_Wrong(), tmp_path / "wrong.pt")
    preds, speakers, listeners = _items(12, [200])
    with pytest.raises(ProtocolError, match=r"wrong\.pt: returned shape \(5, 25\)"):
        score_session_protocol(
            preds, speakers, listeners, [[0]], SessionProtocol(), align=load_post_processor(path)
        )


def test_post_processor_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match=r"missing\.pt: no such"):
        load_post_processor(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a module")
    with pytest.raises(ProtocolError, match=r"junk\.pt: not a TorchScript module"):
        load_post_processor(junk)


# --------------------------------------------------------------------------- baselines
def test_train_stats_from_clips() -> None:
    """Pieces of 4 frames: clip A (10) -> 4, 4, 2; clip B (3) -> 3."""
    rng = np.random.default_rng(13)
    a, b = rng.random((10, 25)), rng.random((3, 25))
    stats = TrainStats.from_clips([a, b], chunk_frames=4)
    want = np.stack(
        [
            np.mean([a[0], a[4], a[8], b[0]], axis=0),
            np.mean([a[1], a[5], a[9], b[1]], axis=0),
            np.mean([a[2], a[6], b[2]], axis=0),
            np.mean([a[3], a[7]], axis=0),
        ]
    )
    assert stats.mean_sequence.dtype == np.float32 and stats.mean_frame.dtype == np.float32
    np.testing.assert_allclose(stats.mean_sequence, want, rtol=1e-6)
    np.testing.assert_allclose(stats.mean_frame, np.concatenate([a, b]).mean(axis=0), rtol=1e-6)


def test_train_stats_frames_no_clip_reaches_get_the_mean_frame() -> None:
    clip = np.random.default_rng(14).random((3, 25))
    stats = TrainStats.from_clips([clip], chunk_frames=5)
    np.testing.assert_allclose(stats.mean_sequence[:3], clip, rtol=1e-6)
    np.testing.assert_array_equal(stats.mean_sequence[3:], [stats.mean_frame] * 2)


def test_train_stats_from_equal_clips_match_from_sequences() -> None:
    seqs = np.random.default_rng(15).random((4, 120, 25), dtype=np.float32)
    a, b = TrainStats.from_clips(list(seqs), 120), TrainStats.from_sequences(seqs)
    np.testing.assert_allclose(a.mean_sequence, b.mean_sequence, rtol=1e-6)
    np.testing.assert_allclose(a.mean_frame, b.mean_frame, rtol=1e-6)


def test_b_mean_seq_tiles_past_its_length() -> None:
    rng = np.random.default_rng(16)
    stats = TrainStats.from_clips([rng.random((10, 25))], chunk_frames=4)
    out = b_mean_seq(np.zeros((1, 10, 25)), None, stats, 3, rng)
    assert out.shape == (1, 3, 10, 25)
    np.testing.assert_array_equal(out[0, 2], stats.mean_sequence[[0, 1, 2, 3, 0, 1, 2, 3, 0, 1]])


def test_b_mean_seq_unchanged_up_to_its_length() -> None:
    """The 2024 path: a read-only view of the first T frames, no copy."""
    rng = np.random.default_rng(17)
    stats = TrainStats.from_sequences(rng.random((3, 120, 25), dtype=np.float32))
    for t in (100, 120):
        out = b_mean_seq(np.zeros((2, t, 25)), None, stats, 4, rng)
        assert np.shares_memory(out, stats.mean_sequence)
        np.testing.assert_array_equal(out, np.broadcast_to(stats.mean_sequence[:t], (2, 4, t, 25)))
