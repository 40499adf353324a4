"""The `data` stage: generate the synthetic drop, or fingerprint a real REACT root.

With ``data.source: synthetic`` the drop is written to ``data.root`` (DVC caches it). With a
path, the real data stays where it is (it is large and gated); ``data.root`` then holds only
``source.json``: the absolute root and a fingerprint of every file's path, size and mtime, so
DVC re-runs the later stages when the real drop changes.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from reactdiff.atomic import atomic_dir, write_json
from reactdiff.config import Params
from reactdiff.data.formats import Format, resolve_format
from reactdiff.errors import DataFileError
from reactdiff.stages.result import StageOptions, StageResult

NAME = "data"
SOURCE_FILE = "source.json"
Options = StageOptions
OWNER = "reactdiff data"  # data.root is replaced whole: only ever an earlier output of this


def fingerprint(root: Path, fmt: Format) -> dict:
    """Path, size and mtime of every file under a real root, hashed into one digest."""
    missing = [p for p in fmt.required_paths(root) if not p.exists()]
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
    fmt = resolve_format(params.data)
    drop = fmt.write_synthetic(params.data.root, params, {}, workers, options.progress, OWNER)
    run_params.update(drop.spec, workers=workers)
    return dict(drop.summary)


def run(params: Params, options: Options) -> StageResult:
    """Write ``data.root``."""
    start = time.perf_counter()
    run_params = {"source": params.data.source, "format": params.data.format}
    if params.data.is_synthetic:
        summary = _synthesize(params, options, run_params)
    else:
        root = params.data.react_root
        summary = fingerprint(root, resolve_format(params.data, root))
        with atomic_dir(params.data.root, owner=OWNER) as tmp:
            write_json(tmp / SOURCE_FILE, summary)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    return StageResult(
        summary=f"data: {summary}",
        run_params=run_params,
        metrics={"seconds": summary["seconds"]},
        documents={"data_summary.json": summary},
    )
