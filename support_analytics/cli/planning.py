"""``support-analytics forecast`` and ``support-analytics staffing``: the Planning page's
numbers for scripts and checks. Registered in ``cli.entry``.
Bad input raises InputError, which the CLI prints as one line with exit code 2."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from support_analytics import config
from support_analytics.errors import InputError


def _number(kind: type, what: str, low: float | None = None, high: float | None = None):
    """An argparse type: a finite number of ``kind`` within [low, high], else a clear error."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{what} must be a finite number, got {text!r}")
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"{what} must be at least {low:g}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{what} must be at most {high:g}, got {text}")
        return value

    return parse


# --------------------------------------------------------------------------------------------
# forecast
# --------------------------------------------------------------------------------------------
_FORECAST_COLUMNS = ("period", "value", "lower_80", "upper_80", "lower_95", "upper_95")
_SCORE_COLUMNS = (
    "method",
    "wape",
    "mase",
    "bias",
    "coverage_80",
    "coverage_95",
    "points",
    "chosen",
)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def _forecast_rows(kind: str, fc: Any) -> list[dict[str, Any]]:
    """The forecast's rows as plain values; a day is a date, an hour a UTC timestamp."""
    rows = []
    for r in fc.frame.to_dict("records"):
        if kind == "daily":
            r["period"] = r["period"].date()
        rows.append({c: _plain(r[c]) for c in _FORECAST_COLUMNS})
    return rows


def _cmd_forecast(args: argparse.Namespace) -> int:
    from support_analytics.io import storage
    from support_analytics.report import planning

    if not storage.is_remote(args.parquet) and not Path(args.parquet).exists():
        raise InputError(
            f"{args.parquet}: no cleaned calls here; run `support-analytics etl` first or "
            "pass --parquet"
        )
    data = planning.load_volumes(args.parquet)
    if data.days.empty:
        raise InputError(f"{args.parquet}: no calls to forecast from; run the ETL first")
    name = planning.ALL_CALLS
    if args.region is not None:
        if args.region not in data.regions:
            known = ", ".join(data.regions) or "none"
            raise InputError(f"region {args.region!r} is not in the data (regions: {known})")
        name = args.region
    plan = planning.series_forecast(data, name, args.days, args.hours)
    sections = []
    for kind, fc in (("daily", plan.daily), ("hourly", plan.hourly)):
        if kind in plan.notes:
            raise InputError(f"{name}, {kind}: {plan.notes[kind].lower()}")
        if fc is not None:
            sections.append((kind, fc))
    if args.format == "json":
        out = {"series": name}
        for kind, fc in sections:
            out[kind] = {
                "method": fc.method,
                "forecast": _forecast_rows(kind, fc),
                "backtest": [
                    {c: _plain(r[c]) for c in _SCORE_COLUMNS} for r in fc.scores.to_dict("records")
                ],
            }
        print(json.dumps(out, indent=2))
        return 0
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("series", "kind", *_FORECAST_COLUMNS))
    for kind, fc in sections:
        for r in _forecast_rows(kind, fc):
            writer.writerow((name, kind, *r.values()))
    writer.writerow(())
    writer.writerow(("series", "kind", *_SCORE_COLUMNS))
    for kind, fc in sections:
        for r in fc.scores.to_dict("records"):
            writer.writerow(
                (name, kind, *("" if (v := _plain(r[c])) is None else v for c in _SCORE_COLUMNS))
            )
    print(buf.getvalue(), end="")
    return 0


def add_forecast(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forecast",
        help="forecast calls per day and per hour, with 80%% and 95%% intervals and the "
        "backtest that chose the method",
        description="Forecast the calls of the next days (and hours) from the cleaned Parquet. "
        "Three methods are backtested over the last 8 weeks (rolling origin); the lowest WAPE "
        "is used. Prints the forecast (period, value, lower/upper 80 and 95) then every "
        "method's backtest scores. Times are UTC.",
    )
    p.add_argument(
        "--days",
        type=_number(int, "--days", 0, 366),
        default=config.PLAN_DAYS,
        help="days to forecast (0: none)",
    )
    p.add_argument(
        "--hours",
        type=_number(int, "--hours", 0, 24 * 62),
        default=config.PLAN_HOURS,
        help="hours to forecast (0: none)",
    )
    p.add_argument(
        "--region", default=None, help="one region as in agents.csv (default: all calls)"
    )
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="output format")
    p.add_argument(
        "--parquet", default=config.DEFAULT_OUTPUT, help="cleaned Parquet file or folder (or s3://)"
    )
    p.set_defaults(handler=_cmd_forecast)


