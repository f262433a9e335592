"""Time to the first byte of a streamed answer: through the router under ``auto``, against the same model direct.

    .venv/bin/python bench/stream_ttfb.py [--runs 9] [--ttft-ms 200] [--token-ms 20] [--json]

The simulator (a subprocess) answers with ``--ttft-ms`` before the first token and ``--token-ms`` per token
after it; the router (a subprocess, cloud enabled, all tiers on the simulator) is driven over Ollama's
``/api/chat`` with ``model: auto`` and ``stream: true``, and the same request goes straight to the simulator
with the model the router picks. Time to first byte is when the first line with answer text arrives.

A tier that may still escalate holds back its head (``TIER_STREAM_HOLD_TOKENS``, default 32, or
``TIER_STREAM_HOLD_MS``, default 1500, after the first token) and gates it; so the router's first byte should
come at most one hold window after the direct one: 31 more tokens at 20 ms, 0.62 s. Runs alternate between
the two paths; the table gives medians and the worst run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import LOOPBACK, Children, clean_env, free_port, machine, machine_line

PROMPTS = {  # label: (prompt, the model the classifier sends it to)
    "tier-2 plan": ("Plan the optimal path to become Hortator", "hermes3:70b"),
    "tier-1 action": ("Walk to the next room", "llama3.1:8b"),
}


def first_byte_s(client: httpx.Client, url: str, model: str, prompt: str) -> tuple[float, float]:
    """(seconds to the first line with answer text, seconds to the end of the stream)."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True}
    t0 = time.perf_counter()
    first = None
    with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if first is None and line and json.loads(line).get("message", {}).get("content"):
                first = time.perf_counter() - t0
    end = time.perf_counter() - t0
    if first is None:
        raise RuntimeError(f"no answer text from {url}")
    return first, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--ttft-ms", type=float, default=200.0)
    parser.add_argument("--token-ms", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    info = machine()
    rows = []
    with Children() as kids:
        sim_port = free_port()
        sim = kids.start("simulator", [sys.executable, "-m", "tiered_router.cli", "simulate", "--host", LOOPBACK,
                                       "--port", str(sim_port), "--ttft-ms", str(args.ttft_ms),
                                       "--token-ms", str(args.token_ms)],
                         port=sim_port, ready="/v1/models", env=clean_env(), timeout=30)
        sim_url = f"http://{LOOPBACK}:{sim.port}"
        port = free_port()
        env = clean_env({
            "TIER_LOCAL_FAST_MODEL": "ollama/llama3.1:8b", "TIER_LOCAL_FAST_URL": sim_url,
            "TIER_LOCAL_HEAVY_MODEL": "ollama/hermes3:70b", "TIER_LOCAL_HEAVY_URL": sim_url,
            "TIER_CLOUD_MODEL": "anthropic/claude-haiku-4-5", "TIER_CLOUD_URL": sim_url,
            "TIER_CLOUD_API_KEY": "simulator", "TIER_CLOUD_ENABLED": "true",
            "TIER_DB": str(kids.dir / "ttfb.db"),
        })
        router = kids.start("router", [sys.executable, "-m", "tiered_router.cli", "serve", "--host", LOOPBACK,
                                       "--port", str(port)], port=port, ready="/healthz", env=env, timeout=30)
        with httpx.Client(timeout=60) as client:
            for label, (prompt, model) in PROMPTS.items():
                direct, routed, ends = [], [], []
                for run in range(args.runs + 1):  # the first round warms both paths up
                    d = first_byte_s(client, f"{sim_url}/api/chat", model, prompt)
                    r = first_byte_s(client, f"http://{LOOPBACK}:{router.port}/api/chat", "auto", prompt)
                    if run:
                        direct.append(d[0])
                        routed.append(r[0])
                        ends.append(d[1])
                rows.append({
                    "prompt": label, "model": model, "runs": args.runs,
                    "direct_ttfb_s": statistics.median(direct), "router_ttfb_s": statistics.median(routed),
                    "over_direct_s": statistics.median(routed) - statistics.median(direct),
                    "worst_over_direct_s": max(r - d for r, d in zip(routed, direct, strict=True)),
                    "direct_full_answer_s": statistics.median(ends),
                })
    hold_s = 31 * args.token_ms / 1000
    if args.json:
        print(json.dumps({"machine": info, "ttft_ms": args.ttft_ms, "token_ms": args.token_ms, "hold_window_s": hold_s,
                          "rows": rows}, indent=2))
        return
    table = Table(title=f"Time to first byte, streamed, auto with the cloud enabled (simulator at {args.ttft_ms:g} ms "
                        f"to the first token, {args.token_ms:g} ms a token)")
    for column in ("prompt", "answered by", "direct", "router", "over direct", "worst run over direct",
                   "direct whole answer"):
        table.add_column(column, justify="left" if column in ("prompt", "answered by") else "right")
    for row in rows:
        table.add_row(row["prompt"], row["model"], f"{row['direct_ttfb_s']:.3f} s", f"{row['router_ttfb_s']:.3f} s",
                      f"+{row['over_direct_s']:.3f} s", f"+{row['worst_over_direct_s']:.3f} s",
                      f"{row['direct_full_answer_s']:.3f} s")
    console = Console()
    console.print(table)
    console.print(f"hold window: 32 tokens (31 after the first) × {args.token_ms:g} ms = {hold_s:.2f} s; "
                  f"medians of {args.runs} alternating runs. {machine_line(info)}", highlight=False)


if __name__ == "__main__":
    main()
