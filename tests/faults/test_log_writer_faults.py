"""The routing log's promises under faults, at the store (docs/reliability.md): every record is in the
database within a second, busy or idle; text a database cannot hold is escaped; a record the database
refuses is dropped with a logged reason and holds up no other record. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from waiting import polled

from tiered_router.demo import demo_settings
from tiered_router.observe.store import RoutingLogStore
from tiered_router.routing import TieredModelRouter

PROMISE_S = 1.0  # a record handed to the store is in the database this soon (docs/reliability.md)



@pytest.fixture
def stores() -> Iterator[Callable[..., RoutingLogStore]]:
    opened: list[RoutingLogStore] = []

    def make(db: str, **kwargs: Any) -> RoutingLogStore:
        store = RoutingLogStore(db, **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def record(request_id: str | None = None, **fields: Any) -> dict[str, Any]:
    attempt = {"tier": 1, "gen_ai.provider.name": "ollama", "gen_ai.request.model": "small",
               "router.outcome": "accepted", "router.latency_ms": 3.5, "gen_ai.response.finish_reasons": ["stop"],
               "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 20, "router.cost_usd": 0.0}
    return {"request_id": request_id or uuid.uuid4().hex, "time": time.time(), "router.entry_point": "library",
            "router.final_tier": 1, "router.reasons": ["short"], "gen_ai.response.model": "small",
            "router.latency_ms": 10.0, "router.status": "ok", "router.attempts": [attempt], **fields}


def stored_ids(reader: RoutingLogStore, prefix: str) -> set[str]:
    return {row[0] for row in reader.query("SELECT request_id FROM router_requests WHERE request_id LIKE ?",
                                           [prefix + "%"])}


# --- every record is in the database within a second, busy or idle --------------------------------------------


def test_each_record_is_in_the_database_within_a_second_busy_or_idle(db, stores):
    store = stores(db)  # the defaults, as the router opens it
    reader = stores(db)  # a connection of its own, as `tiered-router log` in another terminal
    for i in range(4):  # one at a time: after each write the writer goes idle, and the next must wake it
        request_id = f"idle-{i}-{uuid.uuid4().hex[:8]}"
        store.sink(record(request_id))
        assert polled(lambda rid=request_id: reader.get(rid), PROMISE_S), \
            f"record {i} was not in the database {PROMISE_S} s after the store took it"
    burst = [record(f"burst-{i:04d}") for i in range(1200)]  # more than two batches at once
    for r in burst:
        store.sink(r)
    assert polled(lambda: len(stored_ids(reader, "burst-")) == len(burst), PROMISE_S), \
        f"a burst of {len(burst)} records was not all in the database {PROMISE_S} s after the store took it"


# --- bad records ----------------------------------------------------------------------------------------------


def test_text_a_database_cannot_hold_is_written_escaped(db, stores, caplog):
    store = stores(db)
    bad = record(
        **{"router.prompt": [{"role": "user", "content": "before\x00after, lone \ud800 surrogate"}],
           "router.answer": "a NUL\x00 and a lone \udc80", "gen_ai.response.model": "model\x00name"})
    bad["router.attempts"][0]["router.error"] = "upstream said \x00\udfff"
    good = record()
    with caplog.at_level(logging.WARNING, "tiered_router.log_store"):
        store.sink(bad)
        store.sink(good)
        assert store.flush()
    assert store.dropped == 0 and store.pending == 0 and caplog.text == ""
    got = store.get(bad["request_id"])
    assert got is not None and store.get(good["request_id"]) is not None
    assert got["router.answer"] == "a NUL\\x00 and a lone \\udc80"
    assert got["gen_ai.response.model"] == "model\\x00name"
    assert got["router.attempts"][0]["router.error"] == "upstream said \\x00\\udfff"
    # In a JSON column a NUL is JSON's own escape and reads back as it was; a lone surrogate is escaped.
    assert got["router.prompt"] == [{"role": "user", "content": "before\x00after, lone \\ud800 surrogate"}]


def test_a_record_the_database_refuses_is_dropped_with_a_reason_and_holds_up_nothing(db, stores, caplog):
    store = stores(db)
    refused = record("refused-" + uuid.uuid4().hex[:8], **{"gen_ai.usage.input_tokens": 2**70})  # fits no column
    before, after = record("before"), record("after")
    with caplog.at_level(logging.WARNING, "tiered_router.log_store"):
        for r in (before, refused, after):  # one batch
            store.sink(r)
        assert store.flush()
    assert store.pending == 0 and store.dropped == 1
    assert store.get("before") is not None and store.get("after") is not None
    assert store.get(refused["request_id"]) is None
    assert "refused" in caplog.text and refused["request_id"] in caplog.text  # the reason, and which record
    # The writer thread (no flush) goes on writing what comes next, within the promise.
    store.sink(record("refused-again", **{"gen_ai.usage.input_tokens": 2**70}))
    later = record("later")
    store.sink(later)
    assert polled(lambda: store.get("later"), PROMISE_S), "a record behind a refused one was held up"
    assert polled(lambda: store.dropped == 2, PROMISE_S)


def test_a_refused_record_in_a_big_batch_costs_a_few_transactions_not_one_per_record(db, stores):
    store = stores(db)
    write = store._dialect.write
    transactions: list[int] = []

    def counting(conn, requests, attempts):
        transactions.append(len(requests))
        write(conn, requests, attempts)

    store._dialect.write = counting  # type: ignore[method-assign]
    batch = [record(f"big-{i:03d}") for i in range(300)]
    batch[137]["gen_ai.usage.output_tokens"] = 2**70
    for r in batch:
        store.sink(r)
    assert store.flush()
    assert store.dropped == 1 and store.count() == 299
    assert len(transactions) <= 1 + 2 * 9  # the batch, then two halves per level down to the record (2**9 > 300)


def test_an_unexplained_failure_blames_only_the_record_that_fails_alone(db, stores, caplog):
    """A write that fails in a way the dialect cannot name: the records are written one by one, and the one
    that fails while the others are written is dropped. If none can be written, all of them wait."""
    store = stores(db, retry_s=3600.0)
    write = store._dialect.write

    def poisoned(conn, requests, attempts):
        if any(row[1] == "poison" for row in requests):
            raise RuntimeError("something about this record")
        write(conn, requests, attempts)

    store._dialect.write = poisoned  # type: ignore[method-assign]
    for request_id in ("one", "poison", "two"):
        store.sink(record(request_id))
    with caplog.at_level(logging.WARNING, "tiered_router.log_store"):
        assert store.flush()
    assert store.get("one") is not None and store.get("two") is not None and store.get("poison") is None
    assert store.dropped == 1 and "poison" in caplog.text

    def broken(conn, requests, attempts):
        raise RuntimeError("the database is not itself")

    store._dialect.write = broken  # type: ignore[method-assign]
    for request_id in ("three", "four"):
        store.sink(record(request_id))
    assert not store.flush()  # nothing could be written: no record is blamed, they all wait
    assert store.pending == 2 and store.dropped == 1
    store._dialect.write = write  # type: ignore[method-assign]
    assert store.flush()
    assert store.get("three") is not None and store.get("four") is not None


async def test_a_prompt_with_a_nul_byte_is_logged_and_the_next_requests_too(db, simulator):
    """The fault tour's case: TIER_LOG_CONTENT on PostgreSQL, one prompt with a NUL byte."""
    router = TieredModelRouter(demo_settings(simulator.url, db=db, log_content=True), sinks=[])
    try:
        first = await router.complete("Walk to the\x00 next room")
        second = await router.complete("Walk to the next room")
        assert router.log_store is not None and router.log_store.flush()
        got = router.log_store.get(first.request_id)
        assert got is not None and got["router.prompt"][-1]["content"] == "Walk to the\x00 next room"
        assert router.log_store.get(second.request_id) is not None
    finally:
        await router.aclose()
        router.close()


