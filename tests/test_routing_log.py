"""The routing log store (observe/store/) on SQLite and PostgreSQL, and its wiring into the router."""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from tiered_router.budget import BudgetTracker
from tiered_router.demo import demo_settings
from tiered_router.errors import RouterError, StreamBroken
from tiered_router.observe.stats import compute_stats, parse_since, reason_class
from tiered_router.observe.store import (
    LATEST_VERSION,
    LogStoreError,
    RoutingLogStore,
    iter_columns,
    record_rows,
)
from tiered_router.routing import TieredModelRouter

DAY = 86400.0
NOW = 1_750_000_000.0  # a fixed "now" for records and the injected clock


@pytest.fixture
def stores():
    opened: list[RoutingLogStore] = []

    def make(db: str, **kwargs: Any) -> RoutingLogStore:
        kwargs.setdefault("flush_interval_s", 3600.0)  # tests write with flush(), never by waiting
        kwargs.setdefault("batch_size", 1000)
        kwargs.setdefault("clock", lambda: NOW + 1)  # retention measures age from the records' "now"
        store = RoutingLogStore(db, **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def attempt(tier: int, outcome: str, *, cost: float = 0.0, quality: str | None = None,
            error_type: str | None = None, model: str | None = None) -> dict[str, Any]:
    return {
        "tier": tier, "gen_ai.provider.name": "anthropic" if tier == 3 else "ollama",
        "gen_ai.request.model": model or {1: "small", 2: "large", 3: "claude"}[tier], "router.outcome": outcome,
        "router.latency_ms": 12.5, "error.type": error_type, "router.error": "boom" if error_type else None,
        "router.quality": quality, "gen_ai.response.finish_reasons": ["stop"] if outcome == "accepted" else [],
        "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 20, "router.cost_usd": cost,
    }


def record(*, t: float = NOW, final: int | None = 1, start: int = 1, attempts: list[dict[str, Any]] | None = None,
           escalation: str | None = None, latency: float = 100.0, status: str = "ok", error_type: str | None = None,
           request_id: str | None = None, degraded: str | None = None, **extra: Any) -> dict[str, Any]:
    attempts = attempts if attempts is not None else [attempt(final or 1, "accepted")]
    return {
        "request_id": request_id or uuid.uuid4().hex, "time": t, "router.entry_point": "library",
        "router.classified_tier": start, "router.score": 0.25, "router.reasons": ["short", "imperative"],
        "router.forced_tier": None, "router.final_tier": final,
        "gen_ai.provider.name": "ollama" if final else None, "gen_ai.response.model": "small" if final else None,
        "router.escalated": escalation is not None, "router.escalation_reason": escalation,
        "router.degraded": degraded is not None, "router.degraded_reason": degraded,
        "router.quality": "ok" if final else None,
        "gen_ai.usage.input_tokens": sum(a["gen_ai.usage.input_tokens"] for a in attempts),
        "gen_ai.usage.output_tokens": sum(a["gen_ai.usage.output_tokens"] for a in attempts),
        "router.cost_usd": round(sum(a["router.cost_usd"] for a in attempts), 8), "router.cost_estimated": False,
        "router.latency_ms": latency, "router.overhead_ms": 0.5, "router.status": status, "error.type": error_type,
        "router.prompt_sha256": "ab" * 32, "router.prompt_chars": 42, "router.answer_chars": 99 if final else None,
        "router.attempts": attempts, **extra,
    }


def same(stored: dict[str, Any], original: dict[str, Any]) -> None:
    assert stored.pop("router.cost_micro") == round(original["router.cost_usd"] * 1_000_000)
    assert stored.pop("time") == pytest.approx(original["time"], abs=1e-6)
    assert stored == {k: v for k, v in original.items() if k != "time"}


# --- the store ------------------------------------------------------------------------------------------


def test_round_trip_in_record_shape(db, stores):
    store = stores(db)
    original = record(final=2, start=1, escalation="tier1-quality:refusal", attempts=[
        attempt(1, "rejected", quality="refusal"), attempt(2, "accepted", cost=0.001234)])
    store.sink(original)
    assert store.recent() == []  # queued, not yet written
    assert store.flush()
    got = store.get(original["request_id"])
    assert got is not None
    same(got, original)
    assert store.get("no-such-request") is None
    sub_micro = record(attempts=[attempt(3, "accepted", cost=0.0012345)])
    store.sink(sub_micro)
    assert store.flush()
    assert store.get(sub_micro["request_id"])["router.cost_micro"] == 1235  # integer micro-dollars, half up


def test_migrations_are_idempotent_and_share_the_database_with_the_ledger(db, stores):
    first = stores(db)
    first.sink(record())
    assert first.flush()
    first.close()
    second = stores(db)
    second.sink(record())
    assert second.flush()
    assert second.schema_version() == LATEST_VERSION
    assert second.query("SELECT COUNT(*) FROM router_schema_version") == [(LATEST_VERSION,)]
    conn = second._dialect.connect(create=True)
    try:
        second._dialect.migrate(conn)  # once more: nothing changes
        second._dialect.migrate(conn)
    finally:
        conn.close()
    assert second.count() == 2
    with BudgetTracker(db=db, daily_limit_usd=1.0) as budget:  # the ledger lives in the same database
        reservation = budget.reserve("anthropic", "claude", 0.01)
        budget.settle(reservation, 10, 10, cost_usd=0.002)
        assert budget.get_summary()["daily"]["spent_usd"] == pytest.approx(0.002)
    assert second.count() == 2


def test_the_log_and_the_ledger_can_create_their_sqlite_file_at_once(tmp_path, stores):
    """Switching a new file to WAL does not wait for the busy timeout: SQLite says "database is locked" at once
    while another connection has the file open. Both stores retry the switch (``budget.sqlite.use_wal``);
    without it, one of these pairs in six failed."""

    def create_together(path: str) -> tuple[RoutingLogStore, list[object]]:
        store = stores(path)
        store.sink(record())
        start, outcomes = threading.Barrier(2), []

        def log_side() -> None:
            start.wait()
            outcomes.append(("flushed", store.flush()))  # the writer's first connection creates the file

        def ledger_side() -> None:
            start.wait()
            try:
                BudgetTracker(db=path, daily_limit_usd=1.0).close()
            except Exception as exc:
                outcomes.append(("ledger", exc))

        threads = [threading.Thread(target=log_side), threading.Thread(target=ledger_side)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return store, outcomes

    for i in range(40):
        store, outcomes = create_together(str(tmp_path / f"fresh-{i}.db"))
        assert outcomes == [("flushed", True)], (i, outcomes, store.last_error)
        assert store.count() == 1


def test_flush_writes_in_batches_of_one_transaction_each(db, stores):
    store = stores(db, batch_size=10)
    batches: list[int] = []
    write = store._dialect.write

    def counting(conn, requests, attempts):
        batches.append(len(requests))
        write(conn, requests, attempts)

    store._dialect.write = counting  # type: ignore[method-assign]
    sent = [record(t=NOW + i) for i in range(25)]
    for r in sent:
        store.sink(r)
    assert store.flush()
    # The writer thread may take a full batch while records are still arriving: how the 25 are split
    # between it and flush() varies, but no batch is over batch_size and each is one write.
    assert sum(batches) == 25 and max(batches) <= 10 and len(batches) >= 3
    assert store.pending == 0 and store.written == 25
    assert [r["request_id"] for r in store.recent(100)] == [r["request_id"] for r in reversed(sent)]


@pytest.mark.parametrize("trigger", ["batch-full", "interval"])
def test_the_writer_thread_writes_without_flush(db, stores, trigger):
    store = stores(db, batch_size=5, flush_interval_s=3600.0) if trigger == "batch-full" else stores(
        db, batch_size=1000, flush_interval_s=0.01)
    wrote = threading.Event()
    write = store._dialect.write

    def signalling(conn, requests, attempts):
        write(conn, requests, attempts)
        wrote.set()

    store._dialect.write = signalling  # type: ignore[method-assign]
    for i in range(5):
        store.sink(record(t=NOW + i))
    assert wrote.wait(10), "the writer thread did not write on its own"
    assert store.count() == 5


def test_close_flushes_everything_queued(db, stores):
    store = stores(db)
    for i in range(7):
        store.sink(record(t=NOW + i))
    store.close()
    assert stores(db).count() == 7


def test_reader_filters_and_order(db, stores):
    store = stores(db, retention_days=None)
    rows = [
        record(t=NOW - 3 * DAY, final=1),
        record(t=NOW - 2, final=2, start=1, escalation="tier1-quality:refusal",
               attempts=[attempt(1, "rejected", quality="refusal"), attempt(2, "accepted")]),
        record(t=NOW - 1, final=3, start=2, escalation="tier2-server_error",
               attempts=[attempt(2, "error", error_type="server_error"), attempt(3, "accepted", cost=0.001)]),
        record(t=NOW, final=1, request_id="dup"),
        record(t=NOW + 1, final=2, request_id="dup"),  # a client reused its request id: both are kept
    ]
    for r in rows:
        store.sink(r)
    assert store.flush()
    assert [r["time"] for r in store.recent()] == pytest.approx([NOW + 1, NOW, NOW - 1, NOW - 2, NOW - 3 * DAY])
    assert [r["router.final_tier"] for r in store.recent(tier=2)] == [2, 2]
    escalated = store.recent(escalated=True)
    assert [r["router.final_tier"] for r in escalated] == [3, 2]
    assert [a["router.outcome"] for a in escalated[0]["router.attempts"]] == ["error", "accepted"]
    assert len(store.recent(escalated=False)) == 3
    assert len(store.recent(since=NOW - DAY)) == 4
    assert len(store.recent(limit=2)) == 2
    assert store.get("dup")["router.final_tier"] == 2  # the newest
    assert store.count() == 5 and store.count(since=NOW - 1.5) == 3


def test_retention_by_days_with_an_injected_clock(db, stores):
    now = [NOW]
    store = stores(db, retention_days=30, max_rows=None, clock=lambda: now[0])
    old, recent, fresh = record(t=NOW - 40 * DAY), record(t=NOW - 10 * DAY), record(t=NOW)
    for r in (old, recent, fresh):
        store.sink(r)
    assert store.flush()  # the writer applies retention as it writes
    assert {r["request_id"] for r in store.recent()} == {recent["request_id"], fresh["request_id"]}
    now[0] += 25 * DAY
    assert store.prune() == 1
    assert [r["request_id"] for r in store.recent()] == [fresh["request_id"]]
    assert store.query("SELECT COUNT(*) FROM router_attempts") == [(1,)]  # attempts go with their request


def test_retention_by_max_rows(db, stores):
    store = stores(db, retention_days=None, max_rows=10)
    sent = [record(t=NOW + i, attempts=[attempt(1, "rejected", quality="empty"), attempt(2, "accepted")])
            for i in range(25)]
    for r in sent:
        store.sink(r)
    assert store.flush()
    store.prune()
    assert [r["request_id"] for r in store.recent(100)] == [r["request_id"] for r in reversed(sent[-10:])]
    assert store.query("SELECT COUNT(*) FROM router_attempts") == [(20,)]
    assert store.prune() == 0


def test_content_is_stored_exactly_as_the_record_has_it(db, stores):
    store = stores(db)
    plain = record()
    opted_in = record(**{"router.prompt": [{"role": "user", "content": "hello there"}], "router.answer": "hi"})
    store.sink(plain)
    store.sink(opted_in)
    assert store.flush()
    assert "router.prompt" not in store.get(plain["request_id"])
    assert store.query("SELECT COUNT(*) FROM router_requests WHERE prompt IS NULL AND answer IS NULL") == [(1,)]
    got = store.get(opted_in["request_id"])
    assert got["router.prompt"] == [{"role": "user", "content": "hello there"}] and got["router.answer"] == "hi"


def test_error_records_are_stored(db, stores):
    store = stores(db)
    failed = record(final=None, status="error", error_type="all_tiers_failed",
                    attempts=[attempt(1, "error", error_type="timeout"), attempt(2, "error", error_type="timeout")])
    store.sink(failed)
    assert store.flush()
    got = store.get(failed["request_id"])
    assert got["router.status"] == "error" and got["error.type"] == "all_tiers_failed"
    assert got["router.final_tier"] is None and len(got["router.attempts"]) == 2


def test_a_malformed_record_is_skipped_not_retried(db, stores, caplog):
    store = stores(db)
    store.sink({"router.final_tier": 1})  # no request id, no time
    good = record()
    store.sink(good)
    with caplog.at_level(logging.WARNING, "tiered_router.log_store"):
        assert store.flush()
    assert store.dropped == 1 and store.count() == 1
    assert "malformed" in caplog.text


def test_stats_over_the_log(db, stores):
    store = stores(db, retention_days=None)
    rows = [record(t=NOW - i, final=1, latency=float(i + 1)) for i in range(20)]  # latencies 1..20
    rows += [
        record(t=NOW, final=2, start=1, escalation="tier1-quality:refusal: long free text", latency=500,
               attempts=[attempt(1, "rejected", quality="refusal"), attempt(2, "accepted")]),
        record(t=NOW, final=2, start=1, escalation="tier1-quality:refusal", latency=700,
               attempts=[attempt(1, "rejected", quality="refusal"), attempt(2, "accepted")]),
        record(t=NOW - DAY, final=3, start=1, escalation="tier1-timeout", latency=900,
               attempts=[attempt(1, "error", error_type="timeout"), attempt(2, "rejected", quality="empty"),
                         attempt(3, "accepted", cost=0.0025)]),
        record(t=NOW, final=3, start=3, latency=300, attempts=[attempt(3, "accepted", cost=0.0015)]),
        record(t=NOW, final=2, start=2, degraded="budget_exceeded: daily cloud budget spent", latency=50),
        record(t=NOW, final=None, status="error", error_type="all_tiers_failed",
               attempts=[attempt(1, "error", error_type="server_error")]),
        record(t=NOW - 40 * DAY, final=1),  # outside a 7-day window
    ]
    for r in rows:
        store.sink(r)
    assert store.flush()
    budget = {"daily": {"spent_usd": 0.004}}
    s = compute_stats(store, 7 * DAY, budget, now=NOW + 1, timezone="UTC")
    assert s["requests"] == 26
    assert {k: v["count"] for k, v in s["tiers"].items()} == {"1": 20, "2": 3, "3": 2, "none": 1}
    assert s["tiers"]["1"]["share"] == pytest.approx(20 / 26, abs=1e-4)
    assert s["escalations"]["count"] == 3
    assert s["escalations"]["top_reasons"] == [{"reason": "tier1-quality:refusal", "count": 2},
                                               {"reason": "tier1-timeout", "count": 1}]
    assert s["degraded"]["count"] == 1
    assert s["degraded"]["top_reasons"] == [{"reason": "budget_exceeded: daily cloud budget spent", "count": 1}]
    assert s["errors"] == {"count": 1, "rate": pytest.approx(1 / 26, abs=1e-4),
                           "by_type": [{"type": "all_tiers_failed", "count": 1}]}
    assert s["latency_ms"]["1"] == {"count": 20, "p50": 10.0, "p95": 19.0, "max": 20.0}
    assert s["latency_ms"]["3"]["p50"] == 300.0 and s["latency_ms"]["3"]["p95"] == 900.0
    spend = s["spend"]
    assert spend["total_micro"] == 4000 and spend["total_usd"] == pytest.approx(0.004)
    assert spend["by_model"][0] == {"model": "anthropic/claude", "provider": "anthropic", "tier": 3, "calls": 2,
                                    "accepted": 2, "cost_usd": pytest.approx(0.004), "cost_micro": 4000,
                                    "input_tokens": 20, "output_tokens": 40}
    days = {d["day"]: d for d in spend["by_day"]}
    assert days["2025-06-15"]["requests"] == 25 and days["2025-06-14"]["cost_micro"] == 2500
    assert s["tier1_failures"]["count"] == 4
    assert s["tier1_failures"]["reasons"][0] == {"outcome": "rejected", "reason": "refusal", "count": 2}
    assert {(r["outcome"], r["reason"]) for r in s["tier1_failures"]["reasons"]} == {
        ("rejected", "refusal"), ("error", "timeout"), ("error", "server_error")}
    assert s["budget"] == budget and s["budget_error"] is None
    everything = compute_stats(store, None, None, now=NOW + 1)
    assert everything["requests"] == 27 and everything["since"] is None
    ages = compute_stats(store, 10_000 * 365 * DAY, None, now=NOW + 1)  # longer ago than the epoch
    assert ages["requests"] == 27 and ages["since"].startswith("1970-01-01")
    # Days are local days of the requested time zone: 2025-06-15 15:06 UTC is the 16th in Auckland.
    assert compute_stats(store, 7 * DAY, None, now=NOW + 1, timezone="Pacific/Auckland")["spend"]["by_day"][-1][
        "day"] == "2025-06-16"


def test_empty_or_missing_log_reads_as_nothing(tmp_path, stores):
    missing = stores(str(tmp_path / "nothing-here.db"))
    assert missing.recent() == [] and missing.count() == 0 and missing.get("x") is None
    assert compute_stats(missing, None, None)["requests"] == 0
    assert not (tmp_path / "nothing-here.db").exists()  # reading creates no database
    with BudgetTracker(db=str(tmp_path / "ledger-only.db")):
        pass
    assert stores(str(tmp_path / "ledger-only.db")).recent() == []  # tables not created yet


def test_stats_helpers():
    assert parse_since("30m") == 1800 and parse_since("24h") == 86400 and parse_since("7d") == 7 * DAY
    assert parse_since("all") is None and parse_since(None) is None
    for bad in ("0h", "yesterday", "-1d", "5", "9" * 400 + "d"):
        with pytest.raises(ValueError):
            parse_since(bad)
    assert reason_class("tier1-quality:refusal: I cannot") == "tier1-quality:refusal"
    assert reason_class(None) == "unknown"


def test_every_record_field_has_a_column():
    fields = {field for _, _, field, _ in iter_columns()}
    r = record(**{"router.prompt": [], "router.answer": ""})
    assert {k for k in r if k != "router.attempts"} <= fields
    assert {f"router.attempts[].{k}" for k in r["router.attempts"][0]} <= fields
    request_row, attempt_rows = record_rows(r)
    assert len(attempt_rows) == 1 and request_row[1] == r["request_id"]


# --- the database is unavailable --------------------------------------------------------------------------


def unavailable_sqlite(tmp_path: Path) -> tuple[str, Path]:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database directory should be")
    return str(blocker / "log.db"), blocker


def test_unavailable_database_keeps_the_newest_records_and_recovers(tmp_path, stores, caplog):
    path, blocker = unavailable_sqlite(tmp_path)
    store = stores(path, max_pending=5, batch_size=5, retry_s=3600.0)
    sent = [record(t=NOW + i) for i in range(12)]
    with caplog.at_level(logging.WARNING, "tiered_router.log_store"):
        for r in sent:
            store.sink(r)  # never raises
        assert not store.flush()
    assert "unavailable" in caplog.text and "retrying later" in caplog.text
    assert store.pending == 5 and store.dropped == 7
    blocker.unlink()
    blocker.mkdir()
    assert store.flush()
    assert [r["request_id"] for r in store.recent()] == [r["request_id"] for r in reversed(sent[-5:])]


def test_unreachable_postgres_does_not_raise(stores, caplog):
    store = stores("postgresql://nobody:secret-pw@127.0.0.1:1/nothing")
    with caplog.at_level(logging.WARNING, "tiered_router.log_store"):
        store.sink(record())
        assert not store.flush()
    assert "unavailable" in caplog.text and "secret-pw" not in caplog.text
    with pytest.raises(LogStoreError) as info:
        store.recent()
    assert "secret-pw" not in str(info.value)


def test_routing_works_when_the_log_database_is_unavailable(simulator, tmp_path, caplog):
    path, blocker = unavailable_sqlite(tmp_path)
    # The path is checked when the settings are read; here it breaks afterwards (a disk going away).
    settings = demo_settings(simulator.url, db=str(tmp_path / "fine.db")).model_copy(update={"db": path})
    router = TieredModelRouter(settings, sinks=[])
    try:
        with caplog.at_level(logging.WARNING, "tiered_router.log_store"):
            response = router.complete_sync("Walk to the next room")
            assert response.tier == 1 and response.text
            assert router.log_store is not None and not router.log_store.flush()
        assert "unavailable" in caplog.text
        blocker.unlink()
        blocker.mkdir()
        assert router.log_store.flush()
        assert router.log_store.get(response.request_id)["router.final_tier"] == 1
    finally:
        router.close()


# --- wired into the router ---------------------------------------------------------------------------------


def db_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_no_prompt_text_in_the_database_or_log_unless_opted_in(simulator, tmp_path, caplog):
    secret = f"zebra-{uuid.uuid4().hex}"
    prompt = f"Walk to the next room and find {secret}"
    path = tmp_path / "private.db"
    router = TieredModelRouter(demo_settings(simulator.url, db=str(path)))  # default sinks: log line + store
    with caplog.at_level(logging.INFO, "tiered_router.routing"):
        response = router.complete_sync(prompt)
        router.close()
    assert response.request_id in caplog.text  # the JSON log line was written ...
    assert secret not in caplog.text  # ... without the prompt
    stored = RoutingLogStore(str(path)).get(response.request_id)
    assert stored is not None and "router.prompt" not in stored and "router.answer" not in stored
    assert stored["router.prompt_chars"] > len(secret)
    assert secret.encode() not in db_bytes(path)

    opted = tmp_path / "opted-in.db"
    router = TieredModelRouter(demo_settings(simulator.url, db=str(opted), log_content=True), sinks=[])
    response = router.complete_sync(prompt)
    router.close()
    stored = RoutingLogStore(str(opted)).get(response.request_id)
    assert stored["router.prompt"] == [{"role": "user", "content": prompt}]
    assert stored["router.answer"] == response.text
    assert secret.encode() in db_bytes(opted)


async def test_cut_streams_and_failures_are_logged(simulator, tmp_path):
    router = TieredModelRouter(demo_settings(simulator.url, db=str(tmp_path / "errors.db")), sinks=[])
    try:
        stream = await router.stream("Tell a story [[sim:cut-stream]]", {"tier": "cloud", "request_id": "cut-1"})
        with pytest.raises(StreamBroken):
            async for _ in stream:
                pass
        with pytest.raises(RouterError):
            await router.complete("Open the door [[sim:http500]]", {"tier": 1, "request_id": "failed-1"})
        assert router.log_store is not None and router.log_store.flush()
        cut = router.log_store.get("cut-1")
        assert cut["router.status"] == "error" and cut["error.type"] == "stream_broken"
        assert cut["router.attempts"][-1]["router.outcome"] == "error" and cut["router.cost_usd"] > 0
        failed = router.log_store.get("failed-1")
        assert failed["router.status"] == "error" and failed["router.final_tier"] is None
        assert failed["router.attempts"][0]["error.type"] == "server_error"
    finally:
        await router.aclose()
        router.spend.close()


async def test_aclose_flushes_the_log(simulator, tmp_path):
    path = tmp_path / "aclose.db"
    router = TieredModelRouter(demo_settings(simulator.url, db=str(path)), sinks=[])
    response = await router.complete("Walk to the next room")
    await router.aclose()
    router.spend.close()
    assert RoutingLogStore(str(path)).get(response.request_id) is not None


def test_log_can_be_disabled(simulator, tmp_path):
    path = tmp_path / "off.db"
    with TieredModelRouter(demo_settings(simulator.url, db=str(path), log_enabled=False), sinks=[]) as router:
        assert router.log_store is None
        router.complete_sync("Walk to the next room")
    assert RoutingLogStore(str(path)).count() == 0


def test_the_sink_does_not_wait_for_the_database(tmp_path, stores):
    """With the database locked by someone else, queuing records still returns; they land after."""
    import sqlite3

    path = tmp_path / "fast.db"
    store = stores(str(path), busy_timeout_s=30.0, batch_size=5000)  # nothing wakes the writer early
    store.sink(record(t=NOW))
    assert store.flush()  # creates the schema
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # nobody else can write now
    try:
        for i in range(1, 2000):
            store.sink(record(t=NOW + i))  # would hang here if the sink wrote synchronously
        assert store.pending == 1999
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.flush() and store.count() == 2000


def test_a_log_written_before_the_features_column_is_migrated_in_place(db, stores, monkeypatch):
    """A routing log of schema version 3 (before TIER_LOG_FEATURES) with a request in it: this code adds the
    `features` column (migration 4) and reads the old request back without features, the new one with."""
    from tiered_router.observe.store import postgres, sqlite
    from tiered_router.observe.store.schema import MIGRATIONS

    monkeypatch.setattr(sqlite, "MIGRATIONS", MIGRATIONS[:3])
    monkeypatch.setattr(postgres, "MIGRATIONS", MIGRATIONS[:3])
    old = stores(db)
    conn = old._dialect.connect(create=True)
    try:
        old._dialect.migrate(conn)  # the tables as the previous code made them
        false = "false" if db.startswith("postgres") else "0"
        t_us = int(NOW * 1e6)
        old._dialect.execute(conn, "INSERT INTO router_requests (log_id, request_id, time_us, escalated, degraded, "
                             "cost_micro, cost_estimated, status, final_tier) VALUES "
                             f"('{t_us:016x}aaaaaaaa', 'before', {t_us}, {false}, {false}, 0, {false}, 'ok', 1)", ())
        conn.commit()
    finally:
        conn.close()
    assert old.schema_version() == 3
    old.close()
    monkeypatch.undo()

    new = stores(db)
    new.sink(record(request_id="after", **{"router.features": '{"format": 1}'}))
    assert new.flush()
    assert new.schema_version() == LATEST_VERSION == 4
    before, after = new.get("before"), new.get("after")
    assert before is not None and "router.features" not in before
    assert after is not None and after["router.features"] == '{"format": 1}'
