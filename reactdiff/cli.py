"""Train, evaluate and serve models that generate a listener's facial reactions (ReactDiff).

The stage commands (data, validate, split, features, train-*, evaluate) each run one step of
the pipeline with the values of params.yaml (options override some), write the outputs that
dvc.yaml names and log an MLflow run; `make demo` (or `dvc repro`) runs them all in order. The
other commands work on any drop or model: synth writes a synthetic drop, generate reacts to one
clip, predict writes a submission folder, metrics scores one, serve answers HTTP requests.

\b
Examples (from the repository root, where params.yaml is):
  reactdiff validate --root /path/to/REACT --report /tmp/report
  reactdiff generate --clip NoXI/<session>/Expert_video/1 --out out/
  reactdiff COMMAND --help

A user error (bad params, file or input) prints one line naming it and exits 2; bad data
prints one line per failing file and check and exits 1; Ctrl-C exits 130. The docs: docs/ in
the repository (make docs builds the site).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from reactdiff.config import PARAMS_FILE, Params, load_params
from reactdiff.errors import DataQualityError, InputError, OutputPathError, UserError
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


def _path_keys(values: dict, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """Every path-valued key of a params dump, dotted (``validate.report_dir``)."""
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _path_keys(value, f"{prefix}{key}.")
        elif isinstance(value, Path):
            yield f"{prefix}{key}", value


def _output_source(path: Path, options: dict) -> str | None:
    """The option, else the params.yaml key, whose path an output ``path`` is or lies under
    (the closest), for the message of an output that cannot be created."""
    params_file = options.get("params_file", PARAMS_FILE)
    sources = [
        (f"--{name.replace('_', '-')}", value)
        for name, value in options.items()
        if isinstance(value, Path) and name != "params_file"
    ]
    try:
        dump = load_params(params_file).model_dump(by_alias=True)
        sources += [(f"{key} in {params_file}", value) for key, value in _path_keys(dump)]
    except UserError:
        pass
    target, best = Path(os.path.abspath(path)), None
    for source, value in sources:
        value = Path(os.path.abspath(value))
        if (value == target or value in target.parents) and (
            best is None or len(value.parts) > len(best[1].parts)
        ):
            best = (source, value)
    return None if best is None else best[0]


def handle_errors(fn):
    """The one place errors become messages and exit codes (2: user error, 1: bad data)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except OutputPathError as err:  # name where the path came from: an option or a key
            source = _output_source(err.path, kwargs)
            _say([f"error: {err}" + (f" ({source})" if source else "")], typer.colors.RED)
            raise typer.Exit(err.exit_code) from None
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
    """Write a synthetic REACT drop (no real data needed).

    The drop has the real release's layout (--format), from a model of a conversation: audio,
    drawn face videos, emotion and 3DMM files, split CSVs and appropriateness matrices. The size
    options each format takes are its own; the other values come from params.yaml. It writes
    the folder --out and prints one line describing the drop.

    \b
    Example:
      reactdiff synth --out /tmp/react --sessions 24 --clips-per-session 8 --seed 42
      reactdiff synth --format react2025 --out /tmp/mars --no-video
    """
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
    """Stage data: the drop every later stage reads.

    With data.source: synthetic it writes the synthetic drop into data.root (data/raw/); with a
    path it writes data/raw/source.json, pointing at that real REACT root with a fingerprint of
    its files (nothing is copied). data.root is replaced whole; a non-empty folder that is not
    an earlier output of this stage is refused.

    \b
    Example:
      reactdiff data
      dvc exp run -S data.source=/path/to/REACT -S data.format=auto
    """
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
    """Stage validate: check every file of a drop.

    Run before anything trains on the drop: Great Expectations suites over the whole drop (value ranges, file shapes and lengths,
    split rows, leakage between splits, the appropriateness matrices). Writes summary.json and
    offline Data Docs (data_docs/index.html) into the report folder (data/validation/); on bad
    data prints one FAIL line per failing file and check and exits 1.

    \b
    Example:
      reactdiff validate
      reactdiff validate --root /path/to/REACT --split val --report /tmp/report
    """
    from reactdiff.stages import validate as stage

    splits = {"splits": tuple(split)} if split else {}
    options = stage.Options(root=root, report_dir=report, **splits)
    _tracked(stage, load_params(params_file), options)


