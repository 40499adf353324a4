"""Properties of the synthetic drop: format, ranges, the conversation model, determinism."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from reactdiff.data.appropriateness import neighbour_matrix
from reactdiff.data.columns import read_emotion
from reactdiff.data.formats.react2024 import ReactLayout, session_of
from reactdiff.data.readers import audio_info, count_video_frames, load_npy, read_3dmm
from reactdiff.data.splits import SPLITS
from reactdiff.data.synthetic import conversation as conv
from reactdiff.data.synthetic.conversation import Style, frames_of, simulate_clip
from reactdiff.data.synthetic.react2024 import assign_splits, write_drop
from reactdiff.errors import ConfigError
from tests.helpers.params import tiny_spec


def _clips(root: Path):
    layout = ReactLayout(root)
    return layout, [(s, rel) for s in SPLITS for rel in layout.clips(s)]


def test_layout_and_formats(tiny_drop_master):
    layout, clips = _clips(tiny_drop_master)
    assert len(clips) == 3 * 2 * 2
    datasets = {rel.split("/")[0] for _, rel in clips}
    assert datasets == {"NoXI", "RECOLA"}
    for split, rel in clips:
        emo_path = layout.clip_path(split, rel, "emotion")
        assert emo_path.parent.name in ("P1", "P2")
        header = emo_path.read_text().splitlines()[0].split(",")
        assert len(header) == 25 and header[0] == "AU1"
        emo = read_emotion(emo_path, 751)
        assert set(np.unique(emo[:, :15])) <= {0.0, 1.0}
        assert np.all(np.abs(emo[:, 15:17]) <= 1)
        assert np.all(emo[:, 17:] >= 0)
        np.testing.assert_allclose(emo[:, 17:].sum(axis=1), 1, atol=1e-4)
        raw3d = load_npy(layout.clip_path(split, rel, "3dmm"))
        assert raw3d.shape == (751, 1, 58)
        face = read_3dmm(layout.clip_path(split, rel, "3dmm"), 751)
        assert np.all(np.abs(face[:, :52]) < 3) and np.all(np.abs(face[:, 52:55]) < np.pi / 2)
        seconds, rate, channels = audio_info(layout.clip_path(split, rel, "audio"))
        assert rate == 44100 and channels == 1 and seconds >= 30
        assert count_video_frames(layout.video_path(split, rel)) == 751


def test_splits_are_session_disjoint_and_matrices_fit(tiny_drop_master):
    layout = ReactLayout(tiny_drop_master)
    sessions = {s: {session_of(r) for r in layout.clips(s)} for s in SPLITS}
    assert all(sessions.values())
    assert not (
        sessions["train"] & sessions["val"]
        or sessions["train"] & sessions["test"]
        or sessions["val"] & sessions["test"]
    )
    for split in ("val", "test"):
        m = np.load(layout.neighbour_matrix(split))
        n = 2 * len(layout.pairs(split))
        assert m.shape == (n, n) and set(np.unique(m)) <= {0, 1}
        assert np.all(np.diagonal(m) == 1)


def test_assign_splits_every_split_nonempty():
    for n in (3, 5, 24):
        names = assign_splits(n, (0.6, 0.2, 0.2), seed=1)
        assert set(names) == {"train", "val", "test"}


def test_assign_splits_bad_params_are_config_errors_naming_the_key():
    with pytest.raises(ConfigError, match=r"data\.synthetic\.sessions: need at least 3 sessions"):
        assign_splits(2, (0.6, 0.2, 0.2), seed=1)
    with pytest.raises(
        ConfigError, match=r"data\.synthetic\.split_fractions: \[0\.1, 0\.45, 0\.45\] of 4"
    ):
        assign_splits(4, (0.1, 0.45, 0.45), seed=1)  # 2 val + 2 test leave no train session


def test_neighbour_rule_marks_similar_speakers():
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, (4, 100, 25))
    speakers = np.concatenate([base, base + 1e-3])  # each speaker has an almost-twin
    m = neighbour_matrix(speakers, threshold=0.5)
    for k in range(4):
        assert m[k, k + 4] == 1 and m[k + 4, k] == 1
    assert np.all(np.diagonal(m) == 1)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_whatever_the_workers(tmp_path, tiny_drop_master):
    again = write_drop(tmp_path / "again", tiny_spec(), workers=2, progress=False)
    assert _digest(again) == _digest(tiny_drop_master)
    other = write_drop(
        tmp_path / "other",
        tiny_spec(seed=8, video=False),
        progress=False,
    )
    emotions = {
        k: v for k, v in _digest(tiny_drop_master).items() if k.endswith(".csv") and "/" in k
    }
    other_emotions = {k: v for k, v in _digest(other).items() if k.endswith(".csv") and "/" in k}
    assert len(emotions) == len(other_emotions) == 12
    assert set(emotions.values()).isdisjoint(other_emotions.values())  # another seed, other data
    assert not (other / "train" / "Video_files").exists()


def _xcorr(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """corr(a[t], b[t + lag]): positive lag = b follows a."""
    if lag >= 0:
        return float(np.corrcoef(a[: len(a) - lag], b[lag:])[0, 1])
    return float(np.corrcoef(a[-lag:], b[: len(b) + lag])[0, 1])


@pytest.mark.parametrize(("fps", "frames"), [(25, 751), (30, 900)])
def test_listener_follows_speaker_with_positive_lag(fps, frames):
    """Averaged over clips, the listener's valence and smile correlate best with the main
    talker's at a positive lag within 0.2-1.0 s (the listener reacts, it does not lead), at
    either format's frame rate: the model's lags are in seconds."""
    rng = np.random.default_rng(3)
    lags = np.arange(-round(1.6 * fps), round(1.6 * fps) + 1)  # +-1.6 s
    curves = {"valence": np.zeros(len(lags)), "AU12": np.zeros(len(lags))}
    for _ in range(12):
        styles = (Style.sample(rng, fps), Style.sample(rng, fps))
        for _ in range(3):
            clip = simulate_clip(rng, styles, frames)
            spk, lis = clip.sides[clip.main_talker], clip.sides[1 - clip.main_talker]
            for name, col in (("valence", 15), ("AU12", 7)):
                x = spk.emotion[:, col] if name == "valence" else spk.au_activation[:, col]
                y = lis.emotion[:, col] if name == "valence" else lis.au_activation[:, col]
                curves[name] += np.nan_to_num([_xcorr(x, y, int(L)) for L in lags])
    for name, curve in curves.items():
        best = int(lags[np.argmax(curve)])
        assert round(0.2 * fps) <= best <= fps, f"{name}: best lag {best} frames at {fps} fps"


@pytest.mark.parametrize(("fps", "frames"), [(25, 751), (30, 900)])
def test_listener_nods_in_speaker_pauses(fps, frames):
    rng = np.random.default_rng(5)
    in_pause, in_talk = [], []
    for _ in range(10):
        styles = (Style.sample(rng, fps), Style.sample(rng, fps))
        clip = simulate_clip(rng, styles, frames)
        spk, lis = clip.sides[clip.main_talker], clip.sides[1 - clip.main_talker]
        lag = styles[1 - clip.main_talker].lag
        pitch_speed = np.abs(np.diff(lis.face_3dmm[:, 52], prepend=0))[lag:]
        talking = spk.talk[: len(spk.talk) - lag]
        in_pause.append(pitch_speed[talking == 0].mean())
        in_talk.append(pitch_speed[talking == 1].mean())
    assert np.mean(in_pause) > 1.2 * np.mean(in_talk)


def test_durations_are_the_react2024_frame_counts_at_25_fps():
    """The model's durations are in seconds; at 25 fps they must give the integers the REACT
    2024 drop was generated with, or its bytes would change."""
    assert [frames_of(s, 25) for s in conv.LAG_SECONDS] == [5, 25]
    assert frames_of(conv.FIRST_ONSET_SECONDS, 25) == 25
    assert frames_of(conv.MIN_BURST_SECONDS, 25) == 5
    assert frames_of(conv.MIN_PAUSE_SECONDS, 25) == 4
    assert frames_of(conv.BACKCHANNEL_GAP_SECONDS[0], 25) == 25
    assert [frames_of(s, 25) for s in conv.BACKCHANNEL_SECONDS] == [5, 12]
    assert frames_of(conv.NOD_SECONDS, 25) == 15
    widths = (conv.AU_NOISE_SECONDS, conv.VA_NOISE_SECONDS, conv.EXPR_NOISE_SECONDS)
    assert [frames_of(s, 25) for s in widths] == [4, 3, 6]


@pytest.mark.parametrize("fps", [25, 30])
def test_talk_timing_is_in_seconds(fps):
    """The main talker talks about the same share of the time, in bursts of about the same
    length in seconds, whatever the frame rate."""
    rng = np.random.default_rng(11)
    share, bursts = [], []
    for _ in range(6):
        styles = (Style.sample(rng, fps), Style.sample(rng, fps))
        clip = simulate_clip(rng, styles, 90 * fps, main=0)
        talk = clip.sides[0].talk
        share.append(talk.mean())
        starts = np.flatnonzero(np.diff(talk, prepend=0) == 1)
        bursts.append(talk.sum() / max(1, len(starts)) / fps)
    assert 0.65 < np.mean(share) < 0.85  # 1.6 s bursts, 0.6 s pauses: about 0.73
    assert 1.3 < np.mean(bursts) < 2.0  # about the 1.6 s mean, in seconds at either rate


def test_styles_of_other_frame_rates_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="different frame rates"):
        simulate_clip(rng, (Style.sample(rng, 25), Style.sample(rng, 30)), 100)
