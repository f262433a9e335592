"""Upstream and budget promises of docs/reliability.md, through the real server on loopback HTTP, the official
clients, the simulator and a real ledger and routing log, on SQLite and on PostgreSQL.

Checked here: a 401/404 cools that backend down for ``TIER_AUTH_COOLDOWN_S`` and it is tried again after; a
rate-limited tier is skipped until its ``Retry-After`` and a request that finds every tier rate-limited is a
429 with the smallest one; adversarial prompts never let the settled spend pass the limit; a provider that
counts more than was reserved is charged what it reported, with a warning, and the window then refuses until
it has room. Every test also checks that the server sent no 5xx and that each request left its record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple

import anthropic
import httpx
import openai
import pytest
from waiting import polled, wait_for

from budget_support import FakeClock
from sim_support import CLOUD, FAST, HEAVY, calls, since
from tiered_router.budget import BudgetTracker
from tiered_router.demo import demo_settings
from tiered_router.observe.store import RoutingLogStore
from tiered_router.routing import TieredModelRouter
from tiered_router.server.app import create_app
from tiered_router.server.runner import ServerThread

ASGI = Callable[..., Any]


class Edge:
    """The router's server on loopback, in front of the simulator, noting the status of every response it
    sends (so a test can say no 5xx left it, whichever client or endpoint it used)."""

    def __init__(self, simulator: ServerThread, db: str, budget: BudgetTracker | None, **settings: Any) -> None:
        settings.setdefault("local_fast_timeout_s", 2.0)
        self.db = db
        self.budget_tracker = budget
        self.statuses: list[int] = []
        self.router = TieredModelRouter(demo_settings(simulator.url, db=db, **settings), budget=budget, sinks=[])
        self.server = ServerThread(self._noting(create_app(self.router))).start()
        self.url = self.server.url
        self.openai = openai.OpenAI(base_url=self.url + "/v1", api_key="k", max_retries=0, timeout=30)
        self.anthropic = anthropic.Anthropic(base_url=self.url, api_key="k", max_retries=0, timeout=30)

    def _noting(self, app: ASGI) -> ASGI:
        async def noted(scope: dict[str, Any], receive: ASGI, send: ASGI) -> None:
            async def sending(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    self.statuses.append(message["status"])
                await send(message)

            await app(scope, receive, sending)

        return noted

    def chat(self, prompt: str, model: str = "auto", **params: Any) -> tuple[str, Any]:
        """(request id, the answer) of one OpenAI chat completion that must succeed."""
        raw = self.openai.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": prompt}], **params)
        return raw.headers["x-request-id"], raw.parse()

    def tiers(self) -> tuple[int, dict[str, dict[str, Any]]]:
        ready = httpx.get(self.url + "/readyz", timeout=10)
        return ready.status_code, ready.json()["tiers"]

    def budget(self) -> dict[str, Any]:
        return httpx.get(self.url + "/v1/router/budget", timeout=10).json()

    def no_5xx(self) -> None:
        assert self.statuses, "the server answered nothing"
        assert all(s < 500 for s in self.statuses), f"the server sent a 5xx: {self.statuses}"

    def stop(self) -> None:
        self.server.stop()
        self.router.close()
        if self.budget_tracker is not None:
            self.budget_tracker.close()


@pytest.fixture
def edge(simulator: ServerThread, db: str) -> Iterator[Callable[..., Edge]]:
    """``edge(budget=None, **settings)``: a server on the test's database (SQLite, then PostgreSQL)."""
    started: list[Edge] = []

    def start(budget: BudgetTracker | None = None, **settings: Any) -> Edge:
        started.append(Edge(simulator, db, budget, **settings))
        return started[-1]

    yield start
    for e in started:
        e.stop()


def logged(db: str, request_id: str) -> dict[str, Any]:
    """The request's record, read from the routing log's database by a store of its own (polled: it is
    written within a second of the answer)."""
    store = RoutingLogStore(db)
    try:
        record = polled(lambda: store.get(request_id), 5)
    finally:
        store.close()
    assert record is not None, f"request {request_id} is not in the routing log"
    return record


