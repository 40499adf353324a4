"""`reactdiff generate`: from a drop's clip or from loose speaker files, to REACT-format files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from reactdiff.cli import app
from reactdiff.data.columns import read_emotion
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.formats.react2025 import REACT2025
from reactdiff.data.readers import read_3dmm, read_video
from reactdiff.data.render import LABEL_HEIGHT, TILE_SIZE, face_drive, fit_tile, grid_size
from reactdiff.data.synthetic.face import draw_face_frames
from tests.helpers.video import assert_audio_lasts, decode


@pytest.fixture
def setup(tiny_reactdiff, tiny_drop_master, tmp_path):
    params, folder, _ = tiny_reactdiff
    import yaml

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params.model_dump(mode="json", by_alias=True)))
    rel = ReactLayout(tiny_drop_master).clips("test")[0]
    return str(path), str(folder / "reactdiff.pt"), rel


def _check_outputs(out, samples):
    for i in range(samples):
        emotion = pd.read_csv(out / f"reaction_{i:02d}.csv")
        assert emotion.shape == (750, 25) and emotion.columns[0] == "AU1"
        np.testing.assert_allclose(emotion.iloc[:, 17:].sum(axis=1), 1, atol=1e-4)
        assert np.load(out / f"reaction_{i:02d}_3dmm.npy").shape == (750, 58)
    assert (out / "reactions.png").read_bytes()[:4] == b"\x89PNG"


def _check_video(out, samples, speaker_tile, fps=25, frames=750):
    """reactions.mp4: every frame decodes, the clip's length, the grid of the speaker and the
    reactions, the speaker's audio; its first tile is ``speaker_tile(t)`` at frame t."""
    video = decode(out / "reactions.mp4")
    width, height = grid_size(1 + samples)
    assert video.frames.shape == (frames, height, width, 3)
    assert video.fps == fps
    assert_audio_lasts(video, frames / fps)
    for t in (0, frames // 2, frames - 1):
        tile = video.frames[t, LABEL_HEIGHT : LABEL_HEIGHT + TILE_SIZE, :TILE_SIZE]
        assert np.abs(tile.astype(int) - speaker_tile(t)).mean() < 8, t


def test_generate_for_a_clip_of_the_drop(setup, tiny_drop_master, tmp_path):
    params, model, rel = setup
    out = tmp_path / "out"
    args = [
        "generate",
        "--clip",
        rel,
        "--root",
        str(tiny_drop_master),
        "--out",
        str(out),
        "--samples",
        "3",
        "--seed",
        "1",
        "--model",
        model,
        "--params",
        params,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    _check_outputs(out, 3)
    speaker = read_video(ReactLayout(tiny_drop_master).video_path("test", rel))  # the drop's mp4
    _check_video(out, 3, lambda t: fit_tile(speaker[t], TILE_SIZE))


def test_generate_from_speaker_files(setup, tiny_drop_master, tmp_path):
    params, model, rel = setup
    layout = ReactLayout(tiny_drop_master)
    files = [
        "--speaker-audio",
        str(layout.clip_path("test", rel, "audio")),
        "--speaker-emotion",
        str(layout.clip_path("test", rel, "emotion")),
        "--speaker-3dmm",
        str(layout.clip_path("test", rel, "3dmm")),
    ]
    out = tmp_path / "out"
    common = ["--out", str(out), "--samples", "2", "--model", model, "--params", params, "--online"]
    result = CliRunner().invoke(app, ["generate", *files, *common])
    assert result.exit_code == 0, result.output
    _check_outputs(out, 2)
    drawn = draw_face_frames(  # no --speaker-video: the speaker's face drawn from its files
        face_drive(
            read_emotion(layout.clip_path("test", rel, "emotion"), 750),
            read_3dmm(layout.clip_path("test", rel, "3dmm"), 750),
            750,
        ),
        TILE_SIZE,
    )
    _check_video(out, 2, lambda t: drawn[t])

    missing = CliRunner().invoke(app, ["generate", *files[:2], *common])
    assert missing.exit_code == 2 and "need --speaker-emotion, --speaker-3dmm" in missing.output


def test_missing_model_is_a_clear_error(setup, tmp_path):
    params, _, rel = setup
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--clip",
            rel,
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(tmp_path / "nope.pt"),
            "--params",
            params,
        ],
    )
    assert result.exit_code == 2 and "nope.pt: model not found" in result.output


