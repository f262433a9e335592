"""``tiered-router stats`` / ``log`` after a demo run, and the JSON endpoints /v1/router/stats and /decisions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tiered_router.budget import LedgerUnavailable
from tiered_router.cli import main
from tiered_router.demo import run_demo
from tiered_router.server.openapi import openapi_document


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """One demo run, written through the router's default settings (TIER_DB) like `tiered-router demo`."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    mp = pytest.MonkeyPatch()
    for key in [k for k in os.environ if k.startswith("TIER_") and k != "TIER_TEST_PG_URL"]:
        mp.delenv(key)
    mp.setenv("TIER_DB", str(path))
    try:
        records = run_demo()
    finally:
        mp.undo()
    return path, records


@pytest.fixture
def demo_env(demo_db, monkeypatch):
    monkeypatch.setenv("TIER_DB", str(demo_db[0]))
    return demo_db


def test_stats_json_matches_the_demo(demo_env):
    _, records = demo_env
    code, out = cli("stats", "--json")
    assert code == 0, out
    stats = json.loads(out)
    assert stats["requests"] == 5
    assert [r["router.final_tier"] for r in records] == [1, 2, 2, 3, 3]
    assert {k: v["count"] for k, v in stats["tiers"].items()} == {"1": 1, "2": 2, "3": 2}
    assert stats["escalations"]["count"] == 2
    assert {r["reason"] for r in stats["escalations"]["top_reasons"]} == {
        "tier1-quality:refusal", "tier2-server_error"}
    assert stats["tier1_failures"]["reasons"] == [{"outcome": "rejected", "reason": "refusal", "count": 1}]
    assert stats["spend"]["total_usd"] > 0
    assert stats["spend"]["total_usd"] == pytest.approx(sum(r["router.cost_usd"] for r in records), abs=1e-6)
    cloud = [m for m in stats["spend"]["by_model"] if m["tier"] == 3]
    assert cloud and cloud[0]["cost_usd"] > 0
    assert stats["entry_points"] == {"demo": 5}
    assert set(stats["latency_ms"]) == {"1", "2", "3"}
    assert stats["budget"]["daily"]["spent_usd"] == pytest.approx(stats["spend"]["total_usd"], abs=1e-6)


def test_stats_table(demo_env):
    code, out = cli("stats", "--since", "7d")
    assert code == 0, out
    assert "5 requests" in out and "escalated 2" in out
    assert "claude-haiku-4-5" in out and "tier1-quality:refusal" in out


def test_log_json_and_filters(demo_env):
    _, records = demo_env
    code, out = cli("log", "--json")
    assert code == 0, out
    logged = [json.loads(line) for line in out.splitlines()]
    assert [r["request_id"] for r in logged] == [r["request_id"] for r in reversed(records)]
    assert all(r["router.attempts"] for r in logged)
    assert [a["router.outcome"] for a in logged[-3]["router.attempts"]] == ["rejected", "accepted"]
    assert len(cli("log", "--json", "--tier", "3")[1].splitlines()) == 2
    assert len(cli("log", "--json", "--tier", "local-heavy")[1].splitlines()) == 2
    escalated = [json.loads(line) for line in cli("log", "--json", "--escalated")[1].splitlines()]
    assert len(escalated) == 2 and all(r["router.escalated"] for r in escalated)
    assert len(cli("log", "--json", "--limit", "1")[1].splitlines()) == 1


def test_log_table(demo_env):
    code, out = cli("log")
    assert code == 0, out
    assert "1:rejected(refusal) → 2:accepted" in out and "3!→3" in out


def test_nothing_logged_yet_is_not_an_error(tmp_path, monkeypatch):
    path = tmp_path / "empty.db"
    monkeypatch.setenv("TIER_DB", str(path))
    for args in (("stats",), ("log",), ("stats", "--since", "all")):
        code, out = cli(*args)
        assert code == 0 and "no requests logged yet" in out
    code, out = cli("stats", "--json")
    assert code == 0 and json.loads(out)["requests"] == 0
    assert cli("log", "--json") == (0, "")
    assert not path.exists()


def test_bad_options(tmp_path):
    assert cli("stats", "--since", "yesterday")[0] == 2
    assert cli("log", "--tier", "9")[0] == 2
    assert cli("log", "--limit", "0")[0] == 2


# --- the JSON endpoints ----------------------------------------------------------------------------------


