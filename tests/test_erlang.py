"""Erlang B/C/A (report/planning/erlang.py) against published worked examples, an exact
rational oracle, and the limits a planner relies on."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from scipy.special import gammainc, gammaln

from support_analytics.report.planning.erlang import (
    erlang_a,
    erlang_b_table,
    erlang_c,
    erlang_c_table,
)


def test_erlang_c_matches_the_ten_erlang_worked_example() -> None:
    # Call Centre Helper's "Erlang C formula made simple", as printed by the CRAN ErlangC
    # package's documentation: 100 calls in 30 minutes, AHT 180 s (10 erlangs), 14 agents,
    # answer within 20 s -> wait probability 0.1741319, service level 0.88835, ASA
    # 7.83593701177724 s, occupancy 0.7142857.
    r = erlang_c(agents=14, traffic=10.0, aht_seconds=180.0, answer_within=20.0)
    assert round(r.wait_probability, 4) == 0.1741
    assert round(r.service_level, 4) == 0.8884
    assert r.asa_seconds == pytest.approx(7.83593701177724, abs=1e-4)
    assert round(r.occupancy, 4) == 0.7143


def test_erlang_c_matches_the_two_line_queue_example() -> None:
    # Wolfram Language's ErlangC reference, Applications: two 1 Mbps lines, 150 packets/s of
    # 10 kbit on average -> 1.5 erlangs on 2 servers; the chance of waiting is 9/14 (by hand:
    # (A^2/2! * 2/(2-A)) / (1 + A + A^2/2! * 2/(2-A)) = 4.5 / 7).
    r = erlang_c(agents=2, traffic=1.5, aht_seconds=0.01, answer_within=0.0)
    assert round(r.wait_probability, 4) == round(9 / 14, 4) == 0.6429
    assert r.service_level == pytest.approx(1 - 9 / 14)


def _exact_erlang_c(n: int, a: Fraction) -> Fraction:
    """The textbook formula in exact rationals (factorials and powers, no rounding)."""
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


@pytest.mark.parametrize(("n", "a"), [(14, 10), (55, 48), (300, 280), (800, 760)])
def test_erlang_c_agrees_with_exact_arithmetic_for_hundreds_of_agents(n: int, a: int) -> None:
    # 800! has ~1977 digits: the factorial form overflows floats; the recursion must not.
    expected = float(_exact_erlang_c(n, Fraction(a)))
    assert erlang_c_table(float(a), n)[n] == pytest.approx(expected, rel=1e-9)


def test_erlang_b_stays_finite_for_thousands_of_agents() -> None:
    table = erlang_b_table(4000.0, 5000)
    assert all(0.0 <= b <= 1.0 for b in table)
    assert table[5000] < 1e-12 < table[3900]


def test_every_call_waits_when_agents_cannot_carry_the_load() -> None:
    r = erlang_c(agents=10, traffic=10.0, aht_seconds=180.0, answer_within=20.0)
    assert r.wait_probability == 1.0 and r.service_level == 0.0 and math.isinf(r.asa_seconds)


@pytest.mark.parametrize("patience", [1e5, 1e7])
def test_erlang_a_becomes_erlang_c_as_patience_grows(patience: float) -> None:
    c = erlang_c(14, 10.0, 180.0, 20.0)
    a = erlang_a(14, 10.0, 180.0, 20.0, patience)
    tol = 2e-3 if patience < 1e6 else 2e-5
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=tol)
    assert a.service_level == pytest.approx(c.service_level, abs=tol)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=10 * tol)
    assert a.abandon_probability < tol


def test_erlang_a_wait_probability_matches_the_closed_form() -> None:
    # Garnett, Mandelbaum and Reiman (2002): P(wait) = A(x,y) E / (1 + (A(x,y) - 1) E) with
    # E the Erlang B blocking, x = n*mu/theta, y = lambda/theta and
    # A(x, y) = x e^y y^-x gamma(x, y) (lower incomplete gamma).
    n, traffic, aht, patience = 14, 10.0, 180.0, 120.0
    x, y = n * patience / aht, traffic * patience / aht
    big_a = math.exp(math.log(x) + y - x * math.log(y) + gammaln(x) + math.log(gammainc(x, y)))
    e = erlang_b_table(traffic, n)[n]
    expected = big_a * e / (1 + (big_a - 1) * e)
    assert erlang_a(n, traffic, aht, 20.0, patience).wait_probability == pytest.approx(
        expected, rel=1e-9
    )


def test_impatient_callers_leave_so_fewer_wait_long() -> None:
    c = erlang_c(12, 10.0, 180.0, 20.0)
    a = erlang_a(12, 10.0, 180.0, 20.0, 60.0)
    assert a.abandon_probability > 0.01
    assert a.asa_seconds < c.asa_seconds and a.service_level > c.service_level


def test_erlang_a_copes_with_more_calls_than_agents() -> None:
    # Unlike Erlang C, abandonment keeps an overloaded queue finite.
    r = erlang_a(10, 15.0, 180.0, 20.0, 90.0)
    assert 0 < r.service_level < 1 and r.abandon_probability > 0.2 and r.occupancy <= 1


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="agents"):
        erlang_c(0, 1.0, 180.0, 20.0)
    with pytest.raises(ValueError, match="handle time"):
        erlang_c(3, 1.0, 0.0, 20.0)
    with pytest.raises(ValueError, match="patience"):
        erlang_a(3, 1.0, 180.0, 20.0, 0.0)
