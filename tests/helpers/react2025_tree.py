"""A small REACT 2025 (MARS) tree written file by file, not by the synthetic generator: what
the tests check the layout, features, split and evaluation against.

Per split, ``sessions`` sessions x ``recordings`` recordings, each with a speaker and a
listener file of the same name; lengths from ``lengths`` (cycled). Values are plain
random draws in the documented ranges: AUs 0/1, valence/arousal in [-1, 1], 8 probabilities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

FPS = 30
AUDIO_RATE = 16000
SPLITS = ("train", "val", "test")


def emotion(rng: np.random.Generator, frames: int) -> np.ndarray:
    """(frames, 25): AUs, valence/arousal, expression probabilities; smooth in time."""
    walk = np.cumsum(rng.normal(0, 0.1, (frames, 10)), axis=0)
    aus = (np.sin(walk[:, :1] + np.arange(15)) > 0.3).astype(np.float32)
    va = np.tanh(walk[:, 1:3])
    logits = walk[:, 2:10]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return np.column_stack([aus, va, probs]).astype(np.float32)


def write_clip(root: Path, split: str, rel: str, frames: int, rng: np.random.Generator) -> None:
    """Every modality file of one clip (no video)."""
    files = {
        "facial-attributes": emotion(rng, frames),
        "coefficients": rng.normal(0, 0.1, (frames, 1, 58)).astype(np.float32),
    }
    for modality, array in files.items():
        path = root / split / modality / f"{rel}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array)
    wav = root / split / "audio" / f"{rel}.wav"
    wav.parent.mkdir(parents=True, exist_ok=True)
    samples = round(frames * AUDIO_RATE / FPS)
    tone = 0.1 * np.sin(2 * np.pi * rng.uniform(100, 300) * np.arange(samples) / AUDIO_RATE)
    sf.write(wav, tone.astype(np.float32), AUDIO_RATE, subtype="PCM_16")


def write_mars_tree(
    root: Path,
    sessions: int = 2,
    recordings: int = 2,
    lengths: tuple[int, ...] = (130, 170, 200, 160),
    seed: int = 0,
) -> Path:
    """The tree under ``root``; recording names are unique across splits."""
    rng = np.random.default_rng(seed)
    i = 0
    for split in SPLITS:
        for s in range(sessions):
            for r in range(recordings):
                name = f"Camera-{split}-{s}-{r}"
                frames = lengths[i % len(lengths)]
                i += 1
                for role in ("speaker", "listener"):
                    write_clip(root, split, f"{role}/session{s}/{name}", frames, rng)
    return root
