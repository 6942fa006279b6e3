"""The agent leaderboard: one row per agent, unknown agents bounded so a feed of garbage ids
cannot flood the page."""

from __future__ import annotations

import pandas as pd

from support_analytics import schema as s
from support_analytics.report.metrics.kpis import kpi_select
from support_analytics.report.metrics.segments import Segment
from support_analytics.report.metrics.source import query, sql_str

#: Unknown agents (ids missing from agents.csv: no name, no region) listed one by one in the
#: leaderboard, busiest over the whole history first; the rest share one row named
#: OTHER_UNKNOWN_AGENTS, so a feed full of garbage agent ids cannot flood the page. Every KPI
#: still counts all their calls.
LEADERBOARD_UNKNOWN_AGENTS = 100


OTHER_UNKNOWN_AGENTS = "Other unknown agents"


def agent_leaderboard(seg: Segment) -> pd.DataFrame:
    """Per agent in the segment and period: calls, AHT, CSAT, resolution rate, FCR,
    escalations (and escalation rate), busiest first. Never any customer id. Unknown agents
    beyond the busiest ``LEADERBOARD_UNKNOWN_AGENTS`` share one row (see there)."""
    cols = f"{s.AGENT_ID}, {s.AGENT_NAME}, {s.REGION}"
    sql = f"""
        SELECT {cols}, {kpi_select()}
        FROM ({agents_keyed_sql(f"SELECT * FROM flagged WHERE {seg.where()}")})
        GROUP BY {cols}
        ORDER BY calls DESC, {cols}
    """
    return query(seg.path, sql).rename(
        columns={s.AGENT_ID: "agent_id", s.AGENT_NAME: "agent_name", s.REGION: "region"}
    )


def agents_keyed_sql(relation: str) -> str:
    """``relation``'s rows (a query over ``flagged``) with the unknown agents beyond the
    busiest ``LEADERBOARD_UNKNOWN_AGENTS`` (counted over the whole of ``flagged``) renamed to
    one agent: null id, name ``OTHER_UNKNOWN_AGENTS``, no region. The leaderboard groups by
    the result, and so do the page's slice arrays, so both list the same rows."""
    unknown = f"{s.AGENT_NAME} IS NULL AND {s.REGION} IS NULL"
    return f"""
        SELECT r.* REPLACE (
            CASE WHEN r.{s.AGENT_NAME} IS NULL AND r.{s.REGION} IS NULL AND k.kept IS NULL
                THEN NULL ELSE r.{s.AGENT_ID} END AS {s.AGENT_ID},
            CASE WHEN r.{s.AGENT_NAME} IS NULL AND r.{s.REGION} IS NULL AND k.kept IS NULL
                THEN {sql_str(OTHER_UNKNOWN_AGENTS)} ELSE r.{s.AGENT_NAME} END AS {s.AGENT_NAME})
        FROM ({relation}) r
        LEFT JOIN (
            SELECT {s.AGENT_ID} AS kept_id, true AS kept FROM flagged WHERE {unknown}
            GROUP BY {s.AGENT_ID}
            ORDER BY count(*) DESC, {s.AGENT_ID} NULLS LAST
            LIMIT {int(LEADERBOARD_UNKNOWN_AGENTS)}
        ) k ON r.{s.AGENT_ID} IS NOT DISTINCT FROM k.kept_id
    """
