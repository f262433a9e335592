"""Instructions per request of the proxy app, counted by callgrind: repeatable where timings are not.

    .venv/bin/python bench/app_instructions.py [full nolog nosinks ...] [--small 60 --large 360]

Drives the whole ASGI app (``create_app``: Starlette, the chat endpoint, the router, the record sinks,
JSON) in this process with ``POST /v1/chat/completions`` and ``model: tier-1``, with a backend whose
``chat`` renders the request body and parses a canned upstream answer without any I/O. The run is
counted under ``valgrind --tool=callgrind`` twice, for ``--small`` and ``--large`` requests, and the
difference is divided by the number of extra requests, so start-up drops out. The counts repeat from
run to run whatever else the machine does; they are user-space instructions of every thread (the
routing-log writer's SQLite work included when the store is on), not time.

Variants: ``full`` (defaults: routing-log store, metrics and every sink), ``nolog``
(TIER_LOG_ENABLED=false), ``nosinks`` (no record sinks at all; the record is still built). About a
minute per variant. Needs valgrind (``apt-get install -y valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import asgi_post  # bench/ is not a package

VARIANTS = ("full", "nolog", "nosinks")
ANSWER = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "llama3.1:8b",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there! Nice to meet you."},
                       "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}}
REQUEST = {"model": "tier-1", "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
           "max_tokens": 64}


def drive(variant: str, n: int) -> None:
    """The counted program: build the app, warm it up, send ``n`` requests."""
    import orjson

    from tiered_router.config import load_settings
    from tiered_router.server.app import create_app
    from tiered_router.tiers import Tier

    canned, body = orjson.dumps(ANSWER), orjson.dumps(REQUEST)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(local_fast_model="http://127.0.0.1:9/v1#llama3.1:8b", cloud_enabled=False,
                                 db=str(Path(tmp) / "log.db"), log_enabled=variant == "full")
        app = create_app(settings=settings)
        router = app.state.router
        backend = router.backends[Tier.LOCAL_FAST]

        async def canned_chat(req: Any) -> Any:
            orjson.dumps(backend._body(req, stream=False))
            return backend._parse_result(orjson.loads(canned))

        backend.chat = canned_chat
        if variant == "nosinks":
            router.recorder.inner.sinks.clear()
        scope, receive, send, statuses = asgi_post("/v1/chat/completions", body)

        async def run(count: int) -> None:
            for _ in range(count):
                await app(dict(scope), receive, send)
            app.state.records.flush()

        loop = asyncio.new_event_loop()
        loop.run_until_complete(run(50))
        if router.log_store is not None:
            router.log_store.flush()
        loop.run_until_complete(run(n))
        if router.log_store is not None:
            router.log_store.close()
        loop.close()
        if set(statuses) != {200}:
            raise SystemExit(f"unexpected statuses {sorted(set(statuses))}")


def count(variant: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", sys.executable,
                              __file__, "--drive", variant, str(n)], capture_output=True, text=True, check=False)
    m = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or not m:
        raise SystemExit(f"callgrind failed ({out.returncode}): {out.stderr[-800:]}")
    return int(m.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("variants", nargs="*", metavar="VARIANT", help=f"any of {', '.join(VARIANTS)} [all]")
    p.add_argument("--small", type=int, default=60)
    p.add_argument("--large", type=int, default=360)
    p.add_argument("--drive", nargs=2, metavar=("VARIANT", "N"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.drive:
        drive(args.drive[0], int(args.drive[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install -y valgrind)")
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variant(s): {', '.join(sorted(unknown))}; choose from {', '.join(VARIANTS)}")
    print(f"{'variant':10} instructions per request (callgrind, {args.large} − {args.small} requests)")
    for variant in args.variants or VARIANTS:
        per = (count(variant, args.large) - count(variant, args.small)) / (args.large - args.small)
        print(f"{variant:10} {per:12,.0f}", flush=True)


if __name__ == "__main__":
    main()
