"""reactdiff.evaluation.bootstrap: percentile intervals of the mean over resampled items."""

import numpy as np
import pytest

from reactdiff.evaluation.bootstrap import (
    BootstrapError,
    difference_interval,
    intervals,
    percentile_interval,
    resample_indices,
)


def test_the_interval_is_the_percentiles_of_the_resampled_means():
    """Checked by hand on explicit resamples: 4 resamples of 2 items with values 0 and 10."""
    values = np.array([0.0, 10.0])
    indices = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # means 0, 5, 5, 10
    lo, hi = percentile_interval(values, indices)
    # numpy's linear percentile of [0, 5, 5, 10] at 2.5 and 97.5: 0 + 0.075 * 5, 10 - 0.375
    assert (lo, hi) == pytest.approx((0.375, 9.625), abs=1e-12)


def test_many_resamples_match_numpy_on_the_same_draws():
    rng = np.random.default_rng(3)
    values = rng.normal(size=40)
    indices = resample_indices(40, 2000, seed=11)
    means = np.array([values[row].mean() for row in indices])
    assert percentile_interval(values, indices) == pytest.approx(
        list(np.percentile(means, [2.5, 97.5])), rel=1e-12
    )


def test_a_constant_vector_has_a_zero_width_interval():
    lo, hi = percentile_interval(np.full(7, 3.25), resample_indices(7, 500, seed=0))
    assert lo == hi == 3.25


def test_seeded_and_shared_across_metrics():
    a, b = resample_indices(10, 300, seed=5), resample_indices(10, 300, seed=5)
    assert np.array_equal(a, b) and not np.array_equal(a, resample_indices(10, 300, seed=6))
    values = np.arange(10.0)
    got = intervals({"FRDist": values, "FRCorr": -values}, a)
    lo, hi = got["FRDist"]
    assert got["FRCorr"] == pytest.approx([-hi, -lo])  # the same resamples, mirrored values
    assert lo < 4.5 < hi


def test_values_not_one_per_item_name_the_metric():
    with pytest.raises(BootstrapError, match=r"metric 'FRSyn'.*shape \(3,\).*4 items"):
        intervals({"FRSyn": np.zeros(3)}, resample_indices(4, 100, seed=0))
    with pytest.raises(BootstrapError, match="no items"):
        resample_indices(0, 100, seed=0)


def test_a_paired_difference_is_certain_where_separate_intervals_overlap():
    """Two methods whose per-item values differ by a constant shift that is small next to the
    spread over items: their own intervals overlap, the paired difference's excludes 0."""
    rng = np.random.default_rng(0)
    a = rng.normal(100.0, 10.0, size=60)
    b = a + 1.0 + rng.normal(0.0, 0.1, size=60)
    indices = resample_indices(60, 1000, seed=0)
    hi_a = percentile_interval(a, indices)[1]
    lo_b = percentile_interval(b, indices)[0]
    assert lo_b < hi_a  # the separate intervals overlap
    lo, hi = difference_interval(b, a, indices)
    assert 0.9 < lo < 1.0 < hi < 1.1
