"""A server killed (``kill -9``) in the middle of a paid cloud call leaves its reservation behind. The budget keeps
that money: the reservation holds it, and once the TTL has passed it is charged at the reserved worst case, marked
estimated and orphaned, never freed, since the provider may have billed the call (docs/reliability.md, budget).

``tiered-router serve`` runs as a child process, its cloud tier on a simulator served from this process; SQLite
and PostgreSQL through the ``db`` fixture."""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from serving import ServeChild, local_tiers
from waiting import polled, wait_for

from tiered_router.budget import BudgetExceeded, BudgetTracker, usd_to_micro
from tiered_router.budget.ledger import from_epoch_us
from tiered_router.observe.store import RoutingLogStore
from tiered_router.server.runner import ServerThread
from tiered_router.sim import Simulator, create_app

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

DAILY_USD = 0.008  # room for one call of 1,000 output tokens (about $0.0051 at $5/Mtok), not two
TTL_S = 3.0  # TIER_RESERVATION_TTL_S; the server reclaims every min(60 s, TTL)
MARGIN_S = 10.0  # for a loaded machine: the child may wait for a core
START_S = 60.0  # how long a server may take to answer /healthz


@pytest.fixture(scope="module")
def cloud() -> Iterator[ServerThread]:
    """The simulator every tier of the child talks to; ``[[sim:hang]]`` holds a call open until its client dies."""
    sim = Simulator()
    with ServerThread(create_app(sim)) as server:
        server.sim = sim
        yield server


class PaidServer(ServeChild):
    """``tiered-router serve`` in a child process with a cloud tier (on the simulator) and a small daily budget."""

    def __init__(self, sim_url: str, db: str, out: Path) -> None:
        super().__init__({**local_tiers(sim_url), "TIER_CLOUD_MODEL": "anthropic/claude-haiku-4-5",
                          "TIER_CLOUD_URL": sim_url, "TIER_CLOUD_API_KEY": "simulator-key",
                          "TIER_CLOUD_DAILY_BUDGET_USD": str(DAILY_USD), "TIER_RESERVATION_TTL_S": str(TTL_S),
                          "TIER_DB": db}, out, start_s=START_S, timeout_s=30)
        self.statuses: list[int] = []  # of every response this test asked for

    def cloud(self, text: str, max_tokens: int) -> httpx.Response:
        """A forced cloud call (model "cloud")."""
        r = self.client.post("/v1/chat/completions", json={
            "model": "cloud", "max_tokens": max_tokens, "messages": [{"role": "user", "content": text}]})
        self.statuses.append(r.status_code)
        return r

    def budget(self) -> dict[str, Any]:
        r = self.client.get("/v1/router/budget")
        self.statuses.append(r.status_code)
        assert r.status_code == 200, r.text
        return r.json()["daily"]  # type: ignore[no-any-return]


@pytest.fixture
def serve(cloud, db, tmp_path) -> Iterator[Callable[[], PaidServer]]:
    started: list[PaidServer] = []

    def start() -> PaidServer:
        started.append(PaidServer(cloud.url, db, tmp_path / f"serve-{len(started)}.log"))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def query(db: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the ledger, read straight from the database (no tracker: none of its start-up work)."""
    if db.startswith("postgres"):
        with psycopg.connect(db, autocommit=True) as conn:
            return conn.execute(sql).fetchall()
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_paid_call_cut_by_kill_9_is_charged_at_its_worst_case_never_freed(serve, cloud, db) -> None:
    # 1. A forced cloud call that the provider has received and not answered when the server is killed.
    first = serve()
    tag = uuid.uuid4().hex
    outcome: list[object] = []

    def hanging_call() -> None:
        try:
            outcome.append(first.cloud(f"Tell a long story about the Ashlands {tag} [[sim:hang]]", 1000))
        except httpx.TransportError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=hanging_call)
    caller.start()
    wait_for(lambda: any(tag in json.dumps(seen.body) for seen in list(cloud.sim.seen)), 30,
             "the provider receiving the paid call")
    first.proc.send_signal(signal.SIGKILL)
    assert first.proc.wait(30) == -signal.SIGKILL
    killed_at = time.monotonic()
    caller.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.TransportError), outcome  # cut, no 5xx invented

    # 2. The reservation holds the money: it is in the ledger, and a tracker opened at its time refuses what does not
    #    fit beside it.
    ((rid, amount, created_us, expires_us),) = query(
        db, "SELECT id, amount_micro, created_us, expires_us FROM budget_reservations")
    assert 5000 < amount < 5500  # 1,000 output tokens at $5/Mtok, and the bound on the prompt at $1/Mtok
    assert query(db, "SELECT call_id FROM budget_spend") == []
    assert expires_us - created_us == TTL_S * 1_000_000
    created = from_epoch_us(created_us)
    with BudgetTracker(db=db, daily_limit_usd=DAILY_USD, clock=lambda: created) as then:
        assert then.totals().day_reserved == amount
        with pytest.raises(BudgetExceeded):
            then.reserve("anthropic", "claude-haiku-4-5", (usd_to_micro(DAILY_USD) - amount + 1) / 1_000_000)

    # 3. A new server on the same database: the budget is still spent, whether or not the TTL has passed yet.
    second = serve()
    restart_s = time.monotonic() - killed_at
    refused = second.cloud("Tell a long story about the Ashlands", 1000)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded", refused.text

    # 4. After the TTL the reservation is charged at its reserved amount, marked estimated: never released as free.
    def charged() -> dict[str, Any] | None:
        daily = second.budget()  # the summary reclaims once the interval has passed
        return daily if daily["orphaned_calls"] else None

    daily = polled(charged, TTL_S * 2 + MARGIN_S)
    charged_after_s = time.monotonic() - killed_at
    assert daily is not None, f"the orphaned reservation was not charged:\n{second.output()}"
    assert (daily["spent_micro"], daily["orphaned_micro"], daily["reserved_micro"]) == (amount, amount, 0)
    assert (daily["calls"], daily["estimated_calls"], daily["open_reservations"]) == (1, 1, 0)
    ((call_id, cost, reserved, estimated, orphaned),) = query(
        db, "SELECT call_id, cost_micro, reserved_micro, cost_estimated, orphaned FROM budget_spend")
    assert (call_id, cost, reserved, bool(estimated), bool(orphaned)) == (rid, amount, amount, True, True)
    assert query(db, "SELECT id FROM budget_reservations") == []

    # 5. The rest of the budget is there, and no more: a call that fits is answered and settled beside the charge.
    assert second.cloud("Tell a long story about the Ashlands", 1000).status_code == 429
    answered = second.cloud("Walk to the next room", 200)
    assert answered.status_code == 200, answered.text
    daily = second.budget()
    assert daily["calls"] == 2 and daily["spent_micro"] > amount and daily["orphaned_micro"] == amount
    assert not [s for s in second.statuses if s >= 500], second.statuses

    # 6. Its records survive a clean stop (the stated bound: none lost); the killed call has none (it never ended).
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(30) is not None
    store = RoutingLogStore(db)
    try:
        logged = {row[0] for row in store.query("SELECT request_id FROM router_requests")}
    finally:
        store.close()
    assert {refused.headers["x-request-id"], answered.headers["x-request-id"]} <= logged

    # Recovery: the new server answers within START_S of the kill, and the charge lands within one reclaim
    # interval (the TTL here) of the reservation's expiry, plus the margin.
    assert restart_s < START_S
    assert charged_after_s < TTL_S + TTL_S + MARGIN_S
    print(f"restart {restart_s:.1f} s, orphan charged {charged_after_s:.1f} s after the kill (TTL {TTL_S} s)")
