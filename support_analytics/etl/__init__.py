"""Clean raw call logs into the contract's Parquet, quarantining every bad line with a reason.

One module per concern, arrows pointing one way:

* ``rules``: the rule SQL and the agents lookup (the spec, readable on its own); ``agents``:
  agents.csv read and checked;
* ``lines``: an NDJSON file as numbered lines (the fast and the line-by-line reader);
* ``handoff``: the reader and read-ahead threads and their bounded hand-off;
* ``writers``: the staged rows, the kept rows' Parquet and the rejects JSONL;
* ``memory``: the rules on frames in memory (notebooks, tests);
* ``commit``: the output lock, the commit record, recovery after a kill, ``verify``;
* ``engine``: what an engine is given and hands back (the seam between shell and engines);
* ``run``: the one run shell both engines share (checks, up-to-date, S3 staging, the
  contract check, the manifest, the commit);
* ``incremental``: a folder of daily call files, only new files read, only touched
  partitions rewritten (``run.run_calls`` hands a folder or glob to it), on
  ``incremental_files`` (which files, their manifest entries) and ``incremental_partitions``
  (staging into partitions, the id index, the ``--force`` cut); ``incremental_s3`` for
  s3:// outputs;
* ``duckdb_engine`` and ``spark_engine`` (+ ``spark_rules``): staging and writing only;
  ``one_pass``: the DuckDB engine's single stream for one plain file;
* ``step``: a run with the configured default paths (the report and its notebooks);
* ``sources``: exports in other formats (Amazon Connect, CSV/TSV, Parquet) through a mapping
  (``--source``), staged by their own DuckDB engine into the same rules and run shell.
"""

from __future__ import annotations

from support_analytics.etl.agents import load_agents
from support_analytics.etl.commit import recover_interrupted_run, verify_run
from support_analytics.etl.duckdb_engine import ENGINE, run_etl
from support_analytics.etl.incremental_files import is_drop_input, list_call_files
from support_analytics.etl.memory import CleanResult, clean_calls, clean_calls_detailed, load_calls
from support_analytics.etl.run_steps import (
    PARTITION_COLUMNS,
    EtlResult,
    check_partition_by,
    is_up_to_date,
)
from support_analytics.etl.step import EtlStep, run_etl_step

__all__ = [
    "ENGINE",
    "PARTITION_COLUMNS",
    "CleanResult",
    "EtlResult",
    "EtlStep",
    "check_partition_by",
    "clean_calls",
    "clean_calls_detailed",
    "is_drop_input",
    "is_up_to_date",
    "list_call_files",
    "load_agents",
    "load_calls",
    "recover_interrupted_run",
    "run_etl",
    "run_etl_step",
    "verify_run",
]
