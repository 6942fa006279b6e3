"""Mapped sources benchmark: `etl --source` beside DuckDB's own reader -> Parquet, same columns.

    python bench/bench_sources.py --calls 1000000 --repeats 3

Two contests, each on data made here in a temp folder outside the repo:

* a CSV export with a header (times as local ``%Y-%m-%d %H:%M:%S``, outcome codes) through a
  mapping, beside ``COPY (SELECT <the 8 columns> FROM read_csv(...)) TO parquet``;
* Amazon Connect contact records (``simulate/connect.py``: concatenated JSON, gzipped, in
  Firehose's hour folders, with repeats, updates and chats) through the ``connect-ctr`` preset
  (pseudonyms included), beside ``COPY (SELECT <the same fields> FROM read_json(...))``.

Each run is a fresh process (``measure.py``); rounds interleave the contenders; medians of
wall and CPU seconds are printed with the ratio our run / DuckDB's copy.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from measure import Measured, measure

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from support_analytics.simulate.connect import (  # noqa: E402
    ConnectWorld,
    agents_csv,
    contact_records,
    firehose_objects,
)

CSV_MAPPING = """
[source]
format = "csv"
[fields]
call_id = "call_id"
agent_id = "agent"
customer_id = "customer"
start_time = { field = "start", format = "%Y-%m-%d %H:%M:%S", timezone = "Europe/London" }
end_time = { field = "end", format = "%Y-%m-%d %H:%M:%S", timezone = "Europe/London" }
issue_type = "issue"
resolution = { field = "outcome", map = { A = "resolved", H = "unresolved", E = "escalated" } }
rating = "rating"
"""

DUCKDB_CSV = textwrap.dedent(
    """
    import duckdb, os, sys
    con = duckdb.connect()
    con.execute("SET threads = %d" % os.cpu_count())
    con.execute(
        "COPY (SELECT call_id, agent, customer, start, \\"end\\", issue, outcome, rating "
        "FROM read_csv(?, header=true)) TO '" + sys.argv[2] + "' "
        "(FORMAT parquet, COMPRESSION zstd)",
        [sys.argv[1]],
    )
    """
)

DUCKDB_JSON = textwrap.dedent(
    """
    import duckdb, os, sys
    con = duckdb.connect()
    con.execute("SET threads = %d" % os.cpu_count())
    cols = ("{'ContactId': 'VARCHAR', 'Channel': 'VARCHAR', 'LastUpdateTimestamp': 'VARCHAR', "
            "'Agent': 'STRUCT(Username VARCHAR)', 'CustomerEndpoint': 'STRUCT(Address VARCHAR)', "
            "'InitiationTimestamp': 'VARCHAR', 'DisconnectTimestamp': 'VARCHAR', "
            "'Attributes': 'STRUCT(issue_type VARCHAR, resolution VARCHAR, csat VARCHAR)'}")
    con.execute(
        "COPY (SELECT ContactId, Channel, LastUpdateTimestamp, Agent.Username, "
        "CustomerEndpoint.Address, InitiationTimestamp, DisconnectTimestamp, "
        "Attributes.issue_type, Attributes.resolution, Attributes.csat "
        "FROM read_json('" + sys.argv[1] + "/**/*.gz', format='auto', columns=" + cols + ")) "
        "TO '" + sys.argv[2] + "' (FORMAT parquet, COMPRESSION zstd)"
    )
    """
)


def make_csv(path: Path, calls: int, seed: int = 3) -> None:
    """A CSV export: local times, outcome codes, a few empty ratings; vectorised."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-05T00:00:00") + rng.integers(0, 90 * 86_400, calls).astype(
        "timedelta64[s]"
    )
    end = start + rng.integers(30, 1_800, calls).astype("timedelta64[s]")

    def text(ts: np.ndarray) -> np.ndarray:
        return np.char.replace(ts.astype(str), "T", " ")

    outcome = rng.choice(np.array(["A", "H", "E"]), calls, p=[0.7, 0.2, 0.1])
    rating = rng.integers(0, 6, calls).astype(str)
    rating[rating == "0"] = ""
    with open(path, "w") as fh:
        fh.write("call_id,agent,customer,start,end,issue,outcome,rating\n")
        step = 200_000
        for at in range(0, calls, step):
            part = slice(at, min(at + step, calls))
            ids = np.arange(part.start, part.stop)
            rows = zip(
                ids, rng.integers(1, 200, len(ids)), rng.integers(1, 500_000, len(ids)),
                text(start[part]), text(end[part]),
                rng.choice(np.array(["billing", "technical", "account"]), len(ids)),
                outcome[part], rating[part], strict=True,
            )  # fmt: skip
            fh.write(
                "".join(
                    f"c{a},agent{b:03d},cust{c},{d},{e},{f},{g},{h}\n"
                    for a, b, c, d, e, f, g, h in rows
                )
            )
    path.with_name("agents.csv").write_text(
        "agent_id,agent_name,region\n"
        + "".join(f"agent{i:03d},Agent {i},Region {i % 4}\n" for i in range(1, 200))
    )


