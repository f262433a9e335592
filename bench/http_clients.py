"""Choose the HTTP client and the server by measurement, on loopback against the simulator (its own process).

    .venv/bin/python bench/http_clients.py [--requests 2000] [--duration 8] [--skip-servers] [--json] [--markdown]

1. Upstream client, in this process, on uvloop: ``httpx.AsyncClient`` (pooled, as ``backends.HttpPool``
   builds it), ``aiohttp.ClientSession`` and, when installed, ``httpx2.AsyncClient``. For each: N sequential
   requests, then N requests from 32 concurrent workers, each after a warm-up. Reported: requests/s, p50,
   p99 and the client's CPU per request (``time.process_time`` delta / N; the simulator is another process).
2. Server for the proxy: the real proxy app (``tiered_router.server.app:create_app``, tier 1 → simulator,
   OpenAI-compatible) under uvicorn ``--http httptools`` and ``--http h11`` (uvloop), uvicorn on the
   plain asyncio loop, and granian ``--interface asgi`` when installed; plus a bench-only variant whose
   ``Backend.chat`` goes through aiohttp instead of httpx (``aiohttp_proxy_app`` below), under uvicorn and
   granian, to see what the client choice is worth end to end. Load: bench/_machine.py ``run_load``
   (wrk when installed), concurrency 1 and 32, proxy CPU from /proc, as in bench/proxy_overhead.py.

aiohttp and granian are not dependencies of the project: ``.venv/bin/pip install aiohttp granian``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


# --- the bench-only aiohttp proxy (an app factory for uvicorn/granian) ---------------------------------


def aiohttp_proxy_app() -> Any:
    """The real proxy app, with ``Backend.chat`` sending through one aiohttp session per loop (bench only).

    Error mapping stays the backend's own (``_mapped_errors``); aiohttp's exception classes are not mapped,
    which does not matter on the happy path measured here.
    """
    import aiohttp

    from tiered_router.backends import base
    from tiered_router.server.app import create_app

    sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def session() -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        s = sessions.get(loop)
        if s is None or s.closed:
            s = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200), trust_env=False)
            sessions[loop] = s
        return s

    async def chat(self: base.Backend, req: base.ChatRequest) -> base.ChatResult:
        with self._mapped_errors():
            async with asyncio.timeout(self.timeout_s):
                async with session().post(self._chat_url(), json=self._body(req, stream=False),
                                          headers=self._headers()) as resp:
                    raw = await resp.read()
                    if resp.status >= 400:
                        raise self._http_error(resp.status, raw.decode("utf-8", "replace"), resp.headers)
                    return self._parse_result(json.loads(raw))

    base.Backend.chat = chat  # type: ignore[method-assign]
    return create_app()


# --- 1. clients -----------------------------------------------------------------------------------------


@dataclass
class ClientRow:
    client: str
    mode: str  # "sequential" or "concurrency 32"
    requests: int
    errors: int
    seconds: float
    cpu_s: float
    p50_ms: float
    p99_ms: float
    other_cores: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / max(1, self.requests)

    def as_dict(self) -> dict[str, Any]:
        return {"client": self.client, "mode": self.mode, "requests": self.requests, "errors": self.errors,
                "seconds": self.seconds, "rps": self.rps, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
                "client_cpu_ms_per_request": self.cpu_ms, "other_load_cores": self.other_cores}


Post = Callable[[], Awaitable[bool]]


async def _window(post: Post, n: int, concurrency: int, duration: float) -> tuple[list[float], int, float, float]:
    from _machine import closed_loop

    return await closed_loop(post, n, concurrency, duration)


async def _client_rows(name: str, url: str, payload: dict[str, Any], n: int, duration: float,
                       sim: Any, quiet_wait: float) -> list[ClientRow]:
    import os

    from _machine import busy_cpu_s, percentile, wait_quiet

    closers: list[Callable[[], Awaitable[Any]]] = []
    if name == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200), trust_env=False)
        closers.append(session.close)

        async def post() -> bool:
            async with session.post(url, json=payload) as r:
                data = json.loads(await r.read())
                return r.status == 200 and bool(data.get("choices"))
    else:
        mod: Any = __import__(name)  # httpx or httpx2: the same API
        client = mod.AsyncClient(limits=mod.Limits(max_connections=200, max_keepalive_connections=200),
                                 trust_env=False)
        closers.append(client.aclose)

        async def post() -> bool:
            r = await client.post(url, json=payload)
            return r.status_code == 200 and bool(r.json().get("choices"))

    rows = []
    try:
        for mode, concurrency in (("sequential", 1), ("concurrency 32", 32)):
            await _window(post, max(100, 4 * concurrency), concurrency, 5.0)  # warm-up: connections, caches
            if quiet_wait > 0:  # blocks the loop on purpose: nothing else runs on it meanwhile
                wait_quiet([os.getpid(), *sim.group_pids()], max_wait=quiet_wait)
            busy0, sim0 = busy_cpu_s(), sim.cpu_s()
            lat, errors, seconds, cpu = await _window(post, n, concurrency, duration)
            other = max(0.0, busy_cpu_s() - busy0 - cpu - (sim.cpu_s() - sim0)) / max(seconds, 1e-3)
            lat.sort()
            rows.append(ClientRow(name, mode, len(lat), errors, seconds, cpu, percentile(lat, 50) * 1000,
                                  percentile(lat, 99) * 1000, other))
    finally:
        for close in closers:
            await close()
    return rows


def measure_clients(sim: Any, n: int, duration: float, quiet_wait: float) -> list[ClientRow]:
    from _machine import LOOPBACK, new_loop_runner
    from proxy_overhead import MODEL, body

    url = f"http://{LOOPBACK}:{sim.port}/v1/chat/completions"
    names = [c for c in ("httpx", "aiohttp", "httpx2") if find_spec(c) is not None]
    rows: list[ClientRow] = []
    for name in names:
        with new_loop_runner() as runner:
            rows += runner.run(_client_rows(name, url, body(MODEL), n, duration, sim, quiet_wait))
        for r in rows[-2:]:
            print(f"  {r.client:8} {r.mode:15} {r.rps:7.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                  f"client CPU {r.cpu_ms:.3f} ms/req  other load {r.other_cores:.2f} cores", file=sys.stderr)
    return rows


# --- 2. servers -----------------------------------------------------------------------------------------


def server_variants() -> list[tuple[str, list[str]]]:
    """(label, argv with {port}) for each way of serving the proxy app: each server with the app as it is
    (httpx upstream), then, when aiohttp is installed, each server again with the aiohttp patch, where the
    server's own cost is not buried under httpx's."""
    py = sys.executable
    app = "tiered_router.server.app:create_app"
    bench_app = "http_clients:aiohttp_proxy_app"

    def uvicorn(target: str, http: str, loop: str) -> list[str]:
        return [py, "-m", "uvicorn", "--factory", target, "--host", "127.0.0.1", "--port", "{port}",
                "--http", http, "--loop", loop, "--log-level", "warning", "--no-access-log"]

    servers: list[tuple[str, Callable[[str], list[str]]]] = [
        ("uvicorn httptools + uvloop", lambda t: uvicorn(t, "httptools", "uvloop")),
        ("uvicorn h11 + uvloop", lambda t: uvicorn(t, "h11", "uvloop")),
        ("uvicorn httptools + asyncio loop", lambda t: uvicorn(t, "httptools", "asyncio")),
    ]
    granian = Path(py).parent / "granian"
    if find_spec("granian") is not None and granian.exists():
        servers.append(("granian asgi + uvloop", lambda t: [
            str(granian), "--interface", "asgi", "--factory", t, "--host", "127.0.0.1", "--port", "{port}",
            "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop", "--log-level", "warning",
            "--no-access-log", "--no-ws"]))
    variants = [(f"{label}, httpx" + (" (= tiered-router serve)" if i == 0 else ""), argv(app))
                for i, (label, argv) in enumerate(servers)]
    if find_spec("aiohttp") is not None:
        variants += [(f"{label}, aiohttp (bench patch)", argv(bench_app)) for label, argv in servers]
    return variants


def measure_servers(kids: Any, sim: Any, args: argparse.Namespace) -> list[Any]:
    from _machine import free_port
    from proxy_overhead import measure_path, router_env

    rows = []
    for label, template in server_variants():
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in template]
        env = router_env(sim.port, "openai", kids.dir / f"ledger-{port}.db")
        env["PYTHONPATH"] = str(BENCH)  # for http_clients:aiohttp_proxy_app
        try:
            child = kids.start(label, argv, port=port, ready="/healthz", env=env, timeout=30)
        except RuntimeError as exc:
            print(f"  {label}: did not start, skipped ({str(exc).splitlines()[0]})", file=sys.stderr)
            continue
        try:
            rows += measure_path(label, child, "/v1/chat/completions", "tier-1", sim, args)
        finally:
            kids.stop(child)
    return rows


# --- report ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from _machine import Children, loadgen_name, machine, machine_line
    from proxy_overhead import results_table, start_simulator

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=2000, help="requests per client window (and cap per server "
                                                              "window x10)")
    p.add_argument("--duration", type=float, default=8.0, help="at most this many seconds per window")
    p.add_argument("--warmup", type=float, default=2.0, help="server windows: seconds of warm-up")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--skip-servers", action="store_true", help="only compare the clients")
    p.add_argument("--quiet-wait", type=float, default=20.0, metavar="S",
                   help="before each window, wait up to S s for other processes to go quiet (0: don't)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    args = p.parse_args(argv)
    if args.requests < 1 or not 0 < args.duration <= 120:
        p.error("--requests ≥ 1 and 0 < --duration ≤ 120")
    console = Console(width=170) if not sys.stdout.isatty() else Console()
    started = time.monotonic()
    server_args = argparse.Namespace(requests=args.requests * 10, duration=args.duration, warmup=args.warmup,
                                     loadgen=args.loadgen, quiet_wait=args.quiet_wait)
    with Children() as kids:
        sim = start_simulator(kids)
        print(f"simulator pid {sim.pid} on :{sim.port}", file=sys.stderr)
        clients = measure_clients(sim, args.requests, args.duration, args.quiet_wait)
        servers = [] if args.skip_servers else measure_servers(kids, sim, server_args)
    m = machine(["aiohttp", "httpx2", "httpcore2", "granian"])
    if args.json:
        print(json.dumps({"machine": m, "clients": [c.as_dict() for c in clients],
                          "servers": [r.as_dict() for r in servers], "loadgen": loadgen_name(args.loadgen),
                          "wall_s": time.monotonic() - started}, indent=2))
        return
    table = Table(title=f"upstream HTTP client → simulator (in-process on uvloop, ≤{args.requests} requests / "
                        f"≤{args.duration:g} s per window)")
    for name in ("client", "mode", "req/s", "p50 ms", "p99 ms", "client CPU ms/req", "other load", "errors"):
        table.add_column(name, justify="left" if name in ("client", "mode") else "right")
    for c in clients:
        table.add_row(c.client, c.mode, f"{c.rps:.0f}", f"{c.p50_ms:.2f}", f"{c.p99_ms:.2f}", f"{c.cpu_ms:.3f}",
                      f"{c.other_cores:.2f} cores", str(c.errors))
    console.print(table)
    if servers:
        console.print(results_table(servers, f"proxy app under each server ({loadgen_name(args.loadgen)} load; "
                                             "'+p50 vs direct' not measured here)"))
    console.print(f"machine: {machine_line(m)}", highlight=False)
    console.print("packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()), highlight=False)
    console.print("note: the client (or load generator), the simulator and the proxy share these "
                  f"{m['cores_usable']} cores; 'other load' is CPU used meanwhile by processes outside this benchmark.",
                  highlight=False)
    console.print(f"wall time {time.monotonic() - started:.0f} s", highlight=False)
    if args.markdown:
        print("\n| client | mode | req/s | p50 ms | p99 ms | client CPU ms/req | other load |")
        print("|---|---|--:|--:|--:|--:|--:|")
        for c in clients:
            print(f"| {c.client} | {c.mode} | {c.rps:.0f} | {c.p50_ms:.2f} | {c.p99_ms:.2f} | {c.cpu_ms:.3f} "
                  f"| {c.other_cores:.2f} |")
        if servers:
            print("\n| server, upstream client | conc | req/s | p50 ms | p99 ms | proxy CPU ms/req | RSS MB "
                  "| other load |")
            print("|---|--:|--:|--:|--:|--:|--:|--:|")
            for r in servers:
                print(f"| {r.path} | {r.concurrency} | {r.load.rps:.0f} | {r.load.p50_ms:.2f} | {r.load.p99_ms:.2f} "
                      f"| {r.proxy_cpu_ms:.3f} | {r.rss_mb:.0f} | {r.other_cores:.2f} |")


if __name__ == "__main__":
    main()
