"""The simulator's entry: seeded chunks of calls written to ``sample_calls.json`` (or one file
per day) and ``agents.csv``, atomically, with progress."""

from __future__ import annotations

import csv
import datetime
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from support_analytics import schema
from support_analytics.config import (
    SIM_AGENTS_NAME,
    SIM_CALLS_NAME,
    SIM_DEFAULT_AGENTS,
    SIM_DEFAULT_CALLS,
    SIM_DEFAULT_DAYS,
    SIM_DEFAULT_DIRTY_RATE,
    SIM_DEFAULT_SEED,
    SIM_DEFAULT_START,
    SIM_PLANTED_NAME,
)
from support_analytics.progress import Progress
from support_analytics.simulate import plant as planting
from support_analytics.simulate.calls import CallGenerator
from support_analytics.simulate.roster import Roster
from support_analytics.simulate.run_args import as_date, as_int, as_rate, atomic_writer
from support_analytics.simulate.text import Renderer
from support_analytics.simulate.world import (
    CHUNK_CALLS,
    CLEAN,
    SPLIT_DAILY,
    SPLITS,
    daily_calls_name,
)


# --- public API -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulationSummary:
    """What ``simulate`` wrote, for the CLI to print and for tests to check."""

    calls_path: Path
    agents_path: Path
    calls_written: int  # lines written to the calls file (including dirty ones)
    agents_written: int
    dirty_lines: int  # lines with an injected fault
    seconds: float


def simulate(
    out_dir: Path | str,
    *,
    calls: int = SIM_DEFAULT_CALLS,
    agents: int = SIM_DEFAULT_AGENTS,
    days: int = SIM_DEFAULT_DAYS,
    start: str | datetime.date = SIM_DEFAULT_START,
    seed: int = SIM_DEFAULT_SEED,
    dirty_rate: float = SIM_DEFAULT_DIRTY_RATE,
    progress: bool = True,
    split: str | None = None,
    plant: bool = False,
) -> SimulationSummary:
    """Write ``sample_calls.json`` and ``agents.csv`` into ``out_dir`` (created if needed).

    ``split="daily"`` writes one ``calls-YYYY-MM-DD.json`` per simulated day instead (the
    shape a telephony export drops), so the incremental ETL can be tried without real data;
    ``calls_path`` is then the folder. ``plant=True`` plants spikes, drops, level shifts, a
    mix change and an agent who escalates often (``plant.default_plan``) and writes what it
    planted to ``planted.json``; without it the output is unchanged.

    Both files appear atomically (temp file + ``os.replace``), so a reader never sees half a
    file. About ``dirty_rate`` of the call lines carry exactly one injected fault (see
    ``FAULT_KINDS``) so that the cleaner has something to reject. Raises ``ValueError`` for
    arguments that cannot describe a simulation.
    """
    began = time.perf_counter()
    calls = as_int("calls", calls, minimum=0)
    agents = as_int("agents", agents, minimum=1)
    days = as_int("days", days, minimum=1)
    seed = as_int("seed", seed, minimum=0)
    start_date = as_date(start, days)
    dirty_rate = as_rate(dirty_rate)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(str, SPLITS))}, got {split!r}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    calls_path = out / SIM_CALLS_NAME
    agents_path = out / SIM_AGENTS_NAME

    rng = np.random.default_rng(seed)
    roster = Roster.make(rng, agents)
    with atomic_writer(agents_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(schema.AGENT_COLUMNS)
        writer.writerows(roster.csv_rows())

    plan = planting.default_plan(days, agents, seed, roster) if plant else None
    generator = CallGenerator(rng, roster, calls, days, start_date, dirty_rate, plan)
    renderer = Renderer(agents=agents, calls=calls, customers=generator.customer_pool)
    bar = Progress("simulate", enabled=progress)
    dirty = 0
    if split == SPLIT_DAILY:
        calls_path = out
        files = [
            (out / daily_calls_name(start_date + datetime.timedelta(days=d)), lo, hi)
            for d, (lo, hi) in enumerate(generator.day_ranges())
            if hi > lo  # a day without calls gets no file (an empty file is refused)
        ]
    else:
        files = [(calls_path, 0, calls)]
    try:
        for path, first, end in files:
            with atomic_writer(path, "wb") as fh:
                for lo in range(first, end, CHUNK_CALLS):
                    rows = generator.chunk(lo, min(lo + CHUNK_CALLS, end))
                    data = renderer.render(rows)
                    fh.write(data)
                    dirty += int(np.count_nonzero(rows.fault != CLEAN))
                    bar.update(rows=len(rows), nbytes=len(data))
    finally:
        bar.close()
    truth_path = out / SIM_PLANTED_NAME
    if plan is not None:  # written last: a truth file always has its calls beside it
        ids = [row[0] for row in roster.csv_rows()]
        planting.write_truth(truth_path, planting.truth(plan, start_date, days, calls), ids)
    else:  # a truth left by an earlier planted run would describe calls no longer there
        truth_path.unlink(missing_ok=True)
    return SimulationSummary(
        calls_path=calls_path,
        agents_path=agents_path,
        calls_written=calls,
        agents_written=agents,
        dirty_lines=dirty,
        seconds=time.perf_counter() - began,
    )
