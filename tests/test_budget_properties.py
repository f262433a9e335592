"""Hypothesis: random sequences of reserve / settle / release / time passing / reclaim, checked against a
simple model. spent + reserved never exceeds the limit, and every sum is exact in micro-dollars. A reservation
holds its money until it is settled, released or (once expired) charged by the reclaim at its worst case; a
settle after that charge replaces it with the real cost.

Each example runs in its own calendar month (the clock moves on a month per example), so examples
share one ledger per test without seeing each other's windows.
"""

from __future__ import annotations

import itertools
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from budget_support import BACKENDS, FakeClock, backend_db
from tiered_router.budget import BudgetExceeded, BudgetTracker, Limits

TTL_S = 100
MODEL = ("anthropic", "claude-haiku-4-5")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.integers(0, 6000)),
        st.tuples(st.just("settle"), st.integers(0, 50), st.floats(0, 1)),  # cost as a share of the amount
        st.tuples(st.just("release"), st.integers(0, 50)),
        st.tuples(st.just("wait"), st.integers(0, 200)),  # seconds; reservations expire after TTL_S
        st.tuples(st.just("record"), st.integers(0, 3000)),
        st.tuples(st.just("reclaim")),
    ),
    max_size=40,
)


@pytest.fixture(params=[*BACKENDS, "memory"])
def tracker_and_clock(request: pytest.FixtureRequest, tmp_path: Path):
    with backend_db(request.param, tmp_path) as db:
        clock = FakeClock(datetime(2001, 1, 1, tzinfo=UTC))
        # both limits are checked per example (see the test); the tracker's limits are replaced
        # reclaims only where the operations say (a reserve would sweep every reclaim_interval_s otherwise)
        with BudgetTracker(db=db, clock=clock, reservation_ttl_s=TTL_S, reclaim_interval_s=10**12) as t:
            yield t, clock


_months = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops, day_limit=st.integers(1000, 12_000), month_extra=st.integers(0, 4000))
def test_random_operations_never_overspend_and_sum_exactly(tracker_and_clock, ops, day_limit, month_extra) -> None:
    tracker, clock = tracker_and_clock
    n = next(_months)
    clock.set(datetime(2001 + n // 12, n % 12 + 1, 1, 1, 0, tzinfo=UTC))
    month_limit = day_limit + month_extra
    tracker.limits = Limits(day_limit, month_limit)
    tracker.reclaim_expired()  # what earlier examples left open is charged in their months, not counted below

    open_res: dict[str, tuple[int, datetime]] = {}  # id -> (amount, expires): reserved, not settled or charged
    charged: dict[str, int] = {}  # id -> amount: charged by the reclaim, not settled since
    spent = 0
    handles: list = []  # every reservation ever made, so settle/release may hit closed ones too
    settled: set[str] = set()
    unreserved_spend = False  # record_spend, or settling a released reservation, may go over

    def reserved() -> int:
        return sum(a for a, _ in open_res.values())

    for op in ops:
        kind = op[0]
        if kind == "reserve":
            amount = op[1]
            fits = amount == 0 or (
                spent + reserved() + amount <= day_limit and spent + reserved() + amount <= month_limit
            )
            try:
                r = tracker.reserve(*MODEL, amount / 1_000_000)
            except BudgetExceeded:
                assert not fits
            else:
                assert fits
                open_res[r.id] = (amount, r.expires_at)
                handles.append(r)
        elif kind in ("settle", "release") and handles:
            r = handles[op[1] % len(handles)]
            if kind == "settle":
                cost = int(r.amount_micro * op[2])
                recorded = tracker.settle(r, 10, 10, cost_usd=cost / 1_000_000)
                if r.id not in settled:
                    settled.add(r.id)
                    if r.id not in open_res and r.id not in charged:  # released before
                        unreserved_spend = True
                    spent += cost - charged.pop(r.id, 0)  # a charge by the reclaim is replaced
                    assert round(recorded * 1_000_000) == cost
                open_res.pop(r.id, None)
            else:
                tracker.release(r)  # a charge by the reclaim stays
                open_res.pop(r.id, None)
        elif kind == "wait":
            clock.advance(seconds=op[1])
            if clock.now.day != 1:  # stay inside this example's day
                clock.set(clock.now.replace(day=1, hour=23, minute=59, second=59))
        elif kind == "record":
            spent += op[1]
            unreserved_spend = True
            tracker.record_spend(*MODEL, 0, 0, cost_usd=op[1] / 1_000_000)
        elif kind == "reclaim":
            expired = {rid: a for rid, (a, expires) in open_res.items() if expires <= clock.now}
            assert tracker.reclaim_expired() == len(expired)
            for rid, a in expired.items():
                del open_res[rid]
                charged[rid] = a
                spent += a

        tot = tracker.totals()
        assert tot.day_spent == tot.month_spent == spent
        assert tot.day_reserved == tot.month_reserved == reserved()
        # reservations never push past a limit; only money spent outside them can
        if not unreserved_spend:
            assert tot.day_spent + tot.day_reserved <= min(day_limit, month_limit)
