"""The synthetic REACT 2025 (MARS) drop: layout, shapes, lengths, determinism, session topics."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from reactdiff.atomic import OUTPUT_MARKER
from reactdiff.cli import app
from reactdiff.data.columns import read_emotion
from reactdiff.data.formats import detect_format
from reactdiff.data.formats.react2025 import MARS_ROLES, REACT2025, MarsLayout
from reactdiff.data.readers import count_video_frames, load_npy
from reactdiff.data.splits import SPLITS
from reactdiff.data.synthetic import react2025 as mars
from reactdiff.data.synthetic.react2025 import (
    MarsSynthSpec,
    dyad_people,
    plan_recordings,
    simulate_recording,
    write_mars_drop,
)
from reactdiff.errors import ConfigError
from reactdiff.stages import data as data_stage
from tests.helpers.params import params_with, repo_params

REPO = Path(__file__).resolve().parents[2]
FPS = REACT2025.fps
FILE_STREAMS = ("emotion", "3dmm", "audio")


def tiny_mars_spec(**overrides) -> MarsSynthSpec:
    """3 dyads (one per split) x 2 sessions, 4-6 s clips, no video."""
    spec = {"dyads": 3, "sessions": 2, "min_seconds": 4, "max_seconds": 6, "seed": 7}
    return MarsSynthSpec.from_params(repo_params(), **{"video": False, **spec, **overrides})


@pytest.fixture(scope="module")
def mars_drop(tmp_path_factory) -> Path:
    """The tiny drop. Never modify."""
    out = tmp_path_factory.mktemp("mars") / "react2025"
    return write_mars_drop(out, tiny_mars_spec(), progress=False)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_tree_is_the_layout_both_roles_same_names(mars_drop):
    layout = MarsLayout(mars_drop)
    recordings = plan_recordings(tiny_mars_spec())
    expected = {
        str(layout.clip_path(r.split, r.rel(role), s).relative_to(mars_drop))
        for r in recordings
        for role in MARS_ROLES
        for s in FILE_STREAMS
    }
    expected |= {mars.SYNTH_FILE, OUTPUT_MARKER}
    assert set(_digest(mars_drop)) == expected  # nothing else: no CSVs, matrices or video
    assert detect_format(mars_drop) == REACT2025
    for split in SPLITS:
        for stream in FILE_STREAMS:
            base = layout.clip_path(split, "speaker/session0/x", stream).parents[2]
            names = {
                role: sorted(p.relative_to(base / role) for p in (base / role).rglob("*.*"))
                for role in MARS_ROLES
            }
            assert names["speaker"] == names["listener"] and names["speaker"]


def test_clip_names_are_camera_stamps_unique_per_recording():
    recordings = plan_recordings(tiny_mars_spec(dyads=5, sessions=4))
    names = [r.clip for r in recordings]
    assert len(set(names)) == len(names) == 20
    assert all(re.fullmatch(r"Camera-\d{4}-\d\d-\d\d-\d{6}-\d{6}", n) for n in names)


def test_every_split_has_every_session_and_dyads_do_not_cross(mars_drop):
    layout = MarsLayout(mars_drop)
    recordings = plan_recordings(tiny_mars_spec())
    for split in SPLITS:
        pairs = layout.pairs(split)
        assert {layout.session(p.speaker) for p in pairs} == {"session0", "session1"}
        assert len(layout.samples(split)) == 2 * len(pairs)
        for p in pairs:
            assert p.listener == p.speaker.replace("speaker/", "listener/", 1)
    split_of_dyad = {}
    for r in recordings:
        assert split_of_dyad.setdefault(r.dyad, r.split) == r.split  # subject-independent
    assert set(split_of_dyad.values()) == set(SPLITS)


def test_lengths_vary_and_lie_in_range(mars_drop):
    layout = MarsLayout(mars_drop)
    frames = {}
    for r in plan_recordings(tiny_mars_spec()):
        for role in MARS_ROLES:
            frames[r.rel(role)] = layout.clip_frames(r.split, r.rel(role))
            assert frames[r.rel(role)] == r.frames
    assert all(4 * FPS <= f <= 6 * FPS for f in frames.values())
    assert len(set(frames.values())) > 2


def test_arrays_audio_shapes_and_ranges(mars_drop):
    layout = MarsLayout(mars_drop)
    for r in plan_recordings(tiny_mars_spec()):
        for role in MARS_ROLES:
            rel, t = r.rel(role), r.frames
            raw = np.load(layout.clip_path(r.split, rel, "emotion"))
            assert raw.shape == (t, 25) and raw.dtype == np.float32
            emo = read_emotion(layout.clip_path(r.split, rel, "emotion"))
            assert set(np.unique(emo[:, :15])) <= {0.0, 1.0}
            assert np.all(np.abs(emo[:, 15:17]) <= 1)
            np.testing.assert_allclose(emo[:, 17:].sum(axis=1), 1, atol=1e-4)
            face = load_npy(layout.clip_path(r.split, rel, "3dmm"))
            assert face.shape == (t, 1, 58) and face.dtype == np.float32
            info = sf.info(str(layout.clip_path(r.split, rel, "audio")))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert info.frames == round(t * 16000 / FPS)  # exactly T / 30 s


def test_video_has_every_frame_at_30_fps(tmp_path):
    spec = tiny_mars_spec(sessions=1, video=True, video_size=32)
    root = write_mars_drop(tmp_path / "drop", spec, progress=False)
    layout = MarsLayout(root)
    for r in plan_recordings(spec):
        for role in MARS_ROLES:
            path = layout.clip_path(r.split, r.rel(role), "video")
            assert count_video_frames(path) == r.frames
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                assert stream.average_rate == FPS
                assert (stream.width, stream.height) == (32, 32)


def test_same_seed_same_bytes_whatever_the_workers(mars_drop, tmp_path):
    again = write_mars_drop(tmp_path / "again", tiny_mars_spec(), workers=2, progress=False)
    assert _digest(again) == _digest(mars_drop)
    other = write_mars_drop(tmp_path / "other", tiny_mars_spec(seed=8), progress=False)
    npys = {k: v for k, v in _digest(mars_drop).items() if k.endswith(".npy")}
    other_npys = {k: v for k, v in _digest(other).items() if k.endswith(".npy")}
    assert set(npys.values()).isdisjoint(other_npys.values())


def test_synthetic_drop_json_describes_the_spec(mars_drop):
    described = json.loads((mars_drop / mars.SYNTH_FILE).read_text())
    assert described["format"] == "react2025"
    assert described["dyads"] == 3 and described["fps"] == FPS and described["audio_rate"] == 16000


def test_spec_from_params_and_bad_values():
    p = repo_params()
    spec = MarsSynthSpec.from_params(p)
    m = p.data.synthetic.react2025
    assert (spec.dyads, spec.sessions, spec.min_seconds, spec.max_seconds) == (
        m.dyads,
        m.sessions,
        m.min_seconds,
        m.max_seconds,
    )
    assert (spec.fps, spec.audio_rate, spec.seed) == (30, 16000, p.base.seed)
    with pytest.raises(ConfigError, match=r"data\.synthetic\.react2025\.dyads: need at least 3"):
        plan_recordings(tiny_mars_spec(dyads=2))
    with pytest.raises(ConfigError, match="min_seconds/max_seconds"):
        tiny_mars_spec(min_seconds=6, max_seconds=5)


def _session_ratio(spec: MarsSynthSpec) -> tuple[float, float]:
    """Mean distance between the clip-mean (valence, arousal) of two same-session clips over
    that of two clips of different sessions: (speakers, listeners)."""
    recordings = plan_recordings(spec)
    people = {d: dyad_people(spec, d) for d in range(spec.dyads)}
    va = np.array(
        [
            [side.emotion[:, 15:17].mean(axis=0) for side in simulated.sides]
            for simulated in (simulate_recording(spec, r, people[r.dyad]) for r in recordings)
        ]
    )  # (recordings, role, 2)
    session = np.array([r.session for r in recordings])
    same = session[:, None] == session[None]
    other_clip = ~np.eye(len(session), dtype=bool)
    ratios = []
    for role in range(len(MARS_ROLES)):
        d = np.linalg.norm(va[:, None, role] - va[None, :, role], axis=-1)
        ratios.append(float(d[same & other_clip].mean() / d[~same].mean()))
    return ratios[0], ratios[1]


def test_same_session_reactions_are_more_alike(monkeypatch):
    """The session's topic makes its speakers, and so its listeners, more alike than clips of
    other sessions (seed 7: about 0.81 and 0.85); without topics the ratio is about 1."""
    spec = tiny_mars_spec(dyads=8, sessions=4, min_seconds=8, max_seconds=12)
    speakers, listeners = _session_ratio(spec)
    assert speakers < 0.9 and listeners < 0.92
    monkeypatch.setattr(mars, "TOPIC_VALENCE", 0.0)
    monkeypatch.setattr(mars, "TOPIC_AROUSAL", 0.0)
    no_topic = _session_ratio(spec)
    assert no_topic[0] > speakers + 0.1 and no_topic[1] > listeners + 0.05


def test_cli_synth_react2025(tmp_path):
    params = ["--params", str(REPO / "params.yaml")]
    out = tmp_path / "drop"
    args = ["synth", "--out", str(out), "--format", "react2025", "--dyads", "3", "--sessions", "1"]
    result = CliRunner().invoke(app, [*args, "--no-video", "--workers", "1", *params])
    assert result.exit_code == 0, result.output
    assert "3 dyads x 1 sessions (react2025)" in result.output
    assert all(MarsLayout(out).pairs(s) for s in SPLITS)
    bad = CliRunner().invoke(app, [*args, "--clips-per-session", "2", *params])
    assert bad.exit_code == 2 and "--clips-per-session: not an option of --format react2025" in (
        bad.output
    )
    helped = " ".join(CliRunner().invoke(app, ["synth", "--help"]).output.split())
    assert "react2025: MARS-style dyads" in helped and "Default: data.format" in helped


def test_data_stage_writes_the_mars_drop(tmp_path):
    small = {"dyads": 3, "sessions": 1, "min_seconds": 4, "max_seconds": 5}
    params = params_with(
        {
            "data": {
                "format": "react2025",
                "root": str(tmp_path / "raw"),
                "synthetic": {"video": False, "workers": 1, "react2025": small},
            }
        }
    )
    summary = data_stage.run(params, data_stage.Options(progress=False)).documents[
        "data_summary.json"
    ]
    frames = sum(
        MarsLayout(tmp_path / "raw").clip_frames(s, p.speaker)
        for s in SPLITS
        for p in MarsLayout(tmp_path / "raw").pairs(s)
    )
    assert summary["format"] == "react2025"
    assert (summary["dyads"], summary["sessions"], summary["clips"]) == (3, 1, 3)
    assert summary["total_frames"] == frames
    assert summary["total_clip_seconds"] == round(frames / FPS, 2)
