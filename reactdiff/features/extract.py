"""Feature extraction: every stream of every clip of every split into the feature store.

A clip's array is recomputed only when the hash of its inputs and params differs from the one
in the manifest (or its file is gone), so a rerun skips unchanged clips and a killed run
resumes where it stopped: arrays are written atomically and the manifest is flushed every few
seconds and when the run ends, however it ends. A bad input file (DataFileError) does not stop
the run: the other clips are extracted and recorded, then ``ExtractionFailed`` names every bad
file. Arrays of clips or streams no longer configured are removed, so the store matches the
params. With ``workers`` > 1 clips run in that many spawned processes; the store's bytes do not
depend on the order in which they finish.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from reactdiff.atomic import OutputFolderError
from reactdiff.config import FeaturesParams
from reactdiff.data.formats import Layout, check_clip_rel
from reactdiff.data.splits import SPLITS, clips_of, read_split_csv
from reactdiff.errors import DataFileError, UserError
from reactdiff.features.base import Extractor
from reactdiff.features.store import MANIFEST, Entry, FeatureStore, Manifest, array_key
from reactdiff.features.streams import build_extractors, resolve_streams

FLUSH_SECONDS = 2.0


@dataclass(frozen=True)
class Job:
    split: str
    rel: str
    hashes: dict[str, str]  # stream to compute -> its input hash


@dataclass
class JobResult:
    entries: list[Entry] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, problem)


@dataclass
class ExtractionSummary:
    streams: tuple[str, ...]
    dims: dict[str, int]
    clips: int
    computed: list[str]  # manifest keys of the arrays written by this run, sorted
    skipped: int  # arrays already current
    removed: int  # files of clips/streams no longer configured
    errors: list[tuple[str, str]]
    seconds: float

    def metrics(self) -> dict[str, float]:
        return {
            "clips": self.clips,
            "arrays_computed": len(self.computed),
            "arrays_skipped": self.skipped,
            "arrays_removed": self.removed,
            "failed_files": len(self.errors),
            "seconds": self.seconds,
        }


class ExtractionFailed(UserError):
    """Some input files were bad; the other clips' arrays were written and recorded."""

    def __init__(self, summary: ExtractionSummary) -> None:
        self.summary = summary
        lines = [f"FAIL {path}: {problem}" for path, problem in summary.errors]
        super().__init__(
            f"{len(lines)} bad input file(s); the other clips' features are kept:\n"
            + "\n".join(lines)
        )


def split_clips(layout: Layout, splits_dir: Path | None = None) -> dict[str, list[str]]:
    """Every clip of every split, from ``splits_dir/<split>.csv`` or else the layout's own
    (as its format finds them).

    Every CSV is read (and each path checked against the clip-path grammar) before anything
    else, so a bad row stops the run before a clip's file is opened or the store touched."""
    clips = {}
    for split in SPLITS:
        if splits_dir is not None:
            clips[split] = clips_of(read_split_csv(splits_dir / f"{split}.csv"))
        else:
            clips[split] = layout.clips(split)
    return clips


class ClipWorker:
    """Computes and stores the requested streams of one clip at a time."""

    def __init__(self, layout: Layout, out: Path, dtype: str, extractors: list[Extractor]) -> None:
        self.layout, self.store, self.dtype = layout, FeatureStore(out), dtype
        self.extractors = extractors

    def run(self, job: Job) -> JobResult:
        result = JobResult()
        for ex in self.extractors:
            wanted = [s for s in ex.streams if s in job.hashes]
            if not wanted:
                continue
            try:
                arrays = ex.extract(self.layout, job.split, job.rel, wanted)
            except DataFileError as err:
                result.errors.append((str(err.path), err.problem))
                continue
            for s in wanted:
                array = arrays[s].astype(self.dtype, copy=False)
                result.entries.append(self.store.write(job.split, s, job.rel, array, job.hashes[s]))
        return result


_worker: ClipWorker | None = None


def _init_worker(layout, out, params: FeaturesParams, streams, fmt, threads) -> None:
    import torch

    global _worker
    torch.set_num_threads(threads)
    _worker = ClipWorker(layout, out, params.dtype, build_extractors(params, streams, fmt))


def _run_job(job: Job) -> JobResult:
    return _worker.run(job)


