"""`reactdiff predict`: a trained model's reactions to every item of a split, as a folder to hand
in (:mod:`reactdiff.evaluation.submission`), and `reactdiff metrics --predictions`: such a
folder scored as `evaluate` scores its model row.

Not a DVC stage (it writes a hand-in, not a pipeline output) but run and logged like one. The
reactions come from :func:`model_reactions`, which the `evaluate` stage's model rows call too,
so a folder made with evaluate's model, samples and seed (the defaults) re-scores to exactly
its row of the metrics file: same items, same batches, same seeds, same arrays.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reactdiff.atomic import check_replaceable
from reactdiff.config import Params
from reactdiff.data.formats import Layout, open_layout, params_layout, resolve_format
from reactdiff.devices import resolve_device
from reactdiff.errors import DataFileError
from reactdiff.evaluation.bootstrap import split_intervals
from reactdiff.evaluation.predictions import BATCH, Reactions, split_predictions
from reactdiff.evaluation.protocols import get_protocol
from reactdiff.evaluation.protocols.base import ModelRows
from reactdiff.evaluation.report import CI_KEY
from reactdiff.evaluation.submission import (
    MANIFEST,
    Expected,
    Item,
    SubmissionError,
    read_manifest,
    read_submission,
    write_submission,
)
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.models import load_model
from reactdiff.models.family import ReactionModel
from reactdiff.stages.result import StageOptions, StageResult

NAME = "predict"
OWNER = "reactdiff predict"  # the folder's marker: only its own earlier output is replaced
METHOD, MODE = "ReactDiff (offline)", "offline"  # the evaluate row a folder is scored as


@dataclass(frozen=True)
class Options(StageOptions):
    out: Path = Path("predictions")  # the folder (replaced whole); its zip is inside
    split: str = "test"
    model: Path | None = None  # the model file [train_ddim.model_out]
    source: str | None = None  # what the file came from when not given as a path (models:/...)
    registered_version: str | None = None  # the registry's version of the file, when known
    samples: int | None = None  # reactions per item [evaluate.samples]
    seed: int | None = None  # [base.seed, the evaluate stage's]
    git_commit: str | None = None  # the checkout's commit, recorded in the manifest


def split_dataset(params: Params, split: str, streams: list[str]) -> PairFeatureDataset:
    """The split's whole clips in its mirrored sample order, as every model row reads them."""
    return PairFeatureDataset(params.features.out, split, streams, splits_dir=params.split.out)


def model_reactions(
    params: Params,
    split: str,
    model: ReactionModel,
    mode: str,
    samples: int,
    seed: int,
    batched: bool,
    progress: bool,
) -> Reactions:
    """Per item (S, T, ...) reactions of ``model`` to the split: evaluate's rows and the
    prediction folders both come from here (``batched``: clips of one length, see
    :func:`~reactdiff.evaluation.predictions.split_predictions`)."""
    dataset = split_dataset(params, split, list(model.speaker_streams))
    generation = params.generation(model.family)
    return split_predictions(model, dataset, mode, samples, seed, generation, batched, progress)


def real_3dmm(params: Params, split: str, frames: int | None = None) -> list[np.ndarray]:
    """The split's real listeners' 3DMM (T, 58) in sample order (the first ``frames``)."""
    dataset = split_dataset(params, split, ["3dmm"])
    return [dataset[k]["listener_3dmm"][:frames].numpy() for k in range(len(dataset))]


def expected_folder(params: Params, layout: Layout, split: str) -> Expected:
    """What a prediction folder for ``split`` must hold: its items in order, with their frames
    (a pair's: the shorter clip's)."""
    dataset = split_dataset(params, split, ["emotion"])
    items = [
        Item(p.speaker, p.listener, n)
        for p, n in zip(dataset.samples, dataset.lengths, strict=True)
    ]
    return Expected(split, layout.fmt.name, layout.fmt.protocol, items)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _generation_record(
    params: Params, family: str, samples: int, seed: int, batched: bool
) -> dict[str, Any]:
    """Every value the reactions depend on besides the model and the speakers."""
    return {
        "mode": MODE,
        "samples": samples,
        "seed": seed,
        "batched": batched,
        "batch": BATCH,
        **asdict(params.generation(family)),
    }


