"""The proxy server on loopback, driven by the official openai and ollama clients, over the simulator."""

from __future__ import annotations

import json

import httpx
import ollama
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

FAST, HEAVY, CLOUD = "llama3.1:8b", "hermes3:70b", "claude-haiku-4-5"
USER = [{"role": "user", "content": "Walk to the next room"}]


@pytest.fixture
def server(serve):
    return serve()


def client(server, key="unused"):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


@pytest.mark.parametrize(
    ("model", "tier", "served_by"),
    [("tier-1", "1", FAST), ("local-fast", "1", FAST), ("tier-2", "2", HEAVY), ("local-heavy", "2", HEAVY),
     ("tier-3", "3", CLOUD), ("cloud", "3", CLOUD), (HEAVY, "2", HEAVY), (f"anthropic/{CLOUD}", "3", CLOUD)],
)
def test_forced_tiers_and_model_names(server, model, tier, served_by):
    raw = client(server).chat.completions.with_raw_response.create(model=model, messages=USER)
    completion = raw.parse()
    assert raw.headers["x-router-tier"] == tier
    assert completion.model == served_by
    assert completion.choices[0].message.content
    assert completion.usage.completion_tokens > 0


def test_auto_routes_and_sets_every_header(server):
    raw = client(server).chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Plan the optimal path to become Hortator"}])
    h = raw.headers
    assert h["x-router-tier"] == "2" and h["x-router-model"] == HEAVY
    assert h["x-router-escalated"] == "false" and h["x-router-attempts"] == "1"
    assert float(h["x-router-cost-usd"]) == 0.0 and float(h["x-router-overhead-ms"]) >= 0
    assert len(h["x-request-id"]) >= 16
    assert raw.parse().id.endswith(h["x-request-id"])


def test_cloud_answer_reports_its_cost(server):
    raw = client(server).chat.completions.with_raw_response.create(model="cloud", messages=USER)
    assert float(raw.headers["x-router-cost-usd"]) > 0


async def test_async_streaming_with_usage(server):
    aclient = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    stream = await aclient.chat.completions.create(model="tier-2", messages=USER, stream=True,
                                                   stream_options={"include_usage": True})
    text, usage, finish = "", None, None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    await aclient.close()
    assert text and finish == "stop"
    assert usage is not None and usage.completion_tokens > 0


def test_stream_escalates_before_the_first_byte(server):
    with client(server).chat.completions.with_streaming_response.create(
        model="auto", messages=[{"role": "user", "content": f"Open the inventory [[sim:refuse@{FAST}]]"}],
        stream=True,
    ) as response:
        assert response.headers["x-router-tier"] == "2"
        assert response.headers["x-router-escalated"] == "true"
        text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
    assert text and "sorry" not in text.lower()


def test_cut_stream_is_an_error_event_not_a_clean_end(server):
    stream = client(server).chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "Tell a story [[sim:cut-stream]]"}], stream=True)
    received = ""
    with pytest.raises(openai.APIError, match="broke off"):
        for chunk in stream:
            if chunk.choices:
                received += chunk.choices[0].delta.content or ""
    assert received


def test_auth(serve):
    server = serve(api_keys="key-one,key-two")
    with pytest.raises(openai.AuthenticationError):
        client(server, key="wrong").chat.completions.create(model="tier-1", messages=USER)
    assert httpx.post(server.url + "/v1/chat/completions", json={}).status_code == 401
    assert client(server, key="key-two").chat.completions.create(model="tier-1", messages=USER).choices
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert httpx.get(server.url + "/metrics").status_code == 401
    denied = httpx.get(server.url + "/metrics", headers={"authorization": "Bearer key-one"})
    assert denied.status_code == 200 and b"key-one" not in denied.content


def post(server, body, **kw):
    return httpx.post(server.url + "/v1/chat/completions", timeout=10, **kw, **(
        {"content": body} if isinstance(body, (bytes, str)) else {"json": body}))


def assert_error_shape(resp, status, code=None):
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) >= {"message", "type", "code"} and err["message"]
    assert "Traceback" not in resp.text
    if code:
        assert err["code"] == code or err["type"] == code
    return err


