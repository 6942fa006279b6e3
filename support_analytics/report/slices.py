"""The overview's numbers for *any* selection, as compact arrays the page slices in the browser.

A static site cannot run DuckDB, but every number on the overview is a sum over calls
(counts, integer sums) or a ratio of two such sums. So we aggregate once in DuckDB into cells
keyed by day x (agent or region) x issue type (x hour, duration bin or resolution), and the
page (``web/slicer.js``) adds up the cells a selection covers. The payload's size depends on
days, regions, issue types, agents, hours and bins, never on the number of calls.

Exactness: every measure is an integer (durations as integer hundredths of a minute; the
repeat-within-7-days flag behind FCR is computed per call over the whole history before
aggregating), so the page's sums equal DuckDB's, and its ratios are the same IEEE divisions
``metrics`` performs.

Cubes (rows only where there are calls, sorted by day, so a period is one contiguous run):

- ``agent``: day x agent x issue -> calls, duration_cs, rated, rating_sum, rating_good,
  resolved, escalated, repeated, fcr. An agent is one (agent_id, agent_name, region) as the
  leaderboard groups them; its region fixes the region filter. KPIs, region comparison,
  leaderboard.
- ``hour``: day x group x hour -> calls; ``duration``: day x group x bin -> calls;
  ``resolution``: day x group x resolution -> calls (also the daily volume). A group is
  ``region_index * len(issues) + issue_index``; region index ``len(regions)`` is "no region"
  (calls of unknown agents).

Unknown agent ids (not in agents.csv) are agents like any other, except that only the busiest
``metrics.LEADERBOARD_UNKNOWN_AGENTS`` of them over the whole history keep their own row; the
rest share one agent named ``metrics.OTHER_UNKNOWN_AGENTS`` (``metrics.agents_keyed_sql``,
which ``metrics.agent_leaderboard`` uses too). So a feed full of garbage agent ids adds at most
that many agents to the payload, and every sum stays exact: their calls are all still there.

Encoding: the columns are little-endian unsigned integers of the narrowest width that holds
them (or float64 beyond 32 bits), multi-byte columns split into byte planes (so gzip finds the
runs), all concatenated, gzip-compressed and base64-encoded into ``blob``; ``columns`` says
where each one is. The browser inflates it with ``DecompressionStream('gzip')``.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from support_analytics import schema as s
from support_analytics.io import files
from support_analytics.report import metrics

FORMAT = "support-analytics-slices"
VERSION = 1
#: The agent cube's measures, in payload order.
AGENT_MEASURES: tuple[str, ...] = (
    "calls",
    "duration_cs",
    "rated",
    "rating_sum",
    "rating_good",
    "resolved",
    "escalated",
    "repeated",
    "fcr",
)
#: The 7-day average window of the daily volume (metrics.daily_volume's frame).
AVERAGE_DAYS = 7
PRESETS: tuple[str, ...] = (
    "last_7_days",
    "last_28_days",
    "last_90_days",
    "quarter_to_date",
    "year_to_date",
    "all_data",
)
DEFAULT_PRESET = "last_28_days"


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _dtype(values: np.ndarray) -> tuple[str, np.dtype]:
    """The narrowest little-endian type that holds ``values`` exactly."""
    top = int(values.max()) if len(values) else 0
    low = int(values.min()) if len(values) else 0
    if low < 0:
        raise ValueError("slice columns hold counts and sums, never negative values")
    for name, dtype, limit in (("u8", "<u1", 2**8), ("u16", "<u2", 2**16), ("u32", "<u4", 2**32)):
        if top < limit:
            return name, np.dtype(dtype)
    if top >= 2**53:
        raise ValueError("a slice sum exceeds 2**53: the browser could not add it exactly")
    return "f64", np.dtype("<f8")


class _Blob:
    """Columns appended one after another, each in byte planes, described in ``columns``."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0
        self.columns: list[dict[str, Any]] = []

    def add(self, cube: str, name: str, values: np.ndarray) -> None:
        kind, dtype = _dtype(values)
        raw = np.ascontiguousarray(values.astype(dtype))
        planes = raw.view(np.uint8).reshape(-1, dtype.itemsize).T.tobytes()
        self.columns.append(
            {
                "cube": cube,
                "name": name,
                "dtype": kind,
                "length": len(values),
                "offset": self.offset,
            }
        )
        self.parts.append(planes)
        self.offset += len(planes)

    def encode(self) -> str:
        packed = gzip.compress(b"".join(self.parts), compresslevel=9, mtime=0)
        return base64.b64encode(packed).decode("ascii")


