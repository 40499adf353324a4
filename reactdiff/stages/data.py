"""The `data` stage: generate the synthetic drop, or fingerprint a real REACT root.

With ``data.source: synthetic`` the drop is written to ``data.root`` (DVC caches it). With a
path, the real data stays where it is (it is large and gated); ``data.root`` then holds only
``source.json``: the absolute root and a fingerprint of every file's path, size and mtime, so
DVC re-runs the later stages when the real drop changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path

from reactdiff.atomic import atomic_dir, write_json
from reactdiff.config import Params
from reactdiff.data.format import REACT2024, REACT2025, ReactFormat
from reactdiff.data.layout import SPLITS, ReactLayout
from reactdiff.data.layouts import resolve_format
from reactdiff.data.mars import INDEX_STREAM, MODALITY_DIRS
from reactdiff.data.synthetic.drop import SynthSpec, write_drop
from reactdiff.data.synthetic.mars import MarsSynthSpec, plan_recordings, write_mars_drop
from reactdiff.errors import DataFileError
from reactdiff.stages.result import StageOptions, StageResult

NAME = "data"
SOURCE_FILE = "source.json"
Options = StageOptions
OWNER = "reactdiff data"  # data.root is replaced whole: only ever an earlier output of this


def _required(root: Path, fmt: ReactFormat) -> list[Path]:
    """What a root of the format must have before anything else is read."""
    if fmt.name == REACT2025.name:
        return [root / s / MODALITY_DIRS[INDEX_STREAM] for s in SPLITS]
    return [p for s in SPLITS for p in (ReactLayout(root).split_csv(s), root / s)]


def fingerprint(root: Path, fmt: ReactFormat = REACT2024) -> dict:
    """Path, size and mtime of every file under a real root, hashed into one digest."""
    missing = [p for p in _required(root, fmt) if not p.exists()]
    if missing:
        raise DataFileError(root, f"not a {fmt.name} root: missing " + ", ".join(map(str, missing)))
    digest, n = hashlib.sha256(), 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        st = path.stat()
        digest.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        n += 1
    return {
        "source": str(root.resolve()),
        "format": fmt.name,
        "files": n,
        "fingerprint": digest.hexdigest(),
    }


def _synthesize(params: Params, options: Options, run_params: dict) -> dict:
    """Write the synthetic drop of ``data.format`` into data.root; its summary. ``run_params``
    gains the drop's spec."""
    workers = params.data.synthetic.workers
    if resolve_format(params.data).name == REACT2025.name:
        mars = MarsSynthSpec.from_params(params)
        run_params.update(dataclasses.asdict(mars), workers=workers)
        write_mars_drop(
            params.data.root, mars, workers=workers, progress=options.progress, owner=OWNER
        )
        frames = sum(r.frames for r in plan_recordings(mars))
        return {
            "source": "synthetic",
            "format": REACT2025.name,
            "dyads": mars.dyads,
            "sessions": mars.sessions,
            "clips": mars.dyads * mars.sessions,  # one per (dyad, session), under both roles
            "total_frames": frames,
            "total_clip_seconds": round(frames / mars.fps, 2),
        }
    spec = SynthSpec.from_params(params)
    run_params.update(dataclasses.asdict(spec), workers=workers)
    write_drop(params.data.root, spec, workers=workers, progress=options.progress, owner=OWNER)
    return {
        "source": "synthetic",
        "sessions": spec.sessions,
        "clips": spec.sessions * spec.clips_per_session,
    }


def run(params: Params, options: Options) -> StageResult:
    """Write ``data.root``."""
    start = time.perf_counter()
    run_params = {"source": params.data.source, "format": params.data.format}
    if params.data.is_synthetic:
        summary = _synthesize(params, options, run_params)
    else:
        summary = fingerprint(params.data.react_root, resolve_format(params.data))
        with atomic_dir(params.data.root, owner=OWNER) as tmp:
            write_json(tmp / SOURCE_FILE, summary)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    return StageResult(
        summary=f"data: {summary}",
        run_params=run_params,
        metrics={"seconds": summary["seconds"]},
        documents={"data_summary.json": summary},
    )