# --------------------------------------------------------------------------------------------
# staffing
# --------------------------------------------------------------------------------------------
def _cmd_staffing(args: argparse.Namespace) -> int:
    from support_analytics.report.planning import ServiceTarget, required_agents

    try:
        goal = ServiceTarget(args.target, args.answer_within, args.max_occupancy, args.shrinkage)
        plan = required_agents(
            args.calls, args.aht_seconds, args.interval_minutes, goal, args.patience_seconds
        )
    except ValueError as exc:
        raise InputError(f"staffing: {exc}") from None
    r = plan.result
    out = {
        "model": "erlang_a" if args.patience_seconds is not None else "erlang_c",
        "calls": args.calls,
        "aht_seconds": args.aht_seconds,
        "interval_minutes": args.interval_minutes,
        "traffic_erlangs": round(r.traffic, 4),
        "agents": plan.agents,
        "agents_after_shrinkage": plan.rostered,
        "service_level": round(r.service_level, 4),
        "answer_within_seconds": args.answer_within,
        "wait_probability": round(r.wait_probability, 4),
        "asa_seconds": round(r.asa_seconds, 2),
        "occupancy": round(r.occupancy, 4),
    }
    if args.patience_seconds is not None:
        out["abandon_probability"] = round(r.abandon_probability, 4)
    if args.format == "json":
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{plan.agents} agents on calls ({plan.rostered} rostered after {args.shrinkage:.0%} "
        f"shrinkage) for {args.calls:g} calls of {args.aht_seconds:g} s in "
        f"{args.interval_minutes:g} min ({r.traffic:.2f} erlangs, {out['model']})"
    )
    print(f"service level: {r.service_level:.2%} answered within {args.answer_within:g} s")
    print(f"probability of waiting: {r.wait_probability:.2%}")
    print(f"average speed of answer: {r.asa_seconds:.1f} s")
    print(f"occupancy: {r.occupancy:.2%}")
    if args.patience_seconds is not None:
        print(f"abandoned: {r.abandon_probability:.2%}")
    return 0


def add_staffing(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "staffing",
        help="agents needed for a number of calls to meet a service level (Erlang C / A)",
        description="The fewest agents that answer --target of the calls within --answer-within "
        "seconds without passing --max-occupancy, by Erlang C (Erlang A with "
        "--patience-seconds: callers hang up after that mean wait), and the agents to roster "
        "once --shrinkage (breaks, training, absence) is taken off.",
    )
    p.add_argument(
        "--calls", type=_number(float, "--calls", 0), required=True, help="calls in the interval"
    )
    p.add_argument(
        "--aht-seconds", type=_number(float, "--aht-seconds", 1e-9), required=True,
        help="average handle time in seconds",
    )  # fmt: skip
    p.add_argument(
        "--interval-minutes", type=_number(float, "--interval-minutes", 1e-9),
        default=config.PLAN_INTERVAL_MINUTES, help="length of the interval",
    )  # fmt: skip
    p.add_argument(
        "--target", type=_number(float, "--target", 0, 1), default=config.PLAN_TARGET,
        help="share of calls to answer within --answer-within (0-1)",
    )  # fmt: skip
    p.add_argument(
        "--answer-within", type=_number(float, "--answer-within", 0),
        default=config.PLAN_ANSWER_WITHIN, help="seconds",
    )  # fmt: skip
    p.add_argument(
        "--max-occupancy", type=_number(float, "--max-occupancy", 1e-9, 1),
        default=config.PLAN_MAX_OCCUPANCY, help="highest share of time on calls (0-1)",
    )  # fmt: skip
    p.add_argument(
        "--shrinkage", type=_number(float, "--shrinkage", 0, 0.99), default=config.PLAN_SHRINKAGE,
        help="share of paid time off the phones (0-1)",
    )  # fmt: skip
    p.add_argument(
        "--patience-seconds", type=_number(float, "--patience-seconds", 1e-9), default=None,
        help="callers' mean patience: use Erlang A (abandonment) instead of Erlang C",
    )  # fmt: skip
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.set_defaults(handler=_cmd_staffing)