def path(record: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    """Each attempt of a record as (tier, outcome, why)."""
    return [(a["tier"], a["router.outcome"], a["router.error"] if a["router.outcome"] == "skipped"
             else a["error.type"]) for a in record["router.attempts"]]


# --- a bad key or a model that is not there ----------------------------------------------------------------------

AUTH_COOLDOWN_S = 2.0  # short, but long enough for the requests made inside it on a loaded machine


@pytest.mark.parametrize(("fast_fault", "heavy_fault"), [("http401", "http404"), ("http403", "http403")])
def test_a_401_403_or_404_cools_that_backend_down_then_it_is_tried_again(edge, simulator, fast_fault: str,
                                                                         heavy_fault: str) -> None:
    server = edge(auth_cooldown_s=AUTH_COOLDOWN_S)
    before = calls(simulator)
    # Tier 1 rejects its key (401) or its permissions (403), tier 2 has no such model (404) or refuses it (403):
    # the cloud answers, the client sees no error.
    first, answer = server.chat(f"Walk to the next room [[sim:{fast_fault}@{FAST}]] [[sim:{heavy_fault}@{HEAVY}]]")
    assert answer.model == CLOUD and answer.choices[0].message.content
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 1}

    status, tiers = server.tiers()
    assert status == 200  # the cloud can answer
    for tier in ("local-fast", "local-heavy"):
        assert tiers[tier]["state"] == "auth-failed"
        assert 0 < tiers[tier]["seconds_left"] <= AUTH_COOLDOWN_S
    assert tiers["cloud"]["state"] == "ok"

    before = calls(simulator)
    skipped, answer = server.chat("Walk to the next room")  # inside the cool-down: neither is called
    assert answer.model == CLOUD and since(simulator, before) == {"fast": 0, "heavy": 0, "cloud": 1}

    took = wait_for(lambda: all(server.tiers()[1][t]["state"] == "ok" for t in ("local-fast", "local-heavy")),
                    AUTH_COOLDOWN_S + 3, "the cool-down ending on /readyz")
    assert took <= AUTH_COOLDOWN_S + 1
    before = calls(simulator)
    again, answer = server.chat("Walk to the next room")  # the key was fixed: tier 1 is tried again, and answers
    assert answer.model == FAST and since(simulator, before)["fast"] == 1

    assert path(logged(server.db, first)) == [(1, "error", "auth"), (2, "error", "auth"), (3, "accepted", None)]
    assert path(logged(server.db, skipped)) == [(1, "skipped", "auth-failed"), (2, "skipped", "auth-failed"),
                                                (3, "accepted", None)]
    record = logged(server.db, again)
    assert record["router.final_tier"] == 1 and record["router.status"] == "ok"
    cloud_cost = sum(logged(server.db, r)["router.cost_usd"] for r in (first, skipped))
    daily = server.budget()["daily"]
    assert cloud_cost > 0 and daily["spent_usd"] == pytest.approx(cloud_cost) and daily["reserved_usd"] == 0
    server.no_5xx()


# --- rate limits -------------------------------------------------------------------------------------------------


def test_every_tier_rate_limited_is_a_429_with_the_smallest_retry_after(edge, simulator) -> None:
    server = edge()
    before = calls(simulator)
    with pytest.raises(openai.RateLimitError) as limited:  # each tier asks for a different wait
        server.chat(f"Walk on [[sim:http429:30@{FAST}]] [[sim:http429:10@{HEAVY}]] [[sim:http429:20@{CLOUD}]]")
    response = limited.value.response
    assert response.headers["retry-after"] == "10"  # the smallest: the client decides when to come back
    assert limited.value.code == "rate_limited" and response.headers["x-request-id"]
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 1}  # each tried once, none retried
    first = response.headers["x-request-id"]

    # Within those waits no tier is called: the Anthropic front says so too, with what is left of the smallest.
    with pytest.raises(anthropic.RateLimitError) as again:
        server.anthropic.messages.create(model="auto", max_tokens=50,
                                         messages=[{"role": "user", "content": "Walk to the next room"}])
    assert 1 <= int(again.value.response.headers["retry-after"]) <= 10
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 1}
    second = again.value.response.headers["x-request-id"]
    status, tiers = server.tiers()
    assert status == 503 and {t["state"] for t in tiers.values()} == {"rate-limited"}  # nothing can answer now

    assert path(logged(server.db, first)) == [(1, "error", "rate_limited"), (2, "error", "rate_limited"),
                                              (3, "error", "rate_limited")]
    assert path(logged(server.db, second)) == [(t, "skipped", "rate-limited") for t in (1, 2, 3)]
    assert logged(server.db, second)["router.status"] == "error"
    daily = server.budget()["daily"]
    assert daily["spent_usd"] == 0 and daily["reserved_usd"] == 0  # the cloud's 429 cost nothing: released
    assert [s for s in server.statuses if s != 200] == [429, 429, 503]  # /readyz: no tier can answer


RETRY_AFTER_S = 2  # what the rate-limited tier asks for


