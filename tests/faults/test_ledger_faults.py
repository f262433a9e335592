"""The budget ledger under faults, through the real server, the simulator and a real PostgreSQL ledger that
"goes away" through a TCP relay the test kills (the database itself is never stopped).

Promises checked: a paid answer is delivered when the ledger goes away during its call, its spend is kept
(journal) and written to the ledger when it is back; no ledger fault becomes a 5xx the client did not
cause; a ledger that is down at start-up does not stop the server, and the cloud comes back by itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from relay import Relay
from waiting import wait_for

from budget_support import pg_schema_url
from tiered_router.demo import demo_settings
from tiered_router.routing import TieredModelRouter
from tiered_router.server.app import create_app
from tiered_router.server.runner import ServerThread

pytestmark = pytest.mark.postgres
ASK = {"model": "tier-3", "messages": [{"role": "user", "content": "Summarise the quest log in one line."}],
       "max_tokens": 50}


def through(relay: Relay, url: str) -> str:
    """``url`` with its host and port swapped for the relay's."""
    parts = urlsplit(url)
    netloc = f"{parts.username}@127.0.0.1:{relay.port}" if parts.username else f"127.0.0.1:{relay.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema_url("fault_t") as url:
        yield url


def test_the_ledger_going_away_mid_call_loses_no_spend(pg_url, slow_simulator, tmp_path) -> None:
    target = urlsplit(pg_url)
    relay = Relay((target.hostname or "127.0.0.1", target.port or 5432)).start()
    router = TieredModelRouter(demo_settings(slow_simulator.url, db=through(relay, pg_url)), sinks=[])
    with ServerThread(create_app(router)) as server:
        answers: list[httpx.Response] = []
        call = threading.Thread(target=lambda: answers.append(
            httpx.post(server.url + "/v1/chat/completions", json=ASK, timeout=30)))
        call.start()
        wait_for(lambda: slow_simulator.sim.requests[("anthropic", "claude-haiku-4-5")] >= 1, 10,
                 "the cloud call reaching the provider")
        relay.kill()  # the ledger goes away while the paid call is in flight
        call.join(30)
        [answer] = answers
        assert answer.status_code == 200, answer.text  # the client gets the answer it paid for
        cost = float(answer.headers["x-router-cost-usd"])
        assert cost > 0
        journal = router.spend.tracker.journal
        assert len(journal) == 1  # the spend is kept until the ledger can take it

        refused = httpx.post(server.url + "/v1/chat/completions", json=ASK, timeout=30)
        assert refused.status_code == 502  # no cloud call while the ledger is down: fail closed, not a 500
        assert "budget_unavailable" in refused.text and "127.0.0.1" not in refused.text

        relay.start()  # the database is back, on the same address
        took = wait_for(lambda: httpx.post(server.url + "/v1/chat/completions", json=ASK, timeout=30).status_code
                        == 200, 30, "the cloud coming back")
        assert took < 30
        assert len(journal) == 0  # replayed before the next reservation
        summary = httpx.get(server.url + "/v1/router/budget").json()
        assert summary["daily"]["spent_usd"] >= cost and summary["journal"]["pending"] == 0
        assert summary["daily"]["calls"] >= 2
    router.close()  # the routing log writes what it kept through the outage, now that the database is back
    relay.kill()


def test_a_ledger_down_at_start_up_does_not_stop_the_server_and_the_cloud_comes_back(pg_url, simulator) -> None:
    target = urlsplit(pg_url)
    relay = Relay((target.hostname or "127.0.0.1", target.port or 5432)).start()
    db = through(relay, pg_url)
    relay.kill()  # down before the server starts
    router = TieredModelRouter(demo_settings(simulator.url, db=db), sinks=[])
    with ServerThread(create_app(router)) as server:
        local = httpx.post(server.url + "/v1/chat/completions", timeout=30, json={
            "model": "auto", "messages": [{"role": "user", "content": "Walk to the next room"}]})
        assert local.status_code == 200  # the local tiers answer
        ready = httpx.get(server.url + "/readyz").json()
        assert ready["tiers"]["cloud"]["state"] == "ledger-down"
        cloud = httpx.post(server.url + "/v1/chat/completions", json=ASK, timeout=30)
        assert cloud.status_code == 502 and "budget_unavailable" in cloud.text

        relay.start()
        took = wait_for(lambda: httpx.post(server.url + "/v1/chat/completions", json=ASK, timeout=30).status_code
                        == 200, 30, "the cloud coming back after the database")
        assert took < 30
        assert httpx.get(server.url + "/readyz").json()["tiers"]["cloud"]["state"] == "ok"
    router.close()
    relay.kill()
