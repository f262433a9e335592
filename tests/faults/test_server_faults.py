"""The routing log's promises under faults, through the server (docs/reliability.md): ``kill -9`` loses at
most the last second of records, SIGTERM and SIGINT lose none, and a client that leaves mid-stream still
leaves its record, charged for what was produced.

``tiered-router serve`` runs as a child process, its tiers on a simulator served from this process."""

from __future__ import annotations

import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import ServeChild, local_tiers
from waiting import polled

from tiered_router.demo import demo_settings
from tiered_router.observe.store import RoutingLogStore
from tiered_router.routing import TieredModelRouter
from tiered_router.server.app import create_app as create_server
from tiered_router.server.runner import ServerThread
from tiered_router.sim import Simulator, create_app

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

PROMISE_S = 1.0  # a record is in the database this soon after its answer (docs/reliability.md)
MARGIN_S = 0.5  # for a loaded machine: the child may wait for a core
USER = [{"role": "user", "content": "Walk to the next room"}]



class Child(ServeChild):
    """``tiered-router serve`` in a child process, tier 1 and 2 on the simulator, the cloud tier off."""

    def __init__(self, sim_url: str, db: str, out: Path) -> None:
        super().__init__({**local_tiers(sim_url), "TIER_CLOUD_ENABLED": "false", "TIER_DB": db}, out)

    def ask(self) -> str:
        """One answered request; its request id."""
        request_id = uuid.uuid4().hex
        r = self.client.post("/v1/chat/completions", json={"model": "tier-1", "messages": USER},
                             headers={"x-request-id": request_id})
        assert r.status_code == 200, r.text
        return request_id


@pytest.fixture
def child(simulator, tmp_path) -> Iterator[Callable[[str], Child]]:
    started: list[Child] = []

    def start(db: str) -> Child:
        started.append(Child(simulator.url, db, tmp_path / f"serve-{len(started)}.log"))
        return started[-1]

    yield start
    for c in started:
        c.stop()


def logged_ids(db: str) -> set[str]:
    reader = RoutingLogStore(db)
    try:
        return {row[0] for row in reader.query("SELECT request_id FROM router_requests")}
    finally:
        reader.close()


def test_kill_9_loses_at_most_the_last_second(child, db):
    server = child(db)
    answered: list[tuple[float, str]] = []  # (when the answer came, request id)
    end = time.monotonic() + 2 * (PROMISE_S + MARGIN_S)
    while time.monotonic() < end:
        answered.append((time.monotonic(), server.ask()))
        time.sleep(0.1)  # the traffic: a request every 0.1 s or so, with the router idle between them
    killed_at = time.monotonic()
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(30)
    logged = logged_ids(db)
    due = [rid for at, rid in answered if at <= killed_at - PROMISE_S - MARGIN_S]
    missing = [rid for rid in due if rid not in logged]
    assert due and not missing, (f"{len(missing)} of the {len(due)} requests answered over {PROMISE_S} s before "
                                 f"kill -9 are not in the routing log\n{server.output()}")
    assert logged <= {rid for _, rid in answered}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_clean_shutdown_loses_no_record(child, tmp_path, sig):
    db = str(tmp_path / "log.db")
    server = child(db)
    asked = [server.ask() for _ in range(5)]
    server.proc.send_signal(sig)  # at once: the last records are still queued in the server
    assert server.proc.wait(30) is not None
    missing = set(asked) - logged_ids(db)
    assert not missing, f"{len(missing)} of {len(asked)} records lost on {sig.name}\n{server.output()}"


# --- a client that leaves mid-stream ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paced_simulator() -> Iterator[ServerThread]:
    """A simulator that streams slowly enough for a client to leave in the middle."""
    with ServerThread(create_app(Simulator(ttft_ms=5, token_ms=25))) as server:
        yield server


def stream_then_leave(url: str, body: dict[str, Any], lines: int) -> str:
    """Read ``lines`` lines of a streamed answer, then close the connection; the request id."""
    with httpx.Client(timeout=10) as client, client.stream("POST", url, json=body) as r:
        assert r.status_code == 200
        seen = 0
        for line in r.iter_lines():
            seen += bool(line.strip())
            if seen >= lines:
                break
        assert seen >= lines, "the answer ended before the client could leave it"
        return r.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat"])
def test_a_client_that_leaves_mid_stream_still_leaves_its_record(paced_simulator, tmp_path, path):
    router = TieredModelRouter(demo_settings(paced_simulator.url, db=str(tmp_path / "log.db")), sinks=[])
    try:
        with ServerThread(create_server(router)) as server, httpx.Client(base_url=server.url, timeout=10) as api:
            body = {"model": "cloud", "stream": True,
                    "messages": [{"role": "user", "content": "Tell a long story about the Ashlands"}]}
            request_id = stream_then_leave(server.url + path, body, lines=3)

            def logged() -> dict[str, Any] | None:  # the decisions endpoint flushes both queues first
                data = api.get("/v1/router/decisions", params={"limit": 10}).json()["data"]
                return next((r for r in data if r["request_id"] == request_id), None)

            got = polled(logged, 10)
            assert got is not None, "no routing record for the request whose client left"
            assert got["router.status"] == "error"
            (attempt,) = got["router.attempts"]
            assert attempt["router.outcome"] == "cancelled" and attempt["router.cost_usd"] > 0
            daily = api.get("/v1/router/budget").json()["daily"]
            assert daily["reserved_usd"] == 0  # settled, not left reserved
            assert daily["spent_usd"] == pytest.approx(attempt["router.cost_usd"])
    finally:
        router.close()
