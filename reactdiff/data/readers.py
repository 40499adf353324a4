"""Readers for the 3DMM, audio and video files of a REACT drop (Emotion CSVs: ``format``).

Each reader either returns well-formed arrays or raises DataFileError naming the file and the
problem; nothing is padded, truncated past what the format allows, or guessed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reactdiff.data.columns import FACE_3DMM_DIM
from reactdiff.errors import DataFileError

NPY_MAGIC = b"\x93NUMPY"  # how every .npy file starts
PICKLE_REFUSED = (
    "holds a pickled Python object, not a numeric array (refused: loading pickles can run code)"
)


def _not_npy(head: bytes) -> str:
    """What a file without the .npy magic is, as far as its first bytes tell."""
    if head.startswith(b"\x80"):  # the opcode every binary pickle starts with
        return PICKLE_REFUSED
    if head.startswith(b"PK\x03\x04"):
        return "an .npz (zip) archive, not an .npy array file"
    return "empty, not an .npy array file" if not head else "not an .npy array file"


def load_npy(path: Path) -> np.ndarray:
    """A numeric (or boolean) .npy array as stored. Pickles are refused, never loaded: a file
    from a drop is not trusted, and unpickling runs whatever code the file names."""
    if not path.is_file():
        raise DataFileError(path, "file not found")
    try:
        with path.open("rb") as f:
            head = f.read(len(NPY_MAGIC))
    except OSError as err:
        raise DataFileError(path, f"cannot be read: {err.strerror or err}") from None
    if head != NPY_MAGIC:
        raise DataFileError(path, _not_npy(head))
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        if "pickle" in str(err).lower():  # an object array: its items are pickles
            raise DataFileError(path, PICKLE_REFUSED) from None
        raise DataFileError(path, f"damaged .npy array file: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise DataFileError(path, f"holds {arr.dtype} values, not a numeric array")
    return arr


def read_3dmm(path: Path, frames: int | None = None) -> np.ndarray:
    """3DMM coefficients (T, 58) or (T, 1, 58) as float32 (frames, 58); all T when None."""
    arr = load_npy(path)
    if arr.ndim == 3 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 2 or arr.shape[1] != FACE_3DMM_DIM:
        raise DataFileError(
            path, f"shape {arr.shape}, expected (T, {FACE_3DMM_DIM}) or (T, 1, {FACE_3DMM_DIM})"
        )
    if frames is not None and len(arr) < frames:
        raise DataFileError(path, f"has {len(arr)} frames, need at least {frames}")
    if len(arr) == 0:
        raise DataFileError(path, "has no frames")
    arr = arr[:frames].astype(np.float32)
    if not np.isfinite(arr).all():
        raise DataFileError(path, "non-finite 3DMM coefficients")
    return arr


def read_audio(path: Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 waveform (channels averaged), resampled when ``sample_rate`` is given."""
    import soundfile as sf

    if not path.is_file():
        raise DataFileError(path, "audio file not found")
    try:
        wav, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, EOFError) as err:
        raise DataFileError(path, f"not a readable audio file: {err}") from None
    mono = wav.mean(axis=1)
    if len(mono) == 0:
        raise DataFileError(path, "audio file has no samples")
    if sample_rate is not None and sample_rate != rate:
        import torch
        import torchaudio.functional as AF

        mono = AF.resample(torch.from_numpy(mono), rate, sample_rate).numpy()
        rate = sample_rate
    return mono, rate


def audio_info(path: Path) -> tuple[float, int, int]:
    """(duration in seconds, sample rate, channels) from the header, without decoding."""
    import soundfile as sf

    if not path.is_file():
        raise DataFileError(path, "audio file not found")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise DataFileError(path, f"not a readable audio file: {err}") from None
    return info.frames / info.samplerate, info.samplerate, info.channels


def _png_frames(folder: Path) -> list[Path]:
    frames = [p for p in folder.iterdir() if re.fullmatch(r"\d+\.png", p.name)]
    return sorted(frames, key=lambda p: int(p.stem))


def read_video(path: Path, frames: int | None = None) -> np.ndarray:
    """RGB frames (T, H, W, 3) uint8 from an mp4 or a folder of 1.png ... N.png."""
    if path.is_dir():
        from PIL import Image

        files = _png_frames(path)[:frames]
        if not files:
            raise DataFileError(path, "video folder has no numbered PNG frames")
        return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    import av

    if not path.is_file():
        raise DataFileError(path, "video file not found")
    out = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                out.append(frame.to_ndarray(format="rgb24"))
                if frames is not None and len(out) == frames:
                    break
    except av.error.FFmpegError as err:
        raise DataFileError(path, f"not a readable video: {err}") from None
    if not out:
        raise DataFileError(path, "video has no frames")
    return np.stack(out)


def count_video_frames(path: Path) -> int:
    """Frame count without decoding pixels: container metadata, else a demux pass."""
    if path.is_dir():
        return len(_png_frames(path))
    import av

    if not path.is_file():
        raise DataFileError(path, "video file not found")
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            next(container.decode(stream))  # proves the stream decodes
            if stream.frames:
                return int(stream.frames)
            container.seek(0)
            return sum(1 for pkt in container.demux(stream) if pkt.size)
    except (av.error.FFmpegError, IndexError, StopIteration) as err:
        raise DataFileError(path, f"not a readable video: {err or 'no video stream'}") from None


def npy_rows(path: Path) -> int:
    """Rows (the first dimension) of an .npy array, read from its header: a clip's frame count
    without loading its data. Pickles are refused as by ``load_npy``."""
    if not path.is_file():
        raise DataFileError(path, "file not found")
    with path.open("rb") as f:
        head = f.read(len(NPY_MAGIC))
    if head != NPY_MAGIC:
        raise DataFileError(path, _not_npy(head))
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataFileError(path, f"damaged .npy array file: {err}") from None
    if arr.ndim == 0:
        raise DataFileError(path, "holds a scalar, not per-frame rows")
    return int(arr.shape[0])
