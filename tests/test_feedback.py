"""Feedback on answers: ``POST /v1/router/feedback`` (through the server, with the official openai client
making the request), ``router.feedback`` in the library on SQLite and PostgreSQL, ``tiered-router feedback``,
and how it is kept in the routing log (idempotent, replaced, pruned with its request)."""

from __future__ import annotations

import httpx
import openai
import pytest
from click.testing import CliRunner

from tiered_router.cli import main
from tiered_router.errors import InvalidRequest, LogDisabled
from tiered_router.observe.store import Judgement, RoutingLogStore

ASK = [{"role": "user", "content": "Walk to the next room"}]


def decision(server, request_id: str) -> dict:
    data = httpx.get(server.url + "/v1/router/decisions", params={"limit": 50}).json()["data"]
    return next(r for r in data if r["request_id"] == request_id)


def test_feedback_through_the_server(serve) -> None:
    server = serve()
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=ASK)
    request_id, answer_id = raw.headers["x-request-id"], raw.parse().id

    first = httpx.post(server.url + "/v1/router/feedback", json={"request_id": request_id, "score": "good"})
    assert first.status_code == 200, first.text
    assert first.json() == {"request_id": request_id, "score": 1.0, "comment": None, "recorded": True}
    assert decision(server, request_id)["router.feedback"]["score"] == 1.0

    # The answer's own id works too, and a second feedback replaces the first.
    again = httpx.post(server.url + "/v1/router/feedback",
                       json={"request_id": answer_id, "score": 0.2, "comment": "it walked into a wall"})
    assert again.status_code == 200 and again.json()["request_id"] == request_id
    feedback = decision(server, request_id)["router.feedback"]
    assert feedback["score"] == pytest.approx(0.2) and feedback["comment"] == "it walked into a wall"
    assert httpx.post(server.url + "/v1/router/feedback",
                      json={"request_id": answer_id, "score": 0.2, "comment": "it walked into a wall"}).json() \
        == again.json()  # idempotent


@pytest.mark.parametrize("body, status, code", [
    ({"request_id": "0" * 32, "score": "good"}, 404, "request_not_found"),
    ({"request_id": "x", "score": "great"}, 400, None),
    ({"request_id": "x", "score": 1.5}, 400, None),
    ({"request_id": "x", "score": True}, 400, None),
    ({"request_id": "", "score": 1}, 400, None),
    ({"score": 1}, 400, None),
    ({"request_id": "x", "score": 1, "rating": 5}, 400, None),
])
def test_bad_feedback_is_a_clear_error(serve, body, status, code) -> None:
    server = serve()
    r = httpx.post(server.url + "/v1/router/feedback", json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["message"] and "Traceback" not in r.text
    if code:
        assert error["code"] == code and "x-request-id" in error["message"]


def test_feedback_is_authenticated_like_the_rest(serve) -> None:
    server = serve(api_keys="k1")
    body = {"request_id": "x", "score": "bad"}
    assert httpx.post(server.url + "/v1/router/feedback", json=body).status_code == 401
    r = httpx.post(server.url + "/v1/router/feedback", json=body, headers={"Authorization": "Bearer k1"})
    assert r.status_code == 404  # past auth; no such request


def test_feedback_with_the_log_off_is_a_503(serve) -> None:
    server = serve(log_enabled=False)
    r = httpx.post(server.url + "/v1/router/feedback", json={"request_id": "x", "score": "bad"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "log_disabled"


async def test_library_feedback_on_each_database(make_router, db) -> None:
    router = make_router(db=db)
    r = await router.complete("Walk to the next room")
    assert await router.feedback(r.request_id, "bad", "too slow")
    assert not await router.feedback("no-such-request", "good")
    with pytest.raises(InvalidRequest, match="score"):
        await router.feedback(r.request_id, 7)
    stored = router.log_store.get(r.request_id)
    assert stored["router.feedback"]["score"] == 0.0 and stored["router.feedback"]["comment"] == "too slow"
    assert "router.shadow" not in stored


async def test_library_feedback_needs_the_log(make_router) -> None:
    router = make_router(log_enabled=False)
    r = await router.complete("Walk to the next room")
    with pytest.raises(LogDisabled):
        await router.feedback(r.request_id, "good")


def test_judgements_are_pruned_with_their_request(db) -> None:
    clock = [1_750_000_000.0]
    store = RoutingLogStore(db, retention_days=1, max_rows=None, flush_interval_s=3600, clock=lambda: clock[0])
    try:
        store.sink({"request_id": "old", "time": clock[0], "router.attempts": []})
        store.flush()
        assert store.add_judgement(Judgement("old", "feedback", 1.0))
        assert store.query("SELECT COUNT(*) FROM router_judgements") == [(1,)]
        clock[0] += 2 * 86400
        assert store.prune() == 1
        assert store.query("SELECT COUNT(*) FROM router_judgements") == [(0,)]
    finally:
        store.close()


def test_cli_feedback(tmp_path, monkeypatch, make_router) -> None:
    db = str(tmp_path / "cli.db")
    router = make_router(db=db)
    request_id = router.complete_sync("Walk to the next room").request_id
    router.log_store.flush()
    monkeypatch.setenv("TIER_DB", db)
    runner = CliRunner()
    ok = runner.invoke(main, ["feedback", request_id, "good", "--comment", "right door"])
    assert ok.exit_code == 0, ok.output
    stored = router.log_store.get(request_id)["router.feedback"]
    assert (stored["score"], stored["comment"]) == (1.0, "right door") and stored["time"] > 1_700_000_000
    missing = runner.invoke(main, ["feedback", "nope", "bad"])
    assert missing.exit_code == 1 and "no request 'nope'" in missing.output
    bad = runner.invoke(main, ["feedback", request_id, "meh"])
    assert bad.exit_code == 2 and "score must be good, bad or a number from 0 to 1" in bad.output
