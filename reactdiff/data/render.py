"""Videos to watch whether generated reactions fit: the speaker next to drawn listener faces.

A person judges a reaction by watching it with the speaker, not by reading 25 columns, so
``reaction_video`` writes one mp4: a grid of labelled tiles, the speaker first (its own video,
or, without one, the synthetic drop's face drawn from the speaker's emotion and 3DMM), then one
drawn face per generated reaction, with the speaker's audio. ``comparison_video`` puts the
ground-truth listener next to the samples, for the evaluation.

A face is driven by a REACT emotion row and 3DMM row (``face_drive``): its AUs, head pose
(rotation, plus translation relative to the clip's mean), mouth opening from AU25/AU26, and a
valence/arousal cue (mouth corners and a dot in a box). Frames are drawn and encoded a chunk at
a time, so memory does not grow with the clip (REACT 2025 clips run to minutes).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from reactdiff.atomic import atomic_path
from reactdiff.data.columns import (
    AU_COLUMNS,
    AU_SLICE,
    EMOTION_DIM,
    FACE_3DMM_DIM,
    TRANSLATION_SLICE,
    VA_SLICE,
)
from reactdiff.data.readers import read_audio
from reactdiff.data.synthetic.face import PALETTE, PITCH, YAW, FaceDrive, draw_face_labels
from reactdiff.errors import DataFileError

TILE_SIZE = 128  # pixels of a square tile (a multiple of 16: even for yuv420p)
LABEL_HEIGHT = 16  # pixels of the label band above each tile (even)
CHUNK_FRAMES = 125  # frames drawn and encoded at a time
MAX_POSE = 0.4  # the head centre stays within +-MAX_POSE * 60 px (at 96 px) of the middle
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)

TX, TY = TRANSLATION_SLICE.start, TRANSLATION_SLICE.start + 1  # 3DMM columns
AU25, AU26 = AU_COLUMNS.index("AU25"), AU_COLUMNS.index("AU26")

_BG = tuple(int(v) for v in PALETTE[0])
_LABEL_BG = (24, 26, 32)
SPEAKER_COLOUR = (235, 235, 235)
REACTION_COLOUR = (150, 200, 255)
TRUTH_COLOUR = (140, 230, 140)


def face_drive(emotion: np.ndarray | None, face_3dmm: np.ndarray | None, frames: int) -> FaceDrive:
    """The drawn face of ``frames`` frames of REACT emotion (T, 25) and 3DMM (T, 58) rows.

    Either may be None (that part of the face stays neutral), and both are cut to ``frames``.
    Translation moves the head relative to its mean over the clip, since its units and offset
    depend on the 3DMM fit; the head is kept inside the tile."""
    zeros = np.zeros(frames)
    if emotion is not None:
        emotion = _rows(emotion, EMOTION_DIM, frames, "emotion")
        au = np.clip(emotion[:, AU_SLICE], 0, 1).astype(np.float64)
        valence, arousal = (
            np.clip(emotion[:, i], -1, 1) for i in range(VA_SLICE.start, VA_SLICE.stop)
        )
        mouth = np.clip(0.25 * au[:, AU25] + 0.55 * au[:, AU26], 0, 1)
    else:
        au, valence, arousal, mouth = np.zeros((frames, AU_SLICE.stop)), zeros, zeros, zeros
    pitch, yaw = zeros, zeros
    if face_3dmm is not None:
        face_3dmm = _rows(face_3dmm, FACE_3DMM_DIM, frames, "3DMM").astype(np.float64)
        shift = face_3dmm[:, [TX, TY]] - face_3dmm[:, [TX, TY]].mean(axis=0)
        pitch = np.clip(face_3dmm[:, PITCH] - shift[:, 1], -MAX_POSE, MAX_POSE)  # image y is down
        yaw = np.clip(face_3dmm[:, YAW] + shift[:, 0], -MAX_POSE, MAX_POSE)
    return FaceDrive(
        au=au, pitch=pitch, yaw=yaw, mouth_open=mouth, valence=valence, arousal=arousal
    )


def _rows(values: np.ndarray, dim: int, frames: int, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3 and values.shape[1] == 1:  # (T, 1, 58) as REACT stores 3DMM
        values = values[:, 0]
    if values.ndim != 2 or values.shape[1] != dim or len(values) < frames:
        raise ValueError(f"{what} must be (>= {frames}, {dim}), got {values.shape}")
    return values[:frames]


def grid_size(tiles: int, size: int = TILE_SIZE, columns: int | None = None) -> tuple[int, int]:
    """(width, height) of a video of ``tiles`` labelled tiles of ``size`` pixels."""
    cols, rows = _grid(tiles, columns)
    return cols * size, rows * (size + LABEL_HEIGHT)


def _grid(tiles: int, columns: int | None) -> tuple[int, int]:
    """(columns, rows): about twice as many columns as rows, which suits a screen."""
    if columns is None:
        columns = math.ceil(tiles / max(1, round(math.sqrt(tiles / 2))))
    return columns, math.ceil(tiles / columns)


# --- colour: frames are built as yuv420p planes, which the encoder takes as they are -----------
# (converting RGB frames with swscale cost more than drawing and encoding them together)


_BT601 = (
    np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
    / 255
)  # RGB in 0..255 -> Y, U, V offsets (limited range)
_BT601_OFFSET = np.array([16.0, 128.0, 128.0])


def _to_bytes(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)  # rounds: x >= 0 here


def rgb_to_yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(..., H, W, 3) uint8 RGB -> Y (..., H, W), U and V (..., H/2, W/2): BT.601 limited range
    (what players assume for untagged yuv420p), chroma from the mean of each 2x2 block."""
    x = rgb.astype(np.float32)
    y = _weigh(x, _BT601[0]) + _BT601_OFFSET[0]
    block = (
        x[..., ::2, ::2, :] + x[..., 1::2, ::2, :] + x[..., ::2, 1::2, :] + x[..., 1::2, 1::2, :]
    ) / 4
    u = _weigh(block, _BT601[1]) + _BT601_OFFSET[1]
    v = _weigh(block, _BT601[2]) + _BT601_OFFSET[2]
    return _to_bytes(y), _to_bytes(u), _to_bytes(v)


