"""A reservation nobody settled within its TTL (its process was killed mid-call, or the call outlived the TTL) is
charged at its reserved worst case, marked estimated and orphaned, in its own windows: never freed, since the
provider may have billed the call. Charged once, however many reclaims run, at once or one after another; a late
settle of the call replaces the charge with its real cost, once. SQLite and PostgreSQL (and the in-memory ledger
where one process is enough)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from budget_support import BACKENDS, FakeClock, backend_db
from tiered_router.budget import BudgetExceeded, BudgetTracker, Reclaimed, Reservation
from tiered_router.budget import postgres_sql as postgres_sql_mod
from tiered_router.budget import sqlite as sqlite_mod
from tiered_router.budget.ledger import to_epoch_us

T0 = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
MODEL = ("anthropic", "claude-haiku-4-5")
TTL_S = 60


@pytest.fixture(params=[*BACKENDS, "memory"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with backend_db(request.param, tmp_path) as location:
        yield location


@pytest.fixture(params=BACKENDS)
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A ledger several trackers (connections, as separate processes or replicas would have) share."""
    with backend_db(request.param, tmp_path) as location:
        yield location


@pytest.fixture
def make() -> Iterator[Callable[..., BudgetTracker]]:
    trackers: list[BudgetTracker] = []

    def factory(db: str, **kw: Any) -> BudgetTracker:
        kw.setdefault("clock", FakeClock(T0))
        kw.setdefault("reservation_ttl_s", TTL_S)
        kw.setdefault("reclaim_interval_s", 10**9)  # only the reclaims a test makes
        trackers.append(BudgetTracker(db=db, **kw))
        return trackers[-1]

    yield factory
    for t in trackers:
        t.close()


def daily(t: BudgetTracker) -> dict[str, Any]:
    return t.get_summary()["daily"]  # type: ignore[no-any-return]


def test_an_orphaned_reservation_is_charged_at_its_worst_case_marked_estimated(db: str, make, caplog) -> None:
    clock = FakeClock(T0)
    t = make(db, daily_limit_usd=0.01, clock=clock)
    t.reserve(*MODEL, 0.006)
    t.settle(t.reserve(*MODEL, 0.001), 10, 10, cost_usd=0.0005)  # a settled call: not touched by the reclaim
    clock.advance(seconds=TTL_S)
    with caplog.at_level(logging.WARNING, "tiered_router.budget"):
        assert t.reclaim_expired() == 1
    assert "1 orphaned reservation(s)" in caplog.text and "$0.006000" in caplog.text
    d = daily(t)
    assert (d["spent_micro"], d["reserved_micro"], d["open_reservations"]) == (6500, 0, 0)
    assert (d["calls"], d["estimated_calls"], d["orphaned_calls"], d["orphaned_micro"]) == (2, 1, 1, 6000)
    assert d["by_model"]["anthropic/claude-haiku-4-5"]["cost_micro"] == 6500
    with pytest.raises(BudgetExceeded):  # the budget is still spent: 6500 + 4000 > 10000
        t.reserve(*MODEL, 0.004)
    t.reserve(*MODEL, 0.0035)


def test_reclaim_is_idempotent(db: str, make) -> None:
    clock = FakeClock(T0)
    t = make(db, daily_limit_usd=1.0, clock=clock)
    for amount in (0.001, 0.002, 0.003):
        t.reserve(*MODEL, amount)
    clock.advance(seconds=TTL_S + 1)
    assert t.ledger.reclaim_expired(to_epoch_us(clock.now)) == Reclaimed(3, 6000)
    for _ in range(2):
        assert t.ledger.reclaim_expired(to_epoch_us(clock.now)) == Reclaimed(0, 0)
    d = daily(t)
    assert (d["spent_micro"], d["calls"], d["orphaned_calls"]) == (6000, 3, 3)


def test_only_expired_reservations_are_charged(db: str, make) -> None:
    clock = FakeClock(T0)
    t = make(db, daily_limit_usd=1.0, clock=clock)
    t.reserve(*MODEL, 0.001)
    clock.advance(seconds=30)
    young = t.reserve(*MODEL, 0.002)
    clock.advance(seconds=TTL_S - 30)  # the first has just expired, the second has 30 s left
    assert t.ledger.reclaim_expired(to_epoch_us(clock.now)) == Reclaimed(1, 1000)
    assert (t.totals().day_spent, t.totals().day_reserved) == (1000, 2000)
    assert t.settle(young, 10, 10, cost_usd=0.0015) == 0.0015
    assert (t.totals().day_spent, t.totals().day_reserved) == (2500, 0)


