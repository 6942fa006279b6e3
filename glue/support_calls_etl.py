"""AWS Glue entry point for the support-calls ETL (also runs locally with plain pyspark).

Glue job arguments: --calls --agents --output --rejects --manifest, optionally
--partition_by call_date and --engine spark (the default) or duckdb. The package comes from
the wheel passed in --extra-py-files; the job is ``support_analytics.etl.spark_engine``
through the same run shell as ``--engine duckdb`` (checks, contract check before
publishing, manifest). On Glue, Spark reads the s3:// calls and stages the output on S3
itself (``direct_io``); rejects, the manifest and the final move of the output go through
s3fs (install it with --additional-python-modules s3fs).

Daily drops: ``--calls s3://bucket/raw_calls/`` with ``--partition_by call_date`` ingests
only the objects not yet in the manifest (``etl/incremental_s3.py``), with either engine. With
Spark (the default), each new object is read by Spark and its partitions staged under
``<output>.staging/`` on S3 (``etl/incremental_s3_staging.py``); the driver then copies the
new part objects and id files into place, appends the rejects and writes the manifest last,
so a job killed half-way leaves the previous manifest's set and the next run completes it.
``--engine duckdb`` cleans the files one at a time with DuckDB on the driver instead (a
Python shell job needs no Spark at all). One job per output prefix at a time.
"""

from __future__ import annotations

import argparse
import sys

ARGS = ("calls", "agents", "output", "rejects", "manifest")
OPTIONAL = ("partition_by", "engine")
ENGINES = ("spark", "duckdb")


def _glue_args(argv: list[str]) -> tuple[dict[str, str], object | None, object]:
    """Resolve the job's arguments; with awsglue, start a GlueContext and a Job."""
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from awsglue.job import Job  # type: ignore[import-not-found]
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
        from pyspark.context import SparkContext
    except ImportError:
        return _local_args(argv), None, None
    optional = [o for o in OPTIONAL if any(a.startswith(f"--{o}") for a in argv)]
    args = getResolvedOptions(argv, ["JOB_NAME", *ARGS, *optional])
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    return args, job, glue_context.spark_session


def _local_args(argv: list[str]) -> dict[str, str]:
    parser = argparse.ArgumentParser(description="support-calls ETL (Spark)")
    for name in ARGS:
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--partition_by", "--partition-by", dest="partition_by", default=None)
    parser.add_argument("--engine", default="spark")
    parsed, _unknown = parser.parse_known_args(argv[1:])  # Glue adds its own --flags
    return vars(parsed)


def main(argv: list[str] | None = None) -> int:
    from support_analytics.errors import InputError, SupportAnalyticsError
    from support_analytics.etl.duckdb_engine import run_etl
    from support_analytics.etl.incremental_files import is_drop_input
    from support_analytics.etl.spark_engine import configure, run_spark_etl, spark_session

    argv = list(sys.argv if argv is None else argv)
    args, job, spark = _glue_args(argv)
    on_glue = job is not None
    engine = args.get("engine") or "spark"
    paths = [args[name] for name in ("calls", "agents", "output", "manifest", "rejects")]
    # A single file is always reprocessed (the job runs when it changed); a folder run adds
    # only the new objects, so it must not be forced into a rebuild.
    force = not is_drop_input(args["calls"])
    try:
        if engine not in ENGINES:
            raise InputError(f"--engine {engine}: not supported; use one of {', '.join(ENGINES)}")
        if engine == "duckdb":
            result = run_etl(
                *paths,
                partition_by=args.get("partition_by") or None,
                force=force,
                progress=False,
            )
        else:
            if spark is None:
                spark = spark_session()
            configure(spark)
            result = run_spark_etl(
                *paths,
                partition_by=args.get("partition_by") or None,
                force=force,
                spark=spark,
                direct_io=on_glue,
            )
    except SupportAnalyticsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    if job is not None:
        job.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
