"""Write a whole synthetic drop in the REACT 2024 layout.

Sessions are assigned to train/val/test first (no session in two splits), then written in
parallel, each from its own seed (``[seed, session index]``), so the bytes do not depend on
the number of workers. Emotion CSVs name the sides P1/P2, everything else uses NoXI
(Expert_video/Novice_video) or RECOLA (P25/P26, P41/P42, P45/P46) names.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from tqdm import tqdm

from reactdiff.atomic import atomic_dir
from reactdiff.config import Params
from reactdiff.data.appropriateness import neighbour_matrix
from reactdiff.data.columns import write_emotion
from reactdiff.data.formats.react2024 import REACT2024, ReactLayout
from reactdiff.data.splits import SPLITS, Pair, write_split_csv
from reactdiff.data.synthetic.audio import render_audio
from reactdiff.data.synthetic.conversation import Style, simulate_clip
from reactdiff.data.synthetic.face import draw_faces, encode_mp4
from reactdiff.data.synthetic.split_assignment import assign_splits

RECOLA_GROUPS = (("P25", "P26"), ("P41", "P42"), ("P45", "P46"))
NOXI_CITIES = ("Paris", "Nottingham", "Augsburg")


@dataclass(frozen=True)
class SynthSpec:
    """Everything that determines a synthetic drop's bytes."""

    sessions: int
    clips_per_session: int
    seed: int
    video: bool
    video_size: int
    frames: int  # per clip, as stored
    audio_rate: int
    split_fractions: tuple[float, float, float]
    neighbour_threshold: float

    @staticmethod
    def from_params(params: Params, **overrides: Any) -> SynthSpec:
        """The drop that ``data.synthetic`` describes, in the REACT 2024 format (whatever
        ``data.format`` says: this writer knows one layout; ``mars.MarsSynthSpec`` the other)."""
        s, fmt = params.data.synthetic, REACT2024
        spec = SynthSpec(
            sessions=s.sessions,
            clips_per_session=s.clips_per_session,
            seed=params.base.seed,
            video=s.video,
            video_size=s.video_size,
            frames=fmt.clip_frames,
            audio_rate=fmt.audio_rate,
            split_fractions=tuple(s.split_fractions),
            neighbour_threshold=s.neighbour_threshold,
        )
        return replace(spec, **overrides)


def session_sides(index: int, n_sessions: int) -> tuple[str, str]:
    """The two side folders of a session: ``<dataset>/<session>/<side>``.

    The last sessions (at most 3, at least 1) are RECOLA-style, the rest NoXI-style.
    """
    n_recola = min(len(RECOLA_GROUPS), max(1, n_sessions // 8))
    r = index - (n_sessions - n_recola)
    if r >= 0:
        a, b = RECOLA_GROUPS[r]
        return f"RECOLA/group-{r + 1}/{a}", f"RECOLA/group-{r + 1}/{b}"
    day = index % 28 + 1
    name = f"{index + 1:03d}_2016-{index // 28 + 3:02d}-{day:02d}_{NOXI_CITIES[index % 3]}"
    return f"NoXI/{name}/Expert_video", f"NoXI/{name}/Novice_video"


def _write_side(root: Path, split: str, rel: str, side, wav: np.ndarray, spec: SynthSpec) -> None:
    layout = ReactLayout(root)
    paths = {s: layout.clip_path(split, rel, s) for s in ("audio", "emotion", "3dmm", "video")}
    for s, p in paths.items():
        if s != "video" or spec.video:
            p.parent.mkdir(parents=True, exist_ok=True)
    sf.write(paths["audio"], wav, spec.audio_rate, subtype="PCM_16")
    write_emotion(paths["emotion"], side.emotion)
    np.save(paths["3dmm"], side.face_3dmm[:, None, :])
    if spec.video:
        encode_mp4(draw_faces(side, spec.video_size), paths["video"], REACT2024.fps)


def _write_session(
    args: tuple[Path, SynthSpec, int, str],
) -> list[tuple[Pair, np.ndarray, np.ndarray]]:
    """Write every clip of one session; return (pair, P1 emotion, P2 emotion) per clip."""
    root, spec, index, split = args
    rng = np.random.default_rng([spec.seed, index])
    styles = (Style.sample(rng, REACT2024.fps), Style.sample(rng, REACT2024.fps))
    sides = session_sides(index, spec.sessions)
    out = []
    for clip in range(1, spec.clips_per_session + 1):
        signals = simulate_clip(rng, styles, spec.frames)
        rels = [f"{s}/{clip}" for s in sides]
        wavs = render_audio(signals.sides, (styles[0].f0, styles[1].f0), spec.audio_rate, rng)
        for p in range(2):
            _write_side(root, split, rels[p], signals.sides[p], wavs[p], spec)
        out.append((Pair(rels[0], rels[1]), signals.sides[0].emotion, signals.sides[1].emotion))
    return out


def write_drop(
    out: Path | str,
    spec: SynthSpec,
    workers: int = 1,
    progress: bool = True,
    owner: str = "reactdiff synth",
) -> Path:
    """Generate the drop into ``out`` atomically (a killed run leaves the old ``out`` intact).

    ``out`` is replaced whole, so it must be absent, empty or an earlier output of ``owner``
    (the command writing it)."""
    out = Path(out)
    splits = assign_splits(spec.sessions, spec.split_fractions, spec.seed)
    with atomic_dir(out, owner=owner) as tmp:
        jobs = [(tmp, spec, i, splits[i]) for i in range(spec.sessions)]
        bar = tqdm(total=spec.sessions, desc="synth sessions", unit="session", disable=not progress)
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                results = []
                for r in pool.map(_write_session, jobs):
                    results.append(r)
                    bar.update()
        else:
            results = []
            for job in jobs:
                results.append(_write_session(job))
                bar.update()
        bar.close()
        _write_splits(tmp, spec, splits, results)
        (tmp / "synthetic_drop.json").write_text(json.dumps(asdict(spec), indent=2) + "\n")
    return out


def _write_splits(root: Path, spec: SynthSpec, splits: list[str], results: list) -> None:
    frames = spec.frames - 1  # REACT 2024 clips store one frame more than the challenge uses
    for split in SPLITS:
        clips = [c for s, r in zip(splits, results, strict=True) if s == split for c in r]
        pairs = [c[0] for c in clips]
        write_split_csv(root / f"{split}.csv", pairs)
        if split == "train":
            continue
        # mirrored order: rows as given (speaker = P1), then mirrored (speaker = P2)
        speakers = np.stack([c[1][:frames] for c in clips] + [c[2][:frames] for c in clips])
        m = neighbour_matrix(speakers, spec.neighbour_threshold)
        np.save(ReactLayout(root).neighbour_matrix(split), m)