def test_a_rate_limited_tier_is_skipped_until_its_retry_after(edge, simulator) -> None:
    server = edge()
    before = calls(simulator)
    limited, answer = server.chat(f"Walk to the next room [[sim:http429:{RETRY_AFTER_S}@{FAST}]]")
    assert answer.model == HEAVY  # the request went on to the next tier
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 0}
    status, tiers = server.tiers()
    assert status == 200 and tiers["local-fast"]["state"] == "rate-limited"
    assert 0 < tiers["local-fast"]["seconds_left"] <= RETRY_AFTER_S

    before = calls(simulator)
    skipped, answer = server.chat("Walk to the next room")
    assert answer.model == HEAVY and since(simulator, before) == {"fast": 0, "heavy": 1, "cloud": 0}

    took = wait_for(lambda: server.tiers()[1]["local-fast"]["state"] == "ok", RETRY_AFTER_S + 3,
                    "the rate limit ending on /readyz")
    assert took <= RETRY_AFTER_S + 1
    before = calls(simulator)
    back, answer = server.chat("Walk to the next room")
    assert answer.model == FAST and since(simulator, before)["fast"] == 1

    assert path(logged(server.db, limited)) == [(1, "error", "rate_limited"), (2, "accepted", None)]
    assert path(logged(server.db, skipped)) == [(1, "skipped", "rate-limited"), (2, "accepted", None)]
    assert path(logged(server.db, back)) == [(1, "accepted", None)]
    server.no_5xx()


# --- adversarial prompts against a small budget -------------------------------------------------------------------

DAILY_LIMIT_USD = 0.01
# Text a provider's tokenizer splits finely: one token per character or per byte, not per word.
PUNCTUATION = "!?.,;:'\"-()[]{}<>/\\|@#$%^&*~`+="
CJK = "漢字仮名交じり文の試験です東京大阪"
EMOJI = "🙂🚀🔥🐉🧙🏰⚔️🛡️"


