"""A small drawn face per frame, encoded to mp4 with PyAV.

Head position follows yaw/pitch, brows rise with AU1/AU2 and drop with AU4, eyes narrow
with AU6/AU7, the mouth widens with AU12 (smile) and opens with speech (AU25/AU26). All
frames of a clip are drawn at once with array masks into a palette image.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from reactdiff.data.format import REACT2024
from reactdiff.data.synthetic.conversation import SideSignals

PALETTE = np.array(
    [[40, 44, 52], [224, 182, 150], [250, 250, 250], [40, 30, 25], [70, 40, 30], [160, 60, 60]],
    dtype=np.uint8,
)  # background, skin, eye white, pupil/brow, hair, mouth
BG, SKIN, WHITE, DARK, HAIR, MOUTH = range(6)


def _paint(label: np.ndarray, cx, cy, rx, ry, value: int) -> None:
    """Paint one ellipse per frame, touching only a window around its centre."""
    _, h, w = label.shape
    half = int(np.ceil(max(np.max(rx), np.max(ry)))) + 1
    off = np.arange(-half, half + 1)
    ix = np.rint(cx).astype(np.int64)[:, None] + off  # (n, k) columns
    iy = np.rint(cy).astype(np.int64)[:, None] + off  # (n, k) rows
    dx = ((ix - cx[:, None]) / rx[:, None]) ** 2
    dy = ((iy - cy[:, None]) / ry[:, None]) ** 2
    dx[(ix < 0) | (ix >= w)] = np.inf
    dy[(iy < 0) | (iy >= h)] = np.inf
    f, r, c = np.nonzero(dy[:, :, None] + dx[:, None, :] <= 1)
    label[f, iy[f, r], ix[f, c]] = value


def _heads(cx: np.ndarray, cy: np.ndarray, size: int, s: float) -> np.ndarray:
    """Hair and skin: one sprite drawn once, pasted at each frame's (rounded) head position."""
    canvas = np.full((1, 3 * size, 3 * size), BG, dtype=np.uint8)
    c = np.array([1.5 * size])
    _paint(canvas, c, c - 6 * s, np.array([31 * s]), np.array([34 * s]), HAIR)
    _paint(canvas, c, c, np.array([29 * s]), np.array([35 * s]), SKIN)
    label = np.empty((len(cx), size, size), dtype=np.uint8)
    ox = np.clip(np.rint(1.5 * size - cx).astype(int), 0, 2 * size)
    oy = np.clip(np.rint(1.5 * size - cy).astype(int), 0, 2 * size)
    for i in range(len(cx)):
        label[i] = canvas[0, oy[i] : oy[i] + size, ox[i] : ox[i] + size]
    return label


def draw_faces(side: SideSignals, size: int) -> np.ndarray:
    """(F, size, size, 3) uint8 frames of one side."""
    n = len(side.talk)
    s = size / 96.0
    act = 1.0 / (1.0 + np.exp(-side.au_activation))  # soft AUs for smooth motion
    pitch, yaw = side.face_3dmm[:, 52], side.face_3dmm[:, 53]
    cx = (48 + 60 * yaw) * s
    cy = (50 + 60 * pitch) * s
    ones = np.ones(n, dtype=np.float32)

    label = _heads(cx, cy, size, s)
    eye_h = (3.5 - 1.5 * act[:, 3] - 1.0 * act[:, 4]) * s
    brow_y = cy - (15 + 4 * (act[:, 0] + act[:, 1]) - 3 * act[:, 2]) * s
    for side_x in (-11, 11):
        ex = cx + side_x * s
        _paint(label, ex, cy - 7 * s, 5 * s * ones, eye_h, WHITE)
        _paint(label, ex, cy - 7 * s, 2 * s * ones, np.minimum(eye_h, 2 * s), DARK)
        _paint(label, ex, brow_y, 6 * s * ones, 1.3 * s * ones, DARK)
    mouth_w = (8 + 5 * act[:, 7]) * s
    mouth_h = (1.2 + 7 * side.mouth_open) * s
    mouth_y = cy + (15 - 2 * act[:, 7] + 2 * act[:, 9]) * s
    _paint(label, cx, mouth_y, mouth_w, mouth_h, MOUTH)
    return np.take(PALETTE, label, axis=0)


def encode_mp4(frames: np.ndarray, path: Path, fps: int = REACT2024.fps) -> None:
    """H.264 mp4 at ``fps``; single-threaded so the same frames give the same bytes."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"crf": "26", "preset": "ultrafast", "threads": "1"}
        for img in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode(None))
