"""The router learning from its own outcomes, end to end: requests through the server (official openai client)
against the simulator, feedback on the answers, ``tiered-router learn`` fitting a model on the routing log,
promoting it only on a replayed gain, ``--status`` showing it, the router picking it up, ``--rollback``; and
the pieces alone (labels from records, the model store on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import random

import httpx
import openai
import pytest
from click.testing import CliRunner

from tiered_router.chat import read_leniently
from tiered_router.cli import main
from tiered_router.learn import FeatureConfig
from tiered_router.learn.from_log import MIN_TO_FIT, label_of, labelled_requests
from tiered_router.learn.stored import request_features
from tiered_router.observe.store import RoutingLogStore
from tiered_router.options import RouteOptions

TOWNS = ["Balmora", "Vivec", "Ald'ruhn", "Sadrith Mora", "Caldera", "Pelagiad", "Suran", "Gnisis", "Ebonheart",
         "Khuul", "Maar Gan", "Molag Mar"]
ITEMS = ["iron dagger", "bread", "netch leather", "silver spear", "scrib jelly", "steel axe", "saltrice",
         "glass armor", "moon sugar", "chitin bow"]
# Requests about these need the bigger model (the user says so); the heuristic cannot tell them apart.
HARD = ["daedric", "enchanted", "dwemer"]
PLAIN = ["worn", "common", "small"]  # as long as the hard words: length says nothing


def prompts(n: int, seed: int = 7) -> list[tuple[str, bool]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        hard = i % 2 == 0
        item = f"{rng.choice(HARD if hard else PLAIN)} {rng.choice(ITEMS)}"
        out.append((f"Look up the price of {item} in {rng.choice(TOWNS)}", hard))
    return out


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def ask_and_judge(server, items: list[tuple[str, bool]], score=None, tag: str = "req") -> list[str]:
    """Each prompt through the server with the openai client; feedback on each answer when ``score`` is given.

    The requests carry their own ids (``x-request-id``, which the router keeps): ``learn`` holds out 30 % of
    the requests by a hash of their id, so random ids would draw a new held-out set on every run, and whether
    a model wins its replay would change from run to run (now and then, noise won it)."""
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    ids = []
    for i, (text, hard) in enumerate(items):
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": text}], extra_headers={"x-request-id": f"{tag}-{i}"})
        assert raw.parse().router["tier"] == 1  # the heuristic keeps all of them on tier 1
        ids.append(raw.headers["x-request-id"])
        assert ids[-1] == f"{tag}-{i}"  # the router kept the client's id
        if score is not None:
            r = httpx.post(server.url + "/v1/router/feedback", json={"request_id": ids[-1], "score": score(hard)})
            assert r.status_code == 200, r.text
    return ids


def greetings(n: int) -> list[tuple[str, bool]]:
    # Every simulated model answers a greeting with the same line: a tier-2 shadow agrees with tier 1.
    return [(f"Hello there, {TOWNS[i % len(TOWNS)]} traveller!", False) for i in range(n)]


def test_feedback_and_shadows_teach_the_router_and_only_a_better_model_goes_live(serve, tmp_path,
                                                                                monkeypatch) -> None:
    db = str(tmp_path / "learn.db")
    server = serve(db=db, log_content=True, shadow_rate=1.0)
    monkeypatch.setenv("TIER_DB", db)
    code, out = cli("learn", "--status")
    assert code == 0 and "no learned model yet" in out

    # Feedback on 120 answers: those about daedric, enchanted or dwemer goods needed more than tier 1.
    ask_and_judge(server, prompts(120), lambda hard: "bad" if hard else "good", tag="judged")
    # No feedback on 80 more: tier 2's shadow answers say it. It disagrees with tier 1 on the hard lookups
    # (the simulated models answer differently) and agrees on greetings.
    ask_and_judge(server, [p for p in prompts(80, seed=9) if p[1]] + greetings(40), tag="shadowed")
    server.stop()  # waits for the shadow samples still running
    assert server.router.shadows.stats.unlogged == 0

    code, out = cli("learn", "--json")
    assert code == 0, out
    run = json.loads(out)
    assert run["sources"]["feedback"] == 120 and run["sources"]["shadow"] >= 60, run["sources"]
    comparison = run["comparison"]
    assert run["promoted"], run["reason"]
    assert comparison["apgr_candidate"] > comparison["apgr_live"] and comparison["ci_low"] > 0

    code, out = cli("learn", "--status", "--json")
    [live] = [m for m in json.loads(out) if m["state"] == "live"]
    assert live["version"] == run["version"] and live["replay"]["gain"] == pytest.approx(comparison["gain"])
    code, table = cli("learn", "--status")
    assert f"live: {run['version']}" in table

    # A server started on this log routes with the model: a hard request scores above an easy one, and says why.
    server = serve(db=db, log_content=True)
    pair = ("Look up the price of daedric bread in Balmora", "Look up the price of worn bread in Balmora")
    classify = [httpx.post(server.url + "/v1/router/classify", json={"prompt": p}).json() for p in pair]
    assert any(r.startswith("learned:") for r in classify[0]["reasons"])
    assert classify[0]["score"] > classify[1]["score"]

    # Learning again on the same outcomes fits a model no better than the live one: it stays a candidate.
    code, out = cli("learn", "--json")
    again = json.loads(out)
    assert not again["promoted"] and again["version"] != run["version"]
    assert "gain" in again["reason"]
    code, out = cli("learn", "--status", "--json")
    states = {m["version"]: m["state"] for m in json.loads(out)}
    assert states == {run["version"]: "live", again["version"]: "candidate"}

    code, out = cli("learn", "--rollback")
    assert code == 0 and "the heuristic alone" in out
    assert server.app.state.router.refresh_model()  # what the server's learning loop does every minute
    assert not any(r.startswith("learned:") for r in httpx.post(
        server.url + "/v1/router/classify", json={"prompt": pair[0]}).json()["reasons"])


def test_noise_is_not_promoted(serve, tmp_path, monkeypatch) -> None:
    db = str(tmp_path / "noise.db")
    server = serve(db=db, log_content=True)
    rng = random.Random(3)
    ask_and_judge(server, prompts(100, seed=11), lambda hard: rng.choice(["good", "bad"]), tag="noise")
    monkeypatch.setenv("TIER_DB", db)
    code, out = cli("learn", "--json")
    run = json.loads(out)
    assert code == 0 and run["version"] and not run["promoted"]
    code, out = cli("learn", "--status", "--json")
    assert [m["state"] for m in json.loads(out)] == ["candidate"]


def test_learning_needs_the_prompts(serve, tmp_path, monkeypatch) -> None:
    db = str(tmp_path / "private.db")
    server = serve(db=db)  # TIER_LOG_CONTENT off: no prompt is stored
    ask_and_judge(server, prompts(MIN_TO_FIT + 20), lambda hard: "bad")
    monkeypatch.setenv("TIER_DB", db)
    code, out = cli("learn")
    assert code == 0 and "nothing fitted" in out and "TIER_LOG_CONTENT=true" in out


def test_stored_features_teach_the_router_without_storing_a_prompt(serve, tmp_path, monkeypatch) -> None:
    """TIER_LOG_FEATURES without TIER_LOG_CONTENT: the log keeps hashed features in place of the text, and
    the learner fits, replays and promotes on them alone."""
    db = str(tmp_path / "features.db")
    server = serve(db=db, log_features=True)  # TIER_LOG_CONTENT off
    ask_and_judge(server, prompts(120), lambda hard: "bad" if hard else "good", tag="hashed")
    server.stop()

    store = RoutingLogStore(db)
    try:
        records = store.recent(1000)
        raw = store.query("SELECT prompt, answer, features FROM router_requests")
    finally:
        store.close()
    assert len(records) == 120 and all(r.get("router.prompt") is None and r["router.features"] for r in records)
    stored = " ".join(str(value) for row in raw for value in row).lower()
    for word in ("daedric", "balmora", "look up the price"):  # no text of any prompt is in the log
        assert word not in stored

    monkeypatch.setenv("TIER_DB", db)
    code, out = cli("learn", "--json")
    assert code == 0, out
    run = json.loads(out)
    assert run["labelled"] == 120 and run["from_features"] == 120 and run["without_prompt"] == 0
    assert run["promoted"], run["reason"]
    assert run["comparison"]["apgr_candidate"] > run["comparison"]["apgr_live"]
    code, table = cli("learn", "--status")
    assert code == 0 and f"live: {run['version']}" in table
    code, again = cli("learn")
    assert code == 0 and "120 known by their stored features only" in again

    # A server on this log routes with the model it learned from hashes: the hard request scores higher.
    server = serve(db=db)
    pair = ("Look up the price of daedric bread in Balmora", "Look up the price of worn bread in Balmora")
    classify = [httpx.post(server.url + "/v1/router/classify", json={"prompt": p}).json() for p in pair]
    assert any(r.startswith("learned:") for r in classify[0]["reasons"])
    assert classify[0]["score"] > classify[1]["score"]


def test_rollback_with_nothing_live_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TIER_DB", str(tmp_path / "empty.db"))
    code, out = cli("learn", "--rollback")
    assert code == 1 and "no learned model is live" in out


def record(final: int, status: str = "ok", **fields) -> dict:
    return {"request_id": "r", "router.status": status, "router.final_tier": final, "router.attempts": [],
            "router.prompt": [{"role": "user", "content": "hi"}], **fields}


@pytest.mark.parametrize("rec, expected", [
    (record(1, **{"router.feedback": {"score": 0.25}}), (0.75, "feedback")),
    (record(1, **{"router.shadow": {"tier": 2, "agree": False}}), (1.0, "shadow")),
    (record(1, **{"router.shadow": {"tier": 2, "agree": True}}), (0.0, "shadow")),
    (record(2, **{"router.attempts": [{"tier": 1, "router.outcome": "rejected"},
                                      {"tier": 2, "router.outcome": "accepted"}]}), (1.0, "gate")),
    # Tier 1 tried a request that started on tier 2 (a downward shadow): would it have done?
    (record(2, **{"router.shadow_down": {"tier": 1, "agree": True}}), (0.0, "shadow_down")),
    (record(2, **{"router.shadow_down": {"tier": 1, "agree": False}}), (1.0, "shadow_down")),
    (record(3, **{"router.shadow_down": {"tier": 1, "agree": True}}), None),  # not tier 2's answer it tried
    # The second opinion: tiers 1 and 2 compared, whichever answered and wherever the request started.
    (record(1, **{"router.verify": {"tier": 2, "agree": True}}), (0.0, "verify")),
    (record(2, **{"router.verify": {"tier": 2, "agree": True}}), (0.0, "verify")),
    (record(3, **{"router.verify": {"tier": 2, "agree": False},
                  "router.attempts": [{"tier": 1, "router.outcome": "rejected"},
                                      {"tier": 2, "router.outcome": "rejected"},
                                      {"tier": 3, "router.outcome": "accepted"}]}), (1.0, "verify")),  # not "gate"
    # Feedback, then a shadow, come before it.
    (record(1, **{"router.verify": {"tier": 2, "agree": True}, "router.feedback": {"score": 0.0}}),
     (1.0, "feedback")),
    (record(1, **{"router.verify": {"tier": 2, "agree": True}, "router.shadow": {"tier": 2, "agree": False}}),
     (1.0, "shadow")),
    (record(1), None),  # accepted on tier 1, nobody said anything
    (record(2, **{"router.feedback": {"score": 0.0}}), None),  # started above tier 1: says nothing of it
    (record(1, status="error", **{"router.feedback": {"score": 0.0}}), None),
])
def test_what_a_record_teaches(rec, expected) -> None:
    assert label_of(rec) == expected


def test_labelled_requests_without_prompts_are_counted_not_used() -> None:
    with_prompt = record(1, **{"router.feedback": {"score": 1.0}})
    without = {**with_prompt, "router.prompt": None}
    found, missing = labelled_requests([with_prompt, without, record(1)])
    assert [f.label for f in found] == [0.0] and missing == 1


def test_labelled_requests_use_stored_features_of_the_default_configuration_only() -> None:
    messages = read_leniently([{"role": "user", "content": "Look up the price of daedric bread in Balmora"}])
    features = request_features(messages, RouteOptions())
    other = request_features(messages, RouteOptions(), FeatureConfig(bits=12))
    judged = {"router.feedback": {"score": 0.0}, "router.prompt": None}
    found, missing = labelled_requests([record(1, **judged, **{"router.features": features}),
                                        record(1, **judged, **{"router.features": other}),
                                        record(1, **judged, **{"router.features": "{not json"})])
    assert missing == 2 and len(found) == 1
    [item] = found
    assert item.label == 1.0 and item.messages == () and item.row is not None and item.example is item.row


def test_model_store_promotes_and_rolls_back_atomically(db) -> None:
    store = RoutingLogStore(db)
    try:
        models = store.models
        assert models.live() is None and models.live_version() is None
        models.add("v1", '{"m": 1}', 50, {"gain": 0.1}, live=True)
        models.add("v2", '{"m": 2}', 80, {"reason": "no gain"}, live=False)
        models.add("v3", '{"m": 3}', 90, {"gain": 0.05}, live=True)
        assert [(m.version, m.state) for m in models.recent()] == [
            ("v3", "live"), ("v2", "candidate"), ("v1", "retired")]
        assert models.live().model == '{"m": 3}' and models.live().previous == "v1"
        assert models.rollback().version == "v1"
        assert models.rollback() is None  # v1 replaced nothing: back to the heuristic alone
        with pytest.raises(LookupError):
            models.rollback()
    finally:
        store.close()


def test_too_few_held_out_outcomes_are_reported_as_json_without_nan(serve, tmp_path, monkeypatch) -> None:
    db = str(tmp_path / "few.db")
    server = serve(db=db, log_content=True)
    ask_and_judge(server, prompts(40, seed=5), lambda hard: "bad" if hard else "good")
    monkeypatch.setenv("TIER_DB", db)
    code, out = cli("learn", "--json")
    assert code == 0 and "NaN" not in out  # JSON has no NaN: an undefined APGR is null
    run = json.loads(out)
    assert not run["promoted"] and "held-out outcomes" in run["reason"]
    assert run["comparison"]["apgr_live"] is None and run["comparison"]["n"] == run["holdout"] < 30