def test_error_statuses(serve):
    server = serve(max_body_bytes=4096)
    assert_error_shape(post(server, b"{not json"), 400, "invalid_json")
    assert_error_shape(post(server, {"model": "auto"}), 400, "invalid_request")
    assert_error_shape(post(server, {"model": "auto", "messages": [{"role": "wizard", "content": "x"}]}), 400)
    assert_error_shape(post(server, {"model": "auto", "messages": USER, "temperature": 9}), 400)
    assert_error_shape(post(server, [1, 2]), 400)
    with pytest.raises(openai.NotFoundError):
        client(server).chat.completions.create(model="gpt-17-ultra", messages=USER)
    big = {"model": "auto", "messages": [{"role": "user", "content": "x" * 10_000}]}
    assert_error_shape(post(server, big), 413, "request_too_large")
    failed = assert_error_shape(post(server, {"model": "auto", "messages": [
        {"role": "user", "content": "Plan the optimal path to become Hortator [[sim:http500]]"}]}), 502)
    assert failed["code"] == "all_tiers_failed" and len(failed["attempts"]) == 2
    assert_error_shape(post(server, {"model": "tier-1", "messages": [
        {"role": "user", "content": "Open the door [[sim:hang]]"}]}), 504, "upstream_timeout")
    assert_error_shape(httpx.get(server.url + "/v1/nothing-here"), 404)


def test_budget_exceeded_is_a_429_with_its_own_type(serve):
    server = serve(cloud_daily_budget_usd=0.0)
    with pytest.raises(openai.RateLimitError) as info:
        client(server).chat.completions.create(model="cloud", messages=USER)
    assert info.value.body["type"] == "budget_exceeded"
    summary = httpx.get(server.url + "/v1/router/budget").json()
    assert summary["daily"]["limit_usd"] == 0.0


def test_models_classify_health_and_readiness(server):
    ids = [m.id for m in client(server).models.list().data]
    assert {"auto", "tier-1", "local-heavy", "cloud", FAST, HEAVY, CLOUD} <= set(ids)
    decided = httpx.post(server.url + "/v1/router/classify", json={"prompt": "Walk to the next room"}).json()
    assert decided["tier"] == 1 and isinstance(decided["reasons"], list)
    assert httpx.post(server.url + "/v1/router/classify", json={}).status_code == 400
    ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["tiers"]["local-fast"]["healthy"]


def test_readyz_reports_each_tier_and_is_503_only_when_no_tier_can_answer(serve):
    server = serve(local_fast_url="http://127.0.0.1:9")
    ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200  # tier 1 is down, but tier 2 and the cloud answer
    assert ready.json()["tiers"]["local-fast"]["state"] == "down"
    assert ready.json()["tiers"]["local-heavy"]["state"] == "ok"
    nothing = serve(local_fast_url="http://127.0.0.1:9", local_heavy_url="http://127.0.0.1:9", cloud_enabled=False)
    down = httpx.get(nothing.url + "/readyz")
    assert down.status_code == 503 and down.json()["tiers"]["cloud"]["state"] == "disabled"


