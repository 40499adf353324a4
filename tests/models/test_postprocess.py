import torch

from reactdiff.data.columns import AU_SLICE, EXPR_SLICE, VA_SLICE
from reactdiff.models.postprocess import EmotionLayout, postprocess_emotion

REACT = EmotionLayout.from_slices(AU_SLICE, VA_SLICE, EXPR_SLICE)


def test_challenge_format():
    raw = torch.randn(3, 40, 25) * 2
    raw[0, 0, 17:] = -1.0  # no positive expression mass: falls back to uniform
    out = postprocess_emotion(raw, REACT)
    assert set(out[..., :15].unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out[..., :15], (raw[..., :15] >= 0.5).float())
    assert out[..., 15:17].abs().max() <= 1
    assert torch.allclose(out[..., 17:].sum(-1), torch.ones(3, 40), atol=1e-6)
    assert (out[..., 17:] >= 0).all()
    assert torch.allclose(out[0, 0, 17:], torch.full((8,), 1 / 8))
    keep = raw[1, 5, 17:].clamp_min(0)
    assert torch.allclose(out[1, 5, 17:], keep / keep.sum())


def test_layout_round_trips_through_a_dict():
    from dataclasses import asdict

    assert EmotionLayout.from_dict(asdict(REACT)) == REACT
    assert REACT.aus == (0, 15) and REACT.expressions == (17, 25)
