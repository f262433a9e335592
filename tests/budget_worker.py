"""Subprocess worker for the budget ledger's multi-process tests (run as a script).

    budget_worker.py hammer DB --clock ISO --threads 50 --rounds 3 --limit 0.01 --reserve 0.002 --seed N
        Prints "READY", waits for "GO" on stdin, then runs ``threads`` threads (released together by a
        barrier) that each try ``rounds`` times to reserve ``reserve`` USD and settle it at a random
        100–300 µ$. An audit hook records day spent+reserved *inside* each reserve's lock.
        Prints one JSON line with the results.

    budget_worker.py hold DB --clock ISO --ttl 600 --n 3 --amount 0.002 --limit 0.01
        Reserves ``n`` times, prints "READY <json ids>", then blocks until killed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import datetime

from tiered_router.budget import BudgetExceeded, BudgetTracker, WindowTotals


def fixed_clock(iso: str):
    now = datetime.fromisoformat(iso)
    return lambda: now


def hammer(args: argparse.Namespace) -> None:
    tracker = BudgetTracker(
        db=args.db,
        daily_limit_usd=args.limit,
        monthly_limit_usd=None,
        clock=fixed_clock(args.clock),
        reservation_ttl_s=3600,
    )
    audit: list[int] = []
    audit_lock = threading.Lock()

    def hook(reservation_id: str, totals: WindowTotals) -> None:
        with audit_lock:
            audit.append(totals.day_spent + totals.day_reserved)

    tracker.ledger.audit_hook = hook
    settled: list[int] = []
    errors: list[str] = []
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(args.threads)

    def work(i: int) -> None:
        rng = random.Random(args.seed * 1000 + i)
        try:
            barrier.wait()
            for _ in range(args.rounds):
                try:
                    res = tracker.reserve("anthropic", "claude-haiku-4-5", args.reserve)
                except BudgetExceeded:
                    with lock:
                        counts["refused"] += 1
                    continue
                time.sleep(rng.random() / 1000)  # the "cloud call"
                cost = rng.randint(100, 300)
                recorded = tracker.settle(res, 1000, 100, cost_usd=cost / 1_000_000)
                with lock:
                    counts["ok"] += 1
                    settled.append(cost)
                    if round(recorded * 1_000_000) != cost:
                        errors.append(f"settle returned {recorded} for {cost} µ$")
        except Exception as exc:
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(args.threads)]
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        raise SystemExit("expected GO")
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tracker.close()
    print(json.dumps({**counts, "settled": settled, "audit": audit, "errors": errors}), flush=True)


def hold(args: argparse.Namespace) -> None:
    tracker = BudgetTracker(
        db=args.db,
        daily_limit_usd=args.limit,
        monthly_limit_usd=None,
        clock=fixed_clock(args.clock),
        reservation_ttl_s=args.ttl,
    )
    ids = [tracker.reserve("openai", "gpt-4o", args.amount).id for _ in range(args.n)]
    print("READY", json.dumps(ids), flush=True)
    threading.Event().wait()  # until SIGKILL


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    h = sub.add_parser("hammer")
    h.add_argument("db")
    h.add_argument("--clock", required=True)
    h.add_argument("--threads", type=int, default=50)
    h.add_argument("--rounds", type=int, default=3)
    h.add_argument("--limit", type=float, default=0.01)
    h.add_argument("--reserve", type=float, default=0.002)
    h.add_argument("--seed", type=int, default=0)
    k = sub.add_parser("hold")
    k.add_argument("db")
    k.add_argument("--clock", required=True)
    k.add_argument("--ttl", type=float, default=600)
    k.add_argument("--n", type=int, default=3)
    k.add_argument("--amount", type=float, default=0.002)
    k.add_argument("--limit", type=float, default=0.01)
    args = parser.parse_args()
    {"hammer": hammer, "hold": hold}[args.mode](args)


if __name__ == "__main__":
    main()
