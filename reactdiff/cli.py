"""The `reactdiff` command: one sub-command per DVC stage, plus tools around them.

Stage commands read their defaults from params.yaml; options override them for ad-hoc use.
Errors a user can fix (bad params, a bad file) print one clear message and exit 2; a drop
that fails validation prints one line per failing file and check and exits 1.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from reactdiff.config import PARAMS_FILE, ConfigError, Params, load_params
from reactdiff.data.errors import DataFileError

app = typer.Typer(
    help=__doc__, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
)

ParamsOpt = Annotated[Path, typer.Option("--params", help="params.yaml to read")]


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def user_errors(fn):
    """Turn the errors a user can act on into a message and exit code 2, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConfigError, DataFileError) as err:
            _fail(str(err))

    return wrapper


@app.command()
@user_errors
def synth(
    out: Annotated[Path, typer.Option(help="directory to write the drop into (replaced)")],
    sessions: Annotated[int, typer.Option(min=3, help="dyadic sessions")] = 24,
    clips_per_session: Annotated[int, typer.Option(min=1, help="30 s clips per session")] = 8,
    seed: Annotated[int, typer.Option(help="same seed, same bytes")] = 42,
    video: Annotated[bool, typer.Option("--video/--no-video", help="write mp4 faces")] = True,
    workers: Annotated[int, typer.Option(min=1, help="parallel processes")] = 2,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Generate a synthetic drop in the REACT 2024 layout (format values from params.yaml)."""
    import dataclasses

    from reactdiff.data.stage import synth_spec
    from reactdiff.data.synthetic.drop import write_drop

    params = load_params(params_file) if params_file.exists() else Params()
    spec = dataclasses.replace(
        synth_spec(params),
        sessions=sessions,
        clips_per_session=clips_per_session,
        seed=seed,
        video=video,
    )
    write_drop(out, spec, workers=workers)
    typer.echo(f"wrote {sessions} sessions x {clips_per_session} clips to {out}")


@app.command()
@user_errors
def data(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Stage `data`: generate the synthetic drop or fingerprint the real root (data.source)."""
    import mlflow

    from reactdiff.data.stage import run_data_stage
    from reactdiff.tracking import stage_run

    params = load_params(params_file)
    with stage_run(
        "data",
        params,
        {
            "source": params.data.source,
            "seed": params.base.seed,
            **params.data.synthetic.model_dump(),
        },
    ):
        summary = run_data_stage(params)
        mlflow.log_metric("seconds", summary["seconds"])
        mlflow.log_dict(summary, "data_summary.json")
    typer.echo(f"data: {summary}")


@app.command()
@user_errors
def validate(
    root: Annotated[
        Path | None, typer.Option(help="drop to validate [data root from params]")
    ] = None,
    split: Annotated[
        list[str] | None, typer.Option(help="only these splits' clips (repeatable)")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="report directory [validate.report_dir]")
    ] = None,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Stage `validate`: Great Expectations suites over the whole drop; exit 1 on bad data."""
    from reactdiff.data.layout import SPLITS
    from reactdiff.validation.stage import ValidationFailed, run_validate_stage

    params = load_params(params_file)
    splits = tuple(split) if split else SPLITS
    if unknown := set(splits) - set(SPLITS):
        _fail(f"unknown split(s) {sorted(unknown)}; choose from {list(SPLITS)}")
    report_dir = report or params.validation.report_dir
    try:
        result = run_validate_stage(params, root, splits, report_dir)
    except ValidationFailed as failed:
        result = failed.report
    for w in result.warnings:
        typer.secho(f"WARNING {w}", err=True, fg=typer.colors.YELLOW)
    shown = params.validation.max_failures_shown
    for f in result.failures[:shown]:
        typer.echo(f.line(), err=True)
    if len(result.failures) > shown:
        typer.echo(
            f"... and {len(result.failures) - shown} more in {report_dir}/summary.json", err=True
        )
    video = "checked" if result.video_checked else "skipped (no Video_files)"
    typer.echo(
        f"validate: {result.counts['files']} files, {result.counts['emotion_frames']} emotion "
        f"frames, video {video}: {'OK' if result.success else 'FAILED'}; report in "
        f"{report_dir}/summary.json, Data Docs in {report_dir}/data_docs/index.html"
    )
    if not result.success:
        raise typer.Exit(1)


@app.command("split")
@user_errors
def split_stage(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Stage `split`: the splits, mirrored sample orders and appropriateness matrices."""
    import mlflow

    from reactdiff.data.splits import run_split_stage
    from reactdiff.tracking import stage_run

    params = load_params(params_file)
    with stage_run("split", params, {"root": str(params.data.react_root)}):
        summary = run_split_stage(params.data.react_root, params.split.out)
        mlflow.log_metrics({f"{s}_{k}": v for s, info in summary.items() for k, v in info.items()})
        mlflow.log_dict(summary, "split_summary.json")
    typer.echo(f"split: {summary} -> {params.split.out}")


@app.command()
@user_errors
def evaluate(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Stage `evaluate`: every REACT metric for every method (baselines, models) on the test split."""
    import mlflow

    from reactdiff.evaluation.stage import CHAMPION_METHOD, run_evaluate_stage
    from reactdiff.tracking import (
        mlflow_name,
        promote_champion,
        registered_version_of,
        stage_run,
    )

    params = load_params(params_file)
    ev = params.evaluate
    run_params = {
        "split": ev.split,
        "samples": ev.samples,
        "methods": ",".join(ev.methods),
        "device": ev.device,
        "seed": params.base.seed,
    }
    with stage_run("evaluate", params, run_params):
        results, _ = run_evaluate_stage(params)
        mlflow.log_metrics(
            {f"{mlflow_name(m)}/{k}": v for m, row in results.items() for k, v in row.items()}
        )
        for path in (ev.metrics_file, ev.report_file, ev.plot_file):
            mlflow.log_artifact(str(path), "evaluation")
        champion = "no ReactDiff row evaluated"
        if CHAMPION_METHOD in results:
            t = params.train_ddim
            version = registered_version_of(t.registered_name, t.model_out)
            if version is None:
                champion = f"{t.model_out} is not registered in this MLflow store"
            else:
                moved = promote_champion(
                    t.registered_name, version, ev.metrics_file, CHAMPION_METHOD
                )
                champion = f"{t.registered_name} v{version} " + (
                    "is the new champion" if moved else "did not beat the champion"
                )
            mlflow.set_tag("champion", champion)
    typer.echo(ev.report_file.read_text())
    typer.echo(f"champion: {champion}")


@app.command()
@user_errors
def metrics(
    pred: Annotated[Path, typer.Option(help="(N, S, T, 25) generated reactions .npy")],
    listener: Annotated[Path, typer.Option(help="(N, T, 25) real listener reactions .npy")],
    speaker: Annotated[Path, typer.Option(help="(N, T, 25) speaker emotion .npy")],
    neighbours: Annotated[Path, typer.Option(help="(N, N) 0/1 appropriateness matrix .npy")],
    out: Annotated[Path | None, typer.Option(help="also write the JSON here")] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda (DTW of FRDist)")] = "cpu",
) -> None:
    """Every REACT metric for one set of predictions, printed as one JSON object."""
    import json

    from reactdiff.atomic import write_json
    from reactdiff.data.readers import load_npy
    from reactdiff.evaluation.inputs import MetricInputError
    from reactdiff.evaluation.metrics import compute_all

    if device not in ("cpu", "cuda"):
        _fail(f"--device must be cpu or cuda, got {device!r}")
    paths = {"pred": pred, "listener": listener, "speaker": speaker, "neighbours": neighbours}
    arrays = {name: load_npy(path) for name, path in paths.items()}
    try:
        result = compute_all(**arrays, device=device, progress=sys.stderr.isatty())
    except MetricInputError as err:  # the message starts with the input's name
        name = str(err).split(":")[0]
        _fail(f"{paths[name]}: {err}" if name in paths else str(err))
    if out is not None:
        write_json(out, result)
    typer.echo(json.dumps(result))


@app.command()
@user_errors
def features(
    root: Annotated[
        Path | None,
        typer.Option(help="REACT root [params data root, clips from split.out]; else its CSVs"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="feature store [features.out]")] = None,
    streams: Annotated[
        str | None, typer.Option(help="comma-separated, e.g. mfcc,wav2vec [features.streams]")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="processes [features.workers]")] = None,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Stage `features`: per-frame features of every clip into the feature store, validated."""
    import mlflow

    from reactdiff.features.extract import ExtractionFailed, FeaturesInvalid, run_features_stage
    from reactdiff.features.store import MANIFEST
    from reactdiff.features.validation import REPORT
    from reactdiff.tracking import stage_run

    params = load_params(params_file)
    fp = params.features
    names = [s.strip() for s in streams.split(",") if s.strip()] if streams else list(fp.streams)
    store = out or fp.out
    run_params = {
        "root": str(root or params.data.react_root),
        "out": str(store),
        "streams": ",".join(names),
        "workers": workers or fp.workers,
        "dtype": fp.dtype,
    }
    try:
        with stage_run("features", params, run_params):
            summary, report = run_features_stage(params, root, out, names, workers)
            mlflow.log_metrics(summary.metrics())
            mlflow.log_artifact(str(store / MANIFEST), "features")
            mlflow.log_artifact(str(store / REPORT), "features")
    except ExtractionFailed as failed:
        for path, problem in failed.summary.errors:
            typer.echo(f"FAIL {path}: {problem}", err=True)
        _fail(f"{len(failed.summary.errors)} bad input file(s); other clips' features are kept")
    except FeaturesInvalid as invalid:
        shown = params.validation.max_failures_shown
        for line in invalid.report.failures[:shown]:
            typer.echo(f"FAIL {line}", err=True)
        _fail(f"the feature store failed validation, see {store / REPORT}", code=1)
    typer.echo(
        f"features: {summary.clips} clips, streams {summary.dims}: {len(summary.computed)} "
        f"arrays computed, {summary.skipped} unchanged, {summary.removed} stale removed in "
        f"{summary.seconds:.1f} s; {report.rows} arrays validated -> {store}"
    )


def _is_ddp_worker() -> bool:
    """A non-zero torchrun rank: it trains its shard, rank 0 tracks and writes."""
    import os

    return int(os.environ.get("RANK", "0")) != 0


def _log_epoch(history_row: dict[str, float]) -> None:
    import mlflow

    metrics = {k: v for k, v in history_row.items() if k != "epoch"}
    mlflow.log_metrics(metrics, step=int(history_row["epoch"]))


def _log_final(summary: dict) -> None:
    """Final metrics, except the losses already logged epoch by epoch."""
    import mlflow

    mlflow.log_metrics(
        {k: float(v) for k, v in summary.items() if k not in ("train_loss", "val_loss")}
    )


@app.command("train-mmt")
@user_errors
def train_mmt(
    resume: Annotated[bool, typer.Option(help="continue from train_mmt.checkpoint")] = False,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Stage `train_mmt`: the MMT auto-encoder (stage 1). Under torchrun, trains with DDP."""
    import mlflow

    from reactdiff.tracking import log_registered_model, stage_run
    from reactdiff.training.mmt_stage import load_mmt, run_train_mmt

    params = load_params(params_file)
    m, t = params.mmt, params.train_mmt
    if _is_ddp_worker():
        run_train_mmt(params, resume=resume, progress=False)
        return
    run_params = {
        "scale": m.scale,
        **m.sizes.model_dump(),
        **t.model_dump(mode="json"),
        "video_streams": ",".join(m.video_streams),
        "audio_streams": ",".join(m.audio_streams),
        "seed": params.base.seed,
        "w_3dmm": m.w_3dmm,
        "w_emotion": m.w_emotion,
        "resume": resume,
    }
    with stage_run("train_mmt", params, run_params):
        summary = run_train_mmt(params, resume=resume, on_epoch=_log_epoch)
        mlflow.log_text(summary.pop("val_emotion_ccc_per_dim"), "val_emotion_ccc_per_dim.json")
        _log_final(summary)
        model, _ = load_mmt(t.model_out)
        version = log_registered_model(
            model, "mmt", t.registered_name, t.model_out, [t.metrics_file, t.plots_dir / "loss.csv"]
        )
    typer.echo(f"train_mmt: {summary} -> {t.model_out} (registered {t.registered_name} v{version})")


@app.command("train-ddim")
@user_errors
def train_ddim(
    resume: Annotated[bool, typer.Option(help="continue from train_ddim.checkpoint")] = False,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Stage `train_ddim`: the conditional latent DDIM (stage 2), MMT frozen. DDP under torchrun."""
    from reactdiff.models.reactdiff import ReactDiff
    from reactdiff.tracking import log_registered_model, stage_run
    from reactdiff.training.ddim_stage import run_train_ddim

    params = load_params(params_file)
    d, t = params.ddim, params.train_ddim
    if _is_ddp_worker():
        run_train_ddim(params, resume=resume, progress=False)
        return
    run_params = {
        **d.model_dump(exclude={"scales"}),  # schedule, sampling (clip_x0 too) and scale
        **d.sizes.model_dump(),
        **t.model_dump(mode="json"),
        "seed": params.base.seed,
        "resume": resume,
    }
    with stage_run("train_ddim", params, run_params):
        summary = run_train_ddim(params, resume=resume, on_epoch=_log_epoch)
        _log_final(summary)
        version = log_registered_model(
            ReactDiff.load(t.model_out),
            "reactdiff",
            t.registered_name,
            t.model_out,
            [t.metrics_file, t.plots_dir / "loss.csv"],
        )
    typer.echo(
        f"train_ddim: {summary} -> {t.model_out} (registered {t.registered_name} v{version})"
    )


@app.command()
@user_errors
def generate(
    out: Annotated[Path, typer.Option(help="folder for the reactions (created; files replaced)")],
    speaker_audio: Annotated[Path | None, typer.Option(help="speaker wav (always needed)")] = None,
    speaker_video: Annotated[
        Path | None, typer.Option(help="speaker mp4 (torchscript streams)")
    ] = None,
    speaker_emotion: Annotated[
        Path | None, typer.Option(help="speaker Emotion CSV (annotations)")
    ] = None,
    speaker_3dmm: Annotated[
        Path | None, typer.Option(help="speaker 3DMM .npy (annotations)")
    ] = None,
    clip: Annotated[
        str | None, typer.Option(help="instead: a clip rel path of a REACT drop")
    ] = None,
    root: Annotated[Path | None, typer.Option(help="the drop of --clip [data root]")] = None,
    split: Annotated[str, typer.Option(help="the split of --clip")] = "test",
    samples: Annotated[int, typer.Option(min=1, help="reactions to generate")] = 10,
    online: Annotated[bool, typer.Option(help="window by window, past input only")] = False,
    seed: Annotated[int | None, typer.Option(help="same seed, same reactions")] = None,
    model: Annotated[
        str | None, typer.Option(help="model file or models:/reactdiff@champion")
    ] = None,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Generate listener reactions to one speaker clip: Emotion CSVs, 3DMM .npy files and a plot."""
    from reactdiff.generation import SpeakerFiles, generate_for_clip

    params = load_params(params_file)
    files = SpeakerFiles(speaker_audio, speaker_video, speaker_emotion, speaker_3dmm)
    if clip is None and speaker_audio is None:
        _fail("give the speaker's files (--speaker-audio ...) or --clip REL [--root DIR]")
    where = (root or params.data.react_root, split, clip) if clip is not None else None
    try:
        written = generate_for_clip(
            params,
            model or str(params.train_ddim.model_out),
            out,
            files,
            where,
            samples,
            online,
            seed,
        )
    except ValueError as err:  # a missing input the model's streams need
        _fail(str(err))
    typer.echo(
        f"wrote {len(written)} files to {out}: reaction_XX.csv, reaction_XX_3dmm.npy, reactions.png"
    )


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="reactdiff")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