def _column(con: Any, sql: str) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in con.execute(sql).fetchnumpy().items()}


def _names(con: Any, sql: str) -> list[Any]:
    return [row[0] for row in con.execute(sql).fetchall()]


def build_slice_data(parquet_path: Path | str | None = None) -> dict[str, Any]:
    """Everything the overview needs to recompute its numbers for any selection of regions,
    issue types and dates, as a JSON-serialisable dict (see the module docstring)."""
    with metrics.connect(parquet_path) as con:
        return _build(con)


def _build(con: Any) -> dict[str, Any]:
    dur, rating, res = s.CALL_DURATION_MINUTES, s.RATING, s.RESOLUTION
    resolved, escalated = _sql_str(metrics.RESOLVED), _sql_str(metrics.ESCALATED)
    con.execute(
        f"""
        CREATE TEMP TABLE agent_cells AS
        SELECT {s.CALL_DATE} AS day, {s.AGENT_ID} AS agent_id, {s.AGENT_NAME} AS agent_name,
            {s.REGION} AS region, coalesce({s.ISSUE_TYPE}, '') AS issue,
            count(*) AS calls,
            coalesce(sum(round({dur} * 100)::BIGINT), 0) AS duration_cs,
            count({rating}) AS rated,
            coalesce(sum({rating}), 0) AS rating_sum,
            count(*) FILTER (WHERE {rating} >= {metrics.GOOD_RATING}) AS rating_good,
            count(*) FILTER (WHERE {res} = {resolved}) AS resolved,
            count(*) FILTER (WHERE {res} = {escalated}) AS escalated,
            count(*) FILTER (WHERE repeated) AS repeated,
            count(*) FILTER (WHERE {res} = {resolved} AND NOT repeated) AS fcr
        FROM ({metrics.agents_keyed_sql("SELECT * FROM flagged")}) GROUP BY ALL
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE agents_t AS
        SELECT agent_id, agent_name, region,
            (row_number() OVER (ORDER BY agent_id, agent_name, region) - 1)::INTEGER AS ai
        FROM (SELECT DISTINCT agent_id, agent_name, region FROM agent_cells)
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE regions_t AS
        SELECT region, (row_number() OVER (ORDER BY region) - 1)::INTEGER AS ri
        FROM (SELECT DISTINCT region FROM agents_t WHERE region IS NOT NULL)
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE issues_t AS
        SELECT issue, (row_number() OVER (ORDER BY issue) - 1)::INTEGER AS ii
        FROM (SELECT DISTINCT issue FROM agent_cells)
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE resolutions_t AS
        SELECT res_name, (row_number() OVER (ORDER BY res_name) - 1)::INTEGER AS xi
        FROM (SELECT DISTINCT coalesce({res}, '') AS res_name FROM calls)
        """
    )
    first, last = con.execute("SELECT min(day), max(day) FROM agent_cells").fetchone()
    regions = _names(con, "SELECT region FROM regions_t ORDER BY ri")
    issues = _names(con, "SELECT issue FROM issues_t ORDER BY ii")
    resolutions = _names(con, "SELECT res_name FROM resolutions_t ORDER BY xi")
    agents = con.execute(
        "SELECT a.agent_id, a.agent_name, coalesce(r.ri, -1) FROM agents_t a "
        "LEFT JOIN regions_t r USING (region) ORDER BY a.ai"
    ).fetchall()
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "first_day": first.isoformat() if first else None,
        "last_day": last.isoformat() if last else None,
        "days": (last - first).days + 1 if first else 0,
        "default_end": (last or date.today()).isoformat(),
        "calls": 0,
        "regions": regions,
        "issues": issues,
        "resolutions": resolutions,
        "agents": {
            "id": [a[0] for a in agents],
            "name": [a[1] for a in agents],
            "region": [int(a[2]) for a in agents],
        },
        "duration_bins": {
            "width": metrics.DURATION_BIN_MINUTES,
            "last": int(metrics.DURATION_MAX_MINUTES // metrics.DURATION_BIN_MINUTES),
        },
        "agent_measures": list(AGENT_MEASURES),
        "kpi_directions": dict(metrics.KPI_DIRECTIONS),
        "encoding": "gzip+base64, little-endian byte planes",
    }
    blob = _Blob()
    if first is None:
        payload["columns"], payload["blob"] = blob.columns, blob.encode()
        return payload
    days = payload["days"]
    day0 = _sql_str(first.isoformat())
    agent = _column(
        con,
        f"""
        SELECT (c.day - DATE {day0})::INTEGER AS d, a.ai AS agent, i.ii AS issue,
            {", ".join(f"c.{m}" for m in AGENT_MEASURES)}
        FROM agent_cells c
        JOIN agents_t a ON c.agent_id IS NOT DISTINCT FROM a.agent_id
            AND c.agent_name IS NOT DISTINCT FROM a.agent_name
            AND c.region IS NOT DISTINCT FROM a.region
        JOIN issues_t i USING (issue)
        ORDER BY d, agent, issue
        """,
    )
    payload["calls"] = int(agent["calls"].sum())
    blob.add("agent", "day_cells", np.bincount(agent["d"], minlength=days))
    for name in ("agent", "issue", *AGENT_MEASURES):
        blob.add("agent", name, agent[name])
    n_issues, no_region = len(issues), len(regions)
    last_bin = payload["duration_bins"]["last"]
    width = metrics.DURATION_BIN_MINUTES
    for cube, key, source in (
        ("hour", s.HOUR_OF_DAY, f"calls WHERE {s.HOUR_OF_DAY} BETWEEN 0 AND 23"),
        ("duration", f"least(floor({dur} / {width}), {last_bin})::INTEGER", "calls"),
        ("resolution", "x.xi", f"calls JOIN resolutions_t x ON coalesce({res}, '') = x.res_name"),
    ):
        cells = _column(
            con,
            f"""
            WITH g AS (
                SELECT {s.CALL_DATE} AS day, {s.REGION} AS region,
                    coalesce({s.ISSUE_TYPE}, '') AS issue, {key} AS x, count(*) AS calls
                FROM {source} GROUP BY ALL
            )
            SELECT (g.day - DATE {day0})::INTEGER AS d,
                (coalesce(r.ri, {no_region}) * {n_issues} + i.ii)::INTEGER AS grp,
                g.x::INTEGER AS x, g.calls
            FROM g LEFT JOIN regions_t r USING (region) JOIN issues_t i USING (issue)
            ORDER BY d, grp, x
            """,
        )
        blob.add(cube, "day_cells", np.bincount(cells["d"], minlength=days))
        blob.add(cube, "group", cells["grp"])
        blob.add(cube, "x", cells["x"])
        blob.add(cube, "calls", cells["calls"])
    payload["columns"], payload["blob"] = blob.columns, blob.encode()
    return payload


