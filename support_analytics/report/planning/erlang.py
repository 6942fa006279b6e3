"""Erlang B, C and A over numpy: the queueing formulas that turn calls and handle time into
agents.

Everything is computed through the recursive Erlang B form ``B(n) = A*B(n-1) / (n + A*B(n-1))``
and, for Erlang A, through the birth-death chain's probabilities in logs, so no factorial or
power of the traffic is ever formed: the numbers stay finite for thousands of agents.

Units: ``traffic`` is the offered load in erlangs (calls per second x handle time in seconds);
times are in seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QueueResult:
    """What a number of agents achieves on one interval's traffic."""

    agents: int
    traffic: float
    service_level: float  # share of offered calls answered within the target time
    wait_probability: float  # share of calls that wait at all
    asa_seconds: float  # average speed of answer over all offered calls
    occupancy: float  # share of the agents' time on calls
    abandon_probability: float  # Erlang A only; 0.0 under Erlang C


def erlang_b_table(traffic: float, max_agents: int) -> np.ndarray:
    """Erlang B blocking probability for 0..max_agents agents (index = agents)."""
    b = np.empty(max_agents + 1)
    b[0] = 1.0
    for n in range(1, max_agents + 1):
        b[n] = traffic * b[n - 1] / (n + traffic * b[n - 1])
    return b


def erlang_c_table(traffic: float, max_agents: int) -> np.ndarray:
    """Erlang C probability of waiting for 0..max_agents agents; 1.0 where agents <= traffic
    (the queue grows without bound, every call waits)."""
    b = erlang_b_table(traffic, max_agents)
    n = np.arange(max_agents + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n * b / (n - traffic * (1.0 - b))
    return np.where(n > traffic, np.clip(c, 0.0, 1.0), 1.0)


def erlang_c(agents: int, traffic: float, aht_seconds: float, answer_within: float) -> QueueResult:
    """Erlang C (M/M/n, callers never hang up) for one number of agents."""
    _check(agents, traffic, aht_seconds, answer_within)
    pw = float(erlang_c_table(traffic, agents)[agents])
    if agents <= traffic:
        return QueueResult(agents, traffic, 0.0, 1.0, math.inf, 1.0, 0.0)
    gap = agents - traffic
    service = 1.0 - pw * math.exp(-gap * answer_within / aht_seconds)
    return QueueResult(agents, traffic, service, pw, pw * aht_seconds / gap, traffic / agents, 0.0)


def _check(agents: int, traffic: float, aht_seconds: float, answer_within: float) -> None:
    if agents < 1:
        raise ValueError(f"agents must be at least 1, got {agents}")
    if not traffic >= 0 or not math.isfinite(traffic):
        raise ValueError(f"traffic must be a finite number >= 0, got {traffic}")
    if not aht_seconds > 0:
        raise ValueError(f"handle time must be > 0 seconds, got {aht_seconds}")
    if not answer_within >= 0:
        raise ValueError(f"answer-within must be >= 0 seconds, got {answer_within}")


# --------------------------------------------------------------------------------------------
# Erlang A: callers abandon after an exponential patience
# --------------------------------------------------------------------------------------------
_TAIL = 1e-14  # probability mass of the chain's states left out


def _stationary(agents: int, rate: float, mu: float, theta: float) -> np.ndarray:
    """Stationary probabilities of the M/M/n+M chain (state = calls in the system), cut
    where the remaining mass is below ``_TAIL``: built in logs from the balance equations."""
    logs = [0.0]
    top = 0.0  # the largest log term so far
    k = 0
    while True:
        k += 1
        death = min(k, agents) * mu + max(k - agents, 0) * theta
        logs.append(logs[-1] + math.log(rate) - math.log(death))
        top = max(top, logs[-1])
        # Beyond the agents the terms fall at least geometrically once death > rate.
        if k > agents and death > rate and logs[-1] - top < math.log(_TAIL):
            break
        if k > agents + 100_000:
            raise ValueError("the queue does not settle; check the patience and traffic")
    arr = np.array(logs)
    p = np.exp(arr - arr.max())
    return p / p.sum()


def _answered_within(agents: int, mu: float, theta: float, queued: int, t: float) -> np.ndarray:
    """P(a call that finds j calls waiting ahead is answered within t), j = 0..queued-1.

    The caller moves up one place each time an agent frees (rate n*mu) or a caller ahead
    gives up (rate j*theta) and gives up itself at rate theta: a pure-death chain solved by
    uniformisation."""
    if t <= 0:
        return np.zeros(queued)
    out_rate = agents * mu + (np.arange(queued) + 1) * theta  # leaving place j any way
    big = float(out_rate.max())
    move = (agents * mu + np.arange(queued) * theta) / big  # to j-1, or answered from j=0
    stay = 1.0 - out_rate / big
    lam = big * t
    # v[j] after m steps: P(answered within m uniformised steps | at place j)
    v = np.zeros(queued)
    total = np.zeros(queued)
    log_weight = -lam  # Poisson(m; lam) in logs: exp(-lam) alone underflows past lam ~ 745
    m_max = int(lam + 12 * math.sqrt(lam) + 30)
    for m in range(m_max + 1):
        if m > 0:
            shifted = np.concatenate(([1.0], v[:-1]))  # place j-1 (answered below place 0)
            v = stay * v + move * shifted
            log_weight += math.log(lam) - math.log(m)
        total += math.exp(log_weight) * v
    # The Poisson tail beyond m_max (negligible) is counted as not answered in time.
    return total


def erlang_a(
    agents: int,
    traffic: float,
    aht_seconds: float,
    answer_within: float,
    patience_seconds: float,
) -> QueueResult:
    """Erlang A (M/M/n+M, Palm's model): callers hang up after an exponential patience of
    mean ``patience_seconds``. Service level counts a call as met when it is answered (not
    abandoned) within ``answer_within``; ASA is the mean wait of all offered calls."""
    _check(agents, traffic, aht_seconds, answer_within)
    if not patience_seconds > 0:
        raise ValueError(f"patience must be > 0 seconds, got {patience_seconds}")
    if traffic == 0:
        return QueueResult(agents, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    mu = 1.0 / aht_seconds
    rate = traffic * mu
    theta = 1.0 / patience_seconds
    p = _stationary(agents, rate, mu, theta)
    waiting = p[agents:]
    queued = len(waiting)
    mean_queue = float(np.sum(np.arange(queued) * waiting))
    abandon = theta * mean_queue / rate
    answered = _answered_within(agents, mu, theta, queued, answer_within)
    service = float(p[:agents].sum() + np.sum(waiting * answered))
    busy = float(np.sum(np.minimum(np.arange(len(p)), agents) * p))
    return QueueResult(
        agents,
        traffic,
        min(service, 1.0),
        float(waiting.sum()),
        mean_queue / rate,  # Little's law over the queue: E[wait] = E[queue] / arrival rate
        busy / agents,
        abandon,
    )
