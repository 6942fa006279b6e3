"""Slice-data benchmark: what the overview's in-browser selection costs at 10k, 1M, 10M calls.

    python bench/bench_slices.py --calls 10000 1000000 10000000 --repeats 3

For each size, in a temp folder outside the repo: simulate dirty calls over 365 days and run
the ETL once. Then, each in a fresh process (peak RSS from the kernel):

- reference: one overview's numbers computed by ``metrics`` in DuckDB for the default
  selection (every query a page runs today), median of ``--repeats``;
- build: ``slices.build_slice_data`` (the repeat-flag cache is built once before, as
  ``report`` does), median of ``--repeats``, and its ratio to the reference;
- payload: the serialised JSON the page embeds, and its gzip+base64 blob;
- node: ``slicer.js`` decode (median of 5 fresh decodes), the first compute after it, and the
  median / max compute over 20 seeded random selections (regions, issues, presets, custom
  ranges, empty ones) on a warm model;
- chromium (when Debian's ``chromium`` is on PATH): the same in headless Chromium on a page
  opened from file://, timed with ``performance.now()`` inside the page (JSON.parse of the
  embedded payload, decode, first compute, compute median / max), read back over the DevTools
  pipe. This is the in-page computation only; the Plotly redraw comes on top.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from measure import run_measured

CLI = [sys.executable, "-m", "support_analytics"]
HERE = Path(__file__).resolve().parent
TIMING_JS = HERE / "slicer_timing.js"
SLICER_JS = HERE.parent / "support_analytics" / "report" / "web" / "slicer.js"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>slicer timing</title></head>
<body><pre id="out">pending</pre>
<script type="application/json" id="data">%(payload)s</script>
<script type="application/json" id="selections">%(selections)s</script>
<script src="%(slicer)s"></script>
<script>
(async function () {
  var out = document.getElementById('out');
  try {
    var t0 = performance.now();
    var payload = JSON.parse(document.getElementById('data').textContent);
    var t1 = performance.now();
    var model = await SupportSlicer.decode(payload);
    var t2 = performance.now();
    SupportSlicer.compute(model, SupportSlicer.defaultSelection(model));
    var t3 = performance.now();
    var times = JSON.parse(document.getElementById('selections').textContent).map(function (s) {
      var a = performance.now();
      SupportSlicer.compute(model, s);
      return performance.now() - a;
    });
    out.textContent = JSON.stringify({parse_ms: t1 - t0, decode_ms: t2 - t1,
      first_compute_ms: t3 - t2, compute_ms: times});
  } catch (e) {
    out.textContent = JSON.stringify({error: String(e)});
  }
})();
</script></body></html>
"""

REFERENCE = """
import sys
from support_analytics.report import metrics
seg = metrics.segment(sys.argv[1])
metrics.kpi_comparison(seg); metrics.daily_volume(seg); metrics.hour_weekday(seg)
metrics.duration_histogram(seg); metrics.issue_breakdown(seg); metrics.region_comparison(seg)
metrics.agent_leaderboard(seg)
"""
BUILD = """
import sys
from support_analytics.report import slices
slices.write_slice_data(sys.argv[1], sys.argv[2])
"""