def run(params: Params, options: Options) -> StageResult:
    """Generate the split's reactions; write the folder, its manifest and its zip."""
    check_replaceable(options.out, OWNER)  # before minutes of generation, not after
    model_file = Path(options.model or params.train_ddim.model_out)
    if not model_file.is_file():
        raise DataFileError(model_file, "model not found (train it with `dvc repro train_ddim`)")
    layout = params_layout(params.data)
    fmt, split = layout.fmt, options.split
    samples = options.samples or params.evaluate.samples
    seed = params.base.seed if options.seed is None else options.seed
    batched = fmt.fixed_frames is not None  # clips of one length: scored as (N, S, T, D)
    model = load_model(model_file).to(resolve_device(params.evaluate.device))
    expected = expected_folder(params, layout, split)
    reactions = model_reactions(
        params, split, model, MODE, samples, seed, batched, options.progress
    )
    record = _generation_record(params, model.family, samples, seed, batched)
    header = {
        "split": split,
        "format": fmt.name,
        "protocol": fmt.protocol,
        "method": METHOD,
        "samples": samples,
        "seed": seed,
        "model": {
            "file": str(model_file),
            "source": options.source or str(model_file),
            "family": model.family,
            "sha256": _sha256(model_file),
            "registered_version": options.registered_version,
        },
        "generation": record,
        "params_sha256": hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest(),
        "git_commit": options.git_commit,
    }
    zip_path = write_submission(options.out, header, expected.items, reactions, OWNER)
    return StageResult(
        summary=(
            f"predict: {len(expected.items)} {split} items x {samples} reactions of "
            f"{header['model']['source']} (seed {seed}) in {options.out}, zipped as {zip_path}"
        ),
        run_params={
            "split": split,
            "samples": samples,
            "seed": seed,
            "format": fmt.name,
            "protocol": fmt.protocol,
            "model_sha256": header["model"]["sha256"],
            "params_sha256": header["params_sha256"],
        },
        artifacts=[(options.out, "predictions")],
    )


def score(
    params: Params, folder: Path, root: Path | None, device: str, progress: bool
) -> dict[str, Any]:
    """The metrics of a prediction folder: its split's protocol (the drop's format's) run on
    the folder's reactions as evaluate runs it on its model row, with the same ``ci95``, so
    the same row comes out.

    ``root``: the drop to score against [data root]; the splits and feature store are those of
    ``params``. A folder that is not exactly the split's is a SubmissionError naming what."""
    root = Path(root) if root is not None else params.data.react_root
    layout = open_layout(root, resolve_format(params.data, root))
    split = read_manifest(folder)["split"]
    if not (params.split.out / f"{split}.csv").is_file():
        raise SubmissionError(
            f"{Path(folder) / MANIFEST}: split",
            f"{split!r} is not a split of {params.split.out} (no {split}.csv)",
        )
    manifest, reactions = read_submission(folder, expected_folder(params, layout, split))
    scored = params.model_copy(
        update={
            "evaluate": params.evaluate.model_copy(
                update={"methods": (METHOD,), "samples": manifest["samples"]}
            )
        }
    )
    rows = ModelRows(
        methods=frozenset({METHOD}),
        fixed=lambda method, _: Reactions(np.stack(reactions.emotion), np.stack(reactions.face)),
        whole_clips=lambda method, _: (reactions.emotion, reactions.face),
        real_3dmm=lambda frames: real_3dmm(params, split, frames),
    )
    protocol, bootstrap = get_protocol(layout.fmt.protocol), params.evaluate.bootstrap
    results, per_item, _ = protocol.run(scored, layout, split, rows, device, progress)
    row = results[METHOD]
    if METHOD in per_item:  # its intervals, on evaluate's resamples of the split's items
        row[CI_KEY] = split_intervals(per_item, bootstrap.resamples, bootstrap.seed)[METHOD]
    return row
