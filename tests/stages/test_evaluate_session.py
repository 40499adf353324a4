"""The evaluate stage on a hand-made REACT 2025 (MARS) tree: the session protocol end to end,
baselines and a briefly trained ReactDiff."""

import json

import numpy as np
import pytest

from reactdiff.data.render import grid_size
from reactdiff.errors import ConfigError
from reactdiff.evaluation.protocols.session import SESSION_METRIC_KEYS
from reactdiff.evaluation.realism import FACE_REALISM_KEYS, REALISM_KEYS
from reactdiff.stages import evaluate
from tests.helpers.params import params_with
from tests.helpers.video import assert_audio_lasts, decode

METHODS = ["GT", "B_Random", "B_Mime", "B_MeanSeq", "B_MeanFr"]
MODEL_ROWS = ["ReactDiff (offline)", "ReactDiff (online)", "ReactDiff w/o diffusion"]


def _params(mars_master, tmp, methods, **evaluate_overrides):
    train = {"epochs": 1, "batch_size": 4, "device": "cpu"}
    return params_with(
        {
            "data": {"source": str(mars_master / "root"), "format": "auto"},
            "split": {"out": str(mars_master / "splits")},
            "features": {"out": str(mars_master / "store")},
            "train_mmt": {
                **train,
                "clip_frames": 150,
                "checkpoint": str(tmp / "mmt_ckpt.pt"),
                "model_out": str(tmp / "mmt.pt"),
                "metrics_file": str(tmp / "mmt.json"),
                "plots_dir": str(tmp / "plots_mmt"),
            },
            "train_ddim": {
                **train,
                "checkpoint": str(tmp / "ddim_ckpt.pt"),
                "model_out": str(tmp / "reactdiff.pt"),
                "metrics_file": str(tmp / "ddim.json"),
                "plots_dir": str(tmp / "plots_ddim"),
            },
            "sampling": {"steps": 3},
            "evaluate": {
                "methods": methods,
                "samples": 3,
                "gt_samples": 2,
                "metrics_file": str(tmp / "eval.json"),
                "select_metrics_file": str(tmp / "val.json"),
                "report_file": str(tmp / "eval.md"),
                "plot_file": str(tmp / "eval.png"),
                "video_dir": str(tmp / "videos"),
                **evaluate_overrides,
            },
        }
    )


@pytest.fixture(scope="module")
def trained(mars_master, tmp_path_factory):
    from reactdiff.stages import train_ddim, train_mmt

    tmp = tmp_path_factory.mktemp("mars_model")
    params = _params(mars_master, tmp, METHODS + MODEL_ROWS)
    mmt = train_mmt.run(params, train_mmt.Options(progress=False))
    train_ddim.run(params, train_ddim.Options(progress=False))
    return params, tmp, mmt


def test_training_uses_windows_of_clip_frames(trained):
    _, _, mmt = trained
    # clips of 130, 170, 200, 160 frames: the 130-frame pair is too short for 150, both ways
    assert mmt.metrics["train_pairs_too_short"] == 2 and mmt.metrics["val_pairs_too_short"] == 2


def test_every_method_on_the_session_protocol(trained):
    params, tmp, _ = trained
    result = evaluate.run(params, evaluate.Options(progress=False))
    results = json.loads((tmp / "eval.json").read_text())
    assert list(results) == METHODS + MODEL_ROWS
    realism = set(REALISM_KEYS)
    for name, row in results.items():  # model rows also have their 3DMM's motion
        face = set(FACE_REALISM_KEYS) if name in MODEL_ROWS else set()
        assert set(row) == set(SESSION_METRIC_KEYS) | realism | face | {"ci95"}, name
        # whole-item scoring: an interval over items for every session metric
        assert set(row["ci95"]) == set(SESSION_METRIC_KEYS), name
        assert all(lo <= row[key] <= hi for key, (lo, hi) in row["ci95"].items()), name
    assert all(np.isfinite(v) for row in results.values() for k, v in row.items() if k != "ci95")
    gt = results["GT"]
    assert all(gt["FRCorr"] >= results[m]["FRCorr"] for m in results)
    assert gt["FRDist"] == 0 and gt["FRDiv"] == 0  # its own listener is one of its ground truths
    md = (tmp / "eval.md").read_text()
    assert "REACT 2025 protocol" in md and "8 items" in md and "±1.63 s at 30 fps" in md
    assert "FRDvs" not in md and "FRRea" not in md
    assert "## Realism" in md and "| ReactDiff (offline) |" in md
    assert result.run_params["format"] == "react2025" and result.run_params["protocol"] == "session"
    assert result.champion is not None

    # the first test clips as videos: speaker, real listener, ReactDiff samples; logged
    videos = sorted((tmp / "videos").glob("*.mp4"))
    assert len(videos) == params.evaluate.videos
    assert [(p, "evaluation/videos") for p in videos] == result.artifacts[-len(videos) :]
    dataset_lengths = {130, 170, 200, 160}  # the fixture's clips (a pair: the shorter one)
    for path in videos:
        video = decode(path)
        assert len(video.frames) in dataset_lengths and video.fps == 30
        assert_audio_lasts(video, len(video.frames) / 30)
        width, height = grid_size(2 + params.evaluate.video_samples)
        assert video.frames.shape[1:3] == (height, width)


