"""Spend is never lost: a settlement the ledger cannot take goes to the spend journal and is written to the
ledger, once, before the next reservation. Also: the ledger is opened again by itself after a failure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from budget_support import FakeClock, backend_db
from tiered_router.budget import BudgetTracker, LedgerUnavailable

MODEL = ("anthropic", "claude-haiku-4-5")
T0 = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request, tmp_path: Path):
    with backend_db(request.param, tmp_path) as db:
        yield db


def broken(*args, **kwargs):
    raise LedgerUnavailable("connection refused (the test pulled the plug)")


def test_a_settlement_the_ledger_cannot_take_is_journalled_then_replayed(location) -> None:
    tracker = BudgetTracker(db=location, daily_limit_usd=1.0, monthly_limit_usd=5.0, clock=FakeClock(T0))
    try:
        reservation = tracker.reserve(*MODEL, 0.01)
        primary = tracker._ledgers.primary
        with pytest.MonkeyPatch.context() as outage:
            outage.setattr(primary, "settle", broken)
            cost = tracker.settle(reservation, 1000, 200)  # does not raise: the paid call's spend is kept
            assert cost > 0
            assert len(tracker.journal) == 1 and tracker.journal.total_micro() > 0
            outage.setattr(primary, "reserve", broken)
            with pytest.raises(LedgerUnavailable):  # still down: no reservation while spend is unrecorded
                tracker.reserve(*MODEL, 0.01)
        # the database is back
        tracker.reserve(*MODEL, 0.01)  # replays the journal first
        assert len(tracker.journal) == 0
        daily = tracker.get_summary()["daily"]
        assert daily["spent_usd"] == pytest.approx(cost) and daily["calls"] == 1
        assert tracker.replay_journal() == 0  # nothing twice
    finally:
        tracker.close()


def test_the_journal_survives_the_process_and_is_replayed_at_start(location) -> None:
    first = BudgetTracker(db=location, daily_limit_usd=1.0, monthly_limit_usd=5.0, clock=FakeClock(T0))
    reservation = first.reserve(*MODEL, 0.01)
    with pytest.MonkeyPatch.context() as outage:
        outage.setattr(first._ledgers.primary, "settle", broken)
        cost = first.settle(reservation, 500, 100)
    first.close()  # the process ends with the spend only in the journal
    second = BudgetTracker(db=location, daily_limit_usd=1.0, monthly_limit_usd=5.0, clock=FakeClock(T0))
    try:
        summary = second.get_summary()
        assert summary["journal"]["pending"] == 0
        assert summary["daily"]["spent_usd"] == pytest.approx(cost)
    finally:
        second.close()


def test_the_summary_shows_journalled_spend(location, monkeypatch) -> None:
    tracker = BudgetTracker(db=location, daily_limit_usd=1.0, monthly_limit_usd=5.0, clock=FakeClock(T0))
    try:
        reservation = tracker.reserve(*MODEL, 0.01)
        monkeypatch.setattr(tracker._ledgers.primary, "settle", broken)
        cost = tracker.settle(reservation, 1000, 200)
        journal = tracker.get_summary()["journal"]  # the replay in get_summary fails: still pending
        assert journal["pending"] == 1 and journal["pending_usd"] == pytest.approx(cost)
        assert journal["path"]
    finally:
        tracker.close()


def test_the_ledger_is_opened_again_after_a_failure(tmp_path: Path) -> None:
    from tiered_router.config import load_settings
    from tiered_router.routing.spend import Spend

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    now = [0.0]
    # The path is checked when the settings are read; here it breaks afterwards (a disk going away).
    settings = load_settings(db=str(tmp_path / "fine.db")).model_copy(update={"db": str(blocker / "ledger.db")})
    spend = Spend(settings, clock=lambda: now[0])
    with pytest.raises(LedgerUnavailable):
        _ = spend.tracker
    assert spend.ledger_error
    blocker.unlink()
    blocker.mkdir()  # the path can be written now
    with pytest.raises(LedgerUnavailable):  # not before the backoff has passed
        _ = spend.tracker
    now[0] += 1.5
    assert spend.tracker.get_summary()["daily"]["spent_usd"] == 0
    assert spend.ledger_error is None
    spend.close()


def test_an_amount_no_window_could_hold_never_reaches_the_database(location) -> None:
    from tiered_router.budget import BudgetExceeded

    tracker = BudgetTracker(db=location, daily_limit_usd=1.0, monthly_limit_usd=5.0, clock=FakeClock(T0))
    try:
        with pytest.raises(BudgetExceeded):  # 2**62 output tokens: refused, not "bigint out of range"
            tracker.reserve_call(*MODEL, 10, 2**62)
        unlimited = BudgetTracker(db=location, daily_limit_usd=None, monthly_limit_usd=None, clock=FakeClock(T0))
        with pytest.raises(BudgetExceeded):
            unlimited.reserve_call(*MODEL, 10, 2**62)
        unlimited.close()
    finally:
        tracker.close()


def test_tiered_router_budget_shows_journalled_spend(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from tiered_router.cli import main

    db = tmp_path / "ledger.db"
    monkeypatch.setenv("TIER_DB", str(db))
    tracker = BudgetTracker(db=str(db), daily_limit_usd=1.0, monthly_limit_usd=5.0)
    reservation = tracker.reserve(*MODEL, 0.01)
    monkeypatch.setattr(tracker._ledgers.primary, "settle", broken)
    cost = tracker.settle(reservation, 1000, 200)
    tracker.close()
    # The ledger cannot take the settlement yet (its replay fails too): the summary still reads.
    monkeypatch.setattr(BudgetTracker, "replay_journal", lambda self: 0)
    out = CliRunner().invoke(main, ["budget"]).output
    assert "journalled while the ledger was unreachable" in out and f"${cost:.6f}" in out