def fill(alphabet: str, chars: int) -> str:
    return (alphabet * (chars // len(alphabet) + 1))[:chars]


class Cloud(NamedTuple):
    """What one forced cloud request got."""

    status: int
    request_id: str
    cost_usd: float  # charged for it (x-router-cost-usd), 0 when refused
    refusal: str  # "code: message" of the error (Anthropic's shape: "type: message"), "" when answered


def ask_cloud(server: Edge, prompt: str, front: str, **params: Any) -> Cloud:
    """One forced cloud request through the OpenAI or the Anthropic front, with one output token."""
    messages: Any = [{"role": "user", "content": prompt}]
    try:
        if front == "openai":
            raw: Any = server.openai.chat.completions.with_raw_response.create(
                model="cloud", messages=messages, max_tokens=1, **params)
        else:
            raw = server.anthropic.messages.with_raw_response.create(
                model="cloud", messages=messages, max_tokens=1, **params)
    except (openai.APIStatusError, anthropic.APIStatusError) as exc:
        body: Any = exc.body
        error = body.get("error", body) if isinstance(body, dict) else {}  # the OpenAI SDK unwraps "error"
        kind = error.get("code") if front == "openai" else error.get("type")  # Anthropic's shape has no code
        return Cloud(exc.status_code, exc.response.headers["x-request-id"], 0.0, f"{kind}: {error.get('message')}")
    return Cloud(raw.status_code, raw.headers["x-request-id"], float(raw.headers["x-router-cost-usd"]), "")


def refused_for_budget(got: Cloud) -> bool:
    """A clear refusal, in the front's own terms: OpenAI's code says budget_exceeded, and the message (all that
    Anthropic's shape carries besides its rate_limit_error type) names the window and what is left."""
    kind, _, message = got.refusal.partition(": ")
    return (got.status == 429 and kind in ("budget_exceeded", "rate_limit_error")
            and "cloud budget exceeded" in message and "is left" in message)


def test_adversarial_prompts_never_take_the_spend_past_the_limit(edge, simulator, db) -> None:
    server = edge(cloud_daily_budget_usd=DAILY_LIMIT_USD)
    before = calls(simulator)
    # 36,000 characters whose worst case cannot fit in $0.01, even for one output token: refused before the call.
    huge = [fill(PUNCTUATION, 36_000), fill(CJK, 36_000), fill(EMOJI, 36_000)]
    refused = [ask_cloud(server, prompt, front) for prompt in huge for front in ("openai", "anthropic")]
    assert all(refused_for_budget(r) for r in refused), refused
    assert since(simulator, before)["cloud"] == 0  # no paid call was made for any of them
    # The official clients, with their default retries, take the refusal as final: a retry cannot help before
    # the window ends, and each one would be another refused request in the routing log.
    seen = len(server.statuses)
    with pytest.raises(openai.RateLimitError):
        openai.OpenAI(base_url=server.url + "/v1", api_key="k", timeout=30).chat.completions.create(
            model="cloud", max_tokens=1, messages=[{"role": "user", "content": huge[0]}])
    with pytest.raises(anthropic.RateLimitError):
        anthropic.Anthropic(base_url=server.url, api_key="k", timeout=30).messages.create(
            model="cloud", max_tokens=1, messages=[{"role": "user", "content": huge[1]}])
    assert len(server.statuses) == seen + 2, "a budget refusal was retried"
    n64 = ask_cloud(server, "Summarise the quest log in one line.", "openai", extra_body={"n": 64})
    assert n64.status == 400 and n64.refusal.startswith("unsupported_field: n:")  # 64 billed answers for one
    assert since(simulator, before)["cloud"] == 0

    # Prompts that fit one at a time but not all together, sent at once through both fronts.
    fitting = [fill(alphabet, 1_200) for alphabet in (PUNCTUATION, CJK, EMOJI)] * 4
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask_cloud, [server] * len(fitting), fitting,
                                ["openai", "anthropic"] * (len(fitting) // 2)))
    answered = [r for r in results if r.status == 200]
    assert answered and len(answered) < len(results)
    assert all(refused_for_budget(r) for r in results if r.status != 200), results
    assert since(simulator, before)["cloud"] == len(answered)

    daily = server.budget()["daily"]
    assert daily["spent_usd"] <= DAILY_LIMIT_USD and daily["reserved_usd"] == 0
    assert daily["spent_usd"] == pytest.approx(sum(r.cost_usd for r in answered), abs=1e-5)  # none lost
    ledger = BudgetTracker(db=db, daily_limit_usd=DAILY_LIMIT_USD)  # the ledger itself, read on its own
    try:
        assert ledger.get_summary()["daily"]["spent_usd"] == pytest.approx(daily["spent_usd"])
    finally:
        ledger.close()
    for got in [*refused, *results]:
        record = logged(db, got.request_id)
        assert record["router.status"] == ("ok" if got.status == 200 else "error")
        assert record["router.cost_usd"] == pytest.approx(got.cost_usd, abs=1e-6)
    server.no_5xx()


# --- a provider that counts more than was reserved ----------------------------------------------------------------

OVERCOUNT_LIMIT_USD = 0.05


def test_a_provider_that_counts_more_than_was_reserved_is_charged_what_it_reported(edge, simulator, db,
                                                                                   caplog) -> None:
    caplog.set_level(logging.WARNING, logger="tiered_router")
    clock = FakeClock(datetime(2026, 6, 10, 12, tzinfo=UTC))  # mid-month: the next day is in the same month
    server = edge(budget=BudgetTracker(db=db, daily_limit_usd=OVERCOUNT_LIMIT_USD, monthly_limit_usd=50,
                                       clock=clock))
    # 20 output tokens at most, but the provider reports 1000 times what it was sent and produced.
    prompt = "Summarise the quest log in one line. [[sim:overcount:1000]]"
    first, answer = server.chat(prompt, model="cloud", max_tokens=20)
    assert answer.usage.completion_tokens == 20 * 1000 and answer.usage.prompt_tokens % 1000 == 0
    record = logged(db, first)
    cost = record["router.cost_usd"]
    assert cost > OVERCOUNT_LIMIT_USD  # more than any reservation the window let through: charged what it reported
    assert record["router.attempts"][0]["gen_ai.usage.output_tokens"] == 20 * 1000
    daily = server.budget()["daily"]
    assert daily["spent_usd"] == pytest.approx(cost) and daily["reserved_usd"] == 0
    assert any(first in m and "more than" in m for m in caplog.messages), caplog.messages  # someone is told

    # The window is past its limit: no new reservation until it has room; local tiers still answer.
    before = calls(simulator)
    assert refused_for_budget(ask_cloud(server, "Walk to the next room", "openai"))
    assert refused_for_budget(ask_cloud(server, "Walk to the next room", "anthropic"))
    assert server.chat("Walk to the next room")[1].model == FAST
    assert since(simulator, before) == {"fast": 1, "heavy": 0, "cloud": 0}

    clock.advance(days=1)  # a new day: the daily window has room again; a streamed answer over-counts too
    with server.anthropic.messages.stream(model="cloud", max_tokens=20,
                                          messages=[{"role": "user", "content": prompt}]) as stream:
        assert "".join(stream.text_stream)
        second = stream.response.headers["x-request-id"]
    assert stream.get_final_message().usage.output_tokens == 20 * 1000
    streamed = logged(db, second)["router.cost_usd"]
    assert streamed > OVERCOUNT_LIMIT_USD
    assert polled(lambda: any(second in m and "more than" in m for m in caplog.messages), 5)
    summary = server.budget()
    assert summary["daily"]["spent_usd"] == pytest.approx(streamed) and summary["daily"]["reserved_usd"] == 0
    assert summary["monthly"]["spent_usd"] == pytest.approx(cost + streamed)
    assert refused_for_budget(ask_cloud(server, "Walk to the next room", "openai"))
    assert since(simulator, before)["cloud"] == 1
    server.no_5xx()
