"""Benchmark the budget ledger: reserve+settle pairs per second on SQLite and PostgreSQL, in one
process and in several, each process using one BudgetTracker (one SQLite connection, or the
PostgreSQL pool) from one thread.

    .venv/bin/python bench/budget_bench.py [--pairs 3000] [--procs 4] [--pg-url URL] [--no-pg]

PostgreSQL: --pg-url, else TIER_TEST_PG_URL, else postgresql://postgres@127.0.0.1:5432/test; a
throw-away schema is created and dropped. Prints a rich table, machine details, and the same table
in Markdown (for docs/budget.md / BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from rich.console import Console
from rich.table import Table

PROVIDER, MODEL = "anthropic", "claude-haiku-4-5"
WARMUP = 50


@dataclass
class Row:
    backend: str
    procs: int
    pairs: int
    seconds: float
    p50_us: float
    p99_us: float

    @property
    def rate(self) -> float:
        return self.pairs / self.seconds


def worker(db: str, pairs: int, barrier, results) -> None:  # runs in a spawned process
    from tiered_router.budget import BudgetTracker

    with BudgetTracker(db=db, daily_limit_usd=1e9, monthly_limit_usd=1e10) as t:
        for _ in range(WARMUP):  # imports, price lookup, prepared statements
            t.settle(t.reserve_call(PROVIDER, MODEL, 1000, 500), 1000, 200)
        lat = []
        barrier.wait()
        for _ in range(pairs):
            a = time.perf_counter()
            r = t.reserve_call(PROVIDER, MODEL, 1000, 500)
            t.settle(r, 1000, 200)
            lat.append(time.perf_counter() - a)
        results.put(lat)


def run(backend: str, db: str, procs: int, pairs: int) -> Row:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs + 1)
    results = ctx.Queue()
    ps = [ctx.Process(target=worker, args=(db, pairs, barrier, results)) for _ in range(procs)]
    for p in ps:
        p.start()
    barrier.wait(timeout=120)
    t0 = time.perf_counter()
    lats = [results.get(timeout=600) for _ in ps]
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"a {backend} worker failed (exit {p.exitcode})")
    all_lat = sorted(x for lat in lats for x in lat)
    return Row(
        backend,
        procs,
        pairs * procs,
        elapsed,
        statistics.median(all_lat) * 1e6,
        all_lat[int(len(all_lat) * 0.99)] * 1e6,
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=3000, help="reserve+settle pairs per process")
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--pg-url", default=os.environ.get("TIER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()

    console = Console()
    rows: list[Row] = []
    pg_version = "not run"
    with tempfile.TemporaryDirectory(prefix="budget-bench-") as tmp:
        for procs in (1, args.procs):
            db = str(Path(tmp) / f"bench-{procs}.db")
            console.print(f"SQLite, {procs} process(es)…")
            rows.append(run("SQLite", db, procs, args.pairs))

    if not args.no_pg:
        try:
            import psycopg

            with psycopg.connect(args.pg_url, autocommit=True, connect_timeout=3) as conn:
                pg_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
                sync = conn.execute("SHOW synchronous_commit").fetchone()[0]  # type: ignore[index]
                pg_version += f" (synchronous_commit={sync})"
        except Exception as exc:
            console.print(f"[yellow]PostgreSQL not reachable, skipped: {exc}")
        else:
            for procs in (1, args.procs):
                schema = f"budget_bench_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(args.pg_url, autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                sep = "&" if "?" in args.pg_url else "?"
                url = f"{args.pg_url}{sep}options={quote(f'-csearch_path={schema}', safe='')}"
                try:
                    console.print(f"PostgreSQL, {procs} process(es)…")
                    rows.append(run("PostgreSQL", url, procs, args.pairs))
                finally:
                    with psycopg.connect(args.pg_url, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    table = Table(title="Budget ledger: reserve + settle pairs per second")
    for col in ("Backend", "Processes", "Pairs", "Seconds", "Pairs/s", "p50 µs/pair", "p99 µs/pair"):
        table.add_column(col, justify="left" if col == "Backend" else "right")
    for r in rows:
        table.add_row(
            r.backend,
            str(r.procs),
            f"{r.pairs:,}",
            f"{r.seconds:.2f}",
            f"{r.rate:,.0f}",
            f"{r.p50_us:,.0f}",
            f"{r.p99_us:,.0f}",
        )
    console.print(table)
    machine = (
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, PostgreSQL {pg_version}, {platform.system()} {platform.release()}"
    )
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    console.print(f"Machine: {machine}")
    console.print(f"Date: {date}")

    print("\nMarkdown:\n")
    print("| Backend | Processes | Pairs | Seconds | Pairs/s | p50 µs/pair | p99 µs/pair |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.backend} | {r.procs} | {r.pairs:,} | {r.seconds:.2f} | {r.rate:,.0f} | "
            f"{r.p50_us:,.0f} | {r.p99_us:,.0f} |"
        )
    print(f"\nMachine: {machine}. Date: {date}.")


if __name__ == "__main__":
    sys.exit(main())
