"""The noise tests from sums agree with the textbook tests on the rows themselves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from support_analytics.report.insights import stats


def test_welch_from_sums_is_welchs_t_test_on_the_values() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.lognormal(1.8, 0.6, 400), rng.lognormal(1.9, 0.5, 250)
    got = stats.welch(len(a), a.sum(), (a * a).sum(), len(b), b.sum(), (b * b).sum())
    ref = scipy_stats.ttest_ind(b, a, equal_var=False)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.significant == (ref.pvalue < 0.05)


def test_two_proportion_z_test_by_hand() -> None:
    # 620/1000 vs 580/1000: pooled 0.6, se = sqrt(0.6 * 0.4 * 2 / 1000)
    got = stats.two_proportion(620, 1000, 580, 1000)
    z = (0.58 - 0.62) / np.sqrt(0.6 * 0.4 * 0.002)
    assert got.statistic == pytest.approx(z)
    assert got.p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(z)))
    assert not got.significant  # p = 0.07


@pytest.mark.parametrize(
    "result",
    [
        stats.two_proportion(0, 0, 5, 10),  # nothing before
        stats.two_proportion(10, 10, 20, 20),  # all of them both times: no variance
        stats.welch(1, 5.0, 25.0, 10, 50.0, 260.0),  # one value cannot give a variance
    ],
)
def test_no_test_without_variance(result: stats.TestResult) -> None:
    assert result.p_value is None and not result.significant
