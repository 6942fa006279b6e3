"""The tests that decide whether a change is said out loud, from sums only (no rows): a
two-proportion z-test for shares and Welch's t-test for means, both two-sided at 95%."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as _scipy_stats

#: Two-sided significance level of every "is this more than noise" test.
ALPHA = 0.05

TWO_PROPORTION = "two-proportion z-test"
WELCH = "Welch t-test"


@dataclass(frozen=True)
class TestResult:
    """A test's name, statistic and two-sided p-value; ``significant`` at :data:`ALPHA`."""

    test: str
    statistic: float | None
    p_value: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


def two_proportion(k0: int, n0: int, k1: int, n1: int) -> TestResult:
    """Is k1/n1 different from k0/n0? Pooled-variance z-test (no result when a side is empty
    or the pooled share is 0 or 1: there is no variance to test against)."""
    if n0 <= 0 or n1 <= 0:
        return TestResult(TWO_PROPORTION, None, None)
    pooled = (k0 + k1) / (n0 + n1)
    var = pooled * (1 - pooled) * (1 / n0 + 1 / n1)
    if var <= 0:
        return TestResult(TWO_PROPORTION, None, None)
    z = (k1 / n1 - k0 / n0) / math.sqrt(var)
    return TestResult(TWO_PROPORTION, z, float(2 * _scipy_stats.norm.sf(abs(z))))


def mean_var(n: int, total: float, squares: float) -> tuple[float, float]:
    """Mean and sample variance from a count, a sum and a sum of squares."""
    mean = total / n
    var = max(0.0, (squares - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    return mean, var


def welch(n0: int, sum0: float, sq0: float, n1: int, sum1: float, sq1: float) -> TestResult:
    """Is the mean of side 1 different from side 0? Welch's t-test (unequal variances) with
    the Welch-Satterthwaite degrees of freedom, from counts, sums and sums of squares."""
    if n0 < 2 or n1 < 2:
        return TestResult(WELCH, None, None)
    m0, v0 = mean_var(n0, sum0, sq0)
    m1, v1 = mean_var(n1, sum1, sq1)
    a, b = v0 / n0, v1 / n1
    if a + b <= 0:
        return TestResult(WELCH, None, None)
    t = (m1 - m0) / math.sqrt(a + b)
    df = (a + b) ** 2 / ((a * a / (n0 - 1) if a else 0.0) + (b * b / (n1 - 1) if b else 0.0))
    return TestResult(WELCH, t, float(2 * _scipy_stats.t.sf(abs(t), df)))


def normal_quantile(p: float) -> float:
    """The standard normal quantile (for intervals at a corrected level)."""
    return float(_scipy_stats.norm.ppf(p))