def test_the_charge_counts_in_the_windows_of_the_reservation(db: str, make) -> None:
    clock = FakeClock(datetime(2025, 3, 31, 23, 59, 30, tzinfo=UTC))
    t = make(db, daily_limit_usd=1.0, clock=clock)
    t.reserve(*MODEL, 0.004)
    clock.set(datetime(2025, 4, 1, 0, 10, tzinfo=UTC))  # reclaimed the next day, in the next month
    assert t.reclaim_expired() == 1
    s = t.get_summary()
    assert s["daily"]["spent_micro"] == s["monthly"]["spent_micro"] == 0  # today and this month: nothing
    clock.set(datetime(2025, 3, 31, 23, 0, tzinfo=UTC))
    s = t.get_summary()
    assert s["daily"]["spent_micro"] == s["monthly"]["spent_micro"] == 4000  # where it was reserved
    assert s["daily"]["orphaned_micro"] == s["monthly"]["orphaned_micro"] == 4000


def test_a_late_settle_replaces_the_charge_with_the_real_cost_once(db: str, make, caplog) -> None:
    clock = FakeClock(T0)
    t = make(db, daily_limit_usd=0.01, clock=clock)
    late = t.reserve(*MODEL, 0.006)
    clock.advance(seconds=TTL_S + 5)
    assert t.reclaim_expired() == 1
    with caplog.at_level(logging.WARNING, "tiered_router.budget"):
        assert t.settle(late, 1000, 100, cost_usd=0.0015) == 0.0015  # the call outlived the TTL and ended
    assert f"call {late.id} was settled 5 s after its reservation expired" in caplog.text
    d = daily(t)
    assert (d["spent_micro"], d["reserved_micro"], d["calls"], d["estimated_calls"]) == (1500, 0, 1, 0)
    assert (d["orphaned_calls"], d["orphaned_micro"]) == (0, 0)
    assert d["by_model"]["anthropic/claude-haiku-4-5"] == {
        "cost_usd": 0.0015, "cost_micro": 1500, "calls": 1, "tokens_in": 1000, "tokens_out": 100}
    # once: settling again, reclaiming again or releasing changes nothing
    assert t.settle(late, 1000, 900, cost_usd=0.005) == 0.0015
    assert t.reclaim_expired() == 0
    t.release(late)
    assert (t.totals().day_spent, t.totals().day_reserved) == (1500, 0)
    t.reserve(*MODEL, 0.0085)  # exactly what is left


def test_a_late_estimated_settle_stays_estimated(db: str, make) -> None:
    clock = FakeClock(T0)
    t = make(db, daily_limit_usd=0.01, clock=clock)
    late = t.reserve(*MODEL, 0.006)
    clock.advance(seconds=TTL_S)
    t.reclaim_expired()
    assert t.settle(late, 2000, 300, cost_estimated=True) == pytest.approx(0.0035)  # tokens guessed, priced
    d = daily(t)
    assert (d["spent_micro"], d["calls"], d["estimated_calls"], d["orphaned_calls"]) == (3500, 1, 1, 0)


def test_a_settle_before_the_reclaim_leaves_nothing_to_charge(db: str, make) -> None:
    clock = FakeClock(T0)
    t = make(db, daily_limit_usd=0.01, clock=clock)
    late = t.reserve(*MODEL, 0.006)
    clock.advance(seconds=TTL_S * 2)  # expired, not yet reclaimed
    assert t.settle(late, 10, 10, cost_usd=0.002) == 0.002
    assert t.reclaim_expired() == 0
    d = daily(t)
    assert (d["spent_micro"], d["reserved_micro"], d["calls"], d["orphaned_calls"]) == (2000, 0, 1, 0)


def test_a_release_after_the_charge_does_not_refund_it(db: str, make) -> None:
    clock = FakeClock(T0)
    t = make(db, daily_limit_usd=0.01, clock=clock)
    late = t.reserve(*MODEL, 0.006)
    clock.advance(seconds=TTL_S)
    t.reclaim_expired()
    t.release(late)  # whoever releases it now cannot prove the provider did not bill it
    assert (t.totals().day_spent, t.totals().day_reserved) == (6000, 0)


