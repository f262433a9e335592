"""Token log-probabilities: passed through to the clients that ask for them (OpenAI and Ollama wire formats,
whole and streamed), and, with TIER_CONFIDENCE set, the gate's "low-confidence" check on gated tiers."""

from __future__ import annotations

import math

import anthropic
import ollama
import openai
import pytest

from tiered_router.chat import TokenLogprob
from tiered_router.routing.gating import confidence

UNSURE = "[[sim:unsure@llama3.1:8b]] Open the inventory"
PLAIN = "Open the inventory"


def test_confidence_of_a_short_answer_is_its_least_likely_token() -> None:
    tokens = [TokenLogprob("B", -0.01), TokenLogprob(".", -2.0)]
    assert confidence(tokens) == pytest.approx(math.exp(-2.0))


def test_confidence_of_a_long_answer_is_the_geometric_mean() -> None:
    tokens = [TokenLogprob("w", -0.1)] * 9 + [TokenLogprob("x", -3.0)]
    assert confidence(tokens) == pytest.approx(math.exp((-0.9 - 3.0) / 10))
    assert confidence([]) == 1.0


async def test_an_unsure_tier1_answer_escalates_when_confidence_is_set(make_router, records) -> None:
    router = make_router(confidence=0.5)
    r = await router.complete(UNSURE)
    assert r.tier == 2
    assert records[-1]["router.escalation_reason"] == "tier1-quality:low-confidence"
    assert r.logprobs is None  # the gate asked for them; the client did not
    sure = await router.complete(PLAIN)
    assert sure.tier == 1  # a confident answer is kept


async def test_without_a_confidence_setting_nothing_asks_for_logprobs(make_router, simulator) -> None:
    router = make_router()
    simulator.sim.reset()
    r = await router.complete(UNSURE)
    assert r.tier == 1
    assert "logprobs" not in simulator.sim.last_request["ollama"].body


async def test_a_streamed_unsure_head_escalates(make_router, records) -> None:
    router = make_router(confidence=0.5)
    stream = await router.stream(UNSURE)
    text = "".join([chunk.text async for chunk in stream])
    assert text and stream.tier == 2
    assert records[-1]["router.escalation_reason"] == "tier1-quality:low-confidence"


def test_openai_client_gets_logprobs_whole_and_streamed(serve, simulator) -> None:
    server = serve(local_fast_model=f"{simulator.url}/v1#llama3.1:8b")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    whole = client.chat.completions.create(model="tier-1", logprobs=True, top_logprobs=2,
                                           messages=[{"role": "user", "content": PLAIN}])
    content = whole.choices[0].logprobs.content
    assert content and "".join(t.token for t in content) == whole.choices[0].message.content
    assert all(t.logprob <= 0 and len(t.top_logprobs) == 2 for t in content)
    assert simulator.sim.last_request["openai"].body["top_logprobs"] == 2
    pieces = list(client.chat.completions.create(model="tier-1", logprobs=True, stream=True,
                                                 messages=[{"role": "user", "content": PLAIN}]))
    streamed = [t for p in pieces if p.choices and p.choices[0].logprobs for t in p.choices[0].logprobs.content]
    assert "".join(t.token for t in streamed) == "".join(p.choices[0].delta.content or "" for p in pieces
                                                         if p.choices)
    plain = client.chat.completions.create(model="tier-1", messages=[{"role": "user", "content": PLAIN}])
    assert plain.choices[0].logprobs is None


def test_ollama_client_gets_logprobs(serve, simulator) -> None:
    server = serve()
    client = ollama.Client(host=server.url)
    r = client.chat(model="tier-1", logprobs=True, top_logprobs=1, messages=[{"role": "user", "content": PLAIN}])
    assert r.logprobs and "".join(t.token for t in r.logprobs) == r.message.content
    assert simulator.sim.last_request["ollama"].body["logprobs"] is True
    streamed = [t for part in client.chat(model="tier-1", logprobs=True, stream=True,
                                          messages=[{"role": "user", "content": PLAIN}])
                for t in (part.logprobs or [])]
    assert streamed and all(t.logprob <= 0 for t in streamed)


def test_an_anthropic_tier_refuses_logprobs_before_any_call(serve, simulator) -> None:
    server = serve(local_fast_model="anthropic/claude-haiku-4-5")
    simulator.sim.reset()
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="tier-1", logprobs=True, messages=[{"role": "user", "content": "hi"}])
    assert "logprobs" in refused.value.message
    assert not simulator.sim.requests
    # An Anthropic client cannot ask for them at all; its answers come without.
    msg = anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0).messages.create(
        model="tier-1", max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    assert msg.content
