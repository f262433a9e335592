"""Router CPU per request as a request grows: 1, 50 and 500 messages, and 1 kB, 32 kB and 256 kB prompts.

    .venv/bin/python bench/scaling.py [--requests 200] [--rounds 5] [--json]

The whole server app (``create_app``: the front, the schema, the chat model, the classifier, the engine,
the gate, the record and its sinks, the routing log) is driven in-process with ``model: auto`` and an
upstream that answers at once with a canned completion, so every CPU second counted is the router's. The
anchor ("direct") is the least any JSON server pays for the same request: read the body as JSON and send
the canned answer back. CPU is ``time.process_time`` (every thread of the process, the routing log's writer
included) over ``--requests`` requests, best of ``--rounds`` rounds; the table gives milliseconds per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import asgi_post, machine, machine_line

ANSWER = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "llama3.1:8b",
          "choices": [{"index": 0, "message": {"role": "assistant",
                                               "content": "The door opens onto a quiet corridor lit by torches."},
                       "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 12, "completion_tokens": 12, "total_tokens": 24}}
TURN = "Walk along the corridor and look at each of the paintings on the wall, one by one, slowly."  # ~90 chars


def conversation(n: int) -> list[dict[str, str]]:
    """``n`` messages, alternating user and assistant, ending with a user turn."""
    roles = ["user", "assistant"]
    return [{"role": roles[(n - 1 - i) % 2], "content": f"{TURN} ({i})"} for i in range(n)]


def prompt(size: int) -> list[dict[str, str]]:
    text = "Summarise these notes from the expedition log for the council. "
    filler = "The caravan left Balmora at dawn and followed the river north past the old watchtower. "
    return [{"role": "user", "content": text + filler * max(0, (size - len(text)) // len(filler))}]


SHAPES: dict[str, list[dict[str, str]]] = {
    "1 message": conversation(1), "50 messages": conversation(50), "500 messages": conversation(500),
    "1 kB prompt": prompt(1_000), "32 kB prompt": prompt(32_000), "256 kB prompt": prompt(256_000),
}


def direct_app() -> Callable[..., Awaitable[None]]:
    canned = orjson.dumps(ANSWER)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        orjson.loads(message["body"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": canned})

    return app


def router_app(tmp: str) -> Any:
    from tiered_router.config import load_settings
    from tiered_router.server.app import create_app
    from tiered_router.tiers import Tier

    settings = load_settings(local_fast_model="http://127.0.0.1:9/v1#llama3.1:8b",
                             local_heavy_model="http://127.0.0.1:9/v1#hermes3:70b", cloud_enabled=False,
                             db=str(Path(tmp) / "log.db"), local_fast_context=500_000, local_heavy_context=500_000,
                             max_body_bytes=4 * 1024 * 1024)
    app = create_app(settings=settings)
    canned = orjson.dumps(ANSWER)
    for tier in (Tier.LOCAL_FAST, Tier.LOCAL_HEAVY):
        backend = app.state.router.backends[tier]

        async def chat(req: Any, backend: Any = backend) -> Any:  # what the backend does, without the network
            orjson.dumps(backend._body(req, stream=False))
            return backend._parse_result(orjson.loads(canned))

        backend.chat = chat
    return app


def cpu_per_request_ms(app: Any, body: bytes, requests: int, rounds: int, flush: Callable[[], None]) -> float:
    scope, receive, send, statuses = asgi_post("/v1/chat/completions", body)

    async def run(n: int) -> None:
        for _ in range(n):
            await app(dict(scope), receive, send)
        flush()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run(20))  # warm-up
        best = float("inf")
        for _ in range(rounds):
            cpu0 = time.process_time()
            loop.run_until_complete(run(requests))
            best = min(best, (time.process_time() - cpu0) / requests * 1000)
    finally:
        loop.close()
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected statuses {sorted(set(statuses))}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        app = router_app(tmp)
        store = app.state.router.log_store

        def flush() -> None:
            app.state.records.flush()
            if store is not None:
                store.flush()

        direct = direct_app()
        for label, messages in SHAPES.items():
            body = orjson.dumps({"model": "auto", "messages": messages})
            routed = cpu_per_request_ms(app, body, args.requests, args.rounds, flush)
            floor = cpu_per_request_ms(direct, body, args.requests, args.rounds, lambda: None)
            rows.append({"request": label, "body_kb": len(body) / 1024, "router_cpu_ms": routed,
                         "direct_cpu_ms": floor, "router_over_direct_ms": routed - floor})
        if store is not None:
            store.close()
    info = machine()
    if args.json:
        print(json.dumps({"machine": info, "rows": rows}, indent=2))
        return
    table = Table(title="CPU per request through auto, in-process, canned upstream (ms)")
    for column in ("request", "body", "router", "direct (JSON in, answer out)", "router over direct"):
        table.add_column(column, justify="left" if column == "request" else "right")
    for r in rows:
        table.add_row(r["request"], f"{r['body_kb']:.0f} kB", f"{r['router_cpu_ms']:.3f}", f"{r['direct_cpu_ms']:.3f}",
                      f"{r['router_over_direct_ms']:.3f}")
    console = Console(width=120)
    console.print(table)
    console.print(f"best of {args.rounds} rounds of {args.requests} requests. {machine_line(info)}", highlight=False)


if __name__ == "__main__":
    main()
