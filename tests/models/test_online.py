"""Online generation of a trained model: frame-level causality, streaming, any clip length."""

import pytest
import torch

from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.models.reactdiff import ReactDiff

FRAMES = 173  # not a multiple of the 50-frame window
CUTS = (0, 13, 49, 50, 51, 88, 99, 137, 160)  # inside windows and at their borders


@pytest.fixture(scope="module")
def model(tiny_reactdiff) -> ReactDiff:
    _, folder, _ = tiny_reactdiff
    return ReactDiff.load(folder / "reactdiff.pt")


@pytest.fixture(scope="module")
def speaker(tiny_reactdiff, model) -> dict[str, torch.Tensor]:
    params, _, _ = tiny_reactdiff
    test = PairFeatureDataset(
        params.features.out, "test", model.streams, splits_dir=params.split.out
    )
    return {k: v[:FRAMES] for k, v in test[0]["speaker"].items()}


def _online(model, speaker, delay, samples=2, seed=5):
    return model.generate(speaker, samples, online=True, delay_frames=delay, seed=seed, steps=4)


def _changed_after(speaker, t):
    """The speaker with every frame after ``t`` replaced by other values."""
    g = torch.Generator().manual_seed(t)
    out = {k: v.clone() for k, v in speaker.items()}
    for v in out.values():
        v[t + 1 :] = torch.randn(v[t + 1 :].shape, generator=g) * 3
    return out


@pytest.mark.parametrize("delay", [0, 7, 49])
def test_no_frame_sees_speaker_frames_beyond_its_delay(model, speaker, delay):
    face, emotion = _online(model, speaker, delay)
    assert face.shape == (2, FRAMES, 58) and emotion.shape == (2, FRAMES, 25)
    later_changed = 0
    for t in CUTS:
        face2, emotion2 = _online(model, _changed_after(speaker, t), delay)
        fixed = max(0, t - delay + 1)  # frames <= t - delay
        assert torch.equal(face2[:, :fixed], face[:, :fixed]), (t, delay)
        assert torch.equal(emotion2[:, :fixed], emotion[:, :fixed]), (t, delay)
        later_changed += not torch.equal(face2[:, fixed:], face[:, fixed:])
    assert later_changed >= len(CUTS) - 1  # the future does matter (at the end it may not)


def test_delay_of_a_window_less_one_sees_the_whole_window(model, speaker):
    """With delay W - 1 a window's condition is its own span: a change at the window's last
    frame reaches its first frame; with delay 0 it does not."""
    changed = {k: v.clone() for k, v in speaker.items()}
    for v in changed.values():
        v[99] += 3.0  # the last frame of the second window
    for delay, reaches in ((49, True), (0, False)):
        face, _ = _online(model, speaker, delay)
        face2, _ = _online(model, changed, delay)
        assert torch.equal(face[:, :50], face2[:, :50])
        assert (not torch.equal(face[:, 50], face2[:, 50])) == reaches, delay


@pytest.mark.parametrize("delay", [0, 20])
def test_stream_in_random_chunks_equals_the_one_shot_call(model, speaker, delay):
    whole = _online(model, speaker, delay, samples=3, seed=9)
    g = torch.Generator().manual_seed(delay)
    for _ in range(3):
        session = model.stream(3, delay_frames=delay, seed=9, steps=4)
        parts, start = [], 0
        while start < FRAMES:
            n = int(torch.randint(0, 37, (1,), generator=g))  # empty chunks too
            parts.append(session.push({k: v[start : start + n] for k, v in speaker.items()}))
            start += n
            received = min(start, FRAMES)
            sampled = max(0, (received - delay - 1) // 50 + 1) * 50  # frames of sampled windows
            assert sum(p[0].shape[1] for p in parts) == min(received, sampled)
        parts.append(session.finish())
        for k in range(2):
            assert torch.equal(torch.cat([p[k] for p in parts], 1), whole[k])


def test_frames_come_as_soon_as_their_speaker_frame_and_window_are_in(model, speaker):
    session = model.stream(1, delay_frames=10, seed=0, steps=2)

    def push(a, b):
        return session.push({k: v[a:b] for k, v in speaker.items()})[0].shape[1]

    assert push(0, 10) == 0  # window 0 waits for speaker frame 10
    assert push(10, 11) == 11  # frames 0..10
    assert push(11, 40) == 29  # up to the speaker, within the sampled window
    assert push(40, 60) == 10  # frames 40..49; window 1 waits for frame 60
    assert push(60, 61) == 11  # frames 50..60
    assert session.finish()[0].shape[1] == 0  # nothing due beyond the last speaker frame


def test_batched_stream_matches_each_clip_alone(model, speaker):
    other = {k: v.flip(0) for k, v in speaker.items()}
    batch = {k: torch.stack([speaker[k], other[k]]) for k in speaker}
    face, _ = _online(model, batch, 0, samples=2)
    assert face.shape == (2, 2, FRAMES, 58)
    assert not torch.equal(face[0], face[1])


@pytest.mark.parametrize("frames", [1, 30, 50, 601])
def test_any_length(model, speaker, frames):
    long = {k: v.repeat(4, 1)[:frames] for k, v in speaker.items()}
    face, emotion = _online(model, long, 5)
    assert face.shape == (2, frames, 58) and emotion.shape == (2, frames, 25)
    assert torch.isfinite(face).all()
    clip_face, _ = model.generate_clip(long, 2, 750, online=True, delay_frames=5, seed=5, steps=4)
    assert torch.equal(clip_face, face)  # generate_clip streams the whole clip


def test_mistakes_are_named(model, speaker):
    with pytest.raises(ValueError, match=r"delay_frames must be in \[0, 49\]"):
        model.stream(1, delay_frames=50)
    session = model.stream(1)
    with pytest.raises(KeyError, match="mfcc"):
        session.push({k: v for k, v in speaker.items() if k != "mfcc"})
    session.push(speaker)
    with pytest.raises(ValueError, match=r"switched between \(t, d\) and \(B, t, d\)"):
        session.push({k: v[None] for k, v in speaker.items()})
    with pytest.raises(ValueError, match="differ in length"):
        session.push({k: v[: 3 + i] for i, (k, v) in enumerate(speaker.items())})
    session.finish()
    with pytest.raises(RuntimeError, match="finished"):
        session.push(speaker)
    with pytest.raises(ValueError, match="before any speaker frame"):
        model.stream(1).finish()