class BrokenLedger:
    def get_summary(self):
        raise LedgerUnavailable("the ledger is on fire")

    def close(self):
        pass


def chat(server, content, model="auto"):
    response = httpx.post(server.url + "/v1/chat/completions", timeout=10,
                          json={"model": model, "messages": [{"role": "user", "content": content}]})
    assert response.status_code == 200, response.text
    return response.headers["x-request-id"]


def test_stats_and_decisions_endpoints(serve):
    server = serve()
    ids = [chat(server, "Walk to the next room"),
           chat(server, "Head to the blacksmith. [[sim:refuse@llama3.1:8b]]"),
           chat(server, "Summarise the quest log in two sentences.", model="cloud")]
    stats = httpx.get(server.url + "/v1/router/stats", params={"since": "24h"}).json()
    assert stats["requests"] == 3
    assert {k: v["count"] for k, v in stats["tiers"].items()} == {"1": 1, "2": 1, "3": 1}
    assert stats["escalations"]["count"] == 1 and stats["spend"]["total_usd"] > 0
    assert stats["budget"]["daily"]["spent_usd"] > 0 and stats["budget_error"] is None
    assert httpx.get(server.url + "/v1/router/stats?since=all").json()["requests"] == 3

    decisions = httpx.get(server.url + "/v1/router/decisions").json()
    assert decisions["object"] == "list"
    assert [d["request_id"] for d in decisions["data"]] == list(reversed(ids))
    assert decisions["data"][1]["router.attempts"][0]["router.outcome"] == "rejected"
    assert "router.prompt" not in decisions["data"][0]
    one = httpx.get(server.url + "/v1/router/decisions", params={"limit": 1}).json()["data"]
    assert [d["request_id"] for d in one] == [ids[-1]]
    by_tier = httpx.get(server.url + "/v1/router/decisions", params={"tier": "2"}).json()["data"]
    assert [d["request_id"] for d in by_tier] == [ids[1]]
    escalated = httpx.get(server.url + "/v1/router/decisions", params={"escalated": "true"}).json()["data"]
    assert [d["request_id"] for d in escalated] == [ids[1]]
    not_escalated = httpx.get(server.url + "/v1/router/decisions", params={"escalated": "false"}).json()["data"]
    assert len(not_escalated) == 2


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/router/stats", {"since": "yesterday"}),
    ("/v1/router/stats", {"since": "0h"}),
    ("/v1/router/decisions", {"limit": "0"}),
    ("/v1/router/decisions", {"limit": "many"}),
    ("/v1/router/decisions", {"limit": "5000"}),
    ("/v1/router/decisions", {"tier": "9"}),
    ("/v1/router/decisions", {"escalated": "maybe"}),
    ("/v1/router/decisions", {"since": "-1d"}),
])
def test_invalid_query_parameters_are_400s_in_the_openai_shape(serve, path, params):
    server = serve()
    response = httpx.get(server.url + path, params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_request"
    assert next(iter(params)) in error["message"]


def test_stats_tolerate_an_unavailable_ledger(serve, caplog):
    server = serve(budget=BrokenLedger())
    chat(server, "Walk to the next room")
    stats = httpx.get(server.url + "/v1/router/stats").json()
    assert stats["requests"] == 1 and stats["budget"] is None
    # Clients learn that it is down; why (which may name the database's host and user) stays in the log.
    assert "unavailable" in stats["budget_error"] and "on fire" not in stats["budget_error"]
    assert "on fire" in caplog.text


def test_endpoints_when_the_log_is_disabled(serve):
    server = serve(log_enabled=False)
    for path in ("/v1/router/stats", "/v1/router/decisions"):
        response = httpx.get(server.url + path)
        assert response.status_code == 503 and response.json()["error"]["code"] == "log_disabled"


def test_endpoints_are_in_the_openapi_document():
    paths = openapi_document()["paths"]
    assert {"/v1/router/stats", "/v1/router/decisions"} <= set(paths)
    names = {p["name"] for p in paths["/v1/router/decisions"]["get"]["parameters"]}
    assert names == {"limit", "tier", "escalated", "since"}


def test_cloud_disabled_stats_have_no_budget(serve, tmp_path: Path):
    server = serve(cloud_enabled=False)
    chat(server, "Walk to the next room")
    stats = httpx.get(server.url + "/v1/router/stats").json()
    assert stats["requests"] == 1 and stats["budget"] is None and stats["budget_error"] is None