def test_a_torchscript_post_processor_aligns_the_ground_truths(trained, tmp_path):
    import torch

    class Stretch(torch.nn.Module):
        def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
            index = torch.arange(pred.shape[1]) * gt.shape[0] // pred.shape[1]
            return gt[index]

    path = tmp_path / "align.pt"
    torch.jit.script(Stretch()).save(str(path))
    methods = ["GT", "B_Mime"]
    mars = trained[0].features.out.parent
    crop = _params(mars, tmp_path / "crop", methods)
    stretch = _params(
        mars, tmp_path / "stretch", methods, alignment="torchscript", post_processor=str(path)
    )
    rows = {}
    for name, params in (("crop", crop), ("stretch", stretch)):
        evaluate.run(params, evaluate.Options(progress=False))
        rows[name] = json.loads(params.evaluate.metrics_file.read_text())
    md = stretch.evaluate.report_file.read_text()
    assert f"TorchScript post-processor {path}" in md
    assert "cropped" in crop.evaluate.report_file.read_text()
    # stretched ground truths cover every chunk: other values than the cropped ones
    assert rows["crop"]["B_Mime"]["FRDist"] != rows["stretch"]["B_Mime"]["FRDist"]


def test_the_challenge_post_processor_aligns_the_ground_truths(trained, tmp_path):
    import torch

    from tests.evaluation.test_post_processor import _Echo

    path = tmp_path / "autoencoder.pt"
    torch.jit.script(_Echo()).save(str(path))
    params = _params(
        trained[0].features.out.parent,
        tmp_path,
        ["GT", "B_Mime"],
        alignment="challenge",
        post_processor=str(path),
    )
    evaluate.run(params, evaluate.Options(progress=False))
    md = params.evaluate.report_file.read_text()
    assert (
        f"challenge's post-processor (its segment wrapper around the TorchScript auto-encoder {path})"
        in md
    )
    row = json.loads(params.evaluate.metrics_file.read_text())["GT"]
    assert row["FRDist"] == 0  # its own listener, of the item's length, is kept as it is


def test_chunked_scoring_is_an_option_labelled_not_comparable(trained, tmp_path):
    methods = ["GT", "B_Mime"]
    mars = trained[0].features.out.parent
    rows, notes = {}, {}
    for scoring in ("whole", "chunked"):
        params = _params(mars, tmp_path / scoring, methods, session_scoring=scoring)
        evaluate.run(params, evaluate.Options(progress=False))
        rows[scoring] = json.loads(params.evaluate.metrics_file.read_text())
        notes[scoring] = params.evaluate.report_file.read_text()
    assert "each scored whole" in notes["whole"] and "not comparable" not in notes["whole"]
    assert "not comparable with the challenge's numbers" in notes["chunked"]
    # the fixture's items (130..200 frames) are one chunk each, but a shorter ground truth is
    # padded whole and left out of a chunk: B_Mime's FRCorr differs
    assert rows["whole"]["B_Mime"]["FRCorr"] != rows["chunked"]["B_Mime"]["FRCorr"]
    assert rows["whole"]["GT"]["FRDist"] == rows["chunked"]["GT"]["FRDist"] == 0


def test_generate_for_a_mars_clip_of_its_own_length(trained, tmp_path):
    from reactdiff.data.formats.react2025 import MarsLayout
    from reactdiff.stages import generate

    params, _, _ = trained
    root = params.data.react_root
    rel = "speaker/session1/Camera-test-1-0"  # 200 frames
    layout = MarsLayout(root)
    by_clip = generate.Options(out=tmp_path / "clip", clip=(root, "test", rel), samples=2, seed=1)
    generate.run(params, by_clip)
    emotion = np.load(tmp_path / "clip" / "reaction_01.npy")
    assert emotion.shape == (200, 25)
    assert np.load(tmp_path / "clip" / "reaction_01_3dmm.npy").shape == (200, 58)
    files = generate.SpeakerFiles(
        audio=layout.clip_path("test", rel, "audio"),
        emotion=layout.clip_path("test", rel, "emotion"),
        face_3dmm=layout.clip_path("test", rel, "3dmm"),
    )
    staged = generate.Options(out=tmp_path / "files", files=files, samples=2, seed=1)
    generate.run(params, staged)
    np.testing.assert_array_equal(np.load(tmp_path / "files" / "reaction_01.npy"), emotion)
    no_emotion = generate.SpeakerFiles(audio=files.audio, face_3dmm=files.face_3dmm)
    with pytest.raises(ConfigError, match="--speaker-emotion"):
        generate.run(params, generate.Options(out=tmp_path / "x", files=no_emotion))
