"""Which streams a run extracts, and the extractor that computes each of them."""

from __future__ import annotations

from collections.abc import Iterable

from reactdiff.config import FEATURE_STREAMS, TARGET_STREAMS, FeaturesParams
from reactdiff.data.formats import Format
from reactdiff.errors import ConfigError
from reactdiff.features.base import Extractor


def resolve_streams(requested: Iterable[str]) -> tuple[str, ...]:
    """Requested streams plus the targets, in the canonical order; unknown names are an error."""
    requested = list(requested)
    if unknown := [s for s in requested if s not in FEATURE_STREAMS]:
        raise ConfigError(
            f"features.streams: unknown stream(s) {unknown}; choose from {list(FEATURE_STREAMS)}"
        )
    wanted = set(requested) | set(TARGET_STREAMS)
    return tuple(s for s in FEATURE_STREAMS if s in wanted)


def build_extractors(
    params: FeaturesParams, streams: Iterable[str], fmt: Format
) -> list[Extractor]:
    """One extractor per group of streams for clips of format ``fmt``; bad or missing model
    paths raise ConfigError."""
    from reactdiff.features.audio import MfccExtractor
    from reactdiff.features.facial import (
        TORCHSCRIPT_STREAMS,
        AnnotationExtractor,
        TorchScriptExtractor,
    )
    from reactdiff.features.wav2vec import Wav2VecExtractor

    streams = resolve_streams(streams)
    frames, fps = fmt.fixed_frames, fmt.fps
    out: list[Extractor] = []
    if "mfcc" in streams:
        out.append(MfccExtractor(params.mfcc, frames, fps, fmt.audio_slack_frames))
    if "wav2vec" in streams:
        out.append(Wav2VecExtractor(params.wav2vec, frames, fps))
    out += [AnnotationExtractor(s, frames) for s in TARGET_STREAMS]
    if facial := [s for s in streams if s in TORCHSCRIPT_STREAMS]:
        out.append(TorchScriptExtractor(params.facial, facial, frames))
    return out