def test_the_summary_charges_orphans_as_it_goes(db: str, make) -> None:
    clock = FakeClock(T0)
    t = make(db, daily_limit_usd=0.01, clock=clock, reclaim_interval_s=30)
    t.reserve(*MODEL, 0.006)
    clock.advance(seconds=TTL_S)
    d = daily(t)  # a running server's /v1/router/budget: past the interval, so it reclaims first
    assert (d["spent_micro"], d["reserved_micro"], d["orphaned_calls"]) == (6000, 0, 1)


def test_tiered_router_budget_shows_what_orphans_cost(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from tiered_router.cli import main

    db = str(tmp_path / "ledger.db")
    monkeypatch.setenv("TIER_DB", db)
    monkeypatch.setenv("TIER_RESERVATION_TTL_S", "0.001")
    with BudgetTracker(db=db, reservation_ttl_s=0.001) as t:  # a killed server's reservation, real clock
        t.reserve(*MODEL, 0.0042)
    out = CliRunner().invoke(main, ["budget"]).output  # its tracker charges it as it opens
    assert "charged from orphaned reservations" in out and "1 call(s) this month, $0.004200" in out
    assert "0.004200" in out.split("charged from")[0]  # and it is in the month's spend above


# -- many connections at once (the SQLite file's other processes, PostgreSQL's other replicas) ---------------------
def _together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(i)`` for i in range(n), in n threads released at once; the results in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors
    return results


def test_concurrent_reclaims_charge_each_reservation_once(shared_db: str, make) -> None:
    owner = make(shared_db, daily_limit_usd=10.0)
    amounts = [1000 + 37 * i for i in range(60)]
    for a in amounts:
        owner.reserve(*MODEL, a / 1_000_000)
    replicas = [make(shared_db, daily_limit_usd=10.0) for _ in range(4)]  # their start-up reclaim: nothing expired
    later = to_epoch_us(T0 + timedelta(seconds=TTL_S))
    for _ in range(3):  # three rounds: the first charges, the others find nothing
        got = _together(len(replicas), lambda i: replicas[i].ledger.reclaim_expired(later))
    d = daily(owner)
    assert (d["spent_micro"], d["reserved_micro"], d["calls"], d["orphaned_calls"]) == (sum(amounts), 0, 60, 60)
    assert d["estimated_calls"] == 60 and got == [Reclaimed(0, 0)] * len(replicas)


def test_settles_racing_reclaims_charge_each_call_once(shared_db: str, make, caplog) -> None:
    """Half of the expired calls are settled by their (live) owners while replicas reclaim: whichever comes first,
    each call ends at its real cost if it was settled and at its worst case if not, and no statement waits for
    another in a deadlock (PostgreSQL would break it and the ledger retry: the warning would show)."""
    clock = FakeClock(T0)
    owner, *settlers = (make(shared_db, daily_limit_usd=10.0, clock=clock) for _ in range(3))
    reclaimers = [make(shared_db, daily_limit_usd=10.0) for _ in range(2)]
    reservations = [owner.reserve(*MODEL, (2000 + i) / 1_000_000) for i in range(40)]
    settled = reservations[::2]
    later = clock.advance(seconds=TTL_S)  # all expired: the settles come late, and race the reclaims

    def work(i: int) -> Any:
        if i < len(settlers):
            return [settlers[i].settle(r, 10, 10, cost_usd=0.0005) for r in settled[i :: len(settlers)]]
        return [reclaimers[i - len(settlers)].ledger.reclaim_expired(to_epoch_us(later)) for _ in range(20)]

    with caplog.at_level(logging.WARNING, "tiered_router.budget"):
        results = _together(len(settlers) + len(reclaimers), work)
    assert "retrying" not in caplog.text
    assert all(cost == 0.0005 for costs in results[: len(settlers)] for cost in costs)
    unsettled = [r for r in reservations if r not in settled]
    charged = [c for rounds in results[len(settlers) :] for c in rounds]
    charged_in_all = sum(c.count for c in charged) + owner.reclaim_expired()  # and whatever the reclaimers left
    assert len(unsettled) <= charged_in_all <= len(reservations)  # a settled call was charged first, or not at all
    d = daily(owner)
    assert d["spent_micro"] == 500 * len(settled) + sum(r.amount_micro for r in unsettled)
    assert (d["reserved_micro"], d["calls"], d["orphaned_calls"]) == (0, 40, len(unsettled))


def test_concurrent_late_settles_replace_the_charge_once(shared_db: str, make) -> None:
    clock = FakeClock(T0)
    owner = make(shared_db, daily_limit_usd=10.0, clock=clock)
    late: list[Reservation] = [owner.reserve(*MODEL, 0.006) for _ in range(10)]
    clock.advance(seconds=TTL_S)
    assert owner.reclaim_expired() == 10
    copies = [make(shared_db, daily_limit_usd=10.0, clock=clock) for _ in range(3)]
    # each orphaned call settled by three processes at once, each with a different figure (a journal replay and
    # a live settle, say): one figure wins, and all three are told the same one
    results = _together(3, lambda i: [copies[i].settle(r, 10, 10, cost_usd=(i + 1) / 1000) for r in late])
    won = [{results[i][k] for i in range(3)} for k in range(len(late))]
    assert all(len(w) == 1 for w in won), won
    d = daily(owner)
    assert d["spent_micro"] == round(sum(next(iter(w)) * 1_000_000 for w in won))
    assert (d["calls"], d["orphaned_calls"], d["estimated_calls"]) == (10, 0, 0)


# -- an existing ledger gains the column ------------------------------------------------------------------------
def test_a_version_1_ledger_is_migrated_and_its_spend_kept(shared_db: str, make) -> None:
    version_1 = [
        "CREATE TABLE budget_schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        *(postgres_sql_mod if shared_db.startswith("postgres") else sqlite_mod).MIGRATIONS[0][1],
        "INSERT INTO budget_schema_version VALUES (1, '2025-03-14')",
        "INSERT INTO budget_spend VALUES ('old', '2025-03-14T11:00:00+00:00', '2025-03-14', '2025-03', 'anthropic', "
        "'claude-haiku-4-5', 1, 1, 700, FALSE, 1000)",
        "INSERT INTO budget_windows VALUES ('day:2025-03-14', 700, 1, 0), ('month:2025-03', 700, 1, 0)",
    ]
    if shared_db.startswith("postgres"):
        with psycopg.connect(shared_db, autocommit=True) as pg:
            for sql in version_1:
                pg.execute(sql)
    else:
        with contextlib.closing(sqlite3.connect(shared_db)) as lite, lite:
            for sql in version_1:
                lite.execute(sql)
    clock = FakeClock(T0)
    t = make(shared_db, daily_limit_usd=1.0, clock=clock)
    assert t.ledger.schema_version() == 2
    t.reserve(*MODEL, 0.002)
    clock.advance(seconds=TTL_S)
    assert t.reclaim_expired() == 1
    d = daily(t)
    assert (d["spent_micro"], d["calls"], d["orphaned_calls"], d["orphaned_micro"]) == (2700, 2, 1, 2000)


# -- through the router: a live call that outlives its reservation ------------------------------------------------
async def test_a_stream_that_outlives_its_reservation_ends_charged_what_it_used(make_router) -> None:
    router = make_router(reservation_ttl_s=0.05)
    stream = await router.stream("Summarise the quest log", {"tier": "cloud"})
    chunks = aiter(stream)
    first = await anext(chunks)  # the call is under way, its reservation open
    deadline = time.monotonic() + 10
    while not router.budget.reclaim_expired():  # another replica's reclaim, once the TTL has passed
        assert time.monotonic() < deadline, "the reservation never expired"
        time.sleep(0.01)
    held = router.budget.get_summary()["daily"]
    assert held["orphaned_calls"] == 1 and held["spent_micro"] == held["orphaned_micro"] > 0
    text = first.text + "".join([chunk.text async for chunk in chunks])
    assert text == stream.response.text and stream.response.cost_usd > 0
    d = router.budget.get_summary()["daily"]  # settled at what it used, in place of the worst case: once
    assert d["spent_usd"] == pytest.approx(stream.response.cost_usd) and d["spent_micro"] < held["spent_micro"]
    assert (d["calls"], d["orphaned_calls"], d["reserved_micro"], d["estimated_calls"]) == (1, 0, 0, 0)
