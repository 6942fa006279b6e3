"""Tables drawn by web/tables.js (sortable, searchable, every cell as text), and the agent
leaderboard's frame."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from support_analytics.report import labels
from support_analytics.report.charts.render import Markup, element_id, script_json

# --------------------------------------------------------------------------------------------
# Tables (sortable and searchable in the browser by web/tables.js, every cell as text)
# --------------------------------------------------------------------------------------------
#: Digits shown per leaderboard column (the frame is rounded the same way).
LEADERBOARD_DECIMALS: dict[str, int] = {"AHT (min)": 1, "CSAT": 2, "Resolution %": 1, "FCR %": 1}


def leaderboard_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The agent leaderboard as displayed: friendly headers, rounded numbers (still numeric so
    the browser sorts them as numbers)."""

    def pct(col: str) -> pd.Series:
        return (100 * df[col].astype("float64")).round(1)

    return pd.DataFrame(
        {
            "Agent": df["agent_name"].fillna(df["agent_id"]).fillna("Unknown agent"),
            "Region": df["region"].fillna("Unknown"),
            "Calls": df["calls"].astype("int64"),
            "AHT (min)": df["aht"].astype("float64").round(1),
            "CSAT": df["csat"].astype("float64").round(2),
            "Resolution %": pct("resolution_rate"),
            "FCR %": pct("fcr"),
            "Escalations": df["escalations"].astype("int64"),
        }
    )


#: The table is drawn by web/tables.js (one copy per site): rows travel as JSON and every cell
#: is set as text, so a name like ``<img onerror>`` shows as text; numbers keep their type so
#: columns sort as numbers. A page script may have replaced the rows already (``_saRows``).
_TABLE_SCRIPT = """(function () {
  var el = document.getElementById(%(id)s);
  var spec = %(spec)s;
  if (el._saRows) spec.rows = el._saRows;
  if (window.SupportTable) el._saTable = new SupportTable(el, spec);
})();"""


def _cell(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def interactive_table(
    df: pd.DataFrame,
    *,
    decimals: Mapping[str, int] | None = None,
    page_length: int = 15,
    length_menu: tuple[int, ...] = (15, 50, 100),
    paging: bool = True,
    searching: bool = True,
    name: str | None = None,
) -> Markup:
    """A sortable, searchable table that needs no network: the rows travel as JSON in the page
    and web/tables.js (one copy per site, see :mod:`website`) draws them, every cell as text.

    ``decimals`` fixes the digits shown per numeric column (default 0 for integers, 2 for
    floats). The length menu always holds the page length, so its menu never shows blank.
    ``name`` lets a page script find the table and replace its rows (``data-sa-table``)."""
    decimals = dict(decimals or {})
    columns = []
    for column, dtype in df.dtypes.items():
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        default = 0 if pd.api.types.is_integer_dtype(dtype) else 2
        columns.append(
            {
                "title": str(column),
                "numeric": bool(numeric),
                "decimals": int(decimals.get(str(column), default)),
            }
        )
    rows = [[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    menu = sorted(set(length_menu) | {page_length})
    body = json.dumps({"columns": columns, "rows": rows}, ensure_ascii=False, allow_nan=False)
    dom_id = element_id("sa-table", body)
    spec = {
        "columns": columns,
        "rows": rows,
        "paging": paging,
        "searching": searching,
        "pageLength": page_length,
        "lengthMenu": menu,
    }
    script = _TABLE_SCRIPT % {
        "id": json.dumps(dom_id),
        "spec": script_json(json.dumps(spec, ensure_ascii=False, allow_nan=False)),
    }
    named = f' data-sa-table="{labels.escape(name)}"' if name else ""
    html = (
        f'<div id="{dom_id}" class="sa-table-wrap" data-sa-needs="tables"{named}></div>\n'
        f"<script>{script}</script>"
    )
    return Markup(html, f"table: {len(df)} rows")
