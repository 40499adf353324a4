"""The drawn face: the synthetic drop's frames are those of the drawing as it was before the
face took plain per-frame arrays (the drop is a DVC output), and the valence/arousal cues
that rendered reactions add are drawn only when given."""

from __future__ import annotations

import numpy as np
import pytest

from reactdiff.data.synthetic.conversation import SideSignals, Style, simulate_clip
from reactdiff.data.synthetic.face import FaceDrive, draw_face_frames, draw_faces

# --- the reference: the drawing of the drop as written before the refactor, verbatim ---------

_REF_PALETTE = np.array(
    [[40, 44, 52], [224, 182, 150], [250, 250, 250], [40, 30, 25], [70, 40, 30], [160, 60, 60]],
    dtype=np.uint8,
)
_BG, _SKIN, _WHITE, _DARK, _HAIR, _MOUTH = range(6)


def _ref_paint(label, cx, cy, rx, ry, value):
    _, h, w = label.shape
    half = int(np.ceil(max(np.max(rx), np.max(ry)))) + 1
    off = np.arange(-half, half + 1)
    ix = np.rint(cx).astype(np.int64)[:, None] + off
    iy = np.rint(cy).astype(np.int64)[:, None] + off
    dx = ((ix - cx[:, None]) / rx[:, None]) ** 2
    dy = ((iy - cy[:, None]) / ry[:, None]) ** 2
    dx[(ix < 0) | (ix >= w)] = np.inf
    dy[(iy < 0) | (iy >= h)] = np.inf
    f, r, c = np.nonzero(dy[:, :, None] + dx[:, None, :] <= 1)
    label[f, iy[f, r], ix[f, c]] = value


def _ref_heads(cx, cy, size, s):
    canvas = np.full((1, 3 * size, 3 * size), _BG, dtype=np.uint8)
    c = np.array([1.5 * size])
    _ref_paint(canvas, c, c - 6 * s, np.array([31 * s]), np.array([34 * s]), _HAIR)
    _ref_paint(canvas, c, c, np.array([29 * s]), np.array([35 * s]), _SKIN)
    label = np.empty((len(cx), size, size), dtype=np.uint8)
    ox = np.clip(np.rint(1.5 * size - cx).astype(int), 0, 2 * size)
    oy = np.clip(np.rint(1.5 * size - cy).astype(int), 0, 2 * size)
    for i in range(len(cx)):
        label[i] = canvas[0, oy[i] : oy[i] + size, ox[i] : ox[i] + size]
    return label


def _ref_draw_faces(side: SideSignals, size: int) -> np.ndarray:
    n = len(side.talk)
    s = size / 96.0
    act = 1.0 / (1.0 + np.exp(-side.au_activation))
    pitch, yaw = side.face_3dmm[:, 52], side.face_3dmm[:, 53]
    cx = (48 + 60 * yaw) * s
    cy = (50 + 60 * pitch) * s
    ones = np.ones(n, dtype=np.float32)

    label = _ref_heads(cx, cy, size, s)
    eye_h = (3.5 - 1.5 * act[:, 3] - 1.0 * act[:, 4]) * s
    brow_y = cy - (15 + 4 * (act[:, 0] + act[:, 1]) - 3 * act[:, 2]) * s
    for side_x in (-11, 11):
        ex = cx + side_x * s
        _ref_paint(label, ex, cy - 7 * s, 5 * s * ones, eye_h, _WHITE)
        _ref_paint(label, ex, cy - 7 * s, 2 * s * ones, np.minimum(eye_h, 2 * s), _DARK)
        _ref_paint(label, ex, brow_y, 6 * s * ones, 1.3 * s * ones, _DARK)
    mouth_w = (8 + 5 * act[:, 7]) * s
    mouth_h = (1.2 + 7 * side.mouth_open) * s
    mouth_y = cy + (15 - 2 * act[:, 7] + 2 * act[:, 9]) * s
    _ref_paint(label, cx, mouth_y, mouth_w, mouth_h, _MOUTH)
    return np.take(_REF_PALETTE, label, axis=0)


# ----------------------------------------------------------------------------------------------


def _sides(seed: int, fps: int, frames: int) -> tuple[SideSignals, SideSignals]:
    rng = np.random.default_rng(seed)
    styles = (Style.sample(rng, fps), Style.sample(rng, fps))
    return simulate_clip(rng, styles, frames).sides


@pytest.mark.parametrize(
    ("seed", "fps", "size"), [(0, 25, 96), (7, 25, 96), (3, 30, 96), (11, 25, 64), (5, 30, 128)]
)
def test_the_drop_draws_the_same_frames_as_before(seed, fps, size):
    for side in _sides(seed, fps, 300):
        expected = _ref_draw_faces(side, size)
        got = draw_faces(side, size)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_the_comparison_sees_a_changed_face():
    """The reference is not vacuous: a side whose mouth opens differently draws other frames."""
    side = _sides(1, 25, 100)[0]
    moved = SideSignals(
        emotion=side.emotion,
        face_3dmm=side.face_3dmm,
        talk=side.talk,
        au_activation=side.au_activation,
        mouth_open=np.clip(side.mouth_open + 0.3, 0, 1),
        fps=side.fps,
    )
    assert not np.array_equal(draw_faces(moved, 96), _ref_draw_faces(side, 96))


def test_valence_and_arousal_cues_are_drawn_only_when_given():
    n = 4
    still = FaceDrive(
        au=np.zeros((n, 15)), pitch=np.zeros(n), yaw=np.zeros(n), mouth_open=np.zeros(n)
    )
    plain = draw_face_frames(still, 96)
    va = np.array([-1.0, 0.0, 1.0, 1.0])
    cued = draw_face_frames(
        FaceDrive(still.au, still.pitch, still.yaw, still.mouth_open, va, np.array([0, 0, 0, -1])),
        96,
    )
    assert plain.shape == cued.shape == (n, 96, 96, 3)
    assert all(not np.array_equal(plain[i], cued[i]) for i in range(n))
    assert not np.array_equal(cued[0], cued[2])  # a frown is not a smile
    assert not np.array_equal(cued[2], cued[3])  # the arousal dot moved
