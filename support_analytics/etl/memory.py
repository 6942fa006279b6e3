"""The rules on frames in memory, for notebooks and tests: the same SQL as the file run.

``load_calls`` reads a calls file into a frame of raw fields; ``clean_calls`` applies the
rules to any such frame. Fine for samples; files of any size go through ``run_etl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from support_analytics import config
from support_analytics import schema as s
from support_analytics.etl.agents import agents_table
from support_analytics.etl.lines import check_calls_path, iter_chunks, open_calls
from support_analytics.etl.rules import (
    DUP_LINES_SQL,
    DUPS_SQL,
    EXTRA_COLUMNS,
    NOT_BLANK,
    STAGED_DDL,
    WARNINGS_SQL,
    AgentLookup,
    connect,
    kept_sql,
    parse_sql,
    stage_select,
    to_contract,
)


def load_calls(path: Path | str) -> pd.DataFrame:
    """Every non-blank line of an NDJSON calls file with its raw fields as text.

    Columns: line_number, raw, and each of ``schema.RAW_CALL_FIELDS`` (None where absent or
    where the line is not a JSON object). Pass the result to :func:`clean_calls`.
    """
    path = Path(check_calls_path(Path(path)))
    con = connect()
    fh, _ = open_calls(path)
    frames = []
    with fh:
        for chunk in iter_chunks(fh, path, config.READ_CHUNK_BYTES, None):
            con.register("chunk", chunk.table)
            frames.append(
                con.sql(
                    f"SELECT * EXCLUDE (byte_offset, is_object) FROM ({parse_sql('chunk')}) "
                    f"WHERE {NOT_BLANK}"
                ).to_arrow_table()
            )
            con.unregister("chunk")
    table = pa.concat_tables(frames) if frames else pa.table({})
    df = (
        table.drop_columns(["bad_encoding"]).to_pandas()
        if frames
        else pd.DataFrame(columns=["line_number", "raw", *s.RAW_CALL_FIELDS])
    )
    return df


@dataclass
class CleanResult:
    """Kept rows (contract columns), rejected rows (line_number, reason, raw) and warnings."""

    kept: pd.DataFrame
    rejected: pd.DataFrame
    warnings: dict[str, int]


def clean_calls(calls_df: pd.DataFrame, agents_df: pd.DataFrame) -> pd.DataFrame:
    """Apply the cleaning rules to a frame of raw calls; returns the kept rows per the contract."""
    return clean_calls_detailed(calls_df, agents_df).kept


def clean_calls_detailed(calls_df: pd.DataFrame, agents_df: pd.DataFrame) -> CleanResult:
    """Like :func:`clean_calls`, but also returns the rejects and the warning counts."""
    frame = pd.DataFrame(index=calls_df.index)
    frame["line_number"] = (
        calls_df["line_number"].astype("int64")
        if "line_number" in calls_df
        else np.arange(1, len(calls_df) + 1, dtype=np.int64)
    )
    frame["byte_offset"] = np.int64(-1)
    frame["raw"] = calls_df["raw"].astype(object) if "raw" in calls_df else None
    frame["bad_encoding"] = False
    # Rows from load_calls carry None for every field when the line was not a JSON object.
    if "raw" in calls_df:
        fields_absent = calls_df[[c for c in s.RAW_CALL_FIELDS if c in calls_df]].isna().all(axis=1)
        frame["is_object"] = ~fields_absent | calls_df["raw"].map(_is_json_object)
    else:
        frame["is_object"] = True
    for name in s.RAW_CALL_FIELDS:
        frame[name] = calls_df[name].map(_as_text) if name in calls_df else None
    con = connect()
    con.register("raw_calls", pa.Table.from_pandas(frame, preserve_index=False))
    agents = AgentLookup.register(con, agents_table(agents_df))
    con.execute(STAGED_DDL)
    con.execute(f"INSERT INTO staged {stage_select('raw_calls', True, agents)}")
    con.execute(DUPS_SQL)
    con.execute(f"CREATE TEMP TABLE dup_lines AS {DUP_LINES_SQL}")
    kept = to_contract(con.sql(kept_sql(agents)).to_arrow_table().drop_columns(list(EXTRA_COLUMNS)))
    warn = con.execute(WARNINGS_SQL).fetchone()
    rejected = con.execute(
        f"SELECT line_number, reason, raw FROM staged WHERE reason IS NOT NULL "
        f"UNION ALL SELECT line_number, '{s.REJECT_DUPLICATE}', raw FROM dup_lines "
        "ORDER BY line_number"
    ).df()
    return CleanResult(
        kept=_contract_frame(kept),
        rejected=rejected,
        warnings={s.WARN_INVALID_RATING: int(warn[0]), s.WARN_UNKNOWN_AGENT: int(warn[1])},
    )


def _is_json_object(raw: Any) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (TypeError, ValueError):
        return False


def _as_text(value: Any) -> str | None:
    """A raw field as text, the way json_extract_string renders it (timestamps ISO)."""
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _contract_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get)
