"""How long the routing log's writer thread keeps another thread of its process waiting for the GIL.

    .venv/bin/python bench/log_writer_stall.py [--db PATH_OR_URL] [--records 500] [--reps 20]

In the server the writer thread shares the GIL with the event loop that answers requests: while it holds
the GIL, a request that arrives waits. Here a probe thread stands in for the loop: it sleeps 0.2 ms at a
time and measures how late it wakes, while the store writes ``--reps`` batches of ``--records`` records.
Lateness beyond the OS's own wake-up delay is the time the writer held the GIL. Then the writer thread's
CPU per record at a steady 1,500 records/s (from /proc/self/task/TID/stat; Linux only).

Compare revisions by running it with PYTHONPATH pointing at each one's ``src``. The database defaults to
a temporary SQLite file; pass ``--db postgresql://...`` for PostgreSQL (its tables are created there).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from tiered_router.observe.store import RoutingLogStore


def record() -> dict[str, Any]:
    attempt = {"tier": 1, "gen_ai.provider.name": "ollama", "gen_ai.request.model": "llama3.1:8b",
               "router.outcome": "accepted", "router.latency_ms": 3.5, "gen_ai.response.finish_reasons": ["stop"],
               "gen_ai.usage.input_tokens": 14, "gen_ai.usage.output_tokens": 32, "router.cost_usd": 0.0,
               "router.quality": "ok", "error.type": None, "router.error": None}
    return {"request_id": uuid.uuid4().hex, "time": time.time(), "router.entry_point": "openai",
            "router.classified_tier": None, "router.score": None, "router.reasons": ["forced"],
            "router.forced_tier": 1, "router.final_tier": 1, "gen_ai.provider.name": "ollama",
            "gen_ai.response.model": "llama3.1:8b", "router.escalated": False, "router.escalation_reason": None,
            "router.degraded": False, "router.degraded_reason": None, "router.quality": "ok",
            "gen_ai.usage.input_tokens": 14, "gen_ai.usage.output_tokens": 32, "router.cost_usd": 0.0,
            "router.cost_estimated": False, "router.latency_ms": 0.61, "router.overhead_ms": 0.35,
            "router.status": "ok", "error.type": None, "router.prompt_sha256": "0" * 64, "router.prompt_chars": 21,
            "router.answer_chars": 120, "router.attempts": [attempt]}


def stalls(db: str, records: int, reps: int) -> str:
    store = RoutingLogStore(db, flush_interval_s=3600, batch_size=100_000)  # only flush() writes
    store.sink(record())
    store.flush()  # connect and migrate outside the measurement
    late: list[float] = []
    for _ in range(reps):
        for _ in range(records):
            store.sink(record())
        done = threading.Event()
        writer = threading.Thread(target=lambda done=done: (store.flush(), done.set()))
        writer.start()
        while not done.is_set():
            t0 = time.perf_counter()
            time.sleep(0.0002)
            late.append((time.perf_counter() - t0 - 0.0002) * 1000)
        writer.join()
    store.close()
    late.sort()

    def q(p: float) -> float:
        return late[min(len(late) - 1, int(len(late) * p))]

    return (f"probe lateness while writing {reps} x {records} records: p50 {q(0.5):.3f} ms, p99 {q(0.99):.3f} ms, "
            f"p99.9 {q(0.999):.3f} ms, max {late[-1]:.2f} ms; over 1 ms: {sum(x > 1 for x in late)}, over 3 ms: "
            f"{sum(x > 3 for x in late)} of {len(late)} wake-ups")


def writer_cpu(db: str, rate: float, seconds: float) -> str:
    store = RoutingLogStore(db)  # the defaults, as the router opens it
    store.sink(record())
    store.flush()
    assert store._thread is not None and store._thread.native_id is not None
    task = Path(f"/proc/self/task/{store._thread.native_id}/stat")
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = task.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    batch = [record() for _ in range(int(rate * seconds))]
    before, start = cpu(), time.perf_counter()
    for i, r in enumerate(batch):
        while time.perf_counter() < start + i / rate:
            time.sleep(0.0005)
        store.sink(r)
    store.flush()
    used = cpu() - before
    store.close()
    return (f"writer thread CPU at {rate:.0f} records/s: {used / len(batch) * 1e6:.1f} µs per record "
            f"({len(batch)} records)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="SQLite path or postgresql:// URL [a temporary SQLite file]")
    p.add_argument("--records", type=int, default=500, help="records per batch [500]")
    p.add_argument("--reps", type=int, default=20, help="batches [20]")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds of steady load for the CPU figure [5]")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="tr-stall-") as tmp:
        db = args.db or str(Path(tmp) / "log.db")
        print(stalls(db, args.records, args.reps))
        if Path("/proc/self/task").is_dir():
            print(writer_cpu(db, 1500.0, args.seconds))


if __name__ == "__main__":
    main()