@app.command("split")
@handle_errors
def split_stage(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Stage split: splits, sample orders, matrices.

    Writes into split.out (data/splits/) each split's pairs, its sample order (every pair in
    both directions) and its appropriateness matrix: the release's own (REACT 2024) or derived
    from its sessions (REACT 2025).

    \b
    Example:
      reactdiff split
    """
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
    """Stage features: per-frame features of every clip, validated.

    Extracts the streams of features.streams (MFCC, wav2vec 2.0, the emotion and 3DMM
    annotations, TorchScript facial predictors) aligned to the video frames, and writes the
    feature store (features.out, data/features/: one .npy per split, stream and clip, manifest.json,
    validation.json). A rerun recomputes only what changed. A bad input file is listed and the
    command exits 2; a failed store check exits 1.

    \b
    Example:
      reactdiff features
      reactdiff features --root /path/to/REACT --out /tmp/features --streams mfcc,emotion,3dmm
    """
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
    """Stage train_mmt: train the MMT (stage 1).

    ReactDiff's Multi-Modality Transformer, an auto-encoder of the listener's features into its 3DMM and emotion. Writes models/mmt.pt,
    metrics/mmt.json and plots/mmt/loss.csv, logs every epoch to MLflow and registers the model
    as reactdiff-mmt. A checkpoint after each epoch (train_mmt.checkpoint) lets --resume
    continue exactly. Under torchrun it trains with DDP on every process.

    \b
    Example:
      reactdiff train-mmt --resume
      torchrun --nproc_per_node 2 -m reactdiff.cli train-mmt
    """
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
    """Stage train_ddim: train the latent DDIM (stage 2).

    ReactDiff's conditional latent DDIM: freezes the trained MMT and learns to generate the listener's latents from the speaker's.
    Writes the whole model to models/reactdiff.pt (what generate, predict, evaluate and serve
    read), metrics/ddim.json and plots/ddim/loss.csv, and registers it in MLflow as reactdiff.
    --resume continues from train_ddim.checkpoint; under torchrun it trains with DDP.

    \b
    Example:
      reactdiff train-ddim
      dvc exp run -S train_ddim.epochs=5
    """
    from reactdiff.stages import train_ddim as stage

    _train(stage, resume, params_file)


@app.command("train-kin")
@handle_errors
def train_kin(
    resume: Annotated[
        bool, typer.Option(help="continue from train_kin.checkpoint (from scratch if none yet)")
    ] = False,
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Stage train_kin: train the kinematics ReactDiff.

    A diffusion model on the listener's 3DMM and emotion frames themselves. Writes
    train_kin.model_out (models/reactdiff_kin.pt), train_kin.metrics_file (metrics/kin.json) and
    the loss curves under train_kin.plots_dir (plots/kin/), and registers the model in MLflow as
    reactdiff-kin. --resume continues from train_kin.checkpoint; under torchrun it trains with
    DDP.

    \b
    Example:
      reactdiff train-kin
      reactdiff train-kin --resume
    """
    from reactdiff.stages import train_kin as stage

    _train(stage, resume, params_file)


@app.command()
@handle_errors
def evaluate(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Stage evaluate: score every method on the val and test splits.

    Every REACT metric of every method of evaluate.methods (the challenge's baselines, the
    trained models offline and online) with 95% bootstrap intervals, by the protocol of the
    drop's format. Writes metrics/val.json (val: chooses) and metrics/eval.json (test: reports),
    reports/eval.md, reports/eval.png and reports/videos/, and moves the registry's champion
    alias on the val FRDist.

    \b
    Example:
      reactdiff evaluate
      dvc metrics show
    """
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
    """Score one set of predictions with every REACT metric.

    Prints one strict JSON object (FRCorr, FRDist, FRDiv, FRVar, FRDvs, FRSyn, FRSyn_all,
    FRRea_emotion), and writes it to --out if given; says on stderr where the metrics ran.
    Either four arrays, or --predictions, a folder written by `reactdiff predict`.

    \b
    Example:
      reactdiff metrics --pred P.npy --listener L.npy --speaker S.npy --neighbours M.npy
      reactdiff metrics --predictions submission/ --out scores.json

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
    """Write a submission folder for a split.

    The offline reactions of a trained model (any family) to every item of the split, in its
    sample order. Writes into --out, per item, <speaker clip path, percent-encoded>.emotion.npy
    (S, T, 25) and .3dmm.npy (S, T, 58), then manifest.json (model sha256 and registry version,
    params hash, git commit, seed, split, format, protocol, items) and submission.zip; logs the
    folder to MLflow. With the defaults, `reactdiff metrics --predictions DIR` prints the row
    that evaluate writes for the model.

    \b
    Example:
      reactdiff predict --out submission/ --split test
      reactdiff predict --out submission/ --model models:/reactdiff@champion --samples 10
    """
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
    """Generate reactions to one speaker clip.

    Takes a clip of a drop (--clip) or the speaker's files, of any length, and writes into --out
    one emotion file per reaction in the data format (react2024 Emotion CSVs, react2025
    facial-attributes .npy), reaction_XX_3dmm.npy, a plot (reactions.png) and reactions.mp4
    (the speaker next to a drawn face per reaction, with its audio).

    \b
    Example:
      reactdiff generate --clip NoXI/<session>/Expert_video/1 --out out/
      reactdiff generate --speaker-audio X.wav --speaker-emotion X.csv --speaker-3dmm X.npy \\
        --out out/ --model models:/reactdiff@champion

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


@app.command()
@handle_errors
def serve(
    model: Annotated[
        str, typer.Option(help="models:/reactdiff@champion, runs:/..., a model dir or file")
    ] = "models:/reactdiff@champion",
    port: Annotated[int, typer.Option(help="the port on --host")] = 5001,
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    params_file: ParamsOpt = PARAMS_FILE,
) -> None:
    """Serve a model over HTTP (POST /invocations).

    Answers reaction requests (the speaker's feature streams in, reactions in the challenge
    format out) with MLflow's scoring app (/invocations, /ping, /health, /version) on
    http://HOST:PORT, behind the limits of the `serving` group of params.yaml: the longest
    clip, the largest body, a per-request timeout that stops the work, and how many requests
    compute and wait. A model file is served with its family's settings of the `sampling`
    group; a logged model with its own. Runs until Ctrl-C.

    \b
    Example:
      reactdiff serve
      reactdiff serve --model models/reactdiff.pt --port 5005
    """
    from reactdiff.serve.server import model_generation
    from reactdiff.serve.server import serve as run_server

    params = load_params(params_file)
    run_server(model, params.serving, model_generation(model, params), port, host)


def main() -> None:  # pragma: no cover - console entry point
    stop_on_sigterm()
    app(prog_name="reactdiff")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
