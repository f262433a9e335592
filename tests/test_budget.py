"""The budget ledger's unit suite. Every test runs on SQLite and PostgreSQL (and most on the
in-memory ledger too) through the parametrized ``db`` fixture."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import socket
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from budget_support import BACKENDS, FakeClock, backend_db, require_pg, with_params
from tiered_router.budget import (
    BudgetError,
    BudgetExceeded,
    BudgetTracker,
    LedgerUnavailable,
    PriceBook,
    UnknownPrice,
    default_db_path,
    redact_url,
    usd_to_micro,
)
from tiered_router.budget import sqlite as sqlite_mod

T0 = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
MODEL = ("anthropic", "claude-haiku-4-5")  # $1 / $5 per Mtok


@pytest.fixture(params=[*BACKENDS, "memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=BACKENDS)
def persistent_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db(backend: str, tmp_path: Path):
    with backend_db(backend, tmp_path) as location:
        yield location


@pytest.fixture
def pdb(persistent_backend: str, tmp_path: Path):
    """A ledger location that outlives a tracker (SQLite file or PostgreSQL schema)."""
    with backend_db(persistent_backend, tmp_path) as location:
        yield location


@pytest.fixture
def make(db: str):
    trackers: list[BudgetTracker] = []

    def factory(**kw) -> BudgetTracker:
        kw.setdefault("clock", FakeClock(T0))
        t = BudgetTracker(db=db, **kw)
        trackers.append(t)
        return t

    yield factory
    for t in trackers:
        t.close()


@pytest.fixture
def pmake(pdb: str):
    trackers: list[BudgetTracker] = []

    def factory(**kw) -> BudgetTracker:
        kw.setdefault("clock", FakeClock(T0))
        t = BudgetTracker(db=pdb, **kw)
        trackers.append(t)
        return t

    yield factory
    for t in trackers:
        t.close()


# -- arithmetic ------------------------------------------------------------------------------------
def test_reserve_settle_release_arithmetic_in_micro_dollars(make) -> None:
    t = make(daily_limit_usd=1.0, monthly_limit_usd=10.0)
    r1 = t.reserve(*MODEL, 0.002)
    assert (r1.amount_micro, r1.amount_usd) == (2000, 0.002)
    assert r1.provider == "anthropic" and r1.model == "claude-haiku-4-5"
    assert r1.created_at == T0 and (r1.expires_at - r1.created_at).total_seconds() == 600
    r2 = t.reserve(*MODEL, 0.0000011)  # a worst case is rounded UP to the micro-dollar
    assert r2.amount_micro == 2
    tot = t.totals()
    assert (tot.day_spent, tot.day_reserved, tot.month_spent, tot.month_reserved) == (0, 2002, 0, 2002)

    assert t.settle(r1, 1000, 200, cost_usd=0.000123) == 0.000123
    tot = t.totals()
    assert (tot.day_spent, tot.day_reserved) == (123, 2)
    t.release(r2)
    tot = t.totals()
    assert (tot.day_spent, tot.day_reserved, tot.month_spent, tot.month_reserved) == (123, 0, 123, 0)

    # cost from the price book: 1000 in × $1/M + 200 out × $5/M = 2000 µ$
    r3 = t.reserve(*MODEL, t.prices.worst_case_cost(*MODEL, 1000, 1000))
    assert r3.amount_micro == 6000
    assert t.settle(r3, 1000, 200) == 0.002
    assert t.totals().day_spent == 2123
    assert t.record_spend(*MODEL, 10, 10) == 0.00006
    assert t.totals().month_spent == 2183


def test_money_never_goes_through_float_sums(make) -> None:
    t = make(daily_limit_usd=1.0)
    for _ in range(10):
        t.settle(t.reserve(*MODEL, 0.1), 1, 1, cost_usd=0.1)
    assert t.totals().day_spent == 1_000_000  # ten times 0.1 is exactly 1.0 here
    s = t.get_summary()
    assert s["daily"]["spent_usd"] == 1.0 and s["daily"]["remaining_usd"] == 0.0
    assert usd_to_micro(0.1 + 0.2) == 300_000  # half-up: float noise does not add a micro-dollar
    assert usd_to_micro(0.1 + 0.2, round_up=True) == 300_001  # ...but a worst case is never rounded down


def test_settle_is_idempotent_and_release_too(make) -> None:
    t = make(daily_limit_usd=1.0)
    r = t.reserve(*MODEL, 0.01)
    assert t.settle(r, 100, 100, cost_usd=0.004) == 0.004
    assert t.settle(r, 100, 100, cost_usd=0.009) == 0.004  # second settle records nothing
    t.release(r)  # after settle: no effect
    t.release(r)
    tot = t.totals()
    assert (tot.day_spent, tot.day_reserved) == (4000, 0)
    assert t.get_summary()["daily"]["calls"] == 1


def test_settle_at_what_a_cut_stream_consumed(make) -> None:
    t = make(daily_limit_usd=1.0)
    r = t.reserve_call(*MODEL, tokens_in=2000, max_tokens=4000)  # 2000 + 20000 µ$
    assert r.amount_micro == 22_000
    assert t.settle(r, tokens_in=2000, tokens_out=150) == pytest.approx(0.00275)
    assert t.totals().day_spent == 2750


def test_invalid_inputs(make) -> None:
    t = make()
    with pytest.raises(ValueError):
        t.reserve(*MODEL, -0.01)
    with pytest.raises(ValueError):
        t.reserve(*MODEL, float("nan"))
    r = t.reserve(*MODEL, 0.01)
    with pytest.raises(ValueError):
        t.settle(r, -1, 0)
    with pytest.raises(ValueError):
        t.record_spend(*MODEL, 1, 1.5)  # type: ignore[arg-type]


# -- limits ----------------------------------------------------------------------------------------
def test_budget_exceeded_at_the_limit(make) -> None:
    t = make(daily_limit_usd=0.01, monthly_limit_usd=1.0)
    a = t.reserve(*MODEL, 0.004)
    t.reserve(*MODEL, 0.004)
    t.reserve(*MODEL, 0.002)  # exactly at the limit is allowed
    assert t.cloud_allowed() is False
    with pytest.raises(BudgetExceeded) as info:
        t.reserve(*MODEL, 0.000001)
    e = info.value
    assert isinstance(e, BudgetError)
    assert e.window == "daily" and e.window_key == "2025-03-14"
    assert (e.limit_usd, e.spent_usd, e.reserved_usd, e.requested_usd) == (0.01, 0.0, 0.01, 0.000001)
    assert "daily" in str(e) and "$0.010000" in str(e)
    assert pickle.loads(pickle.dumps(e)).reserved_usd == 0.01
    t.release(a)
    assert t.cloud_allowed(0.004) and not t.cloud_allowed(0.0041)
    t.reserve(*MODEL, 0.004)


def test_zero_cost_is_never_refused(make) -> None:
    t = make(daily_limit_usd=0.001)
    t.record_spend(*MODEL, 0, 0, cost_usd=0.002)  # over the limit (money already spent)
    with pytest.raises(BudgetExceeded):
        t.reserve(*MODEL, 0.000001)
    r = t.reserve("ollama", "llama3.2", 0.0)
    assert t.settle(r, 500, 500) == 0.0


def test_daily_and_monthly_limits(make) -> None:
    clock = FakeClock(T0)
    t = make(daily_limit_usd=0.01, monthly_limit_usd=0.015, clock=clock)
    t.record_spend(*MODEL, 0, 0, cost_usd=0.009)
    with pytest.raises(BudgetExceeded) as info:
        t.reserve(*MODEL, 0.002)
    assert info.value.window == "daily"
    clock.advance(days=1)
    with pytest.raises(BudgetExceeded) as info:
        t.reserve(*MODEL, 0.007)  # the day is empty, the month is not
    e = info.value
    assert e.window == "monthly" and e.window_key == "2025-03"
    assert (e.limit_usd, e.spent_usd, e.reserved_usd) == (0.015, 0.009, 0.0)
    t.reserve(*MODEL, 0.006)
    assert not t.cloud_allowed()


def test_no_limit(make) -> None:
    t = make(daily_limit_usd=None, monthly_limit_usd=None)
    t.reserve(*MODEL, 1e6)
    s = t.get_summary()
    assert s["daily"]["limit_usd"] is None and s["daily"]["remaining_usd"] is None
    assert t.cloud_allowed(1e9)


# -- windows and the clock -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tz", "before_midnight"),
    [
        ("UTC", datetime(2025, 3, 14, 23, 59, tzinfo=UTC)),
        # 23:59 in Los Angeles (PDT, UTC-7) is 06:59 UTC the next day
        ("America/Los_Angeles", datetime(2025, 3, 15, 6, 59, tzinfo=UTC)),
    ],
)
def test_midnight_resets_the_day_not_the_month(make, tz: str, before_midnight: datetime) -> None:
    clock = FakeClock(before_midnight)
    t = make(daily_limit_usd=0.01, monthly_limit_usd=1.0, timezone=tz, clock=clock)
    assert t.get_summary()["daily"]["window"] == "2025-03-14"
    t.record_spend(*MODEL, 0, 0, cost_usd=0.008)
    with pytest.raises(BudgetExceeded):
        t.reserve(*MODEL, 0.005)
    clock.advance(minutes=2)
    s = t.get_summary()
    assert s["daily"]["window"] == "2025-03-15"
    assert s["daily"]["spent_micro"] == 0 and s["monthly"]["spent_micro"] == 8000
    t.reserve(*MODEL, 0.005)


def test_month_end_in_los_angeles(make) -> None:
    # Jan 31 23:30 in Los Angeles (PST, UTC-8) is already Feb 1 07:30 UTC
    clock = FakeClock(datetime(2025, 2, 1, 7, 30, tzinfo=UTC))
    t = make(daily_limit_usd=1.0, monthly_limit_usd=0.01, timezone="America/Los_Angeles", clock=clock)
    t.record_spend(*MODEL, 0, 0, cost_usd=0.009)
    s = t.get_summary()
    assert s["monthly"]["window"] == "2025-01" and s["daily"]["window"] == "2025-01-31"
    assert s["monthly"]["start"] == "2025-01-01T00:00:00-08:00"
    assert s["monthly"]["end"] == "2025-02-01T00:00:00-08:00"
    assert s["daily"]["start"] == "2025-01-31T00:00:00-08:00"
    with pytest.raises(BudgetExceeded) as info:
        t.reserve(*MODEL, 0.002)
    assert info.value.window == "monthly"
    clock.advance(hours=1)  # 00:30 Feb 1 in Los Angeles
    s = t.get_summary()
    assert s["monthly"]["window"] == "2025-02" and s["monthly"]["spent_micro"] == 0
    assert s["daily"]["start"] == "2025-02-01T00:00:00-08:00"
    t.reserve(*MODEL, 0.002)


def test_spend_counts_in_the_window_of_the_reservation(make) -> None:
    clock = FakeClock(datetime(2025, 3, 14, 23, 59, 30, tzinfo=UTC))
    t = make(daily_limit_usd=1.0, clock=clock)
    r = t.reserve(*MODEL, 0.01)
    clock.advance(minutes=1)  # the call ends after midnight
    t.settle(r, 10, 10, cost_usd=0.003)
    assert t.get_summary()["daily"]["spent_micro"] == 0  # today: nothing
    clock.set(datetime(2025, 3, 14, 23, 0, tzinfo=UTC))
    assert t.get_summary()["daily"]["spent_micro"] == 3000  # yesterday: the call


def test_clock_must_be_aware(make) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make(clock=lambda: datetime(2025, 1, 1))


def test_unknown_time_zone(make) -> None:
    with pytest.raises(ValueError, match="time zone"):
        make(timezone="Mars/Olympus_Mons")


# -- TTL (more in test_budget_orphans.py) ----------------------------------------------------------
def test_expired_reservations_keep_counting_until_charged_at_their_worst_case(make) -> None:
    clock = FakeClock(T0)
    t = make(daily_limit_usd=0.01, reservation_ttl_s=60, reclaim_interval_s=3600, clock=clock)
    leaked = t.reserve(*MODEL, 0.006)
    with pytest.raises(BudgetExceeded):
        t.reserve(*MODEL, 0.006)
    clock.advance(seconds=60)  # expires_at is exclusive: expired now
    assert (t.totals().day_reserved, t.totals().day_spent) == (6000, 0)  # expired, still held: never freed
    with pytest.raises(BudgetExceeded):
        t.reserve(*MODEL, 0.006)
    assert t.reclaim_expired() == 1
    assert t.reclaim_expired() == 0
    assert (t.totals().day_reserved, t.totals().day_spent) == (0, 6000)  # charged at the reserved worst case
    with pytest.raises(BudgetExceeded):
        t.reserve(*MODEL, 0.006)
    # the leaked call did finish after all: its real cost replaces the charge
    assert t.settle(leaked, 10, 10, cost_usd=0.001) == 0.001
    assert (t.totals().day_reserved, t.totals().day_spent) == (0, 1000)
    t.release(t.reserve(*MODEL, 0.006))


def test_reserve_reclaims_periodically(make) -> None:
    clock = FakeClock(T0)
    t = make(daily_limit_usd=1.0, reservation_ttl_s=60, reclaim_interval_s=120, clock=clock)
    t.reserve(*MODEL, 0.01)
    clock.advance(seconds=100)
    t.reserve(*MODEL, 0.01)  # within the interval: no sweep
    assert t.ledger.reclaim_expired(to_us(clock.now)).count == 1
    t.reserve(*MODEL, 0.01)
    clock.advance(seconds=200)
    t.reserve(*MODEL, 0.01)  # past the interval: this reserve swept the expired ones
    assert t.ledger.reclaim_expired(to_us(clock.now)).count == 0
    assert t.totals().day_spent == 30_000  # the three expired reservations, each charged once


def test_reclaim_at_start_up(pmake) -> None:
    first = pmake(daily_limit_usd=0.01, reservation_ttl_s=60)
    first.reserve(*MODEL, 0.005)
    first.close()  # "crashed" without settling
    before = pmake(daily_limit_usd=0.01, reservation_ttl_s=60, clock=FakeClock(T0.replace(second=59)))
    assert (before.totals().day_reserved, before.totals().day_spent) == (5000, 0)
    after = pmake(daily_limit_usd=0.01, reservation_ttl_s=60, clock=FakeClock(T0.replace(minute=1)))
    assert (after.totals().day_reserved, after.totals().day_spent) == (0, 5000)
    assert after.ledger.reclaim_expired(to_us(T0.replace(hour=23))).count == 0  # start-up charged it


def to_us(dt: datetime) -> int:
    from tiered_router.budget.ledger import to_epoch_us

    return to_epoch_us(dt)


# -- prices ----------------------------------------------------------------------------------------
def test_unknown_cloud_price_is_refused(make) -> None:
    t = make()
    with pytest.raises(UnknownPrice) as info:
        t.reserve_call("anthropic", "claude-imaginary-9", 100, 100)
    assert "claude-imaginary-9" in str(info.value) and "override" in str(info.value)
    with pytest.raises(UnknownPrice):
        t.record_spend("mycloud", "secret-model", 10, 10)
    with pytest.raises(UnknownPrice):
        t.estimate_cost("mycloud", "secret-model", 10, 10)


def test_price_override_and_local_models(make) -> None:
    t = make(prices={"mycloud/secret-model": (2.0, 8.0), "gpt-4o": (100.0, 100.0)})
    assert t.estimate_cost("mycloud", "secret-model", 1_000_000, 500_000) == 6.0
    assert t.estimate_cost("openai", "gpt-4o", 10_000, 0) == 1.0
    assert t.estimate_cost("ollama", "qwen2.5:7b", 10**6, 10**6) == 0.0
    r = t.reserve_call("mycloud", "secret-model", 1000, 1000)
    assert r.amount_micro == 10_000
    assert t.settle(r, 1000, 10) == 0.00208


def test_settle_of_an_unpriced_model_records_the_reservation(make, caplog) -> None:
    t = make()
    r = t.reserve("mycloud", "secret-model", 0.003)
    with caplog.at_level(logging.WARNING, "tiered_router.budget"):
        assert t.settle(r, 10, 10) == 0.003
    assert "no price known" in caplog.text
    assert t.get_summary()["daily"]["estimated_calls"] == 1


def test_price_book_instance_is_used(make) -> None:
    book = PriceBook(local_providers={"my-gpu-box"}, local_price=(0.1, 0.2))
    t = make(prices=book)
    assert t.prices is book
    assert t.estimate_cost("my-gpu-box", "llama", 10_000_000, 0) == 1.0
    with pytest.raises(UnknownPrice):  # "ollama" is no longer local with this book
        t.estimate_cost("ollama", "made-up-model-xyz", 1, 1)


# -- summary ---------------------------------------------------------------------------------------
def test_summary(make) -> None:
    clock = FakeClock(datetime(2025, 3, 14, 20, 0, tzinfo=UTC))
    t = make(daily_limit_usd=1.0, monthly_limit_usd=10.0, timezone="Europe/Berlin", clock=clock)
    t.settle(t.reserve(*MODEL, 0.01), 1000, 200)  # 2000 µ$
    t.record_spend("openai", "gpt-4o", 1000, 100, cost_estimated=True)  # 2500 + 1000 µ$
    t.reserve("openai", "gpt-4o", 0.25)
    s = t.get_summary()
    json.dumps(s)  # serialisable
    d, m = s["daily"], s["monthly"]
    assert s["timezone"] == "Europe/Berlin" and s["now"] == "2025-03-14T20:00:00+00:00"
    assert d["window"] == "2025-03-14" and d["start"] == "2025-03-14T00:00:00+01:00"
    assert d["end"] == "2025-03-15T00:00:00+01:00" and m["start"] == "2025-03-01T00:00:00+01:00"
    assert (d["spent_usd"], d["reserved_usd"], d["limit_usd"], d["remaining_usd"]) == (0.0055, 0.25, 1.0, 0.7445)
    assert (m["spent_usd"], m["reserved_usd"], m["limit_usd"], m["remaining_usd"]) == (0.0055, 0.25, 10.0, 9.7445)
    assert d["calls"] == 2 and d["estimated_calls"] == 1 and d["open_reservations"] == 1 and s["calls"] == 2
    assert d["by_model"] == m["by_model"] == {
        "anthropic/claude-haiku-4-5": {
            "cost_usd": 0.002,
            "cost_micro": 2000,
            "calls": 1,
            "tokens_in": 1000,
            "tokens_out": 200,
        },
        "openai/gpt-4o": {"cost_usd": 0.0035, "cost_micro": 3500, "calls": 1, "tokens_in": 1000, "tokens_out": 100},
    }
    assert s["fallback_in_use"] is False and s["backend"] in {"sqlite", "postgres", "memory"}


# -- async -----------------------------------------------------------------------------------------
async def test_async_wrappers(make) -> None:
    t = make(daily_limit_usd=0.01)
    rs = await asyncio.gather(*(t.areserve(*MODEL, 0.002) for _ in range(5)))
    with pytest.raises(BudgetExceeded):
        await t.areserve(*MODEL, 0.002)
    assert await t.asettle(rs[0], 10, 10, cost_usd=0.0005) == 0.0005
    await t.arelease(rs[1])
    assert await t.arecord_spend(*MODEL, 0, 0, cost_usd=0.0001) == 0.0001
    tot = t.totals()
    assert (tot.day_spent, tot.day_reserved) == (600, 6000)


# -- storage, migrations ---------------------------------------------------------------------------
def test_migrations_are_idempotent(pmake) -> None:
    a = pmake()
    a.record_spend(*MODEL, 0, 0, cost_usd=0.5)
    assert a.ledger.schema_version() == sqlite_mod.LATEST_VERSION == 2
    b = pmake()  # opens (and "migrates") the same database again
    c = pmake()
    assert b.ledger.schema_version() == c.ledger.schema_version() == 2
    assert c.totals().day_spent == 500_000


def test_context_manager_and_closed_tracker(db: str) -> None:
    with BudgetTracker(db=db, clock=FakeClock(T0)) as t:
        t.reserve(*MODEL, 0.01)
    with pytest.raises(LedgerUnavailable):
        t.reserve(*MODEL, 0.01)


def test_default_db_is_in_the_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "tiered-router" / "tiered-router.db"
    with BudgetTracker(clock=FakeClock(T0)) as t:
        t.record_spend(*MODEL, 1, 1)
    assert default_db_path().exists()


# -- fail closed / fail open -----------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unwritable_sqlite_path(tmp_path: Path) -> str:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    return str(blocker / "sub" / "budget.db")


def test_unwritable_sqlite_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(LedgerUnavailable, match="cannot open the SQLite budget ledger"):
        BudgetTracker(db=unwritable_sqlite_path(tmp_path))


def test_unreachable_postgres_fails_closed_without_leaking_the_password() -> None:
    url = f"postgresql://budget:s3cret-pw@127.0.0.1:{closed_port()}/nope?connect_timeout=2"
    with pytest.raises(LedgerUnavailable) as info:
        BudgetTracker(db=url)
    assert "s3cret-pw" not in str(info.value) and "***" in str(info.value)
    assert "s3cret-pw" not in repr(info.value.__cause__) if info.value.__cause__ else True
    assert info.value.__cause__ is None  # the driver's exception (with the DSN) is not chained


def test_redact_url() -> None:
    assert redact_url("postgresql://u:pw@h:5432/db?x=1") == "postgresql://u:***@h:5432/db?x=1"
    assert redact_url("postgres://u@h/db") == "postgres://u@h/db"
    assert redact_url("postgresql://h/db?password=pw&sslmode=require") == (
        "postgresql://h/db?password=***&sslmode=require"
    )
    assert redact_url("/var/lib/x.db") == "/var/lib/x.db"


@pytest.mark.parametrize("bad", ["sqlite", "postgres"])
def test_fail_open_uses_a_warned_in_memory_ledger(bad: str, tmp_path: Path, caplog) -> None:
    db = unwritable_sqlite_path(tmp_path) if bad == "sqlite" else f"postgresql://u:pw@127.0.0.1:{closed_port()}/x"
    with caplog.at_level(logging.WARNING, "tiered_router.budget"):
        t = BudgetTracker(db=db, fail_open=True, daily_limit_usd=0.01, clock=FakeClock(T0))
        caplog.clear()
        r = t.reserve(*MODEL, 0.006)
        assert r.backend == "fallback"
        assert "FALLBACK" in caplog.text
        caplog.clear()
        with pytest.raises(BudgetExceeded):  # the fallback still enforces the limit in-process
            t.reserve(*MODEL, 0.006)
        assert "FALLBACK" in caplog.text
        caplog.clear()
        assert t.settle(r, 1, 1, cost_usd=0.001) == 0.001
        assert "FALLBACK" in caplog.text
        s = t.get_summary()
    assert s["fallback_in_use"] is True and s["daily"]["spent_micro"] == 1000
    assert "pw@" not in json.dumps(s)
    t.close()


def test_fail_open_when_the_ledger_breaks_at_run_time(make, monkeypatch, caplog) -> None:
    t = make(fail_open=True, daily_limit_usd=1.0)
    ok = t.reserve(*MODEL, 0.01)
    assert ok.backend == "primary"

    def broken(*a, **k):
        raise LedgerUnavailable("disk on fire")

    monkeypatch.setattr(t.ledger, "reserve", broken)
    monkeypatch.setattr(t.ledger, "settle", broken)
    with caplog.at_level(logging.WARNING, "tiered_router.budget"):
        r = t.reserve(*MODEL, 0.01)
        assert r.backend == "fallback" and "disk on fire" in caplog.text
        assert t.settle(ok, 1, 1, cost_usd=0.002) == 0.002  # primary reservation, recorded in the fallback


def test_fail_closed_when_the_ledger_breaks_at_run_time(make, monkeypatch) -> None:
    t = make()

    def broken(*a, **k):
        raise LedgerUnavailable("disk on fire")

    monkeypatch.setattr(t.ledger, "reserve", broken)
    with pytest.raises(LedgerUnavailable):
        t.reserve(*MODEL, 0.01)


def test_sqlite_ledger_locked_too_long_fails_closed(tmp_path: Path) -> None:
    import sqlite3

    path = str(tmp_path / "b.db")
    t = BudgetTracker(db=path, busy_timeout_s=0.2, clock=FakeClock(T0))
    hog = sqlite3.connect(path, isolation_level=None)
    hog.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(LedgerUnavailable, match="locked"):
            t.reserve(*MODEL, 0.01)
    finally:
        hog.execute("ROLLBACK")
        hog.close()
    t.reserve(*MODEL, 0.01)
    t.close()


@pytest.mark.postgres
def test_postgres_reconnects_after_the_server_drops_the_connection() -> None:
    import psycopg

    from budget_support import pg_schema_url

    admin = require_pg()
    app = f"budget_reconnect_{uuid.uuid4().hex[:8]}"
    with pg_schema_url() as url:
        t = BudgetTracker(db=with_params(url, application_name=app), clock=FakeClock(T0), daily_limit_usd=1.0)
        t.reserve(*MODEL, 0.01)
        with psycopg.connect(admin, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                (app,),
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        r = t.reserve(*MODEL, 0.01)  # retried on a fresh connection
        t.settle(r, 1, 1, cost_usd=0.001)
        assert t.totals().day_reserved == 10_000 and t.totals().day_spent == 1000
        t.close()