def make_connect(folder: Path, calls: int) -> int:
    """Contact records in Firehose's layout, made in chunks (memory stays flat)."""
    chunk, written = 50_000, 0
    for n, at in enumerate(range(0, calls, chunk)):
        world = ConnectWorld(contacts=min(chunk, calls - at), days=30, seed=100 + n, agents=120)
        records = contact_records(world)
        written += len(records)
        for key, body in firehose_objects(records, newline=False, seed=n):
            path = folder / f"{key}-{n}.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                fh.write(gzip.compress(body, compresslevel=6, mtime=0))
        del records
    (folder.parent / "agents.csv").write_text(agents_csv(ConnectWorld(agents=120)))
    return written


def ours(calls: Path, agents: Path, source: Path | str, out: Path) -> list[str]:
    return [
        str(Path(sys.executable).with_name("support-analytics")), "etl", "-q", "--force",
        "--calls", str(calls), "--agents", str(agents), "--source", str(source),
        "--output", str(out / "calls.parquet"), "--manifest", str(out / "manifest.json"),
        "--rejects", str(out / "rejects.jsonl"),
    ]  # fmt: skip


def contest(name: str, runs: dict[str, list[str]], repeats: int) -> dict[str, list[Measured]]:
    results: dict[str, list[Measured]] = {k: [] for k in runs}
    for round_ in range(repeats):
        for label, cmd in runs.items():
            m = measure(cmd)
            results[label].append(m)
            print(f"  {name} round {round_ + 1} {label}: {m.seconds:.2f}s CPU {m.cpu_seconds:.2f}s "
                  f"{m.peak_mib:.0f} MiB", flush=True)  # fmt: skip
    return results


def report(name: str, results: dict[str, list[Measured]], target: float) -> dict:
    med = {
        k: (
            statistics.median(m.seconds for m in v),
            statistics.median(m.cpu_seconds for m in v),
            statistics.median(m.peak_mib for m in v),
        )
        for k, v in results.items()
    }
    (ow, oc, om), (dw, dc, dm) = med["ours"], med["duckdb"]
    print(
        f"{name}: ours {ow:.2f}s (CPU {oc:.2f}s, {om:.0f} MiB) | DuckDB's copy {dw:.2f}s "
        f"(CPU {dc:.2f}s, {dm:.0f} MiB) | ratio wall {ow / dw:.2f}x, CPU {oc / dc:.2f}x "
        f"(target <= {target}x)"
    )
    return {
        "ours": med["ours"],
        "duckdb": med["duckdb"],
        "ratio_wall": ow / dw,
        "ratio_cpu": oc / dc,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("csv", "connect"), default=None)
    args = parser.parse_args()
    os.environ.setdefault("SUPPORT_ANALYTICS_PSEUDONYM_KEY", "bench-key-not-a-secret-000")
    summary = {}
    with tempfile.TemporaryDirectory(prefix="bench-sources.") as tmp:
        work = Path(tmp)
        if args.only in (None, "csv"):
            csv_path = work / "csv" / "calls.csv"
            csv_path.parent.mkdir()
            make_csv(csv_path, args.calls)
            mapping = work / "csv" / "mapping.toml"
            mapping.write_text(CSV_MAPPING)
            print(
                f"csv: {args.calls:,} rows, {csv_path.stat().st_size / 2**20:.0f} MiB", flush=True
            )
            runs = {
                "ours": ours(csv_path, csv_path.with_name("agents.csv"), mapping, work / "csv"),
                "duckdb": [
                    sys.executable,
                    "-c",
                    DUCKDB_CSV,
                    str(csv_path),
                    str(work / "b.parquet"),
                ],
            }
            summary["csv"] = report("mapped CSV", contest("csv", runs, args.repeats), 1.25)
        if args.only in (None, "connect"):
            folder = work / "connect" / "in"
            records = make_connect(folder, args.calls)
            size = sum(p.stat().st_size for p in folder.rglob("*.gz"))
            print(f"connect: {records:,} records, {size / 2**20:.0f} MiB gzipped", flush=True)
            runs = {
                "ours": ours(folder, folder.parent / "agents.csv", "connect-ctr", folder.parent),
                "duckdb": [sys.executable, "-c", DUCKDB_JSON, str(folder), str(work / "j.parquet")],
            }
            summary["connect"] = report("connect-ctr", contest("connect", runs, args.repeats), 1.5)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
