import pytest
import torch

from reactdiff.diffusion.windows import from_windows, to_windows


def test_round_trip_and_order():
    x = torch.randn(3, 750, 8)
    w = to_windows(x, 50)
    assert w.shape == (45, 50, 8)
    assert torch.equal(w[15 + 4], x[1, 200:250])  # clip 1, window 4
    assert torch.equal(from_windows(w, 3), x)


def test_frames_not_a_multiple_of_the_window():
    with pytest.raises(ValueError, match="751 frames is not a multiple of the window 50"):
        to_windows(torch.zeros(1, 751, 8), 50)


def test_from_windows_needs_whole_clips():
    with pytest.raises(ValueError, match="7 windows do not split into 2 clips"):
        from_windows(torch.zeros(7, 50, 8), 2)


def test_rejects_wrong_rank():
    with pytest.raises(ValueError, match="expected"):
        to_windows(torch.zeros(750, 8), 50)
