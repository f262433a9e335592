"""The LLM simulator, driven over real HTTP by the official openai, anthropic and ollama clients (and httpx)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import ollama
import openai
import pytest

from tiered_router.server.runner import ServerThread
from tiered_router.sim import Simulator, create_app
from tiered_router.sim.text import count_tokens

try:  # recent anthropic SDKs run on httpx2, whose exceptions are distinct classes
    import httpx2

    REMOTE_PROTOCOL_ERRORS: tuple[type[Exception], ...] = (httpx.RemoteProtocolError, httpx2.RemoteProtocolError)
except ImportError:  # pragma: no cover
    REMOTE_PROTOCOL_ERRORS = (httpx.RemoteProtocolError,)

SMALL, BIG, CLAUDE, GPT = "llama3.1:8b", "hermes3:70b", "claude-haiku-4-5", "gpt-4o"
BANNED = ("as an ai", "i don't know", "null", "n/a", "error", "<|", "[[sim")


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(ttft_ms=0, token_ms=0, hang_s=30)


@pytest.fixture(scope="module")
def server(sim: Simulator) -> Iterator[ServerThread]:
    with ServerThread(create_app(sim)) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def oai(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def claude(server: ServerThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def olla(server: ServerThread) -> ollama.Client:
    return ollama.Client(host=server.url, timeout=10)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# One call per protocol through the official client: (text, normalised finish reason, completion tokens).
def ask_openai(oai: openai.OpenAI, model: str, prompt: str, stream: bool = False, **kw: Any) -> tuple[str, str, int]:
    if not stream:
        r = oai.chat.completions.create(model=model, messages=user(prompt), **kw)
        assert r.usage is not None
        return r.choices[0].message.content or "", r.choices[0].finish_reason, r.usage.completion_tokens
    parts, finish, usage = [], "", None
    for chunk in oai.chat.completions.create(model=model, messages=user(prompt), stream=True,
                                             stream_options={"include_usage": True}, **kw):
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert usage is not None
    return "".join(parts), finish, usage.completion_tokens


def ask_anthropic(claude: anthropic.Anthropic, model: str, prompt: str, stream: bool = False,
                  max_tokens: int = 1024) -> tuple[str, str, int]:
    if stream:
        with claude.messages.stream(model=model, max_tokens=max_tokens, messages=user(prompt)) as s:
            text = "".join(s.text_stream)
            msg = s.get_final_message()
        assert text == "".join(b.text for b in msg.content if b.type == "text")
    else:
        msg = claude.messages.create(model=model, max_tokens=max_tokens, messages=user(prompt))
        text = "".join(b.text for b in msg.content if b.type == "text")
    finish = {"end_turn": "stop", "max_tokens": "length"}.get(msg.stop_reason or "", str(msg.stop_reason))
    return text, finish, msg.usage.output_tokens


def ask_ollama(olla: ollama.Client, model: str, prompt: str, stream: bool = False, **kw: Any) -> tuple[str, str, int]:
    if stream:
        chunks = list(olla.chat(model=model, messages=user(prompt), stream=True, **kw))
        assert all(not c.done for c in chunks[:-1]) and chunks[-1].done
        last, text = chunks[-1], "".join(c.message.content or "" for c in chunks)
    else:
        last = olla.chat(model=model, messages=user(prompt), stream=False, **kw)
        text = last.message.content or ""
    return text, str(last.done_reason), int(last.eval_count or 0)


Ask = Callable[[str, str, bool], tuple[str, str, int]]


@pytest.fixture(params=["openai", "anthropic", "ollama"])
def ask(request: pytest.FixtureRequest, oai: openai.OpenAI, claude: anthropic.Anthropic,
        olla: ollama.Client) -> Ask:
    if request.param == "openai":
        return lambda model, prompt, stream: ask_openai(oai, model, prompt, stream)
    if request.param == "anthropic":
        return lambda model, prompt, stream: ask_anthropic(claude, model, prompt, stream)
    return lambda model, prompt, stream: ask_ollama(olla, model, prompt, stream)


# --- sensible default answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_action_prompt_gets_a_short_narrative(ask: Ask, stream: bool) -> None:
    text, finish, tokens = ask(SMALL, "Walk to the next room", stream)
    assert text.startswith("You walk to the next room. ")
    assert finish == "stop"
    assert tokens == count_tokens(text) and 15 < tokens < 80


@pytest.mark.parametrize("stream", [False, True])
def test_question_gets_a_multi_step_answer_naming_the_model(ask: Ask, stream: bool) -> None:
    text, finish, tokens = ask(BIG, "How should I plan the migration of our billing service to PostgreSQL?", stream)
    assert finish == "stop" and tokens == count_tokens(text)
    assert "1. " in text and "4. " in text and BIG in text
    assert 60 < tokens < 250


def test_answers_are_deterministic_and_pass_a_basic_quality_check(oai: openai.OpenAI) -> None:
    prompts = ["Open the door", "Pick up my lantern", "Explain how TLS certificates are verified.",
               "Write a plan for a small team to adopt code review.", "What is the capital of France?"]
    for prompt in prompts:
        first, _, _ = ask_openai(oai, GPT, prompt)
        assert first == ask_openai(oai, GPT, prompt)[0]
        assert first.strip() and not any(bad in first.lower() for bad in BANNED)
    assert ask_openai(oai, GPT, "Pick up my lantern")[0].startswith("You pick up your lantern.")


def test_streamed_text_equals_the_non_streamed_text(ask: Ask) -> None:
    assert ask(BIG, "Describe a good morning routine.", True) == ask(BIG, "Describe a good morning routine.", False)


def test_json_is_returned_when_asked_for(oai: openai.OpenAI, olla: ollama.Client,
                                          claude: anthropic.Anthropic) -> None:
    r = oai.chat.completions.create(model=GPT, messages=user("List three fruits."),
                                    response_format={"type": "json_object"})
    assert isinstance(json.loads(r.choices[0].message.content or ""), dict)
    reply = olla.chat(model=SMALL, messages=user("List three fruits."), format="json")
    assert isinstance(json.loads(reply.message.content or ""), dict)
    text, _, _ = ask_anthropic(claude, CLAUDE, "List three fruits. Respond in JSON only.")
    data = json.loads(text)
    assert data["model"] == CLAUDE and data["steps"] and "null" not in text


# --- token limits, stop sequences, usage ---------------------------------------------------------------------


def test_openai_max_tokens_truncates(oai: openai.OpenAI) -> None:
    assert ask_openai(oai, GPT, "Explain DNS.", max_tokens=7)[1:] == ("length", 7)
    assert ask_openai(oai, GPT, "Explain DNS.", max_completion_tokens=5)[1:] == ("length", 5)
    assert ask_openai(oai, GPT, "Explain DNS.", stream=True, max_tokens=6)[1:] == ("length", 6)


def test_anthropic_max_tokens_and_stop_sequences(claude: anthropic.Anthropic) -> None:
    assert ask_anthropic(claude, CLAUDE, "Explain DNS.", max_tokens=9)[1:] == ("length", 9)
    msg = claude.messages.create(model=CLAUDE, max_tokens=500, messages=user("Open the door"), stop_sequences=["."])
    assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == "."
    assert msg.content[0].type == "text" and msg.content[0].text == "You open the door"


def test_ollama_num_predict_and_stop(olla: ollama.Client) -> None:
    assert ask_ollama(olla, SMALL, "Explain DNS.", options={"num_predict": 4})[1:] == ("length", 4)
    assert ask_ollama(olla, SMALL, "Explain DNS.", stream=True, options={"num_predict": 4})[1:] == ("length", 4)
    assert ask_ollama(olla, SMALL, "Open the door", options={"stop": ["."]})[:2] == ("You open the door", "stop")


def test_usage_is_reported_in_every_protocol(oai: openai.OpenAI, claude: anthropic.Anthropic,
                                             olla: ollama.Client) -> None:
    prompt = "Tell me about the history of the printing press."
    r = oai.chat.completions.create(model=GPT, messages=user(prompt))
    assert r.usage is not None and r.usage.prompt_tokens == count_tokens(prompt) + 3
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    stream = list(oai.chat.completions.create(model=GPT, messages=user(prompt), stream=True,
                                              stream_options={"include_usage": True}))
    assert stream[0].choices[0].delta.role == "assistant"
    assert stream[-2].choices[0].finish_reason == "stop" and stream[-1].choices == []
    assert stream[-1].usage == r.usage and all(c.usage is None for c in stream[:-1])
    no_usage = list(oai.chat.completions.create(model=GPT, messages=user(prompt), stream=True))
    assert all(c.usage is None for c in no_usage) and no_usage[-1].choices[0].finish_reason == "stop"

    msg = claude.messages.create(model=CLAUDE, max_tokens=999, system="Be brief.", messages=user(prompt))
    assert msg.usage.input_tokens == count_tokens(prompt) + 3 + count_tokens("Be brief.") + 3
    assert claude.messages.count_tokens(model=CLAUDE, system="Be brief.", messages=user(prompt)).input_tokens \
        == msg.usage.input_tokens
    final = olla.chat(model=SMALL, messages=user(prompt))
    assert final.prompt_eval_count == count_tokens(prompt) + 3 and final.eval_count
    assert final.eval_duration and final.total_duration


def test_request_counters_and_last_request(sim: Simulator, server: ServerThread, oai: openai.OpenAI) -> None:
    before = sim.requests[("openai", "counter-model:1b")]
    for _ in range(3):
        oai.chat.completions.create(model="counter-model:1b", messages=user("Hello"), temperature=0.2)
    assert sim.requests[("openai", "counter-model:1b")] == before + 3
    seen = sim.last_request["openai"]
    assert seen.model == "counter-model:1b" and seen.body["temperature"] == 0.2
    assert seen.headers["authorization"] == "Bearer x"
    assert server.app.state.sim_stats is sim.requests


# --- discovery endpoints -------------------------------------------------------------------------------------


def test_ollama_housekeeping_endpoints(http: httpx.Client, olla: ollama.Client, sim: Simulator) -> None:
    root = http.get("/")
    assert root.status_code == 200 and root.text == "Ollama is running"
    assert http.get("/api/version").json()["version"]
    assert [m.model for m in olla.list().models] == sim.models
    tag = http.get("/api/tags").json()["models"][0]
    assert {"name", "model", "modified_at", "size", "digest", "details"} <= tag.keys()


def test_ollama_streams_by_default(http: httpx.Client) -> None:
    r = http.post("/api/chat", json={"model": SMALL, "messages": user("Open the door")})
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) > 5 and not lines[0]["done"] and lines[-1]["done"] and lines[-1]["done_reason"] == "stop"


def test_model_lists(oai: openai.OpenAI, claude: anthropic.Anthropic, sim: Simulator) -> None:
    assert [m.id for m in oai.models.list()] == sim.models
    assert [m.id for m in claude.models.list()] == sim.models  # same path, told apart by anthropic-version


# --- behaviour markers: content --------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_refuse_empty_truncate_repeat_bad_json(ask: Ask, stream: bool) -> None:
    assert ask(BIG, "Open the vault [[sim:refuse]]", stream)[:2] == ("I'm sorry, but I can't help with that.", "stop")
    assert ask(BIG, "[[sim:empty]] Open the vault", stream) == ("", "stop", 0)
    full, _, full_tokens = ask(BIG, "Explain how vaults work.", stream)
    cut, finish, tokens = ask(BIG, "Explain how vaults work. [[sim:truncate]]", stream)
    assert finish == "length" and full.startswith(cut) and 3 <= tokens < full_tokens
    repeated, finish, _ = ask(BIG, "Explain vaults [[sim:repeat]]", stream)
    assert finish == "stop" and repeated.count("the answer is") > 20
    broken, _, _ = ask(BIG, "Describe the vault as JSON [[sim:bad-json]]", stream)
    assert broken.startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken)


def test_markers_can_target_one_model(ask: Ask) -> None:
    prompt = "[[sim:refuse@llama3.1:8b]] Walk to the next room"
    assert ask(SMALL, prompt, False)[0] == "I'm sorry, but I can't help with that."
    assert ask(BIG, prompt, False)[0].startswith("You walk to the next room.")
    # the first marker that applies wins
    prompt = "Open the door [[sim:empty@hermes3:70b]] [[sim:refuse]] [[sim:truncate]]"
    assert ask(BIG, prompt, False)[0] == ""
    assert ask(SMALL, prompt, False)[0] == "I'm sorry, but I can't help with that."


def test_only_the_last_user_message_is_searched_for_markers(oai: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Open the door [[sim:refuse]]"},
                {"role": "assistant", "content": "I'm sorry, but I can't help with that."},
                {"role": "user", "content": [{"type": "text", "text": "Open the window"}]}]
    r = oai.chat.completions.create(model=GPT, messages=messages)  # type: ignore[arg-type]
    assert (r.choices[0].message.content or "").startswith("You open the window.")


# --- behaviour markers: HTTP errors ----------------------------------------------------------------------------

ERROR_CALLS: dict[str, Callable[[str, str], tuple[str, dict[str, Any]]]] = {
    "openai": lambda model, text: ("/v1/chat/completions", {"model": model, "messages": user(text)}),
    "anthropic": lambda model, text: ("/v1/messages", {"model": model, "max_tokens": 100, "messages": user(text)}),
    "ollama": lambda model, text: ("/api/chat", {"model": model, "messages": user(text), "stream": False}),
}


@pytest.mark.parametrize("protocol", ERROR_CALLS)
@pytest.mark.parametrize("stream", [False, True])
def test_http500_and_http429_shapes(http: httpx.Client, protocol: str, stream: bool) -> None:
    path, body = ERROR_CALLS[protocol](BIG, "Hello [[sim:http500]]")
    r = http.post(path, json={**body, "stream": stream})
    assert r.status_code == 500 and r.headers["content-type"] == "application/json"
    path, body = ERROR_CALLS[protocol](BIG, "Hello [[sim:http429]]")
    r429 = http.post(path, json={**body, "stream": stream})
    assert r429.status_code == 429 and r429.headers["retry-after"] == "1"
    if protocol == "openai":
        assert r.json()["error"]["type"] == "server_error"
        assert r429.json()["error"]["code"] == "rate_limit_exceeded" and r429.json()["error"]["type"] == "requests"
    elif protocol == "anthropic":
        assert r.json() == {"type": "error", "error": {"type": "api_error", "message": r.json()["error"]["message"]}}
        assert r429.json()["type"] == "error" and r429.json()["error"]["type"] == "rate_limit_error"
    else:
        assert set(r.json()) == {"error"} and set(r429.json()) == {"error"}


def test_error_markers_raise_the_official_clients_exceptions(oai: openai.OpenAI, claude: anthropic.Anthropic,
                                                             olla: ollama.Client) -> None:
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(model=GPT, messages=user("hi [[sim:http500]]"))
    with pytest.raises(openai.RateLimitError) as rate:
        oai.chat.completions.create(model=GPT, messages=user("hi [[sim:http429]]"), stream=True)
    assert rate.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.BadRequestError) as ctx:
        oai.chat.completions.create(model=GPT, messages=user("hi [[sim:context-too-long]]"))
    assert ctx.value.code == "context_length_exceeded" and ctx.value.param == "messages"
    assert "maximum context length is 131072 tokens" in ctx.value.message

    with pytest.raises(anthropic.InternalServerError):
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=user("hi [[sim:http500]]"))
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=user("hi [[sim:http429]]"))
    with pytest.raises(anthropic.BadRequestError, match=r"prompt is too long: \d+ tokens > 131072 maximum"):
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=user("hi [[sim:context-too-long]]"))

    for marker, status in [("http500", 500), ("http429", 429), ("context-too-long", 400)]:
        with pytest.raises(ollama.ResponseError) as err:
            if marker == "http429":
                list(olla.chat(model=SMALL, messages=user(f"hi [[sim:{marker}]]"), stream=True))
            else:
                olla.chat(model=SMALL, messages=user(f"hi [[sim:{marker}]]"))
        assert err.value.status_code == status
    assert "exceeds the context length (8192 tokens)" in err.value.error


@pytest.mark.parametrize("protocol", ERROR_CALLS)
@pytest.mark.parametrize("stream", [False, True])
def test_auth_not_found_and_a_chosen_retry_after(http: httpx.Client, protocol: str, stream: bool) -> None:
    path, body = ERROR_CALLS[protocol](BIG, "Hello [[sim:http404]]")
    missing = http.post(path, json={**body, "stream": stream})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    assert BIG in missing.text and "[[sim:http404]]" in missing.text
    path, body = ERROR_CALLS[protocol](BIG, "Hello [[sim:http429:17]]")
    limited = http.post(path, json={**body, "stream": stream})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "17"
    if protocol == "openai":
        assert missing.json()["error"]["code"] == "model_not_found"
        assert "try again in 17s" in limited.json()["error"]["message"]
    elif protocol == "anthropic":
        assert missing.json() == {"type": "error", "error": {"type": "not_found_error",
                                                             "message": missing.json()["error"]["message"]}}
        assert "try again in 17s" in limited.json()["error"]["message"]
    else:
        assert missing.json()["error"].startswith(f'model "{BIG}" not found, try pulling it first')


def test_auth_and_not_found_markers_raise_the_official_clients_exceptions(
        oai: openai.OpenAI, claude: anthropic.Anthropic, olla: ollama.Client) -> None:
    with pytest.raises(openai.AuthenticationError):
        oai.chat.completions.create(model=GPT, messages=user("hi [[sim:http401]]"))
    with pytest.raises(openai.NotFoundError) as missing:
        oai.chat.completions.create(model=GPT, messages=user("hi [[sim:http404]]"), stream=True)
    assert missing.value.code == "model_not_found"
    with pytest.raises(anthropic.AuthenticationError):
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=user("hi [[sim:http401]]"))
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=user("hi [[sim:http404]]"))
    with pytest.raises(openai.PermissionDeniedError):
        oai.chat.completions.create(model=GPT, messages=user("hi [[sim:http403]]"))
    with pytest.raises(anthropic.PermissionDeniedError):
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=user("hi [[sim:http403]]"))
    for marker, status in [("http401", 401), ("http403", 403), ("http404", 404)]:
        with pytest.raises(ollama.ResponseError) as err:
            olla.chat(model=SMALL, messages=user(f"hi [[sim:{marker}]]"))
        assert err.value.status_code == status


@pytest.mark.parametrize("stream", [False, True])
def test_overcount_reports_more_tokens_than_were_sent_and_produced(oai: openai.OpenAI, claude: anthropic.Anthropic,
                                                                    olla: ollama.Client, stream: bool) -> None:
    prompt = "Tell me about the history of the printing press."
    seven, ten = prompt + " [[sim:overcount:7]]", prompt + " [[sim:overcount]]"

    def honest(text: str) -> int:  # the real prompt count (the marker is part of the prompt)
        return count_tokens(text) + 3

    text, _, completion = ask_openai(oai, GPT, seven, stream, max_tokens=5)
    assert text == ask_openai(oai, GPT, prompt, stream, max_tokens=5)[0]  # the same answer, only counted wrong
    assert completion == 7 * 5
    r = oai.chat.completions.create(model=GPT, messages=user(ten))
    assert r.usage is not None and r.usage.prompt_tokens == 10 * honest(ten)
    _, _, completion = ask_anthropic(claude, CLAUDE, seven, stream, max_tokens=5)
    assert completion == 7 * 5
    msg = claude.messages.create(model=CLAUDE, max_tokens=5, messages=user(seven))
    assert msg.usage.input_tokens == 7 * honest(seven)
    _, _, completion = ask_ollama(olla, SMALL, seven, stream, options={"num_predict": 5})
    assert completion == 7 * 5
    scoped = prompt + " [[sim:overcount:7@other-model]]"
    assert olla.chat(model=SMALL, messages=user(scoped)).prompt_eval_count == honest(scoped)  # not this model


def test_a_long_prompt_overflows_a_small_models_context_window(oai: openai.OpenAI, http: httpx.Client) -> None:
    long_prompt = "Summarize this: " + "word " * 9000
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model=SMALL, messages=user(long_prompt))
    assert err.value.code == "context_length_exceeded" and "8192" in err.value.message
    assert oai.chat.completions.create(model=BIG, messages=user(long_prompt)).choices[0].message.content
    r = http.post("/v1/messages", json={"model": SMALL, "max_tokens": 5, "messages": user(long_prompt)})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    # Ollama cuts a prompt longer than num_ctx without a word, unless told not to ("truncate": false).
    r = http.post("/api/chat", json={"model": BIG, "messages": user("Explain caching."), "stream": False,
                                     "options": {"num_ctx": 5}})
    assert r.status_code == 200 and r.json()["prompt_eval_count"] == 5
    r = http.post("/api/chat", json={"model": BIG, "messages": user("Explain caching."), "stream": False,
                                     "options": {"num_ctx": 5}, "truncate": False})
    assert r.status_code == 400 and "(5 tokens)" in r.json()["error"]


# --- behaviour markers: broken connections ---------------------------------------------------------------------


def test_cut_stream_breaks_every_protocol(oai: openai.OpenAI, claude: anthropic.Anthropic, olla: ollama.Client,
                                         http: httpx.Client) -> None:
    prompt = "Explain caching. [[sim:cut-stream]]"
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oai.chat.completions.create(model=GPT, messages=user(prompt), stream=True):
            received += [c.delta.content or "" for c in chunk.choices]
    assert "".join(received)  # some content arrived before the cut
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model=GPT, messages=user(prompt))

    with pytest.raises(REMOTE_PROTOCOL_ERRORS), \
            claude.messages.stream(model=CLAUDE, max_tokens=100, messages=user(prompt)) as stream:
        for _ in stream.text_stream:
            pass
    with pytest.raises(anthropic.APIConnectionError):
        claude.messages.create(model=CLAUDE, max_tokens=100, messages=user(prompt))

    with pytest.raises(httpx.RemoteProtocolError):
        list(olla.chat(model=SMALL, messages=user(prompt), stream=True))
    with pytest.raises(httpx.RemoteProtocolError):
        olla.chat(model=SMALL, messages=user(prompt))

    for protocol in ERROR_CALLS:
        path, body = ERROR_CALLS[protocol](BIG, prompt)
        lines: list[str] = []
        with pytest.raises(httpx.RemoteProtocolError), http.stream("POST", path, json={**body, "stream": True}) as r:
            assert r.status_code == 200
            lines.extend(r.iter_lines())
        assert not any("[DONE]" in line or "message_stop" in line or '"done":true' in line for line in lines)
    assert http.get("/api/version").status_code == 200  # the server itself is fine


def test_hang_times_out_the_client(oai: openai.OpenAI, http: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        http.post("/api/chat", json={"model": SMALL, "messages": user("[[sim:hang]]")}, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        oai.with_options(timeout=0.3).chat.completions.create(model=GPT, messages=user("hi [[sim:hang]]"))


async def test_a_hanging_request_does_not_block_others(server: ServerThread) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        hang = asyncio.create_task(client.post(
            "/v1/messages", json={"model": CLAUDE, "max_tokens": 9, "messages": user("[[sim:hang]]")}, timeout=30))
        ok = await client.post("/v1/messages", json={"model": CLAUDE, "max_tokens": 9, "messages": user("Sit")})
        assert ok.status_code == 200 and not hang.done()
        hang.cancel()  # closes the connection, which ends the hang on the server
        with pytest.raises(asyncio.CancelledError):
            await hang


def test_stop_closes_hanging_connections() -> None:
    arrived = threading.Event()
    app = create_app(Simulator(hang_s=60))

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/chat/completions":
            arrived.set()
        await app(scope, receive, send)

    outcome: list[BaseException | None] = []

    def hang() -> None:
        try:
            httpx.post(srv.url + "/v1/chat/completions", json={"model": GPT, "messages": user("[[sim:hang]]")},
                       timeout=30)
            outcome.append(None)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    srv = ServerThread(spy, graceful_timeout=0.2).start()
    client = threading.Thread(target=hang)
    client.start()
    assert arrived.wait(10)
    srv.stop(timeout=5)
    assert not srv.running
    client.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.RemoteProtocolError | httpx.ReadError)


# --- bad requests -------------------------------------------------------------------------------------------------


def test_bad_requests_get_400_in_the_protocols_shape(http: httpx.Client) -> None:
    for path in ("/v1/chat/completions", "/v1/messages", "/api/chat"):
        r = http.post(path, content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400, path
        if path == "/api/chat":
            assert isinstance(r.json()["error"], str)
        elif path == "/v1/messages":
            assert r.json()["type"] == "error" and r.json()["error"]["type"] == "invalid_request_error"
        else:
            assert r.json()["error"]["type"] == "invalid_request_error"
    r = http.post("/v1/messages", json={"model": CLAUDE, "messages": user("hi")})
    assert r.status_code == 400
    assert r.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": "max_tokens: Field required"}}
    r = http.post("/v1/chat/completions", json={"model": GPT})
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_required_parameter"
    r = http.post("/v1/chat/completions", json={"model": GPT, "messages": user("x"), "max_tokens": 0})
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"
    r = http.post("/api/chat", json={"messages": user("hi")})
    assert r.status_code == 400 and r.json() == {"error": "model is required"}
    r = http.post("/api/chat", json=[1, 2])
    assert r.status_code == 400 and "error" in r.json()


def test_no_api_key_is_needed(http: httpx.Client) -> None:
    r = http.post("/v1/chat/completions", json={"model": GPT, "messages": user("Open the door")})
    assert r.status_code == 200 and r.json()["object"] == "chat.completion"


# --- latency and configuration ---------------------------------------------------------------------------------


def test_latency_is_a_lower_bound() -> None:
    sim = Simulator(ttft_ms=120, token_ms=2)
    with ServerThread(create_app(sim)) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
        start = time.perf_counter()
        r = client.chat.completions.create(model=GPT, messages=user("Open the door"))
        elapsed = time.perf_counter() - start
        assert r.usage is not None
        assert elapsed >= 0.120 + 0.002 * (r.usage.completion_tokens - 1)
        start = time.perf_counter()
        for chunk in client.chat.completions.create(model=GPT, messages=user("Open the door"), stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                break
        assert time.perf_counter() - start >= 0.120


def test_latency_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIER_SIM_TTFT_MS", "250")
    monkeypatch.setenv("TIER_SIM_TOKEN_MS", "12.5")
    sim = Simulator()
    assert (sim.ttft_ms, sim.token_ms) == (250, 12.5)
    assert Simulator(ttft_ms=0).ttft_ms == 0  # an explicit value wins
    monkeypatch.setenv("TIER_SIM_TOKEN_MS", "fast")
    with pytest.raises(ValueError, match="TIER_SIM_TOKEN_MS"):
        Simulator()


def test_server_thread_basics() -> None:
    srv = ServerThread(create_app())
    with srv:
        assert srv.running and srv.url == f"http://127.0.0.1:{srv.port}" and srv.port > 0
        assert httpx.get(srv.url + "/").text == "Ollama is running"
        with pytest.raises(RuntimeError):
            srv.start()
    assert not srv.running
    srv.stop()  # idempotent


def test_hang_cap_answers_504_in_the_protocols_shape() -> None:
    with ServerThread(create_app(Simulator(hang_s=0.05))) as srv, httpx.Client(base_url=srv.url) as http:
        shapes = {}
        for protocol, make in ERROR_CALLS.items():
            path, body = make(GPT, "[[sim:hang]]")
            r = http.post(path, json=body)
            assert r.status_code == 504, protocol
            shapes[protocol] = r.json()
    assert shapes["openai"]["error"]["type"] == "server_error"
    assert shapes["anthropic"]["error"]["type"] == "timeout_error"
    assert "hang" in shapes["ollama"]["error"]
