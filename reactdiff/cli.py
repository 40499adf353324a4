"""The `reactdiff` command: one sub-command per DVC stage, plus tools around them.

Stage commands read their values from params.yaml; options override them for ad-hoc use. A
command only wires options to a stage (``reactdiff.stages``) and the stage's result to MLflow
(``reactdiff.tracking.stage_run``). Errors are answered in one place: a user error (bad params,
a bad file or input) prints one message naming it and exits 2; a data-quality failure
(validation) prints one line per failing file and check and exits 1.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from reactdiff.config import PARAMS_FILE, Params, load_params
from reactdiff.errors import DataQualityError, InputError, UserError
from reactdiff.processes import INTERRUPTED, stop_on_sigterm

app = typer.Typer(
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say [param.key] for defaults: plain text, not markup
)

ParamsOpt = Annotated[Path, typer.Option("--params", help="params.yaml to read")]
# Set (to the stage's name) where DVC is to restore a stage that ran on another machine from
# the run cache: if DVC starts the stage's command instead, the command refuses (flows.workspace).
RESTORE_ONLY_ENV = "REACTDIFF_RESTORE_ONLY"


def _say(lines: list[str], color: str | None = None) -> None:
    for line in lines:
        typer.secho(line, err=True, fg=color)


def handle_errors(fn):
    """The one place errors become messages and exit codes (2: user error, 1: bad data)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as err:
            _say([f"error: {err}"], typer.colors.RED)
            raise typer.Exit(err.exit_code) from None
        except DataQualityError as err:
            _say([f"WARNING {w}" for w in err.warnings], typer.colors.YELLOW)
            _say(err.failures)
            _say([f"error: {err}"], typer.colors.RED)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see main): outputs are left as they were
            _say(["interrupted"], typer.colors.RED)
            raise typer.Exit(INTERRUPTED) from None

    return wrapper


def _print(result) -> None:
    """A stage's warnings, report, summary line and what tracking did."""
    _say([f"WARNING {w}" for w in result.warnings], typer.colors.YELLOW)
    if result.report:
        typer.echo(result.report)
    typer.echo(result.summary)
    for note in result.notes:
        typer.echo(note)


def _tracked(stage, params: Params, options) -> None:
    """Run ``stage`` (a module of reactdiff.stages) in its MLflow run and print its result."""
    from reactdiff.tracking import stage_run

    if expected := os.environ.get(RESTORE_ONLY_ENV):
        raise UserError(
            f"stage {expected!r} ran on another machine and was to be restored from DVC's run "
            f"cache here, but DVC started the command of stage {stage.NAME!r}: the DVC remote "
            "lacks that machine's outputs or run-cache entry (did its `dvc push` reach the "
            "remote this workspace uses?)"
        )
    _print(stage_run(stage.NAME, stage.run, params, options))