def test_generate_with_a_registered_model(setup, tiny_drop_master, tmp_path, mlflow_store):
    """`--model models:/reactdiff/1` and `@champion` load the version's model file from the
    registry; an unknown version or alias exits 2 listing what there is."""
    import mlflow

    from reactdiff.models import load_model
    from reactdiff.tracking import log_registered_model

    params, model, rel = setup
    common = ["--clip", rel, "--root", str(tiny_drop_master), "--samples", "2", "--params", params]
    out = tmp_path / "out"

    def generate(uri: str):
        return CliRunner().invoke(app, ["generate", *common, "--out", str(out), "--model", uri])

    empty = generate("models:/reactdiff@champion")
    assert empty.exit_code == 2, empty.output
    assert "error: models:/reactdiff@champion: no registered model 'reactdiff'" in empty.output

    mlflow.set_tracking_uri(mlflow_store)
    mlflow.set_experiment("generate-test")  # not an earlier test's experiment id (cached)
    with mlflow.start_run():
        log_registered_model(load_model(model), "reactdiff", "reactdiff", Path(model), [])
    result = generate("models:/reactdiff/1")
    assert result.exit_code == 0, result.output
    _check_outputs(out, 2)

    unknown = generate("models:/reactdiff/7")
    assert unknown.exit_code == 2 and "models:/reactdiff/7: reactdiff has no version 7" in (
        unknown.output
    )
    no_alias = generate("models:/reactdiff@champion")
    assert no_alias.exit_code == 2 and "reactdiff has no aliases (versions [1])" in no_alias.output
    mlflow.MlflowClient().set_registered_model_alias("reactdiff", "champion", "1")
    assert generate("models:/reactdiff@champion").exit_code == 0


def test_the_model_may_be_of_any_family(tmp_path, monkeypatch):
    from reactdiff.stages.generate import trained_model
    from tests.helpers.toy_family import register_toy_family

    toy = register_toy_family(monkeypatch)({"emotion": 25, "mfcc": 26})
    toy.save(tmp_path / "toy.pt")
    assert trained_model(tmp_path / "toy.pt").speaker_streams == {"emotion": 25, "mfcc": 26}


def test_a_model_that_is_not_a_model_file_is_named(setup, tmp_path):
    params, _, rel = setup
    csv = tmp_path / "reaction_00.csv"
    csv.write_text("AU1,AU2\n0,1\n")
    args = ["generate", "--clip", rel, "--out", str(tmp_path / "o"), "--params", params]
    result = CliRunner().invoke(app, [*args, "--model", str(csv)])
    assert result.exit_code == 2, result.output
    assert f"{csv}: cannot load as a model file: not a PyTorch file" in result.output


def test_the_speaker_of_a_staged_mars_clip_is_its_own_files(tmp_path):
    """REACT 2025 loose files staged as a one-clip drop: the video reads the speaker's real
    files (not the temp symlinks), the 3DMM rows of the clip's length, and draws the speaker."""
    from reactdiff.data.formats.react2025 import MarsLayout
    from reactdiff.data.render import reaction_video
    from reactdiff.stages.generate import SpeakerFiles, speaker_view, stage_clip
    from tests.helpers.react2025_tree import write_clip

    root, rel = tmp_path / "mars", "speaker/session0/Camera-x"
    write_clip(root, "test", rel, 100, np.random.default_rng(0))
    src = MarsLayout(root)
    files = SpeakerFiles(
        audio=src.clip_path("test", rel, "audio"),
        emotion=src.clip_path("test", rel, "emotion"),
        face_3dmm=src.clip_path("test", rel, "3dmm"),
    )
    staged = stage_clip(files, ["mfcc", "emotion", "3dmm"], tmp_path / "staged", REACT2025)
    view = speaker_view(staged, "test", "speaker/session0/generate", None)
    assert view.audio == files.audio.resolve() and view.video is None
    assert view.emotion.shape == (100, 25) and view.face_3dmm.shape == (100, 58)

    rng = np.random.default_rng(1)
    emotion = np.tile(view.emotion, (2, 1, 1))
    face = rng.normal(0, 0.1, (2, 100, 58)).astype(np.float32)
    out = tmp_path / "out"
    reaction_video(
        out / "reactions.mp4",
        view.video,
        view.emotion,
        view.face_3dmm,
        emotion,
        face,
        REACT2025.fps,
        view.audio,
    )
    drawn = draw_face_frames(face_drive(view.emotion, view.face_3dmm, 100), TILE_SIZE)
    _check_video(out, 2, lambda t: drawn[t], fps=REACT2025.fps, frames=100)