def slice_json(payload: dict[str, Any]) -> str:
    """The payload as JSON that is safe inside an HTML ``<script>`` element: names are data,
    so ``<``, ``>`` and ``&`` are written as ``\\u003c`` etc. and cannot close the element."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def write_slice_data(parquet_path: Path | str | None, out_path: Path | str) -> dict[str, Any]:
    """Build the payload and write it as JSON (atomically); returns the payload."""
    payload = build_slice_data(parquet_path)
    files.atomic_write_bytes(out_path, slice_json(payload).encode("utf-8"))
    return payload


def preset_period(name: str, first_day: date | None, last_day: date) -> metrics.Period:
    """The dates a preset covers, relative to the data's last day (as the CLI's default period);
    the page's ``resolvePreset`` mirrors this."""
    if name == "last_7_days":
        return metrics.Period(last_day - timedelta(days=6), last_day)
    if name == "last_28_days":
        return metrics.Period(last_day - timedelta(days=27), last_day)
    if name == "last_90_days":
        return metrics.Period(last_day - timedelta(days=89), last_day)
    if name == "quarter_to_date":
        month = 3 * ((last_day.month - 1) // 3) + 1
        return metrics.Period(date(last_day.year, month, 1), last_day)
    if name == "year_to_date":
        return metrics.Period(date(last_day.year, 1, 1), last_day)
    if name == "all_data":
        return metrics.Period(first_day or last_day, last_day)
    raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
