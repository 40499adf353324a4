"""Validation of a REACT 2025 (MARS) drop: a hand-made tree passes, and each defect is a
failure naming the file (several defects in one tree: a validation run costs seconds)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from reactdiff.data.formats.react2025 import MODALITY_DIRS, REACT2025
from reactdiff.data.splits import SPLITS
from reactdiff.validation.run import validate_drop
from tests.helpers.params import params_with, repo_params

P = repo_params()
SESSIONS = ("session0", "session3")
RECORDINGS = 2  # per session and split
AUDIO_RATE = 16000
FA, COEF, AUDIO, CROP = (MODALITY_DIRS[s] for s in ("emotion", "3dmm", "audio", "video"))


def _path(root: Path, split: str, modality: str, role: str, session: str, name: str) -> Path:
    ext = {AUDIO: ".wav", CROP: ".mp4"}.get(modality, ".npy")
    return root / split / modality / role / session / f"{name}{ext}"


def _attributes(rng: np.random.Generator, t: int) -> np.ndarray:
    """(T, 25): 15 AUs 0/1, valence and arousal in [-1, 1], 8 probabilities summing to 1."""
    logits = rng.normal(size=(t, 8))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return np.hstack(
        [rng.integers(0, 2, size=(t, 15)), rng.uniform(-1, 1, size=(t, 2)), probs]
    ).astype(np.float32)


def _write_clip(root: Path, split: str, role: str, session: str, name: str, t: int, rng) -> None:
    paths = {m: _path(root, split, m, role, session, name) for m in (FA, COEF, AUDIO)}
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    np.save(paths[FA], _attributes(rng, t))
    shape = (t, 1, 58) if role == "listener" else (t, 58)  # both shapes the format allows
    np.save(paths[COEF], rng.normal(size=shape).astype(np.float32))
    sf.write(
        paths[AUDIO], rng.uniform(-0.1, 0.1, round(t / REACT2025.fps * AUDIO_RATE)), AUDIO_RATE
    )


def _names(split: str, session: str) -> list[str]:
    return [f"Camera-{split}-{session}-{j}" for j in range(RECORDINGS)]


def _write_tree(root: Path) -> Path:
    """3 splits x 2 sessions x 2 recordings, speaker and listener of one length T in
    [120, 200), no video."""
    rng = np.random.default_rng(0)
    for split in SPLITS:
        for session in SESSIONS:
            for name in _names(split, session):
                t = int(rng.integers(120, 200))
                for role in ("speaker", "listener"):
                    _write_clip(root, split, role, session, name, t, rng)
    return root


@pytest.fixture(scope="module")
def tree_master(tmp_path_factory) -> Path:
    return _write_tree(tmp_path_factory.mktemp("mars") / "mars")


@pytest.fixture
def tree(tree_master, tmp_path) -> Path:
    return Path(shutil.copytree(tree_master, tmp_path / "mars"))


def _validate(root: Path, tmp_path: Path, splits=SPLITS):
    return validate_drop(root, REACT2025, P.validation, tmp_path / "report", splits, progress=False)


def _failures(report) -> list[tuple[str, str]]:
    return [(f.where, f.check) for f in report.failures]


def test_a_good_tree_passes(tree, tmp_path):
    report = _validate(tree, tmp_path)
    assert report.success, [f.line() for f in report.failures]
    clips = len(SPLITS) * len(SESSIONS) * RECORDINGS
    assert report.counts["files"] == 2 * clips * 3  # facial-attributes, coefficients, audio
    assert report.counts["pairs"] == clips and report.counts["matrices"] == 0
    assert set(report.suites) == {"emotion_frames", "clip_files", "clip_pairs", "split_recordings"}
    assert not report.video_checked
    assert report.warnings == [f"no {CROP} folder in any split: video checks skipped"]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert set(summary) == {
        "root", "success", "video_checked", "counts", "suites", "failures", "warnings"
    }  # fmt: skip
    assert (tmp_path / "report" / "data_docs" / "index.html").is_file()


def _edit(path: Path, edit) -> Path:
    np.save(path, edit(np.load(path)))
    return path


def test_each_defect_is_a_failure_naming_its_file(tree, tmp_path):
    s0, s3 = SESSIONS
    tr, va, te = (_names(split, s0) for split in SPLITS)
    no_listener = _path(tree, "train", FA, "listener", s0, tr[0])
    no_listener.unlink()
    cols24 = _edit(_path(tree, "train", FA, "speaker", s0, tr[1]), lambda a: a[:, :24])
    short_audio = _path(tree, "val", AUDIO, "speaker", s0, va[0])
    wav, rate = sf.read(short_audio)
    sf.write(short_audio, wav[:-rate], rate)  # 1 s (30 frames) short
    coef_t = _edit(_path(tree, "val", COEF, "listener", s0, va[1]), lambda a: a[:-5])
    nan_row = _edit(
        _path(tree, "test", FA, "speaker", s0, te[0]),
        lambda a: np.where(np.arange(len(a))[:, None] == 7, np.nan, a),
    )
    inf_coef = _edit(_path(tree, "test", COEF, "speaker", s0, te[1]), lambda a: a + np.inf)

    def au_half(a):
        a[3, 7] = 0.5  # AU12
        return a

    au = _edit(_path(tree, "test", FA, "listener", s0, te[1]), au_half)
    for m in (FA, COEF):  # a pair of unequal lengths, each side consistent in itself
        _edit(_path(tree, "val", m, "listener", s3, _names("val", s3)[0]), lambda a: a[:-4])
    wav_path = _path(tree, "val", AUDIO, "listener", s3, _names("val", s3)[0])
    wav, rate = sf.read(wav_path)
    sf.write(wav_path, wav[: len(wav) - 4 * rate // REACT2025.fps], rate)
    leaked = _names("test", s3)[0]  # the same recording in train too
    for role in ("speaker", "listener"):
        for m in (FA, COEF, AUDIO):
            shutil.copy(
                _path(tree, "test", m, role, s3, leaked), _path(tree, "train", m, role, s3, leaked)
            )
    strays = [
        tree / "train" / FA / "observer" / s0 / "x.npy",
        tree / "train" / FA / "speaker" / "topic1" / "x.npy",
        tree / "train" / FA / "speaker" / s0 / "notes.txt",
        tree / "train" / FA / "speaker" / "x.npy",
    ]
    for p in strays:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"not opened")
    for role in ("speaker", "listener"):  # test session3 keeps one speaker clip
        _path(tree, "test", FA, role, s3, _names("test", s3)[1]).unlink()

    report = _validate(tree, tmp_path)
    found = _failures(report)
    lines = "\n".join(f.line() for f in report.failures)
    speaker = _path(tree, "train", FA, "speaker", s0, tr[0])
    assert (
        f"{no_listener}: the partner of {speaker}",
        "missing: every clip has a speaker and a listener file of the same name",
    ) in found, lines
    assert (str(cols24), f"{FA} does not have 25 columns") in found, lines
    assert (
        str(short_audio),
        f"{AUDIO} length differs from the clip's {FA} frames by more than 2 frames (at 30 fps)",
    ) in found, lines
    assert f"FAIL {short_audio}: " in lines and "(e.g. -30.0)" in lines
    assert (str(coef_t), f"{COEF} frames != the clip's {FA} frames") in found, lines
    assert (str(nan_row), "non-finite value (NaN/inf) in the row") in found, lines
    assert (
        f"FAIL {nan_row}: non-finite value (NaN/inf) in the row: 1 value(s) (e.g. rows 7)" in lines
    )
    assert (str(inf_coef), f"{COEF} has NaN/inf values") in found, lines
    assert f"FAIL {au}: AU12 is not 0/1: 1 value(s) (e.g. rows 3)" in lines
    unequal = [w for w, c in found if c == "speaker and listener have different lengths"]
    sp, li = (_path(tree, "val", FA, r, s3, _names("val", s3)[0]) for r in ("speaker", "listener"))
    assert unequal == [f"{sp}: {len(np.load(sp))} frames; {li}: {len(np.load(li))} frames"]
    [leak] = [w for w, c in found if c == "the same recording in more than one split"]
    assert leak == (
        f"{leaked}: {_path(tree, 'train', FA, 'speaker', s3, leaked)}, "
        f"{_path(tree, 'test', FA, 'speaker', s3, leaked)}"
    )
    stray_lines = {w.split(": ")[0] for w, c in found if c.startswith("not a clip file")}
    assert stray_lines == {str(p) for p in strays}
    only = _path(tree, "test", FA, "speaker", s3, leaked)
    assert any(w.startswith(f"{only}: the only speaker clip of test {s3}") for w in report.warnings)
    assert not report.success and len(found) == 9 + len(strays), lines  # nothing else failed


def _write_mp4(path: Path, frames: int) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=REACT2025.fps)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        black = np.zeros((16, 16, 3), dtype=np.uint8)
        for _ in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(black, format="rgb24")))
        container.mux(stream.encode(None))


def test_face_crop_videos_are_checked_in_the_split_that_has_them(tree, tmp_path):
    bad = None
    for session in SESSIONS:
        for name in _names("val", session):
            for role in ("speaker", "listener"):
                t = len(np.load(_path(tree, "val", FA, role, session, name)))
                path = _path(tree, "val", CROP, role, session, name)
                bad = bad or path
                _write_mp4(path, t - 3 if path == bad else t)
    report = _validate(tree, tmp_path, splits=("val",))
    assert report.video_checked
    assert _failures(report) == [(str(bad), f"{CROP} frames != the clip's {FA} frames")]
    assert report.failures[0].examples == [-3.0]
    assert report.warnings == [f"no {CROP} folder in train, test: {CROP} checked only in val"]
    assert report.counts["files"] == 2 * len(SESSIONS) * RECORDINGS * 4  # val only


def test_the_stage_detects_the_format_and_names_the_video_folder(tree, tmp_path):
    """data.format auto finds MARS; a 57-value coefficients file and a split without clips
    fail, each named."""
    from reactdiff.stages import validate

    coef = _edit(
        _path(tree, "train", COEF, "speaker", SESSIONS[0], _names("train", SESSIONS[0])[0]),
        lambda a: a[:, :57],
    )
    shutil.rmtree(tree / "test")
    params = params_with({"data": {"source": str(tree), "format": "auto"}})
    result = validate.run(
        params, validate.Options(root=tree, report_dir=tmp_path / "rep", progress=False)
    )
    assert f"video skipped (no {CROP})" in result.summary and "FAILED" in result.summary
    assert result.failure.failures == [
        f"FAIL {tree / 'test' / FA}: no speaker/session<k>/<clip>.npy files: not a REACT 2025 "
        "split: unreadable: 1 value(s)",
        f"FAIL {coef}: {COEF} does not have 58 values: 1 value(s) (e.g. 57.0)",
    ]
