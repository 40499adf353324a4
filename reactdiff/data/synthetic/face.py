"""A small drawn face per frame, encoded to mp4 with PyAV.

Head position follows yaw/pitch, brows rise with AU1/AU2 and drop with AU4, eyes narrow
with AU6/AU7, the mouth widens with AU12 (smile) and opens with speech (AU25/AU26). All
frames of a clip are drawn at once with array masks into a palette image.

The drawing takes plain per-frame arrays (:class:`FaceDrive`), so the synthetic drop
(:func:`draw_faces`, from a simulated side) and the videos of generated reactions
(``reactdiff.data.render``, from emotion and 3DMM arrays) draw the same face. The optional
valence/arousal cues are only drawn when given, so the drop's frames do not depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from reactdiff.data.columns import AU_COLUMNS, ROTATION_SLICE
from reactdiff.data.synthetic.conversation import SideSignals

PALETTE = np.array(
    [
        [40, 44, 52],
        [224, 182, 150],
        [250, 250, 250],
        [40, 30, 25],
        [70, 40, 30],
        [160, 60, 60],
        [62, 68, 80],
        [120, 200, 120],
        [90, 96, 110],
    ],
    dtype=np.uint8,
)  # background, skin, eye white, pupil/brow, hair, mouth; the valence/arousal cue's box,
# dot and axes (only in rendered reactions, never in the synthetic drop)
BG, SKIN, WHITE, DARK, HAIR, MOUTH, CUE_BOX, CUE_DOT, CUE_AXIS = range(len(PALETTE))

# the AUs the face shows, as columns of an AU array (format.AU_COLUMNS order)
AU1, AU2, AU4, AU6, AU7, AU12, AU15 = (
    AU_COLUMNS.index(a) for a in ("AU1", "AU2", "AU4", "AU6", "AU7", "AU12", "AU15")
)
PITCH, YAW = ROTATION_SLICE.start, ROTATION_SLICE.start + 1  # 3DMM columns


@dataclass(frozen=True)
class FaceDrive:
    """What moves a drawn face, frame by frame (F frames).

    ``au``: (F, 15) activations in [0, 1] (format.AU_COLUMNS order); ``pitch``/``yaw``: (F,)
    head rotation in radians (the head centre moves 60 px per radian at 96 px); ``mouth_open``:
    (F,) in [0, 1]. ``valence``/``arousal`` (F,) in [-1, 1], when given, bend the mouth
    corners up or down with valence and place a dot in a small valence/arousal box at the
    bottom right; without them the face is exactly the synthetic drop's."""

    au: np.ndarray
    pitch: np.ndarray
    yaw: np.ndarray
    mouth_open: np.ndarray
    valence: np.ndarray | None = None
    arousal: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.au)

    def frames(self, start: int, stop: int) -> FaceDrive:
        """Frames ``start:stop`` only, so a long clip can be drawn piece by piece."""

        def cut(x: np.ndarray | None) -> np.ndarray | None:
            return None if x is None else x[start:stop]

        return FaceDrive(
            au=self.au[start:stop],
            pitch=self.pitch[start:stop],
            yaw=self.yaw[start:stop],
            mouth_open=self.mouth_open[start:stop],
            valence=cut(self.valence),
            arousal=cut(self.arousal),
        )


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


def _va_cue(label: np.ndarray, valence: np.ndarray, arousal: np.ndarray, s: float) -> None:
    """A box at the bottom right with its axes and a dot at (valence, arousal)."""
    _, h, w = label.shape
    half = round(9 * s)
    x0, y0 = w - 2 * half - 2, h - 2 * half - 2  # top-left corner of the box
    label[:, y0 : y0 + 2 * half + 1, x0 : x0 + 2 * half + 1] = CUE_BOX
    label[:, y0 + half, x0 : x0 + 2 * half + 1] = CUE_AXIS
    label[:, y0 : y0 + 2 * half + 1, x0 + half] = CUE_AXIS
    dot = np.full(len(valence), 1.8 * s)
    cx = x0 + half + np.clip(valence, -1, 1) * (half - 1)
    cy = y0 + half - np.clip(arousal, -1, 1) * (half - 1)  # aroused: up
    _paint(label, cx, cy, dot, dot, CUE_DOT)


def draw_face_labels(drive: FaceDrive, size: int) -> np.ndarray:
    """(F, size, size) palette indices (``PALETTE``) of the face ``drive`` moves."""
    act = drive.au
    n = len(act)
    s = size / 96.0
    cx = (48 + 60 * drive.yaw) * s
    cy = (50 + 60 * drive.pitch) * s
    ones = np.ones(n, dtype=np.float32)

    label = _heads(cx, cy, size, s)
    eye_h = (3.5 - 1.5 * act[:, AU6] - 1.0 * act[:, AU7]) * s
    brow_y = cy - (15 + 4 * (act[:, AU1] + act[:, AU2]) - 3 * act[:, AU4]) * s
    for side_x in (-11, 11):
        ex = cx + side_x * s
        _paint(label, ex, cy - 7 * s, 5 * s * ones, eye_h, WHITE)
        _paint(label, ex, cy - 7 * s, 2 * s * ones, np.minimum(eye_h, 2 * s), DARK)
        _paint(label, ex, brow_y, 6 * s * ones, 1.3 * s * ones, DARK)
    mouth_w = (8 + 5 * act[:, AU12]) * s
    mouth_h = (1.2 + 7 * drive.mouth_open) * s
    mouth_y = cy + (15 - 2 * act[:, AU12] + 2 * act[:, AU15]) * s
    _paint(label, cx, mouth_y, mouth_w, mouth_h, MOUTH)
    if drive.valence is not None:  # corners up for a positive valence, down for a negative
        corner_y = mouth_y - 3.5 * s * np.clip(drive.valence, -1, 1)
        for side_x in (-1, 1):
            corner_x = cx + side_x * (mouth_w - 1.0 * s)
            _paint(label, corner_x, corner_y, 2.2 * s * ones, 1.4 * s * ones, MOUTH)
    if drive.valence is not None and drive.arousal is not None:
        _va_cue(label, drive.valence, drive.arousal, s)
    return label


def draw_face_frames(drive: FaceDrive, size: int) -> np.ndarray:
    """(F, size, size, 3) uint8 RGB frames of the face ``drive`` moves."""
    return np.take(PALETTE, draw_face_labels(drive, size), axis=0)


def draw_faces(side: SideSignals, size: int) -> np.ndarray:
    """(F, size, size, 3) uint8 frames of one simulated side (the synthetic drop's video)."""
    drive = FaceDrive(
        au=1.0 / (1.0 + np.exp(-side.au_activation)),  # soft AUs for smooth motion
        pitch=side.face_3dmm[:, PITCH],
        yaw=side.face_3dmm[:, YAW],
        mouth_open=side.mouth_open,
    )
    return draw_face_frames(drive, size)


def encode_mp4(frames: np.ndarray, path: Path, fps: int) -> None:
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