def _weigh(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x[..., 0] * w[0] + x[..., 1] * w[1] + x[..., 2] * w[2], without a slow 3-long matmul."""
    out = x[..., 0] * np.float32(w[0])
    out += x[..., 1] * np.float32(w[1])
    out += x[..., 2] * np.float32(w[2])
    return out


# (3, palette entries): the Y, U and V of each palette colour
_PALETTE_YUV = _to_bytes(PALETTE.astype(np.float64) @ _BT601.T + _BT601_OFFSET).T.copy()
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # Y (n, s, s), U and V (n, s/2, s/2)


# --- tiles: each gives its next n frames as yuv420p planes --------------------------------------


class _Tile:
    label: str
    colour: tuple[int, int, int]

    def take(self, n: int) -> Planes:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the tile holds open (a video file)."""


class _FaceTile(_Tile):
    def __init__(self, label: str, colour: tuple[int, int, int], drive: FaceDrive, size: int):
        self.label, self.colour, self.drive, self.size, self.at = label, colour, drive, size, 0

    def take(self, n: int) -> Planes:
        labels = draw_face_labels(self.drive.frames(self.at, self.at + n), self.size)
        self.at += n
        chroma = labels[:, ::2, ::2]  # one palette entry per 2x2 block
        y, u, v = (
            np.take(lut, x, mode="clip")
            for lut, x in zip(_PALETTE_YUV, (labels, chroma, chroma), strict=True)
        )
        return y, u, v


class _StillTile(_Tile):
    def __init__(self, label: str, colour: tuple[int, int, int], size: int):
        self.label, self.colour = label, colour
        self.planes = rgb_to_yuv(np.full((1, size, size, 3), _BG, dtype=np.uint8))

    def take(self, n: int) -> Planes:
        y, u, v = (np.broadcast_to(p, (n, *p.shape[1:])) for p in self.planes)
        return y, u, v


class _VideoTile(_Tile):
    """The frames of a video, fitted to the tile; past its end, its last frame is held."""

    def __init__(self, label: str, colour: tuple[int, int, int], path: Path, size: int):
        self.label, self.colour, self.path, self.size = label, colour, Path(path), size
        self.frames = _video_frames(self.path)
        self.last: np.ndarray | None = None

    def take(self, n: int) -> Planes:
        out = []
        for _ in range(n):
            frame = next(self.frames, None)
            if frame is not None:
                self.last = fit_tile(frame, self.size)
            elif self.last is None:
                raise DataFileError(self.path, "video has no frames")
            out.append(self.last)
        return rgb_to_yuv(np.stack(out))

    def close(self) -> None:
        self.frames.close()


def _video_frames(path: Path) -> Iterator[np.ndarray]:
    """RGB frames one at a time, from an mp4 or a folder of 1.png ... N.png (as read_video)."""
    if path.is_dir():
        from PIL import Image

        files = sorted(
            (p for p in path.iterdir() if p.suffix == ".png" and p.stem.isdigit()),
            key=lambda p: int(p.stem),
        )
        for f in files:
            yield np.asarray(Image.open(f).convert("RGB"))
        return
    if not path.is_file():
        raise DataFileError(path, "video file not found")
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as err:
        raise DataFileError(path, f"not a readable video: {err}") from None


def fit_tile(image: np.ndarray, size: int) -> np.ndarray:
    """An (H, W, 3) image centre-cropped to a square and resized to (size, size, 3): the mean
    of each block when the side is a multiple of ``size``, the nearest pixel otherwise."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top : top + side, left : left + side]
    if side % size == 0:
        k = side // size
        blocks = square.reshape(size, k, size, k, -1).mean(axis=(1, 3))
        return np.rint(blocks).astype(np.uint8)
    idx = (np.arange(size) * side) // size
    return np.take(np.take(square, idx, axis=0), idx, axis=1)


# --- the video --------------------------------------------------------------------------------


def _background(tiles: Sequence[_Tile], size: int, columns: int | None) -> np.ndarray:
    """The grid's still parts as RGB: background and each tile's label band with its text."""
    from PIL import Image, ImageDraw, ImageFont

    cols, _ = _grid(len(tiles), columns)
    width, height = grid_size(len(tiles), size, columns)
    image = Image.new("RGB", (width, height), _BG)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=LABEL_HEIGHT - 4)
    for i, tile in enumerate(tiles):
        x, y = (i % cols) * size, (i // cols) * (size + LABEL_HEIGHT)
        draw.rectangle([x, y, x + size - 1, y + LABEL_HEIGHT - 1], fill=_LABEL_BG)
        draw.text((x + 3, y + 1), tile.label, fill=tile.colour, font=font)
    return np.asarray(image)


def _audio(path: Path, seconds: float) -> tuple[np.ndarray, int]:
    """The wav as mono float32 of exactly ``seconds`` (cut, or padded with silence)."""
    wav, rate = read_audio(Path(path))
    if rate not in AAC_RATES:
        wav, rate = read_audio(Path(path), 48000)
    n = round(seconds * rate)
    return np.pad(wav[:n], (0, max(0, n - len(wav)))).astype(np.float32), rate


def _write(
    path: Path,
    tiles: Sequence[_Tile],
    frames: int,
    fps: int,
    audio: Path | None,
    size: int,
    columns: int | None,
) -> Path:
    """Encode ``frames`` frames of the tiles' grid (H.264, yuv420p) and the audio (AAC)."""
    if size % 2 or frames < 1:
        raise ValueError(f"need an even tile size and at least one frame: {size}, {frames}")
    path = Path(path)
    try:
        sound = _audio(audio, frames / fps) if audio is not None else None
        _encode(path, tiles, frames, fps, sound, _background(tiles, size, columns), size, columns)
    finally:
        for tile in tiles:
            tile.close()
    return path


def _encode(
    path: Path,
    tiles: Sequence[_Tile],
    frames: int,
    fps: int,
    sound: tuple[np.ndarray, int] | None,
    background: np.ndarray,
    size: int,
    columns: int | None,
) -> None:
    cols, _ = _grid(len(tiles), columns)
    height, width = background.shape[:2]
    # one chunk of frames, each packed as yuv420p wants it: Y rows, then U and V (H/4 rows each)
    buf = np.empty((min(CHUNK_FRAMES, frames), height * 3 // 2, width), dtype=np.uint8)
    quarter = height * width // 4  # one chroma plane
    planes = (
        buf[:, :height],
        buf[:, height:].reshape(len(buf), -1)[:, :quarter].reshape(len(buf), height // 2, -1),
        buf[:, height:].reshape(len(buf), -1)[:, quarter:].reshape(len(buf), height // 2, -1),
    )
    for plane, still in zip(planes, rgb_to_yuv(background), strict=True):
        assert np.shares_memory(plane, buf)
        plane[:] = still  # the labels and empty cells, written once
    with (
        atomic_path(path) as tmp,
        # the index first, so a browser (e.g. MLflow's artifact view) plays it while loading
        av.open(str(tmp), mode="w", format="mp4", options={"movflags": "faststart"}) as container,
    ):
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "23", "preset": "ultrafast"}
        audio = None
        if sound is not None:
            wav, rate = sound
            audio = container.add_stream("aac", rate=rate)
            audio.layout = "mono"
        for start in range(0, frames, CHUNK_FRAMES):
            n = min(CHUNK_FRAMES, frames - start)
            for i, tile in enumerate(tiles):
                x, y = (i % cols) * size, (i // cols) * (size + LABEL_HEIGHT) + LABEL_HEIGHT
                for plane, part, k in zip(planes, tile.take(n), (1, 2, 2), strict=True):
                    plane[:n, y // k : (y + size) // k, x // k : (x + size) // k] = part
            for k in range(n):
                frame = av.VideoFrame.from_ndarray(buf[k], format="yuv420p")
                frame.pts = start + k
                container.mux(video.encode(frame))
            if audio is not None:  # the same span of audio, so the file is interleaved
                a, b = round(start / fps * rate), round((start + n) / fps * rate)
                piece = av.AudioFrame.from_ndarray(wav[None, a:b], format="fltp", layout="mono")
                piece.sample_rate, piece.pts, piece.time_base = rate, a, Fraction(1, rate)
                container.mux(audio.encode(piece))
        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))


def _speaker_tile(
    video: Path | None,
    emotion: np.ndarray | None,
    face_3dmm: np.ndarray | None,
    frames: int,
    size: int,
) -> _Tile:
    if video is not None:
        return _VideoTile("speaker", SPEAKER_COLOUR, video, size)
    if emotion is not None or face_3dmm is not None:
        drive = face_drive(emotion, face_3dmm, frames)
        return _FaceTile("speaker (drawn)", SPEAKER_COLOUR, drive, size)
    return _StillTile("speaker (audio only)", SPEAKER_COLOUR, size)


def _sample_tiles(
    label: str, emotion: np.ndarray, face_3dmm: np.ndarray, frames: int, size: int
) -> list[_Tile]:
    emotion, face_3dmm = np.asarray(emotion), np.asarray(face_3dmm)
    if emotion.ndim != 3 or len(emotion) != len(face_3dmm):
        raise ValueError(
            f"samples must be (S, T, {EMOTION_DIM}) and (S, T, {FACE_3DMM_DIM}), "
            f"got {emotion.shape} and {face_3dmm.shape}"
        )
    return [
        _FaceTile(f"{label} {i}", REACTION_COLOUR, face_drive(e, f, frames), size)
        for i, (e, f) in enumerate(zip(emotion, face_3dmm, strict=True))
    ]


def reaction_video(
    path: Path,
    speaker_video: Path | None,
    speaker_emotion: np.ndarray | None,
    speaker_3dmm: np.ndarray | None,
    reactions_emotion: np.ndarray,
    reactions_3dmm: np.ndarray,
    fps: int,
    audio: Path | None,
    *,
    size: int = TILE_SIZE,
    columns: int | None = None,
) -> Path:
    """Write ``path`` (mp4): the speaker and each generated reaction (S, T, 25) / (S, T, 58)
    as labelled tiles, T frames at ``fps``, with the speaker's audio; returns ``path``.

    The speaker tile is ``speaker_video`` (an mp4 or a PNG folder, at ``fps``) when given, else
    the face drawn from the speaker's emotion (T', 25) and 3DMM (T', 58) rows (T' >= T; either
    may be None), else an empty tile. The file appears whole or not at all."""
    frames = np.asarray(reactions_emotion).shape[1]
    tiles = [
        _speaker_tile(speaker_video, speaker_emotion, speaker_3dmm, frames, size),
        *_sample_tiles("reaction", reactions_emotion, reactions_3dmm, frames, size),
    ]
    return _write(path, tiles, frames, fps, audio, size, columns)


def comparison_video(
    path: Path,
    speaker_video: Path | None,
    speaker_emotion: np.ndarray | None,
    speaker_3dmm: np.ndarray | None,
    listener_emotion: np.ndarray,
    listener_3dmm: np.ndarray,
    samples_emotion: np.ndarray,
    samples_3dmm: np.ndarray,
    fps: int,
    audio: Path | None,
    *,
    size: int = TILE_SIZE,
    columns: int | None = None,
) -> Path:
    """Write ``path`` (mp4): the speaker, the ground-truth listener (T, 25) / (T, 58) and the
    generated samples (S, T, 25) / (S, T, 58), labelled, with the speaker's audio, so the
    samples can be judged against the real reaction. The speaker tile is as in
    ``reaction_video``; T is the samples' length."""
    frames = np.asarray(samples_emotion).shape[1]
    truth = face_drive(listener_emotion, listener_3dmm, frames)
    tiles = [
        _speaker_tile(speaker_video, speaker_emotion, speaker_3dmm, frames, size),
        _FaceTile("ground truth", TRUTH_COLOUR, truth, size),
        *_sample_tiles("sample", samples_emotion, samples_3dmm, frames, size),
    ]
    return _write(path, tiles, frames, fps, audio, size, columns)
