"""ETL benchmark: our run vs bare DuckDB and vs a plain pandas version, measured in one go.

    python bench/bench_etl.py --calls 1000000 10000000 --repeats 3

Simulates its own dirty data in a temp folder (outside the repo), then runs each contender in
a fresh subprocess so its peak RSS is its own. Prints medians, rows/s, peak RSS and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from measure import Measured, measure

# Reference 1: the least a DuckDB pipeline must do - parse NDJSON, write Parquet, no rules.
BARE_DUCKDB = textwrap.dedent(
    """
    import duckdb, sys
    con = duckdb.connect()
    con.execute("SET threads = %d" % __import__("os").cpu_count())
    con.execute(
        "COPY (SELECT * FROM read_ndjson(?, ignore_errors=true, format='newline_delimited')) "
        "TO '" + sys.argv[2] + "' (FORMAT parquet, COMPRESSION zstd)", [sys.argv[1]]
    )
    """
)

# Reference 1b: the same parse with no Parquet write, to split bare DuckDB's time into its
# reading/parsing part and its writing part (where the 1.25x budget goes, see bench/README.md).
BARE_DUCKDB_PARSE_ONLY = textwrap.dedent(
    """
    import duckdb, sys
    con = duckdb.connect()
    con.execute("SET threads = %d" % __import__("os").cpu_count())
    cols = [r[0] for r in con.execute(
        "DESCRIBE SELECT * FROM read_ndjson(?, ignore_errors=true, format='newline_delimited')",
        [sys.argv[1]]).fetchall()]
    aggs = ", ".join("max(%s)" % c for c in cols)
    con.execute("SELECT count(*), " + aggs + " FROM read_ndjson(?, ignore_errors=true, "
                "format='newline_delimited')", [sys.argv[1]]).fetchall()
    """
)

# Reference 2: a straightforward pandas version of the same rules (what one writes first).
PLAIN_PANDAS = textwrap.dedent(
    """
    import json, sys
    import pandas as pd
    calls, agents, out = sys.argv[1:4]
    rows, rejects = [], []
    with open(calls, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError
            except ValueError:
                rejects.append((n, "malformed_json"))
                continue
            obj["line_number"] = n
            rows.append(obj)
    df = pd.DataFrame(rows)
    del rows
    for col in ("start_time", "end_time"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601", errors="coerce")
    df = df[df["start_time"].notna() & df["end_time"].notna() & (df["end_time"] > df["start_time"])]
    df = df.drop_duplicates("call_id", keep="first")
    for col in ("issue_type", "resolution"):
        df[col] = df[col].astype("string").str.strip().str.lower()
    rating = pd.to_numeric(df["rating"], errors="coerce")
    df["rating"] = rating.where(rating.isin([1, 2, 3, 4, 5])).astype("Int32")
    minutes = (df["end_time"] - df["start_time"]).dt.total_seconds() / 60
    df["call_duration_minutes"] = minutes.round(2)
    df = df.merge(pd.read_csv(agents, dtype=str), on="agent_id", how="left")
    df["call_date"] = df["start_time"].dt.date
    df["hour_of_day"] = df["start_time"].dt.hour.astype("int32")
    df.drop(columns=["line_number"]).to_parquet(out, index=False)
    """
)


OURS = "support-analytics etl"

# The ETL's phases in the order they run (the manifest's `timings`): a plain file takes the
# one pass; the staged path's phases show when a file needs it (gzip, odd line ends).
PHASES = (
    "one_pass",
    "read_and_rules",
    "duplicates",
    "write_parquet",
    "write_rejects_and_count",
    "check_and_fsync",
)


def bench_size(n: int, repeats: int, workdir: Path, pandas_max: int) -> None:
    data = workdir / f"calls-{n}"
    cli = [sys.executable, "-m", "support_analytics"]
    subprocess.run(
        [*cli, "simulate", "--quiet", "--calls", str(n), "--dirty-rate", "0.02",
         "--out-dir", str(data)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    calls, agents = data / "sample_calls.json", data / "agents.csv"
    size_mib = calls.stat().st_size / 2**20
    contenders: dict[str, list[str]] = {
        OURS: [
            *cli, "etl", "--quiet", "--force", "--calls", str(calls), "--agents", str(agents),
            "--output", str(data / "out.parquet"), "--manifest", str(data / "manifest.json"),
            "--rejects", str(data / "rejects.jsonl"),
        ],
        "bare duckdb read_ndjson->parquet": [
            sys.executable, "-c", BARE_DUCKDB, str(calls), str(data / "bare.parquet"),
        ],
        "bare duckdb read_ndjson, no write": [
            sys.executable, "-c", BARE_DUCKDB_PARSE_ONLY, str(calls),
        ],
    }  # fmt: skip
    if n <= pandas_max:
        contenders["plain pandas, same rules"] = [
            sys.executable, "-c", PLAIN_PANDAS, str(calls), str(agents), str(data / "pd.parquet"),
        ]  # fmt: skip
    load = os.getloadavg()[0]
    print(
        f"\n{n:,} calls ({size_mib:,.0f} MiB NDJSON, 2% dirty), median of {repeats} rounds; "
        f"load average {load:.1f} at the start"
    )
    # Rounds interleave the contenders (ours, bare, ..., ours, bare, ...), so a burst of load
    # from elsewhere lands on both sides of a ratio instead of on one contender's runs.
    runs: dict[str, list[Measured]] = {name: [] for name in contenders}
    phases: list[dict[str, float]] = []
    for _ in range(repeats):
        for name, cmd in contenders.items():
            runs[name].append(measure(cmd))
            if name == OURS:
                manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
                phases.append(manifest.get("timings") or {})
    for name, measured in runs.items():
        secs = statistics.median(m.seconds for m in measured)
        rss = statistics.median(m.peak_mib for m in measured)
        cpu = statistics.median(m.cpu_seconds for m in measured)
        print(
            f"  {name:34s} {secs:7.1f} s  {n / secs:12,.0f} rows/s  peak RSS {rss:7.0f} MiB  "
            f"CPU {cpu:6.1f} s"
        )
    ours = runs[OURS]
    for name, measured in runs.items():
        if name == OURS:
            continue
        wall = statistics.median(o.seconds / m.seconds for o, m in zip(ours, measured, strict=True))
        cpu = statistics.median(
            o.cpu_seconds / m.cpu_seconds for o, m in zip(ours, measured, strict=True)
        )
        print(f"  ratio ours / {name}: {wall:.2f}x wall, {cpu:.2f}x CPU (medians of the rounds)")
    print(f"  load average {os.getloadavg()[0]:.1f} at the end")
    if phases:
        order = [k for k in PHASES if k in phases[0]] + [k for k in phases[0] if k not in PHASES]
        split = ", ".join(
            f"{k} {statistics.median(p.get(k, 0.0) for p in phases):.1f} s" for k in order
        )
        print(f"  our phases (medians, from the manifest's timings): {split}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--pandas-max", type=int, default=10_000_000, help="skip pandas above this size"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="sa-bench-", dir=args.workdir) as tmp:
        for n in args.calls:
            bench_size(n, args.repeats, Path(tmp), args.pandas_max)


if __name__ == "__main__":
    main()
