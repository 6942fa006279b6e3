"""The Spark engine: the rules of ``spark_rules.py`` on a SparkSession, staging and writing only.

``--engine spark`` runs it in ``local[*]``; ``glue/support_calls_etl.py`` runs it on AWS Glue,
where Spark reads the s3:// calls and writes the staged output to S3 itself
(``direct_io``). Everything around the staging (checks, up-to-date, lock, contract check,
manifest, commit record) is the run shell's, the same as for the DuckDB engine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from support_analytics import config
from support_analytics import schema as s
from support_analytics.errors import ContractError, InputError
from support_analytics.etl.engine import Staged, Staging
from support_analytics.etl.lines import BOM, GZIP_MAGIC
from support_analytics.etl.run import run_calls
from support_analytics.etl.run_steps import EtlResult
from support_analytics.etl.spark_rules import (
    apply_rules,
    kept_rows,
    number_lines,
    parse_calls,
    rejected_rows,
)
from support_analytics.io import storage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ENGINE = "spark"


def spark_session(
    master: str = "local[*]",
    app: str = "support-analytics-etl",
    extra: dict[str, str] | None = None,
) -> SparkSession:
    """A SparkSession configured for the contract: UTC, microsecond Parquet timestamps.

    ``extra`` adds settings read at JVM start (``spark.driver.memory``), before the first
    session of the process."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "the spark engine needs pyspark; install it with pip install 'support-analytics[spark]'"
        ) from None
    builder = SparkSession.builder.master(master).appName(app)
    for key, value in {**session_conf(), **(extra or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    configure(spark)
    return spark


def session_conf() -> dict[str, str]:
    """Settings the output contract depends on (applied to Glue's session too)."""
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.sql.sources.partitionOverwriteMode": "static",
        "spark.ui.showConsoleProgress": "false",
        "spark.ui.enabled": "false",
    }


def configure(spark: SparkSession) -> None:
    """Apply :func:`session_conf` to an existing session (Glue creates its own)."""
    for key, value in session_conf().items():
        if not key.startswith("spark.ui."):  # static: builder only
            spark.conf.set(key, value)


def read_lines(spark: SparkSession, path: str) -> DataFrame:
    """The calls file as numbered physical lines (split on LF only, like the local engine)."""
    from pyspark.sql import functions as F

    text = spark.read.option("lineSep", "\n").text(path)
    return number_lines(
        text.select(
            "value",
            F.col("_metadata.file_block_start").alias("blk"),
            F.spark_partition_id().alias("pid"),
            F.monotonically_increasing_id().alias("mid"),
        )
    )


def transform(
    spark: SparkSession, calls: str, agents: DataFrame, seen_ids: list[str] | None = None
) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    """Read and clean: (kept rows, rejected rows, counts). The staged rows are cached so the
    file is parsed once for kept rows, rejects and counts. A line repeating a call_id in
    ``seen_ids`` (the id index of earlier files) is a ``duplicate_call_id`` reject."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    lines = read_lines(spark, calls).persist(StorageLevel.MEMORY_AND_DISK)
    staged = apply_rules(parse_calls(lines))
    if seen_ids:
        staged = mark_seen(staged, spark.read.parquet(*seen_ids))
    staged = staged.persist(StorageLevel.MEMORY_AND_DISK)
    total_lines = lines.count()
    counts = staged.agg(
        F.count(F.lit(1)).alias("rows_in"),
        F.count_if(
            ~F.coalesce(F.col("reason").isin(s.REJECT_MALFORMED, s.REJECT_ENCODING), F.lit(False))
        ).alias("objects"),
    ).first()
    by_reason = dict(staged.where("reason IS NOT NULL").groupBy("reason").count().collect())
    lines.unpersist()
    return (
        kept_rows(staged, agents),
        rejected_rows(staged),
        {
            "lines": int(total_lines),
            "rows_in": int(counts["rows_in"]),
            "objects": int(counts["objects"]),
            "by_reason": by_reason,
        },
    )


def mark_seen(staged: DataFrame, seen: DataFrame) -> DataFrame:
    """Rule-passing lines whose call_id an earlier file kept become duplicate rejects."""
    from pyspark.sql import functions as F

    ids = seen.select(F.col(s.CALL_ID).alias("_seen_id"), F.lit(True).alias("_seen")).distinct()
    marked = staged.join(ids, staged[s.CALL_ID] == ids["_seen_id"], "left")
    reason = F.when(
        F.col("reason").isNull() & F.coalesce(F.col("_seen"), F.lit(False)),
        F.lit(s.REJECT_DUPLICATE),
    ).otherwise(F.col("reason"))
    return marked.withColumn("reason", reason).drop("_seen_id", "_seen")


def agents_frame(spark: SparkSession, agents: pa.Table) -> DataFrame:
    """The validated agents table (``run.read_agents``) as a Spark DataFrame."""
    schema = ", ".join(f"`{c}` STRING" for c in s.AGENT_COLUMNS)
    return spark.createDataFrame(agents.to_pylist(), schema=schema)


class SparkEngine:
    """Stages with Spark. With ``direct_io`` (Glue) Spark reads and writes s3:// itself;
    without it a local Spark, which has no S3 connector, gets local copies from the shell."""

    name = ENGINE

    def __init__(self, spark: SparkSession | None = None, direct_io: bool = False) -> None:
        self.spark = spark
        self.reads_remote = direct_io

    def check_calls(self, calls: Path | str) -> None:
        """Spark reads gzip by file name only, and would read a JSON array as lines."""
        fs, p = storage.filesystem(calls)
        with fs.open(p, "rb") as fh:
            head = fh.read(1 << 16)
        if head[:2] == GZIP_MAGIC and not p.endswith(".gz"):
            raise InputError(f"{calls}: is gzip-compressed; the spark engine needs a .gz name")
        if head.startswith(BOM):
            head = head[len(BOM) :]
        if head.lstrip()[:1] == b"[":
            raise InputError(
                f"{calls}: is a JSON array, not NDJSON (one JSON object per line); "
                "convert it with: jq -c '.[]' FILE > calls.json"
            )

    def stage(self, job: Staging) -> Staged:
        spark = self.spark or spark_session()
        configure(spark)
        kept, rejected, counts = transform(
            spark, str(job.calls), agents_frame(spark, job.agents), [str(p) for p in job.seen_ids]
        )
        job.lap("read_and_rules")
        lines, rows_in, objects = counts["lines"], counts["rows_in"], counts["objects"]
        if rows_in == 0 or objects == 0:  # refused by the shell; nothing more to write
            return Staged(job.output, lines, rows_in, objects, 0, {}, {})
        # Spark writes a folder; a single-file output is the one part file inside it.
        _write_kept(kept, str(job.output), job.partition_by)
        _tidy(job.output)
        output = job.output if job.partition_by else _single_part(job.output)
        warn = kept.agg(
            _count_if("rating_invalid"), _count_if("NOT known_agent"), _count_all()
        ).first()
        job.lap("write_parquet")
        _write_rejects(rejected, job.rejects)
        job.lap("write_rejects_and_count")
        rows_out = int(warn[2])
        by_reason = {r: int(n) for r, n in counts["by_reason"].items()}
        # by_reason counts rule rejects (and repeats of earlier files' ids); what is neither
        # kept nor counted there is a repeat within this file.
        within = rows_in - rows_out - sum(by_reason.values())
        by_reason[s.REJECT_DUPLICATE] = by_reason.get(s.REJECT_DUPLICATE, 0) + within
        warnings = {s.WARN_INVALID_RATING: int(warn[0]), s.WARN_UNKNOWN_AGENT: int(warn[1])}
        return Staged(output, lines, rows_in, objects, rows_out, by_reason, warnings)


def run_spark_etl(
    calls: Path | str = config.DEFAULT_CALLS,
    agents: Path | str = config.DEFAULT_AGENTS,
    output: Path | str = config.DEFAULT_OUTPUT,
    manifest: Path | str = config.DEFAULT_MANIFEST,
    rejects: Path | str = config.DEFAULT_REJECTS,
    *,
    partition_by: str | None = None,
    force: bool = False,
    spark: SparkSession | None = None,
    direct_io: bool = False,
    progress: bool = True,
    lock_wait: float | None = None,
    rebuild: bool = False,
) -> EtlResult:
    """Clean calls with Spark into the same outputs as ``run_etl``, through the same shell.

    Local outputs get the output lock, the commit record and crash recovery; the contract is
    checked on the staged output before anything is published. A folder or glob of daily
    files is ingested incrementally from the same manifest as the DuckDB engine's.
    """
    return run_calls(
        SparkEngine(spark, direct_io),
        calls,
        agents,
        output,
        manifest,
        rejects,
        force=force,
        rebuild=rebuild,
        progress=progress,
        lock_wait=lock_wait,
        partition_by=partition_by,
    )


def _count_if(expr: str) -> Any:
    from pyspark.sql import functions as F

    return F.count_if(F.expr(expr))


def _count_all() -> Any:
    from pyspark.sql import functions as F

    return F.count(F.lit(1))


def _write_kept(kept: DataFrame, target: str, partition_by: str | None) -> None:
    from pyspark.sql import functions as F

    data = kept.drop("rating_invalid", "known_agent")
    if partition_by:
        (
            data.repartition(F.col(partition_by))
            .sortWithinPartitions("line_number")
            .drop("line_number")
            .write.mode("overwrite")
            .partitionBy(partition_by)
            .parquet(target)
        )
    else:
        data.coalesce(1).sortWithinPartitions("line_number").drop("line_number").write.mode(
            "overwrite"
        ).parquet(target)


def _raw_text(data: bytes | bytearray | None, line_number: int) -> str:
    """A reject's raw text exactly as the local engine writes it (invalid UTF-8 escaped)."""
    b = bytes(data or b"")
    if line_number == 1 and b.startswith(BOM):
        b = b[len(BOM) :]
    return b.rstrip(b"\r\n").decode("utf-8", "backslashreplace")


def _write_rejects(rejected: DataFrame, target: Path) -> None:
    with open(target, "w", encoding="utf-8", newline="\n") as fh:
        for row in rejected.orderBy("line_number").toLocalIterator():
            record = {
                s.REJECT_LINE_NUMBER: row["line_number"],
                s.REJECT_REASON: row["reason"],
                s.REJECT_RAW: _raw_text(row["raw_bin"], row["line_number"]),
            }
            fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def _single_part(folder: Path | str) -> Path | str:
    """The one data file Spark wrote into ``folder`` (``coalesce(1)``)."""
    fs, root = storage.filesystem(folder)
    parts = [info["name"] for _, info in storage.data_files(fs, root)]
    if len(parts) != 1:  # pragma: no cover - coalesce(1) writes exactly one
        raise ContractError(f"spark wrote {len(parts)} files for a single-file output")
    return Path(parts[0]) if isinstance(folder, Path) else f"s3://{parts[0]}"


def _tidy(folder: Path | str) -> None:
    """Drop Spark's _SUCCESS and .crc files: the output holds data files only."""
    fs, root = storage.filesystem(folder)
    for name in fs.find(root):
        base = name.rsplit("/", 1)[-1]
        if base.startswith((".", "_")) or base.endswith(".crc"):
            fs.rm(name)


def main_local(argv: list[str] | None = None) -> int:
    """``python -m support_analytics.etl.spark_engine --calls ...``: the Glue script's twin."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("calls", "agents", "output", "rejects", "manifest"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--partition-by", default=None)
    args = p.parse_args(argv)
    result = run_spark_etl(
        args.calls,
        args.agents,
        args.output,
        args.manifest,
        args.rejects,
        partition_by=args.partition_by,
        force=True,
    )
    print(result.summary())
    return 0


if __name__ == "__main__":  # pragma: no cover
    os._exit(main_local())
