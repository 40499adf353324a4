import pytest
import torch

from reactdiff.models.standardize import LatentTransform


def _latents(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(6, 100, 16, generator=g) * torch.linspace(0.1, 5, 16) + 3.0


def test_standardises_and_inverts_exactly():
    x = _latents()
    tf = LatentTransform.fit(x)
    z = tf(x)
    torch.testing.assert_close(z.mean((0, 1)), torch.zeros(16), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std((0, 1), unbiased=False), torch.ones(16), atol=1e-5, rtol=0)
    torch.testing.assert_close(tf.inverse(z), x, atol=1e-5, rtol=1e-6)
    y = torch.randn(2, 50, 16)  # the inverse of sampled latents, too
    torch.testing.assert_close(tf(tf.inverse(y)), y, atol=1e-5, rtol=1e-6)


def test_fit_from_batches_equals_fit_from_the_whole():
    x = _latents(1)
    whole, streamed = LatentTransform.fit(x), LatentTransform.fit(iter(x.split(2)))
    torch.testing.assert_close(streamed.mean, whole.mean)
    torch.testing.assert_close(streamed.std, whole.std)
    torch.testing.assert_close(streamed.low, whole.low)
    torch.testing.assert_close(streamed.high, whole.high)


def test_range_is_that_of_the_standardised_latents():
    x = _latents(3)
    tf = LatentTransform.fit(x)
    low, high = tf.x0_range
    z = tf(x).reshape(-1, 16)
    torch.testing.assert_close(low, z.amin(0), atol=1e-5, rtol=0)
    torch.testing.assert_close(high, z.amax(0), atol=1e-5, rtol=0)


def test_state_dict_restores_the_statistics():
    tf = LatentTransform.fit(_latents())
    loaded = LatentTransform.identity(16)
    loaded.load_state_dict(tf.state_dict())
    x = _latents(2)
    assert torch.equal(loaded(x), tf(x))
    assert torch.equal(loaded.low, tf.low) and torch.equal(loaded.high, tf.high)


def test_fit_needs_data():
    with pytest.raises(ValueError, match="no latents"):
        LatentTransform.fit([])
