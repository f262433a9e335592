"""The embedded (SQLite) budget ledger under faults, through the real server and the simulator: another
process's transaction holds the ledger file locked past the busy timeout while a paid call is in flight.

Promises checked, as for PostgreSQL (test_ledger_faults.py): the paid answer is delivered, its spend is kept
in the journal beside the ledger and written to the ledger once the lock is gone; no new cloud call is made
until then (fail closed, a clear 502 with no file path); nothing is counted twice.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import httpx
from waiting import wait_for

from tiered_router.budget import BudgetTracker
from tiered_router.demo import demo_settings
from tiered_router.routing import TieredModelRouter
from tiered_router.server.app import create_app
from tiered_router.server.runner import ServerThread

ASK = {"model": "tier-3", "messages": [{"role": "user", "content": "Summarise the quest log in one line."}],
       "max_tokens": 50}


def ask(server: ServerThread) -> httpx.Response:
    return httpx.post(server.url + "/v1/chat/completions", json=ASK, timeout=30)


def test_a_locked_sqlite_ledger_mid_call_loses_no_spend(slow_simulator, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    budget = BudgetTracker(db=ledger, daily_limit_usd=5, monthly_limit_usd=50, busy_timeout_s=0.2)
    router = TieredModelRouter(demo_settings(slow_simulator.url, db=str(tmp_path / "log.db")), budget=budget,
                               sinks=[])
    lock = sqlite3.connect(ledger, isolation_level=None, check_same_thread=False)
    with ServerThread(create_app(router)) as server:
        answers: list[httpx.Response] = []
        call = threading.Thread(target=lambda: answers.append(ask(server)))
        call.start()
        wait_for(lambda: slow_simulator.sim.requests[("anthropic", "claude-haiku-4-5")] >= 1, 10,
                 "the cloud call reaching the provider")
        lock.execute("BEGIN EXCLUSIVE")  # another process holds the file while the paid call runs
        call.join(30)
        [answer] = answers
        assert answer.status_code == 200, answer.text  # the client gets the answer it paid for
        cost = float(answer.headers["x-router-cost-usd"])
        assert cost > 0
        assert len(budget.journal) == 1  # kept until the ledger can take it
        assert Path(budget.journal.path or "").parent == tmp_path  # beside the ledger, not in memory

        refused = ask(server)
        assert refused.status_code == 502, refused.text  # fail closed while the journal cannot be replayed
        assert "budget_unavailable" in refused.text and str(tmp_path) not in refused.text
        assert slow_simulator.sim.requests[("anthropic", "claude-haiku-4-5")] == 1  # no unbudgeted call

        lock.execute("COMMIT")
        assert ask(server).status_code == 200
        assert len(budget.journal) == 0  # replayed before that call's reservation
        summary = httpx.get(server.url + "/v1/router/budget").json()
        assert summary["daily"]["calls"] == 2  # the journalled call once, the new one once
        assert summary["daily"]["spent_usd"] >= 2 * cost * 0.99
    lock.close()
    router.close()
    budget.close()