@app.command()
@handle_errors
def synth(
    out: Annotated[
        Path,
        typer.Option(
            help="folder for the drop: created, or replaced whole if an earlier `synth` "
            "output; any other non-empty folder is refused"
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="a registered data format (reactdiff.data.formats), e.g. react2024: "
            "NoXI/RECOLA-style sessions of 30 s clips at 25 fps (data.synthetic); react2025: "
            "MARS-style dyads x session topics, clips of varied length at 30 fps "
            "(data.synthetic.react2025). Default: data.format, the first registered if auto",
        ),
    ] = None,
    sessions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="react2024: dyadic sessions (at least 3); react2025: session topics every "
            "dyad records (default: data.synthetic.sessions or data.synthetic.react2025.sessions)",
        ),
    ] = None,
    clips_per_session: Annotated[
        int | None,
        typer.Option(min=1, help="react2024 only: 30 s clips per session (default: params)"),
    ] = None,
    dyads: Annotated[
        int | None,
        typer.Option(min=3, help="react2025 only: speaker-listener pairs (default: params)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="same seed, same bytes")] = 42,
    video: Annotated[bool, typer.Option("--video/--no-video", help="write mp4 faces")] = True,
    workers: Annotated[int, typer.Option(min=1, help="parallel processes")] = 2,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Generate a synthetic drop in a registered format's layout (--format; the size options
    each format takes are its own, the other values from params.yaml)."""
    from reactdiff.data.formats import default_format, get_format
    from reactdiff.errors import ConfigError

    params = load_params(params_file)
    name = fmt or params.data.format
    chosen = default_format() if name == "auto" else get_format(name)
    counts = {"sessions": sessions, "clips_per_session": clips_per_session, "dyads": dyads}
    counts = {k: v for k, v in counts.items() if v is not None}  # the rest from params.yaml
    if foreign := [k for k in counts if k not in chosen.synth_counts]:
        option = foreign[0].replace("_", "-")
        raise ConfigError(f"--{option}: not an option of --format {chosen.name}")
    drop = chosen.write_synthetic(
        out, params, {"seed": seed, "video": video, **counts}, workers, True, "reactdiff synth"
    )
    typer.echo(drop.line)


@app.command()
@handle_errors
def data(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Stage `data`: generate the synthetic drop or fingerprint the real root (data.source).

    data.root is replaced whole; a non-empty data.root that is not an earlier output of this
    stage is refused."""
    from reactdiff.stages import data as stage

    _tracked(stage, load_params(params_file), stage.Options())


@app.command()
@handle_errors
def validate(
    root: Annotated[
        Path | None, typer.Option(help="drop to validate [data root from params]")
    ] = None,
    split: Annotated[
        list[str] | None, typer.Option(help="only these splits' clips (repeatable)")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            help="report folder [validate.report_dir]: created, or replaced whole if an "
            "earlier `validate` report; any other non-empty folder is refused"
        ),
    ] = None,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Stage `validate`: Great Expectations suites over the whole drop; exit 1 on bad data."""
    from reactdiff.stages import validate as stage

    splits = {"splits": tuple(split)} if split else {}
    options = stage.Options(root=root, report_dir=report, **splits)
    _tracked(stage, load_params(params_file), options)


@app.command("split")
@handle_errors
def split_stage(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Stage `split`: the splits, mirrored sample orders and appropriateness matrices."""
    from reactdiff.stages import split as stage

    _tracked(stage, load_params(params_file), stage.Options())


@app.command()
@handle_errors
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
    from reactdiff.stages import features as stage

    names = tuple(s.strip() for s in streams.split(",") if s.strip()) if streams else None
    options = stage.Options(root=root, out=out, streams=names, workers=workers)
    _tracked(stage, load_params(params_file), options)


def _train(stage, resume: bool, params_file: Path) -> None:
    """A training stage; a non-zero torchrun rank trains its shard without tracking."""
    from reactdiff.training.distributed import is_worker_process

    params = load_params(params_file)
    if is_worker_process():
        stage.run(params, stage.Options(resume=resume, progress=False))
    else:
        _tracked(stage, params, stage.Options(resume=resume))


@app.command("train-mmt")
@handle_errors
def train_mmt(
    resume: Annotated[
        bool, typer.Option(help="continue from train_mmt.checkpoint (from scratch if none yet)")
    ] = False,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Stage `train_mmt`: the MMT auto-encoder (stage 1). Under torchrun, trains with DDP."""
    from reactdiff.stages import train_mmt as stage

    _train(stage, resume, params_file)


@app.command("train-ddim")
@handle_errors
def train_ddim(
    resume: Annotated[
        bool, typer.Option(help="continue from train_ddim.checkpoint (from scratch if none yet)")
    ] = False,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Stage `train_ddim`: the conditional latent DDIM (stage 2), MMT frozen. DDP under torchrun."""
    from reactdiff.stages import train_ddim as stage

    _train(stage, resume, params_file)


@app.command()
@handle_errors
def evaluate(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Stage `evaluate`: every REACT metric for every method (baselines, models) on the val
    split (which chooses the champion) and the test split (reported), with 95% intervals."""
    from reactdiff.stages import evaluate as stage

    _tracked(stage, load_params(params_file), stage.Options())


@app.command()
@handle_errors
def metrics(
    pred: Annotated[
        Path | None, typer.Option(help="(N, S, T, 25) generated reactions .npy")
    ] = None,
    listener: Annotated[
        Path | None, typer.Option(help="(N, T, 25) real listener reactions .npy")
    ] = None,
    speaker: Annotated[Path | None, typer.Option(help="(N, T, 25) speaker emotion .npy")] = None,
    neighbours: Annotated[
        Path | None, typer.Option(help="(N, N) 0/1 appropriateness matrix .npy")
    ] = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            help="instead of the four arrays: a folder of `reactdiff predict`, scored with its "
            "split's protocol; prints the row `evaluate` writes for ReactDiff (offline)"
        ),
    ] = None,
    root: Annotated[
        Path | None, typer.Option(help="with --predictions: the drop to score against [data root]")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="also write the JSON here")] = None,
    device: Annotated[
        str, typer.Option(help="cpu, cuda (FRDist, FRCorr, FRSyn on the GPU) or auto")
    ] = "auto",
    workers: Annotated[
        int | None, typer.Option(help="CPU threads for FRDist [every core]", min=1)
    ] = None,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Every REACT metric for one set of predictions, printed as one strict JSON object.

    Accepted inputs: pred, listener and speaker hold real numbers (integer or float .npy; not
    bool, complex, string or object), finite with |value| <= 1e6 (REACT emotion features lie in
    [-1, 1]), so that every metric is finite; neighbours holds 0/1 (bool, integer or float).
    Any other input exits 2 naming the file, the input and the problem.

    --predictions DIR scores a prediction folder instead (splits, feature store and protocol
    settings from --params): a folder that is not its split's items exactly exits 2 naming the
    item or file."""
    import json

    from reactdiff.atomic import write_json
    from reactdiff.data.readers import load_npy
    from reactdiff.errors import ConfigError, DataFileError
    from reactdiff.evaluation.metrics import compute_all, describe_device, metrics_device

    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {device!r}")
    device = metrics_device(device)
    if workers is not None:
        import numba

        if workers > numba.config.NUMBA_NUM_THREADS:
            raise ConfigError(
                f"--workers {workers}: numba has {numba.config.NUMBA_NUM_THREADS} threads "
                "(NUMBA_NUM_THREADS, the number of cores by default)"
            )
        numba.set_num_threads(workers)
    typer.echo(f"metrics: {describe_device(device)}", err=True)
    paths = {"pred": pred, "listener": listener, "speaker": speaker, "neighbours": neighbours}
    if predictions is not None:
        if given := [f"--{name}" for name, path in paths.items() if path is not None]:
            raise ConfigError(f"--predictions scores a folder: drop {', '.join(given)}")
        from reactdiff.stages import predict as stage

        params = load_params(params_file)
        result = stage.score(params, predictions, root, device, sys.stderr.isatty())
        if out is not None:
            write_json(out, result)
        typer.echo(json.dumps(result, allow_nan=False))
        return
    if missing := [f"--{name}" for name, path in paths.items() if path is None]:
        raise ConfigError(f"missing {', '.join(missing)} (or give --predictions DIR alone)")
    if root is not None:
        raise ConfigError("--root goes with --predictions")
    arrays = {}
    for name, path in paths.items():
        try:
            arrays[name] = load_npy(path)
        except DataFileError as err:  # name the input too: the file may be under a wrong option
            raise InputError(f"{path}: {name}", err.problem) from None
    try:
        result = compute_all(**arrays, device=device, progress=sys.stderr.isatty())
    except InputError as err:  # name the file the bad input came from, then the input
        where = f"{paths[err.name]}: {err.name}" if err.name in paths else err.name
        raise InputError(where, err.problem) from None
    if out is not None:
        write_json(out, result)
    typer.echo(json.dumps(result, allow_nan=False))


@app.command()
@handle_errors
def predict(
    out: Annotated[
        Path,
        typer.Option(
            help="folder for the reactions, manifest.json and submission.zip: created, or "
            "replaced whole if an earlier `predict` output; any other non-empty folder is refused"
        ),
    ],
    split: Annotated[str, typer.Option(help="val or test")] = "test",
    model: Annotated[
        str | None,
        typer.Option(help="model file or models:/NAME@ALIAS or /VERSION [train_ddim.model_out]"),
    ] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="reactions per item [evaluate.samples]")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="[base.seed, the evaluate stage's]")] = None,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """The offline reactions of a trained model to every item of a split, in the split's
    mirrored sample order: <speaker clip path, percent-encoded>.emotion.npy (S, T, 25) and
    .3dmm.npy (S, T, 58) per item, manifest.json (model sha256 and registry version, params
    hash, git commit, seed, split, format, protocol, items) and DIR/submission.zip. Logged to
    MLflow. With the defaults, `reactdiff metrics --predictions DIR` gives evaluate's row."""
    from reactdiff.errors import ConfigError
    from reactdiff.stages import predict as stage
    from reactdiff.tracking import git_commit, registered_model_file, registered_version_of

    if split not in ("val", "test"):
        raise ConfigError(f"--split must be val or test, got {split!r}")
    params = load_params(params_file)
    with tempfile.TemporaryDirectory(prefix="reactdiff-model-") as tmp:
        model_file, version = None if model is None else Path(model), None
        if model is not None and model.startswith("models:/"):
            model_file = registered_model_file(model, params, Path(tmp))
            name = model.removeprefix("models:/").split("@")[0].split("/")[0]
            version = registered_version_of(name, model_file)
        options = stage.Options(
            out=out,
            split=split,
            model=model_file,
            source=model,
            registered_version=version,
            samples=samples,
            seed=seed,
            git_commit=git_commit(),
        )
        _tracked(stage, params, options)


@app.command()
@handle_errors
def generate(
    out: Annotated[Path, typer.Option(help="folder for the reactions (created; files replaced)")],
    speaker_audio: Annotated[Path | None, typer.Option(help="speaker wav (always needed)")] = None,
    speaker_video: Annotated[
        Path | None, typer.Option(help="speaker mp4 (torchscript streams)")
    ] = None,
    speaker_emotion: Annotated[
        Path | None,
        typer.Option(
            help="speaker Emotion CSV, or facial-attributes .npy for react2025 (annotations; "
            "react2025 always: its rows are the clip's frames)"
        ),
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
    online: Annotated[
        bool, typer.Option(help="streamed: frame t from speaker frames <= t + online.delay_frames")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="same seed, same reactions")] = None,
    model: Annotated[
        str | None, typer.Option(help="model file or models:/reactdiff@champion")
    ] = None,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Generate listener reactions to one speaker clip of any length: emotion files of the data
    format (react2024 Emotion CSVs, react2025 facial-attributes .npy), 3DMM .npy files, a plot
    and reactions.mp4 (the speaker next to a drawn face per reaction, with its audio).

    Sampling (steps, eta, guidance) follows the `sampling` group of params.yaml. Offline, a clip
    longer than evaluate.chunk_frames is generated in chunks of that length; --online streams
    the whole clip through the model's stream, with the latency of online.delay_frames."""
    from reactdiff.stages import generate as stage

    params = load_params(params_file)
    with tempfile.TemporaryDirectory(prefix="reactdiff-model-") as tmp:
        model_file = None if model is None else Path(model)
        if model is not None and model.startswith("models:/"):
            from reactdiff.tracking import registered_model_file

            model_file = registered_model_file(model, params, Path(tmp))
        options = stage.Options(
            out=out,
            files=stage.SpeakerFiles(speaker_audio, speaker_video, speaker_emotion, speaker_3dmm),
            clip=(root or params.data.react_root, split, clip) if clip is not None else None,
            samples=samples,
            online=online,
            seed=seed,
            model=model_file,
        )
        _print(stage.run(params, options))


def main() -> None:  # pragma: no cover - console entry point
    stop_on_sigterm()
    app(prog_name="reactdiff")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