def _results(
    jobs: list[Job], workers: int, local: ClipWorker, init_args: tuple
) -> Iterator[JobResult]:
    """Results in completion order, from ``local`` or from a pool of spawned workers."""
    if workers <= 1 or len(jobs) <= 1:
        yield from (local.run(job) for job in jobs)
        return
    n = min(workers, len(jobs))
    threads = max(1, (os.cpu_count() or 1) // n)
    pool = ProcessPoolExecutor(
        n,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(*init_args, threads),
    )
    try:
        futures = [pool.submit(_run_job, job) for job in jobs]
        yield from (f.result() for f in as_completed(futures))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _plan(
    layout: Layout,
    store: FeatureStore,
    manifest: Manifest,
    extractors: list[Extractor],
    clips: dict[str, list[str]],
    dtype: str,
) -> tuple[list[Job], int]:
    jobs, skipped = [], 0
    for split, rels in clips.items():
        for rel in rels:
            hashes = {}
            for ex in extractors:
                for s in ex.streams:
                    h = ex.input_hash(layout, split, rel, s, dtype)
                    if store.is_current(manifest.entries.get(array_key(split, s, rel)), h):
                        skipped += 1
                    else:
                        hashes[s] = h
            if hashes:
                jobs.append(Job(split, rel, hashes))
    return jobs, skipped


def _prune(store: FeatureStore, manifest: Manifest, expected: set[str]) -> int:
    """Forget and delete arrays of clips/streams not configured any more, and stray files."""
    for key in [k for k in manifest.entries if k not in expected]:
        del manifest.entries[key]
    keep = {store.array_path(e.split, e.stream, e.rel) for e in manifest.entries.values()}
    removed = 0
    for split in SPLITS:
        for path in sorted((store.root / split).rglob("*")):
            if path.is_file() and path not in keep:
                path.unlink()
                removed += 1
    return removed


def _check_store_folder(out: Path) -> None:
    """The store deletes files it does not list: a non-empty ``out`` without a manifest is
    someone else's folder, refused untouched."""
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise OutputFolderError(
            out,
            f"folder is not empty and is not a feature store (no {MANIFEST}); the store "
            "deletes files it does not list, so give an empty or new folder",
        )


def extract_features(
    layout: Layout,
    out: Path,
    clips: dict[str, list[str]],
    params: FeaturesParams,
    streams: Sequence[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> ExtractionSummary:
    """Bring the store at ``out`` up to date for the clips of ``layout``; bad input files are
    reported, not raised."""
    start = time.perf_counter()
    out = Path(out)
    for rels in clips.values():  # a path outside the root is refused before the store is read
        for rel in rels:
            check_clip_rel(rel)
    _check_store_folder(out)
    streams = resolve_streams(params.streams if streams is None else streams)
    extractors = build_extractors(params, streams, layout.fmt)
    store = FeatureStore(out)
    manifest = store.load_manifest()
    manifest.dims = {s: d for ex in extractors for s, d in ex.dims().items()}
    jobs, skipped = _plan(layout, store, manifest, extractors, clips, params.dtype)
    computed: list[str] = []
    errors: list[tuple[str, str]] = []
    local = ClipWorker(layout, out, params.dtype, extractors)
    init_args = (layout, out, params, streams, layout.fmt)
    results = _results(jobs, workers or params.workers, local, init_args)
    bar = tqdm(total=len(jobs), unit="clip", desc="features", disable=not progress)
    flushed = time.monotonic()
    try:
        for result in results:
            for entry in result.entries:
                manifest.add(entry)
                computed.append(entry.key)
            errors += result.errors
            bar.update()
            if time.monotonic() - flushed > FLUSH_SECONDS:
                store.save_manifest(manifest)
                flushed = time.monotonic()
    finally:
        results.close()  # stops the workers now, not when the generator is collected
        bar.close()
        store.save_manifest(manifest)
    expected = {
        array_key(split, s, rel) for split, rels in clips.items() for rel in rels for s in streams
    }
    removed = _prune(store, manifest, expected)
    store.save_manifest(manifest)
    return ExtractionSummary(
        streams=streams,
        dims=manifest.dims,
        clips=sum(len(r) for r in clips.values()),
        computed=sorted(computed),
        skipped=skipped,
        removed=removed,
        errors=sorted(errors),
        seconds=time.perf_counter() - start,
    )
