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


def _params(path: Path) -> Params:
    return load_params(path)


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

    params = _params(params_file) if params_file.exists() else Params()
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

    params = _params(params_file)
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

    params = _params(params_file)
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

    params = _params(params_file)
    with stage_run("split", params, {"root": str(params.data.react_root)}):
        summary = run_split_stage(params.data.react_root, params.split.out)
        mlflow.log_metrics({f"{s}_{k}": v for s, info in summary.items() for k, v in info.items()})
        mlflow.log_dict(summary, "split_summary.json")
    typer.echo(f"split: {summary} -> {params.split.out}")


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="reactdiff")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