def test_the_writer_hands_the_gil_over_between_chunks(db, stores, monkeypatch):
    """While the writer converts or sends rows, the server's event loop waits for the GIL: it hands it over
    every ``CHUNK`` rows, whatever the batch size. (The latency this buys is measured in bench/, not here.)"""
    from tiered_router.observe.store import dialect, writer

    since_pause = {"rows": 0, "most": 0}

    def counting_pause() -> None:
        since_pause["rows"] = 0

    def count(rows: int) -> None:
        since_pause["rows"] += rows
        since_pause["most"] = max(since_pause["most"], since_pause["rows"])

    real_record_rows = writer.record_rows

    def converting(record: dict[str, Any]) -> Any:
        count(1)
        return real_record_rows(record)

    real_paced = dialect.paced

    def sending(rows: Any) -> Any:
        for row in real_paced(rows):
            count(1)
            yield row

    monkeypatch.setattr(dialect, "pause", counting_pause)
    monkeypatch.setattr(writer, "pause", counting_pause)
    monkeypatch.setattr(writer, "record_rows", converting)
    monkeypatch.setattr(f"tiered_router.observe.store.{'sqlite' if db.endswith('.db') else 'postgres'}.paced", sending)
    store = stores(db, batch_size=500)
    for i in range(500):
        store.sink(record(f"chunked-{i}"))
    assert store.flush() and store.count() == 500
    assert 0 < since_pause["most"] <= 2 * dialect.CHUNK  # converted or sent rows between two hand-overs
