"""The server's own I/O pieces: the coalescing transport under uvicorn, and the bounded body reader."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from tiered_router.server.errors import ClientGone, HTTPProblem
from tiered_router.server.exchange import read_body
from tiered_router.server.http import HTTP_PROTOCOL, CoalescingTransport
from tiered_router.server.runner import ServerThread


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1234) if name == "peername" else None


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


async def test_a_response_head_waits_for_its_body() -> None:
    raw = FakeTransport()
    t = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(HEAD)
    assert raw.writes == []
    t.write(b"{}")
    assert raw.writes == [HEAD + b"{}"]
    t.write(b"more")  # not a head: straight through
    assert raw.writes[-1] == b"more"
    assert t.get_extra_info("peername") == ("127.0.0.1", 1234)  # everything else is the real transport's


async def test_a_lone_head_goes_out_by_the_end_of_the_loop_iteration() -> None:
    raw = FakeTransport()
    t = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(HEAD)  # e.g. a stream whose first chunk is not ready yet
    await asyncio.sleep(0)
    assert raw.writes == [HEAD]
    t.write(b"{}")
    assert raw.writes == [HEAD, b"{}"]


async def test_close_flushes_and_abort_drops() -> None:
    loop = asyncio.get_running_loop()
    raw = FakeTransport()
    t = CoalescingTransport(raw, loop)  # type: ignore[arg-type]
    t.write(HEAD)
    t.close()
    assert raw.writes == [HEAD] and raw.closed
    raw2 = FakeTransport()
    t2 = CoalescingTransport(raw2, loop)  # type: ignore[arg-type]
    t2.write(HEAD)
    t2.abort()
    await asyncio.sleep(0)
    assert raw2.writes == [] and raw2.aborted


def test_uvicorn_sends_head_and_body_in_one_write_and_keeps_alive() -> None:
    """Under the real server: a JSON answer arrives whole, and the connection serves a second request."""
    assert HTTP_PROTOCOL != "auto", "httptools should be installed with uvicorn[standard]"
    writes: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")]})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})

    original = CoalescingTransport.write

    def counting(self: CoalescingTransport, data: Any) -> None:
        before = self._held
        original(self, data)
        if self._held is None:
            writes.append(len(data) + (len(before) if before else 0))

    CoalescingTransport.write = counting  # type: ignore[method-assign]
    try:
        with ServerThread(app) as server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            for _ in range(2):
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while not data.endswith(b'{"ok":true}'):
                    chunk = s.recv(65536)
                    assert chunk, "connection closed early"
                    data += chunk
                assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        CoalescingTransport.write = original  # type: ignore[method-assign]
    assert len(writes) == 2  # one transport write per response, head and body together


def receiver(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


async def test_read_body_joins_chunks_and_bounds_them() -> None:
    parts = receiver({"type": "http.request", "body": b'{"a":', "more_body": True},
                     {"type": "http.request", "body": b"1}", "more_body": False})
    assert await read_body(parts, None, 100) == b'{"a":1}'
    with pytest.raises(HTTPProblem) as too_big:  # no Content-Length: counted as it arrives
        await read_body(receiver({"type": "http.request", "body": b"x" * 60, "more_body": True},
                                 {"type": "http.request", "body": b"x" * 60, "more_body": False}), None, 100)
    assert too_big.value.status == 413
    with pytest.raises(HTTPProblem):  # a declared length over the limit is refused before reading
        await read_body(receiver(), "101", 100)


async def test_read_body_when_the_client_leaves() -> None:
    with pytest.raises(ClientGone):
        await read_body(receiver({"type": "http.request", "body": b"{", "more_body": True},
                                 {"type": "http.disconnect"}), None, 100)


# --- routing records written in batches after the answers ---------------------------------------------


class Written:
    """A recorder below the batching one: notes which outcomes reached it (the outcome is a number here)."""

    def __init__(self, written: list[int], fail_on: int | None = None, done: dict[int, asyncio.Future] | None = None):
        self.written, self.fail_on, self.done = written, fail_on, {} if done is None else done

    def record(self, outcome) -> None:
        if outcome == self.fail_on:
            raise RuntimeError("broken sink")
        self.written.append(outcome)
        if outcome in self.done:
            self.done[outcome].set_result(True)

    def flush(self) -> None:
        pass


async def test_records_wait_for_a_batch_or_the_delay() -> None:
    from tiered_router.server.records import BatchingRecorder

    written: list[int] = []
    records = BatchingRecorder(Written(written), max_batch=3, max_delay_s=0.02)
    records.record(1)  # type: ignore[arg-type]
    records.record(2)  # type: ignore[arg-type]
    assert written == [] and len(records) == 2
    records.record(3)  # type: ignore[arg-type]  # the batch is full: written at once
    assert written == [1, 2, 3] and len(records) == 0

    done = asyncio.get_running_loop().create_future()
    records = BatchingRecorder(Written(written, fail_on=5, done={6: done}), max_batch=10, max_delay_s=0.02)
    records.record(4)  # type: ignore[arg-type]
    records.record(5)  # type: ignore[arg-type]  # a failing record loses no other
    records.record(6)  # type: ignore[arg-type]
    assert written == [1, 2, 3]
    await asyncio.wait_for(done, 5)  # the delay timer wrote them, with no further request
    assert written == [1, 2, 3, 4, 6]


def test_the_last_records_are_written_when_the_server_stops(simulator, tmp_path) -> None:
    import openai

    from tiered_router.demo import demo_settings
    from tiered_router.observe.store import RoutingLogStore
    from tiered_router.routing import TieredModelRouter
    from tiered_router.server.app import create_app

    db = str(tmp_path / "stop.db")
    router = TieredModelRouter(demo_settings(simulator.url, db=db), sinks=[])
    ids = []
    with ServerThread(create_app(router)) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
        for _ in range(3):
            raw = client.chat.completions.with_raw_response.create(
                model="tier-1", messages=[{"role": "user", "content": "Walk to the next room"}])
            ids.append(raw.headers["x-request-id"])
    router.close()
    store = RoutingLogStore(db)
    assert all(store.get(i) is not None for i in ids)


def test_records_survive_a_change_of_event_loop() -> None:
    """An app served by one loop, then another (a test client per request, say): the second loop gets its
    own timer, and nothing waits for a timer of a closed loop."""
    from tiered_router.server.records import BatchingRecorder

    written: list[int] = []
    done: dict[int, asyncio.Future] = {}
    records = BatchingRecorder(Written(written, done=done), max_batch=100, max_delay_s=0.01)

    async def first() -> None:
        records.record(1)  # type: ignore[arg-type]

    asyncio.run(first())  # the loop closes with its timer unfired
    assert written == [] and len(records) == 1

    async def second() -> None:
        done[2] = asyncio.get_running_loop().create_future()
        records.record(2)  # type: ignore[arg-type]
        await asyncio.wait_for(done[2], 5)

    asyncio.run(second())
    assert written == [1, 2]


async def test_a_deferred_record_keeps_the_time_its_request_finished(simulator, tmp_path, monkeypatch) -> None:
    import time as real_time

    from tiered_router.demo import demo_settings
    from tiered_router.routing import TieredModelRouter
    from tiered_router.routing import recorder as recorder_module
    from tiered_router.server.records import BatchingRecorder

    base = TieredModelRouter(demo_settings(simulator.url, db=str(tmp_path / "t.db")), sinks=[])
    batching = BatchingRecorder(base.recorder, max_batch=100, max_delay_s=3600)
    router = base.using(recorder=batching)
    try:
        await router.complete("Walk to the next room")
        finished = real_time.time()

        class Later:  # the clock when the batch is written, much later
            @staticmethod
            def time() -> float:
                return finished + 3600

        monkeypatch.setattr(recorder_module, "time", Later, raising=False)
        assert len(batching) == 1 and not base.records  # queued, not yet written
        batching.flush()
        assert base.records[-1]["time"] <= finished
    finally:
        await base.aclose()
        base.close()


@pytest.fixture
def server_with_simulator(simulator, tmp_path):
    from tiered_router.demo import demo_settings
    from tiered_router.routing import TieredModelRouter
    from tiered_router.server.app import create_app

    router = TieredModelRouter(demo_settings(simulator.url, db=str(tmp_path / "h.db")), sinks=[])
    with ServerThread(create_app(router)) as server:
        yield server
    router.close()


def test_a_repeated_header_keeps_its_first_value(server_with_simulator) -> None:
    import httpx

    r = httpx.post(server_with_simulator.url + "/v1/chat/completions",
                   json={"model": "tier-1", "messages": [{"role": "user", "content": "Walk to the next room"}]},
                   headers=[("x-request-id", "first-id"), ("x-request-id", "second-id")])
    assert r.status_code == 200 and r.headers["x-request-id"] == "first-id"


def test_a_client_that_sends_its_request_too_slowly_is_cut_off(simulator, tmp_path) -> None:
    import socket

    from tiered_router.demo import demo_settings
    from tiered_router.routing import TieredModelRouter
    from tiered_router.server.app import create_app
    from tiered_router.server.http import http_protocol

    router = TieredModelRouter(demo_settings(simulator.url, db=str(tmp_path / "s.db"), client_timeout_s=0.3), sinks=[])
    with ServerThread(create_app(router), http=http_protocol(0.3)) as server:
        head = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        head.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")  # ... and the rest never comes
        assert head.recv(100) == b""  # closed by the server (recv waits at most the socket's 10 s)
        body = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        body.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"model\"")  # 8 of the 100 bytes
        answer = body.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer
        head.close()
        body.close()
    router.close()


def test_beyond_max_connections_a_503_in_the_fronts_shape_then_service_resumes(simulator, tmp_path) -> None:
    """TIER_MAX_CONNECTIONS is uvicorn's limit_concurrency: beyond it uvicorn refuses the request before the app
    sees it. Its own reply is plain text with no request id; ours is the front's error shape with Retry-After
    and x-request-id, and once connections close the next request is served."""
    import httpx
    import openai

    from tiered_router.demo import demo_settings
    from tiered_router.routing import TieredModelRouter
    from tiered_router.server.app import create_app, over_capacity
    from tiered_router.server.http import http_protocol

    router = TieredModelRouter(demo_settings(simulator.url, db=str(tmp_path / "c.db")), sinks=[])
    with ServerThread(create_app(router), http=http_protocol(30.0, over_capacity), limit_concurrency=3) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
        for s in idle:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")  # open, head not finished
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.APIStatusError) as refused:
            client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}],
                                           extra_headers={"x-request-id": "busy-1"})
        assert refused.value.status_code == 503
        assert refused.value.response.headers["x-request-id"] == "busy-1"
        assert refused.value.response.headers["retry-after"] == "1"
        assert refused.value.body["code"] == "too_many_connections"  # type: ignore[index]
        ollama = httpx.post(server.url + "/api/chat", json={"model": "auto", "messages": []})
        assert ollama.status_code == 503 and "TIER_MAX_CONNECTIONS" in ollama.json()["error"]
        for s in idle:
            s.close()
        deadline = time.monotonic() + 10  # the server notices the closed sockets on its next loop iterations
        while (status := httpx.post(server.url + "/v1/chat/completions", json={
                "model": "auto", "messages": [{"role": "user", "content": "Say hi"}]}).status_code) != 200:
            assert status == 503 and time.monotonic() < deadline, status
    router.close()