def chromium_timings(chromium: str, page: Path, profile: Path) -> dict:
    """Open ``page`` in headless Chromium and read the timings it writes into #out, over the
    DevTools pipe (fds 3 and 4: no port, no extra package)."""
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()

    def fds() -> None:
        hi_r, hi_w = os.dup(to_chrome_r), os.dup(from_chrome_w)
        os.dup2(hi_r, 3, inheritable=True)
        os.dup2(hi_w, 4, inheritable=True)

    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", f"--user-data-dir={profile}", page.as_uri()],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=fds, close_fds=False,
    )  # fmt: skip
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    reader = os.fdopen(from_chrome_r, "rb")
    buffer = b""
    ids = iter(range(1, 10**6))

    def call(method: str, params: dict | None = None, session: str | None = None) -> dict:
        nonlocal buffer
        msg_id = next(ids)
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(to_chrome_w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in buffer:
                chunk = reader.read1(65536)
                if not chunk:
                    raise SystemExit("chromium closed the DevTools pipe")
                buffer += chunk
            raw, buffer = buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise SystemExit(f"chromium: {method}: {reply['error']}")
                return reply["result"]

    try:
        deadline = time.monotonic() + 120
        session = None
        while session is None and time.monotonic() < deadline:
            pages = [t for t in call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            if pages:
                target = pages[0]["targetId"]
                session = call("Target.attachToTarget", {"targetId": target, "flatten": True})[
                    "sessionId"
                ]
            else:
                time.sleep(0.2)
        expr = "(document.getElementById('out') || {}).textContent || 'pending'"
        while time.monotonic() < deadline:
            value = call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
            text = value["result"].get("value", "pending")
            if text != "pending":
                result = json.loads(text)
                if "error" in result:
                    raise SystemExit(f"chromium page: {result['error']}")
                return result
            time.sleep(0.2)
        raise SystemExit("chromium: the timing page did not finish within 120 s")
    finally:
        with contextlib.suppress(SystemExit, OSError):
            call("Browser.close")
        os.close(to_chrome_w)
        reader.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def selections(payload: dict, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    first = date.fromisoformat(payload["first_day"])
    last = date.fromisoformat(payload["last_day"])
    span = (last - first).days

    def pick(pool: list[str]) -> list[str] | None:
        roll = rng.random()
        if roll < 0.3:
            return None
        return [] if roll < 0.4 else rng.sample(pool, rng.randint(1, len(pool)))

    out = []
    for i in range(n):
        if i % 4 == 0:
            days = rng.choice([7, 28, 90, span + 1])
            start, end = last - timedelta(days=days - 1), last
        else:
            start = first + timedelta(days=rng.randint(0, span))
            end = start + timedelta(days=rng.randint(0, span - (start - first).days))
        out.append(
            {
                "regions": pick(payload["regions"]),
                "issues": pick(payload["issues"]),
                "from": start.isoformat(),
                "to": end.isoformat(),
            }
        )
    return out


def bench_size(n: int, repeats: int, workdir: Path, node: str | None, chromium: str | None) -> None:
    data = workdir / f"slices-{n}"
    subprocess.run(
        [*CLI, "simulate", "--quiet", "--calls", str(n), "--days", "365", "--dirty-rate",
         "0.02", "--out-dir", str(data)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    parquet = data / "cleaned_calls.parquet"
    subprocess.run(
        [*CLI, "etl", "--quiet", "--calls", str(data / "sample_calls.json"), "--agents",
         str(data / "agents.csv"), "--output", str(parquet), "--manifest",
         str(data / "manifest.json"), "--rejects", str(data / "rejected_calls.jsonl")],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    (data / "sample_calls.json").unlink()
    py = [sys.executable, "-c"]
    subprocess.run(
        [
            *py,
            "from support_analytics import metrics; import sys; metrics.prepare(sys.argv[1])",
            str(parquet),
        ],
        check=True,
    )  # the cache
    out = data / "slices.json"
    ref = [run_measured([*py, REFERENCE, str(parquet)]) for _ in range(repeats)]
    build = [run_measured([*py, BUILD, str(parquet), str(out)]) for _ in range(repeats)]
    payload = json.loads(out.read_text(encoding="utf-8"))
    ref_s = statistics.median(r[0] for r in ref)
    build_s = statistics.median(b[0] for b in build)
    line = (
        f"{n:>11,} calls | payload {out.stat().st_size / 2**20:5.2f} MiB "
        f"(blob {len(payload['blob']) / 2**20:4.2f} MiB, {len(payload['agents']['id'])} agents) "
        f"| build {build_s:5.2f} s, {max(b[1] for b in build):4.0f} MiB "
        f"| reference: one overview in DuckDB {ref_s:5.2f} s, {max(r[1] for r in ref):4.0f} MiB "
        f"| build/reference {build_s / ref_s:4.2f}x"
    )
    sel_path = data / "selections.json"
    sel_path.write_text(json.dumps(selections(payload, 20, seed=n)))
    if node:
        proc = subprocess.run(
            [node, str(TIMING_JS), str(out), str(sel_path), "5"],
            check=True,
            capture_output=True,
            text=True,
        )
        t = json.loads(proc.stdout)
        line += (
            f" | node decode {statistics.median(t['decode_ms']):5.1f} ms, first compute "
            f"{t['first_compute_ms']:5.1f} ms, compute median "
            f"{statistics.median(t['compute_ms']):5.1f} ms (max {max(t['compute_ms']):5.1f})"
        )
    if chromium:
        page = data / "timing.html"
        page.write_text(
            PAGE
            % {
                "payload": out.read_text(encoding="utf-8"),
                "selections": sel_path.read_text(),
                "slicer": SLICER_JS.as_uri(),
            },
            encoding="utf-8",
        )
        t = chromium_timings(chromium, page, data / "chromium-profile")
        line += (
            f" | chromium parse {t['parse_ms']:5.1f} ms, decode {t['decode_ms']:5.1f} ms, first "
            f"compute {t['first_compute_ms']:5.1f} ms, compute median "
            f"{statistics.median(t['compute_ms']):5.1f} ms (max {max(t['compute_ms']):5.1f})"
        )
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, nargs="+", default=[10_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--no-chromium", action="store_true", help="skip the browser timing")
    args = parser.parse_args()
    node = shutil.which("node")
    chromium = None if args.no_chromium else shutil.which("chromium")
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"node {node or 'missing'}, chromium {chromium or 'missing or skipped'}"
    )
    with tempfile.TemporaryDirectory(prefix="sa-bench-", dir=args.workdir) as tmp:
        for n in args.calls:
            bench_size(n, args.repeats, Path(tmp), node, chromium)


if __name__ == "__main__":
    main()