def test_metrics_parse_with_prometheus_parser(server):
    c = client(server)
    c.chat.completions.create(model="auto", messages=USER)
    c.chat.completions.create(model="cloud", messages=USER)
    c.chat.completions.create(model="auto", messages=[
        {"role": "user", "content": f"Open the inventory [[sim:refuse@{FAST}]]"}])
    text = httpx.get(server.url + "/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    duration = families["gen_ai_client_operation_duration_seconds"]
    assert duration.type == "histogram"
    labels = [s.labels for s in duration.samples if s.name.endswith("_count")]
    assert {"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"} <= set(labels[0])
    assert {lab["gen_ai_request_model"] for lab in labels} >= {FAST, CLOUD}
    assert families["gen_ai_client_token_usage"].type == "histogram"
    requests = {(s.labels["tier"], s.labels["status"]): s.value for s in families["router_requests"].samples
                if s.name == "router_requests_total"}
    assert requests[("1", "ok")] >= 1 and requests[("3", "ok")] >= 1
    escalations = [s for s in families["router_escalations"].samples if s.name == "router_escalations_total"]
    assert any("refusal" in s.labels["reason"] for s in escalations)
    cost = [s.value for s in families["router_cost_usd"].samples if s.name == "router_cost_usd_total"]
    assert sum(cost) > 0
    remaining = {s.labels["window"]: s.value for s in families["router_budget_remaining_usd"].samples}
    assert 0 < remaining["daily"] < 5.0


def test_ollama_client_through_the_router(server):
    oc = ollama.Client(host=server.url)
    answer = oc.chat(model="auto", messages=USER, stream=False)
    assert answer.message.content and answer.done and answer.model == FAST
    parts = list(oc.chat(model="tier-2", messages=USER, stream=True))
    assert parts[-1].done and parts[-1].eval_count > 0
    assert "".join(p.message.content for p in parts)
    names = [m.model for m in oc.list().models]
    assert "auto" in names and FAST in names
    with pytest.raises(ollama.ResponseError) as info:
        oc.chat(model="no-such-model", messages=USER)
    assert info.value.status_code == 404


def test_ollama_stream_escalates_before_the_first_line(server):
    oc = ollama.Client(host=server.url)
    parts = list(oc.chat(model="auto", stream=True, messages=[
        {"role": "user", "content": f"Open the inventory [[sim:refuse@{FAST}]]"}]))
    assert parts[-1].model == HEAVY
    assert "sorry" not in "".join(p.message.content for p in parts).lower()


def test_openapi_document_is_served(server):
    doc = httpx.get(server.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/v1/chat/completions" in doc["paths"] and "/api/chat" in doc["paths"]
    json.dumps(doc)


def test_secrets_never_reach_logs_errors_or_metrics(serve, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    upstream_key, client_key = "sk-upstream-SECRET-4242", "client-SECRET-9191"
    server = serve(cloud_api_key=upstream_key, api_keys=client_key)
    c = client(server, key=client_key)
    c.chat.completions.create(model="cloud", messages=USER)
    with pytest.raises(openai.APIStatusError) as info:  # the cloud rejects its key: an auth error upstream
        c.chat.completions.create(model="cloud", messages=[{"role": "user", "content": "Hi [[sim:http401]]"}])
    bodies = [json.dumps(info.value.body)]
    bodies.append(httpx.get(server.url + "/metrics", headers={"authorization": f"Bearer {client_key}"}).text)
    bodies.append(httpx.get(server.url + "/v1/router/decisions",
                            headers={"authorization": f"Bearer {client_key}"}).text)
    bodies.append(httpx.get(server.url + "/readyz").text)
    bodies.append(caplog.text)
    for text in bodies:
        assert upstream_key not in text and client_key not in text


def test_every_tier_rate_limited_is_a_429_with_retry_after(serve):
    server = serve()
    r = httpx.post(server.url + "/v1/chat/completions",
                   json={"model": "auto", "messages": [{"role": "user", "content": "Walk on [[sim:http429]]"}]})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"  # the simulator asks for 1 s
    assert r.json()["error"]["code"] == "rate_limited"
    assert len(r.json()["error"]["attempts"]) == 3
    # the request was not retried on a rate-limited backend: the next request skips them all, still a 429
    again = httpx.post(server.url + "/v1/chat/completions",
                       json={"model": "auto", "messages": [{"role": "user", "content": "Walk to the next room"}]})
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1


def test_every_error_carries_a_request_id(serve):
    server = serve(api_keys="k")
    auth = {"authorization": "Bearer k"}
    bad = httpx.post(server.url + "/v1/chat/completions", headers=auth, content=b"{not json")
    missing = httpx.get(server.url + "/v1/nothing-here", headers=auth)
    unauthorised = httpx.post(server.url + "/api/chat", json={})
    mine = httpx.post(server.url + "/v1/messages", headers={**auth, "x-request-id": "trace-7"}, json={})
    for response in (bad, missing, unauthorised, mine):
        assert response.status_code >= 400 and response.headers.get("x-request-id")
    assert mine.headers["x-request-id"] == "trace-7"
    routed = httpx.post(server.url + "/v1/chat/completions", headers=auth, json={
        "model": "tier-1", "messages": [{"role": "user", "content": "Walk on [[sim:http500]]"}]})
    assert routed.status_code == 502
    assert any(r["request_id"] == routed.headers["x-request-id"] for r in records(server))


def records(server) -> list[dict]:
    server.app.state.records.flush()
    return list(server.router.records)
