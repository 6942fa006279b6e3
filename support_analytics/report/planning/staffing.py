"""Agents needed for an interval's calls: the fewest agents that meet the service-level
target without passing the occupancy cap, then grossed up for shrinkage (breaks, training,
absence), by Erlang C, or Erlang A when callers' patience is known."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from support_analytics import config
from support_analytics.report.planning.erlang import (
    QueueResult,
    erlang_a,
    erlang_c,
    erlang_c_table,
)

DEFAULT_TARGET = config.PLAN_TARGET
DEFAULT_ANSWER_WITHIN = config.PLAN_ANSWER_WITHIN
DEFAULT_MAX_OCCUPANCY = config.PLAN_MAX_OCCUPANCY
DEFAULT_SHRINKAGE = config.PLAN_SHRINKAGE
DEFAULT_INTERVAL_MINUTES = config.PLAN_INTERVAL_MINUTES


@dataclass(frozen=True)
class ServiceTarget:
    """What a roster must reach: ``target`` of calls answered within ``answer_within``
    seconds, agents on calls at most ``max_occupancy`` of the time, ``shrinkage`` of paid
    time off the phones."""

    target: float = DEFAULT_TARGET
    answer_within: float = DEFAULT_ANSWER_WITHIN
    max_occupancy: float = DEFAULT_MAX_OCCUPANCY
    shrinkage: float = DEFAULT_SHRINKAGE

    def __post_init__(self) -> None:
        if not 0 < self.target < 1:
            raise ValueError(f"target must be between 0 and 1 (exclusive), got {self.target}")
        if not self.answer_within >= 0:
            raise ValueError(f"answer-within must be >= 0 seconds, got {self.answer_within}")
        if not 0 < self.max_occupancy <= 1:
            raise ValueError(f"max occupancy must be in (0, 1], got {self.max_occupancy}")
        if not 0 <= self.shrinkage < 1:
            raise ValueError(f"shrinkage must be in [0, 1), got {self.shrinkage}")


@dataclass(frozen=True)
class Staffing:
    """Agents needed on calls and rostered (after shrinkage), and what that achieves."""

    calls: float
    aht_seconds: float
    interval_minutes: float
    agents: int  # on calls at once
    rostered: int  # agents / (1 - shrinkage), rounded up
    result: QueueResult

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "result"}
        out.update({k: v for k, v in asdict(self.result).items() if k != "agents"})
        return out


def traffic_erlangs(calls: float, aht_seconds: float, interval_minutes: float) -> float:
    """Offered load: calls per second times the handle time in seconds."""
    return calls * aht_seconds / (interval_minutes * 60.0)


def required_agents(
    calls: float,
    aht_seconds: float,
    interval_minutes: float = DEFAULT_INTERVAL_MINUTES,
    target: ServiceTarget | None = None,
    patience_seconds: float | None = None,
) -> Staffing:
    """The fewest agents meeting ``target`` for ``calls`` in one interval (Erlang C; Erlang A
    when ``patience_seconds`` is given). No calls need no agents."""
    goal = target or ServiceTarget()
    _check_volume(calls, aht_seconds, interval_minutes)
    a = traffic_erlangs(calls, aht_seconds, interval_minutes)
    if a == 0:
        empty = QueueResult(0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
        return Staffing(calls, aht_seconds, interval_minutes, 0, 0, empty)
    if patience_seconds is None:
        n = int(_erlang_c_agents(np.array([a]), aht_seconds, goal)[0])
        result = erlang_c(n, a, aht_seconds, goal.answer_within)
    else:
        n, result = _erlang_a_agents(a, aht_seconds, goal, patience_seconds)
    rostered = math.ceil(n / (1.0 - goal.shrinkage) - 1e-9)
    return Staffing(calls, aht_seconds, interval_minutes, n, rostered, result)


def _check_volume(calls: float, aht_seconds: float, interval_minutes: float) -> None:
    if not (calls >= 0 and math.isfinite(calls)):
        raise ValueError(f"calls must be a number >= 0, got {calls}")
    if not (aht_seconds > 0 and math.isfinite(aht_seconds)):
        raise ValueError(f"handle time must be > 0 seconds, got {aht_seconds}")
    if not (interval_minutes > 0 and math.isfinite(interval_minutes)):
        raise ValueError(f"interval must be > 0 minutes, got {interval_minutes}")


def _erlang_c_agents(traffic: np.ndarray, aht_seconds: np.ndarray | float, goal: ServiceTarget):
    """Vectorised Erlang C search: for each load, the fewest agents meeting the target."""
    aht = np.broadcast_to(np.asarray(aht_seconds, dtype=float), traffic.shape)
    out = np.zeros(traffic.shape, dtype=int)
    for i, (a, h) in enumerate(zip(traffic, aht, strict=True)):
        if a <= 0:
            continue
        top = int(math.ceil(a / goal.max_occupancy + 8 * math.sqrt(a) + 10))
        while True:
            n = np.arange(top + 1, dtype=float)
            pw = erlang_c_table(float(a), top)
            with np.errstate(over="ignore", invalid="ignore"):
                sl = 1.0 - pw * np.exp(-(n - a) * goal.answer_within / h)
            ok = (
                (n > a) & (sl >= goal.target - 1e-12) & (a / np.maximum(n, 1) <= goal.max_occupancy)
            )
            if ok.any():
                out[i] = int(np.argmax(ok))
                break
            top *= 2
    return out


def _erlang_a_agents(
    a: float, aht_seconds: float, goal: ServiceTarget, patience_seconds: float
) -> tuple[int, QueueResult]:
    """Erlang A search, starting where occupancy allows: abandonment only helps, so the
    Erlang C answer is an upper bound and the loop stays short."""
    upper = int(_erlang_c_agents(np.array([a]), aht_seconds, goal)[0])
    n = max(1, math.ceil(a * 0.5))
    while n < upper:
        r = erlang_a(n, a, aht_seconds, goal.answer_within, patience_seconds)
        if r.service_level >= goal.target and r.occupancy <= goal.max_occupancy:
            return n, r
        n += 1
    return upper, erlang_a(upper, a, aht_seconds, goal.answer_within, patience_seconds)


def staffing_plan(
    frame: pd.DataFrame, interval_minutes: float, goal: ServiceTarget
) -> pd.DataFrame:
    """Agents needed per interval of a forecast: ``frame`` has columns ``calls`` and
    ``aht_seconds``; adds traffic, agents, rostered, service_level, wait_probability,
    asa_seconds, occupancy (Erlang C)."""
    out = frame.copy()
    calls = out["calls"].to_numpy(dtype=float).clip(min=0)
    aht = out["aht_seconds"].to_numpy(dtype=float)
    traffic = calls * aht / (interval_minutes * 60.0)
    traffic = np.where(np.isfinite(traffic), traffic, 0.0)
    agents = _erlang_c_agents(traffic, np.where(aht > 0, aht, 1.0), goal)
    rows = [
        erlang_c(int(n), float(a), float(h), goal.answer_within)
        if n > 0
        else QueueResult(0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
        for n, a, h in zip(agents, traffic, np.where(aht > 0, aht, 1.0), strict=True)
    ]
    out["traffic"] = traffic
    out["agents"] = agents
    out["rostered"] = np.ceil(agents / (1.0 - goal.shrinkage) - 1e-9).astype(int)
    for field in ("service_level", "wait_probability", "asa_seconds", "occupancy"):
        out[field] = [getattr(r, field) for r in rows]
    return out
