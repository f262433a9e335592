"""Proxy overhead: the same chat completion sent directly to the simulator, through ``tiered-router serve``
and through the LiteLLM proxy, at concurrency 1 and 32, on loopback only.

    .venv/bin/python bench/proxy_overhead.py [--requests 50000] [--duration 10] [--skip-litellm] [--json]
                                             [--loadgen auto|wrk|python] [--profile DIR] [--markdown]
                                             [--aiohttp-variant] [--skip-ollama] [--quiet-wait S]

Every server is its own process (own process group, killed at the end): the simulator at zero latency,
``tiered-router serve`` with tier 1 pointed at the simulator over the OpenAI-compatible protocol (the same
endpoint as the direct path) and again over the Ollama protocol, and the LiteLLM proxy (``litellm[proxy]``
installed by this script into bench/.litellm-venv, reused when present) with ``openai/llama3.1:8b`` and
``api_base`` at the simulator. The load comes from a separate process: ``wrk`` (one thread, closed loop)
when installed, else the asyncio/aiohttp generator in bench/_machine.py. Each window is bounded by
``--requests`` and ``--duration``, after a warm-up window at the same concurrency.

Per path and concurrency: requests/s, p50/p99 latency, p50 overhead over the direct path, the proxy's CPU
milliseconds per request (utime+stime from /proc/PID/stat over the window, divided by requests) and its RSS
(VmRSS after the window). The load generator, the simulator and the proxy share this machine's cores.

``--profile DIR`` also samples ``tiered-router serve`` with py-spy (``pip install py-spy``) during an extra
window at each concurrency, writes the collapsed stacks to DIR and prints where the time goes.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (  # bench/ is not a package
    LOOPBACK,
    Child,
    Children,
    Load,
    asgi_post,
    busy_cpu_s,
    clean_env,
    free_port,
    http_post_json,
    loadgen_name,
    machine,
    machine_line,
    read_collapsed,
    run_load,
    wait_quiet,
)

BENCH = Path(__file__).resolve().parent
LITELLM_VENV = BENCH / ".litellm-venv"
MODEL = "llama3.1:8b"
PROMPT = "Say hello in one short sentence."
CONCURRENCY = (1, 32)
DIRECT = "direct → simulator"
OURS_OPENAI = "tiered-router (OpenAI-compat upstream)"
OURS_OLLAMA = "tiered-router (Ollama upstream)"
OURS_NOLOG = "tiered-router, routing log off"
LITELLM = "LiteLLM proxy"
OURS_AIOHTTP = "what-if: tiered-router, aiohttp upstream (bench patch)"
# Reference numbers from the issue, used when LiteLLM is not measured in the same run.
LITELLM_REFERENCE = {"rps": 150.0, "cpu_ms": 6.0, "rss_mb": 350.0, "overhead_ms": 6.0}
LITELLM_ENV = {
    "LITELLM_LOG": "ERROR",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_MODEL_COST_MAP_URL": "http://127.0.0.1:9/",
    "LITELLM_BLOG_POSTS_URL": "http://127.0.0.1:9/",
    "LITELLM_ANTHROPIC_BETA_HEADERS_URL": "http://127.0.0.1:9/",
    "LITELLM_AUTOROUTER_PRESETS_URL": "http://127.0.0.1:9/",
    "LITELLM_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
}
# LiteLLM refuses to start without a master key; clients then send it as a bearer token (auth without a database).
LITELLM_KEY = "sk-bench-" + secrets.token_hex(16)

console = Console(width=170) if not sys.stdout.isatty() else Console()
err = Console(stderr=True, width=170) if not sys.stderr.isatty() else Console(stderr=True)


@dataclass
class Row:
    path: str
    concurrency: int
    load: Load
    proxy_cpu_ms: float  # the measured process group's CPU per request (the simulator itself for the direct path)
    upstream_cpu_ms: float | None  # the simulator's CPU per request behind a proxy
    loadgen_cpu_ms: float
    rss_mb: float
    other_cores: float = 0.0  # CPU used meanwhile by processes outside this benchmark, in cores
    helper_threads_cpu_ms: float = 0.0  # of proxy_cpu_ms, what threads other than the event loop's used
    overhead_p50_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "concurrency": self.concurrency, **self.load.as_dict(),
                "proxy_cpu_ms_per_request": self.proxy_cpu_ms, "upstream_cpu_ms_per_request": self.upstream_cpu_ms,
                "loadgen_cpu_ms_per_request": self.loadgen_cpu_ms, "rss_mb": self.rss_mb,
                "other_load_cores": self.other_cores, "overhead_p50_ms": self.overhead_p50_ms,
                "helper_threads_cpu_ms_per_request": self.helper_threads_cpu_ms}


def body(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 64}


# --- servers ------------------------------------------------------------------------------------------


def start_simulator(kids: Children) -> Child:
    port = free_port()
    argv = [sys.executable, "-m", "tiered_router.cli", "simulate", "--host", LOOPBACK, "--port", str(port)]
    env = clean_env({"TIER_SIM_TTFT_MS": "0", "TIER_SIM_TOKEN_MS": "0"})
    return kids.start("simulator", argv, port=port, ready="/v1/models", env=env, timeout=30)


def router_env(sim_port: int, protocol: str, db: Path) -> dict[str, str]:
    if protocol == "openai":
        fast = {"TIER_LOCAL_FAST_MODEL": f"http://{LOOPBACK}:{sim_port}/v1#{MODEL}"}
    else:
        fast = {"TIER_LOCAL_FAST_MODEL": f"ollama/{MODEL}", "TIER_LOCAL_FAST_URL": f"http://{LOOPBACK}:{sim_port}"}
    return clean_env({
        **fast,
        "TIER_LOCAL_HEAVY_MODEL": "ollama/hermes3:70b", "TIER_LOCAL_HEAVY_URL": f"http://{LOOPBACK}:{sim_port}",
        "TIER_CLOUD_ENABLED": "false", "TIER_DB": str(db),
    })


def start_router(kids: Children, sim: Child, protocol: str, routing_log: bool = True) -> Child:
    port = free_port()
    argv = [sys.executable, "-m", "tiered_router.cli", "serve", "--host", LOOPBACK, "--port", str(port)]
    env = router_env(sim.port, protocol, kids.dir / f"ledger-{protocol}-{routing_log}.db")
    env["TIER_LOG_ENABLED"] = "true" if routing_log else "false"
    name = f"tiered-router-{protocol}" + ("" if routing_log else "-nolog")
    return kids.start(name, argv, port=port, ready="/healthz", env=env, timeout=30)


def start_router_aiohttp(kids: Children, sim: Child) -> Child:
    """The same app with Backend.chat sending through aiohttp (bench/http_clients.py:aiohttp_proxy_app)."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--factory", "http_clients:aiohttp_proxy_app", "--host", LOOPBACK,
            "--port", str(port), "--http", "httptools", "--loop", "uvloop", "--log-level", "warning",
            "--no-access-log"]
    env = router_env(sim.port, "openai", kids.dir / "ledger-aiohttp.db")
    env["PYTHONPATH"] = str(BENCH)
    return kids.start("tiered-router-aiohttp", argv, port=port, ready="/healthz", env=env, timeout=30)


def ensure_litellm(venv: Path = LITELLM_VENV, timeout: float = 900.0) -> tuple[Path | None, str]:
    """The ``litellm`` executable in ``venv``, installing ``litellm[proxy]`` there first if needed."""
    exe, py = venv / "bin" / "litellm", venv / "bin" / "python"
    probe = ("import importlib.util, sys; "
             "sys.exit(0 if all(importlib.util.find_spec(m) for m in ('litellm', 'fastapi', 'uvicorn', 'backoff')) "
             "else 1)")
    if exe.exists() and py.exists() and subprocess.run([str(py), "-c", probe], check=False).returncode == 0:
        return exe, "reused"
    err.print(f"[yellow]installing litellm[proxy] into {venv} (once; can take a few minutes)…[/]")
    log = venv / "install.log"
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        (venv / ".gitignore").write_text("*\n")  # never committed
        with open(log, "wb") as out:
            subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "litellm[proxy]"],
                           stdout=out, stderr=subprocess.STDOUT, check=True, timeout=timeout)
    except (subprocess.SubprocessError, OSError) as exc:
        tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
        return None, f"could not install litellm[proxy] ({exc}); {tail}"
    if not exe.exists():
        return None, "litellm[proxy] installed but bin/litellm is missing"
    return exe, "installed"


def litellm_version(venv: Path = LITELLM_VENV) -> str | None:
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "from importlib.metadata import version; print(version('litellm'))"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def start_litellm(kids: Children, sim: Child, exe: Path) -> Child:
    port = free_port()
    config = kids.dir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: http://{LOOPBACK}:{sim.port}/v1\n"
        "      api_key: sk-simulator\n"
        "litellm_settings:\n"
        "  drop_params: true\n"
        "  set_verbose: false\n"
    )
    argv = [str(exe), "--config", str(config), "--host", LOOPBACK, "--port", str(port), "--num_workers", "1"]
    env = clean_env({**LITELLM_ENV, "LITELLM_MASTER_KEY": LITELLM_KEY})
    child = kids.start("litellm", argv, port=port, ready="/health/liveliness", env=env, timeout=240, cwd=kids.dir)
    child.headers = {"Authorization": f"Bearer {LITELLM_KEY}"}
    return child


def check_answer(child: Child, path: str, model: str) -> None:
    status, data = http_post_json(child.port, path, body(model), headers=child.headers)
    ok = status == 200 and isinstance(data, dict) and data.get("choices")
    if not ok:
        raise RuntimeError(f"{child.name}: POST {path} gave {status}: {str(data)[:300]}")


# --- measuring ----------------------------------------------------------------------------------------


def measure(name: str, url: str, model: str, measured: Child, upstream: Child | None, args: argparse.Namespace,
            concurrency: int) -> Row:
    payload = body(model)
    run_load(url, payload, concurrency=concurrency, duration=args.warmup,
             max_requests=max(200, 50 * concurrency), loadgen=args.loadgen, headers=measured.headers)
    if args.quiet_wait > 0:
        own = [pid for c in (measured, upstream) if c for pid in c.group_pids()]
        other = wait_quiet(own, max_wait=args.quiet_wait)
        if other >= 0.25:
            err.print(f"  [yellow]the machine is busy with other work ({other:.2f} cores); measuring anyway[/]")
    cpu0, busy0, (_, helpers0) = measured.cpu_s(), busy_cpu_s(), measured.thread_cpu_s()
    up0 = upstream.cpu_s() if upstream else 0.0
    load = run_load(url, payload, concurrency=concurrency, duration=args.duration, max_requests=args.requests,
                    loadgen=args.loadgen, headers=measured.headers)
    cpu1, busy1, (_, helpers1) = measured.cpu_s(), busy_cpu_s(), measured.thread_cpu_s()
    up1 = upstream.cpu_s() if upstream else 0.0
    n = max(1, load.requests)
    ours = (cpu1 - cpu0) + (up1 - up0) + load.loadgen_cpu_s
    other = max(0.0, (busy1 - busy0) - ours) / max(load.seconds, 1e-3)
    row = Row(name, concurrency, load, (cpu1 - cpu0) * 1000 / n,
              (up1 - up0) * 1000 / n if upstream else None, load.loadgen_cpu_s * 1000 / n, measured.rss_mb(),
              other, (helpers1 - helpers0) * 1000 / n)
    err.print(f"  {name:42} c={concurrency:<3} {load.rps:8.0f} req/s  p50 {load.p50_ms:7.2f} ms  "
              f"p99 {load.p99_ms:7.2f} ms  cpu {row.proxy_cpu_ms:6.3f} ms/req "
              f"(helper threads {row.helper_threads_cpu_ms:5.3f})  rss {row.rss_mb:6.1f} MB  "
              f"other load {other:4.2f} cores" + (f"  [red]{load.errors} errors[/]" if load.errors else ""),
              highlight=False)
    return row


def measure_path(name: str, child: Child, path: str, model: str, upstream: Child | None,
                 args: argparse.Namespace) -> list[Row]:
    url = f"http://{LOOPBACK}:{child.port}{path}"
    check_answer(child, path, model)
    return [measure(name, url, model, child, upstream, args, c) for c in CONCURRENCY]


# --- profiling ----------------------------------------------------------------------------------------

# (label, indent, function-name match, file match): a sample counts for a bucket when any frame of its stack
# matches ("self:" before the function name: only the leaf frame). Buckets nest (indent), so shares do not add
# up to 100 %. Shares are of all samples of all threads.
PROFILE_BUCKETS: list[tuple[str, int, str, str]] = [
    ("event loop itself (uvloop C code: epoll, socket I/O, httptools; Runner.run self)", 0, "self:Runner.run",
     "asyncio/runners"),
    ("uvicorn request cycle (app + response write)", 0, "RequestResponseCycle.run_asgi", "uvicorn/protocols"),
    ("uvicorn RequestResponseCycle.send (headers + body to the socket)", 1, "RequestResponseCycle.send",
     "uvicorn/protocols"),
    ("handler openai_front.chat_completions", 1, "chat_completions", "openai_front"),
    ("read_json (body + json.loads)", 2, "read_json", "common.py"),
    ("pydantic validation (parse → model_validate)", 2, "parse", "common.py"),
    ("messages model_dump", 2, "BaseModel.model_dump", "pydantic/main"),
    ("TieredModelRouter.complete", 2, "TieredModelRouter.complete", "router.py"),
    ("_new_call (validate, classify, plan)", 3, "TieredModelRouter._new_call", "router.py"),
    ("classify (HeuristicClassifier.decide)", 4, "HeuristicClassifier.decide|classify", "classify/"),
    ("Engine._call → Backend.chat (upstream call)", 3, "Backend.chat|aiohttp_proxy_app.<locals>.chat",
     "base.py|http_clients.py"),
    ("httpx AsyncClient.post", 4, "AsyncClient.post", "httpx/_client"),
    ("aiohttp ClientSession (bench patch)", 4, "ClientSession._request", "aiohttp/client"),
    ("httpcore pool: assign requests (expiry/idle scans)", 5,
     "AsyncConnectionPool._assign_requests_to_connections", "connection_pool"),
    ("backend _body / _parse_result", 4, "OpenAICompatBackend._body|OpenAICompatBackend._parse_result|"
     "OllamaBackend._body|OllamaBackend._parse_result", "openai_compat.py|ollama.py"),
    ("spend hold/settle/release", 3, "Spend.hold|Spend.settle|Spend.release", "spend.py"),
    ("quality gate (Engine._gate → assess_response)", 3, "Engine._gate", "engine.py"),
    ("_response (RoutedResponse)", 3, "TieredModelRouter._response", "router.py"),
    ("_record (recorder.record)", 3, "TieredModelRouter._record", "router.py"),
    ("outcome_record (sha256 digest, dict)", 4, "outcome_record", "recorder.py"),
    ("Metrics.observe (prometheus)", 4, "Metrics.observe", "metrics.py"),
    ("routing-log store sink (enqueue)", 4, "LogWriter.sink", "store/writer.py"),
    ("log_sink", 4, "log_sink", "record.py"),
    ("JSONResponse(...) (json.dumps render)", 2, "JSONResponse.__init__", "starlette/responses"),
    ("completion_body + response_headers", 2, "completion_body|response_headers", "openai_front.py|common.py"),
    ("routing-log store writer thread (SQLite)", 0, "LogWriter._run", "store/writer.py"),
    ("logging (any logger call)", 0, "Logger.", "logging/__init__"),
    ("json encode/decode (anywhere)", 0, "dumps|loads|JSONEncoder.encode|JSONDecoder.decode", "json/"),
]


def _frame_matches(frame: str, func: str, file: str) -> bool:
    name, _, where = frame.partition(" (")
    return any(name == f or (f.endswith(".") and name.startswith(f)) for f in func.split("|")) and any(
        part in where for part in file.split("|"))


# Leaf frames of threads that are blocked, not running: py-spy does not always tell them apart here.
IDLE_LEAVES = ("Condition.wait (threading", "_worker (concurrent/futures/thread", "Event.wait (threading",
               "Thread._wait_for_tstate_lock", "BaseSelector.select", "EpollSelector.select")


def summarize_profile(raw: Path, cpu_ms_per_request: float) -> dict[str, Any]:
    total = idle = 0
    buckets: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    for frames, n in read_collapsed(raw):
        if frames[-1].startswith(IDLE_LEAVES):
            idle += n
            continue
        total += n
        for label, _indent, func, file in PROFILE_BUCKETS:
            if func.startswith("self:"):
                hit = _frame_matches(frames[-1], func[5:], file)
            else:
                hit = any(_frame_matches(f, func, file) for f in frames)
            if hit:
                buckets[label] += n
        self_time[frames[-1].rsplit(":", 1)[0] + ")"] += n
    us = cpu_ms_per_request * 1000
    return {
        "samples": total,
        "idle_samples_dropped": idle,
        "buckets": [{"label": label, "indent": indent, "share": buckets[label] / total if total else 0.0,
                     "us_per_request": us * buckets[label] / total if total else 0.0}
                    for label, indent, _f, _w in PROFILE_BUCKETS],
        "self": [{"frame": frame, "share": n / total} for frame, n in self_time.most_common(15)],
    }


def profile_router(router: Child, url: str, args: argparse.Namespace, rows: list[Row]) -> dict[str, Any]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        err.print("[yellow]--profile: py-spy not found (.venv/bin/pip install py-spy); no profile[/]")
        return {}
    out_dir = Path(args.profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {}
    for c in CONCURRENCY:
        raw = out_dir / f"tiered-router-c{c}.txt"
        rec = subprocess.Popen([spy, "record", "--pid", str(router.pid), "--rate", "250", "--format", "raw",
                                "--output", str(raw), "--duration", str(int(args.duration) + 2)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            run_load(url, body("tier-1"), concurrency=c, duration=args.duration, max_requests=args.requests,
                     loadgen=args.loadgen)
            rec.wait(timeout=args.duration + 30)
        finally:
            if rec.poll() is None:
                rec.kill()
                rec.wait()
        cpu = next(r.proxy_cpu_ms for r in rows if r.path == OURS_OPENAI and r.concurrency == c)
        if raw.exists():
            result[str(c)] = {"file": str(raw), "cpu_ms_per_request": cpu, **summarize_profile(raw, cpu)}
    return result


def _per_call_us(fn: Callable[[], Any], n: int) -> float:
    for _ in range(min(100, n)):
        fn()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n / 1000


def in_process_costs(sim: Child, db_dir: Path, n: int = 2000) -> list[dict[str, Any]]:
    """µs per request of the proxy app itself, with no server and no network, in this process.

    The whole ASGI app (Starlette, handler, router, record sinks, JSON rendering) is driven with a canned
    request and a backend whose ``chat`` parses the simulator's real answer without sending anything; then
    single steps of the path. A step whose API changed is reported as skipped rather than failing the run.
    """
    import asyncio

    from tiered_router.config import load_settings
    from tiered_router.server.app import create_app
    from tiered_router.tiers import Tier

    _, answer = http_post_json(sim.port, "/v1/chat/completions", body(MODEL))
    canned = json.dumps(answer).encode()
    request = json.dumps(body("tier-1")).encode()
    settings = load_settings(local_fast_model=f"http://{LOOPBACK}:{sim.port}/v1#{MODEL}", cloud_enabled=False,
                             db=str(db_dir / "in-process.db"))
    app = create_app(settings=settings)
    router = app.state.router
    backend = router.backends[Tier.LOCAL_FAST]

    async def canned_chat(req: Any) -> Any:
        json.dumps(backend._body(req, stream=False)).encode()
        return backend._parse_result(json.loads(canned))

    backend.chat = canned_chat
    scope, receive, send, statuses = asgi_post("/v1/chat/completions", request)

    async def drive(count: int, target: Any = app) -> float:
        t0 = time.perf_counter_ns()
        for _ in range(count):
            await target(dict(scope), receive, send)
        return (time.perf_counter_ns() - t0) / count / 1000

    out: list[dict[str, Any]] = []
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(drive(200))
        us = loop.run_until_complete(drive(n))
        ok = statuses and all(s == 200 for s in statuses)
        out.append({"step": "whole ASGI app, canned upstream (Starlette + handler + router + sinks + JSON)",
                    "us": us, "note": "" if ok else f"statuses {sorted(set(statuses))}"})
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def floor_endpoint(req: Request) -> JSONResponse:
            return JSONResponse({"echo": len(json.loads(await req.body()))})

        floor = Starlette(routes=[Route("/v1/chat/completions", floor_endpoint, methods=["POST"])])
        loop.run_until_complete(drive(200, floor))
        out.append({"step": "  floor: a bare Starlette route that reads the body and returns JSONResponse",
                    "us": loop.run_until_complete(drive(n, floor)), "note": ""})
        if getattr(router, "log_store", None) is not None:
            try:
                quiet = load_settings(local_fast_model=f"http://{LOOPBACK}:{sim.port}/v1#{MODEL}",
                                      cloud_enabled=False, db=str(db_dir / "in-process-2.db"), log_enabled=False)
                app2 = create_app(settings=quiet)
                app2.state.router.backends[Tier.LOCAL_FAST].chat = canned_chat
                loop.run_until_complete(drive(200, app2))
                out.append({"step": "  the same with the routing-log store off (TIER_LOG_ENABLED=false)",
                            "us": loop.run_until_complete(drive(n, app2)), "note": ""})
                loop.run_until_complete(app2.state.router.aclose())
                app2.state.router.spend.close()
            except Exception as exc:
                out.append({"step": "  the same with the routing-log store off", "us": float("nan"),
                            "note": f"skipped: {type(exc).__name__}: {exc}"[:120]})
        record = router.records[-1] if router.records else None
        messages = [{"role": "user", "content": PROMPT}]
        text = answer["choices"][0]["message"]["content"] if isinstance(answer, dict) else ""
        steps: list[tuple[str, Callable[[], Any]]] = []
        from tiered_router.server.common import parse
        from tiered_router.server.schemas import ChatCompletionRequest
        data = json.loads(request)
        steps.append(("json.loads(request) + parse → ChatCompletionRequest (pydantic)",
                      lambda: parse(ChatCompletionRequest, json.loads(request))))
        steps.append(("ChatCompletionRequest.model_dump of messages",
                      lambda: [m.model_dump(exclude_none=True)
                               for m in ChatCompletionRequest.model_validate(data).messages]))
        from tiered_router.classify import classify
        steps.append(("classify (runs even when the tier is forced)",
                      lambda: classify(messages, {"tier": Tier.LOCAL_FAST}, router.thresholds)))
        from tiered_router.quality import assess_response
        steps.append(("quality gate assess_response", lambda: assess_response(messages, text, finish_reason="stop",
                                                                             expect_json=None, answer_format=None)))
        chat_request = _chat_request(messages)
        steps.append(("backend _body + json.dumps, json.loads + _parse_result (no I/O)",
                      lambda: (json.dumps(backend._body(chat_request, stream=False)).encode(),
                               backend._parse_result(json.loads(canned)))))
        if record is not None:
            from tiered_router.observe.record import content_digest
            steps.append(("content_digest (sha256 of the prompt, in outcome_record)",
                          lambda: content_digest(messages)))
            for sink in list(getattr(router.recorder.inner, "sinks", ())):
                label = getattr(sink, "__qualname__", repr(sink))
                if "store" in label.lower() or "LogStore" in label:
                    continue  # an enqueue; its writer thread's cost shows as helper-thread CPU
                steps.append((f"record sink {label}", lambda sink=sink: sink(record)))
        for label, fn in steps:
            try:
                out.append({"step": label, "us": _per_call_us(fn, n), "note": ""})
            except Exception as exc:  # the API moved: say so, keep going
                out.append({"step": label, "us": float("nan"), "note": f"skipped: {type(exc).__name__}: {exc}"[:120]})
    finally:
        loop.run_until_complete(router.aclose())
        loop.close()
        if getattr(router, "log_store", None) is not None:
            router.log_store.close()
        router.spend.close()
    return out


def _chat_request(messages: list[dict[str, Any]]) -> Any:
    from tiered_router.routing.router import _chat_request as build

    return build(messages, {})


def print_profile(profile: dict[str, Any]) -> None:
    steps = profile.get("in_process") or []
    if steps:
        table = Table(title="the proxy app in-process, no server, no network (µs per request / per call)")
        table.add_column("step")
        table.add_column("µs", justify="right")
        table.add_column("note")
        for st in steps:
            table.add_row(st["step"], f"{st['us']:.1f}", st["note"])
        console.print(table)
    for c, prof in profile.items():
        if c == "in_process":
            continue
        table = Table(title=f"where tiered-router's CPU goes, concurrency {c} (py-spy, {prof['samples']} samples, "
                            f"{prof['idle_samples_dropped']} blocked-thread samples dropped; "
                            f"µs/request = share × {prof['cpu_ms_per_request']:.2f} ms measured)")
        table.add_column("inclusive bucket")
        table.add_column("share", justify="right")
        table.add_column("µs/req", justify="right")
        for b in prof["buckets"]:
            table.add_row("  " * b["indent"] + b["label"], f"{100 * b['share']:.1f}%", f"{b['us_per_request']:.0f}")
        console.print(table)
        console.print("top self time: " + "; ".join(f"{s['frame']} {100 * s['share']:.1f}%" for s in prof["self"][:8]),
                      highlight=False)


# --- report -------------------------------------------------------------------------------------------


def fill_overheads(rows: list[Row]) -> None:
    direct = {r.concurrency: r for r in rows if r.path == DIRECT}
    for r in rows:
        if r.path != DIRECT and r.concurrency in direct:
            r.overhead_p50_ms = r.load.p50_ms - direct[r.concurrency].load.p50_ms


def targets(rows: list[Row], path: str = OURS_OPENAI) -> list[dict[str, Any]]:
    """The issue's targets for ``path``, against LiteLLM measured in this run (else the issue's numbers)."""
    by = {(r.path, r.concurrency): r for r in rows}
    ours1, ours32 = by.get((path, 1)), by.get((path, 32))
    lite1, lite32 = by.get((LITELLM, 1)), by.get((LITELLM, 32))
    measured = lite32 is not None
    ref_rps = lite32.load.rps if lite32 else LITELLM_REFERENCE["rps"]
    # The strict reading: our worst concurrency against LiteLLM's best.
    ref_cpu = min(lite1.proxy_cpu_ms, lite32.proxy_cpu_ms) if lite1 and lite32 else LITELLM_REFERENCE["cpu_ms"]
    source = "LiteLLM measured in this run" if measured else "LiteLLM numbers from the issue"
    out = []
    if ours32:
        out.append({"target": "≥10× LiteLLM's throughput at concurrency 32", "value": ours32.load.rps / ref_rps,
                    "shown": f"{ours32.load.rps:.0f} vs {ref_rps:.0f} req/s = {ours32.load.rps / ref_rps:.1f}×",
                    "met": ours32.load.rps >= 10 * ref_rps, "against": source})
    if ours1 and ours32:
        worst = max(ours1.proxy_cpu_ms, ours32.proxy_cpu_ms)
        out.append({"target": "≤1/10 of LiteLLM's CPU per request", "value": worst / ref_cpu,
                    "shown": f"{worst:.2f} vs {ref_cpu:.2f} ms/req = {ref_cpu / worst:.1f}× less",
                    "met": worst <= ref_cpu / 10, "against": source})
    if ours1 and ours1.overhead_p50_ms is not None:
        out.append({"target": "p50 overhead < 1 ms at concurrency 1", "value": ours1.overhead_p50_ms,
                    "shown": f"+{ours1.overhead_p50_ms:.2f} ms", "met": ours1.overhead_p50_ms < 1.0,
                    "against": "direct path in this run"})
    if ours1 or ours32:
        rss = max(r.rss_mb for r in (ours1, ours32) if r)
        out.append({"target": "RSS < 100 MB", "value": rss, "shown": f"{rss:.0f} MB", "met": rss < 100,
                    "against": "VmRSS after the run"})
    return out


def results_table(rows: list[Row], title: str) -> Table:
    table = Table(title=title)
    for name in ("path", "conc", "req/s", "p50 ms", "p99 ms", "+p50 vs direct", "proxy CPU ms/req",
                 "sim CPU ms/req", "RSS MB", "other load", "errors"):
        table.add_column(name, justify="left" if name == "path" else "right")
    for r in rows:
        table.add_row(
            r.path, str(r.concurrency), f"{r.load.rps:.0f}", f"{r.load.p50_ms:.2f}", f"{r.load.p99_ms:.2f}",
            "-" if r.overhead_p50_ms is None else f"{r.overhead_p50_ms:+.2f} ms", f"{r.proxy_cpu_ms:.3f}",
            "-" if r.upstream_cpu_ms is None else f"{r.upstream_cpu_ms:.3f}", f"{r.rss_mb:.0f}",
            f"{r.other_cores:.2f} cores", str(r.load.errors) if r.load.errors else "0",
        )
    return table


def markdown(rows: list[Row], goals: list[dict[str, Any]]) -> str:
    lines = ["| path | conc | req/s | p50 ms | p99 ms | +p50 vs direct | proxy CPU ms/req | sim CPU ms/req | RSS MB "
             "| other load |", "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        over = "-" if r.overhead_p50_ms is None else f"{r.overhead_p50_ms:+.2f} ms"
        sim = "-" if r.upstream_cpu_ms is None else f"{r.upstream_cpu_ms:.3f}"
        lines.append(f"| {r.path} | {r.concurrency} | {r.load.rps:.0f} | {r.load.p50_ms:.2f} | {r.load.p99_ms:.2f} "
                     f"| {over} | {r.proxy_cpu_ms:.3f} | {sim} | {r.rss_mb:.0f} | {r.other_cores:.2f} |")
    return "\n".join(lines) + "\n\n" + targets_markdown(goals)


def targets_markdown(goals: list[dict[str, Any]]) -> str:
    lines = ["| target | result | met | against |", "|---|---|---|---|"]
    lines += [f"| {g['target']} | {g['shown']} | {'yes' if g['met'] else '**no**'} | {g['against']} |" for g in goals]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=50000, help="at most this many requests per window")
    p.add_argument("--duration", type=float, default=10.0, help="at most this many seconds per window")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each window")
    p.add_argument("--skip-litellm", action="store_true", help="do not install or measure the LiteLLM proxy")
    p.add_argument("--skip-ollama", action="store_true", help="do not measure the Ollama-protocol upstream")
    p.add_argument("--log-off-variant", action="store_true",
                   help="also measure the proxy with the routing log off (TIER_LOG_ENABLED=false)")
    p.add_argument("--aiohttp-variant", action="store_true",
                   help="also measure the proxy with aiohttp instead of httpx upstream (a bench-only patch)")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                   help="wrk (C, one thread) or the asyncio/aiohttp generator; auto = wrk when installed")
    p.add_argument("--profile", metavar="DIR", help="also profile tiered-router with py-spy, stacks into DIR")
    p.add_argument("--quiet-wait", type=float, default=20.0, metavar="S",
                   help="before each window, wait up to S s for other processes to go quiet (0: don't)")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    p.add_argument("--markdown", action="store_true", help="also print Markdown tables (for docs/performance.md)")
    args = p.parse_args(argv)
    if (args.requests < 1 or not 0 < args.duration <= 120 or not 0 < args.warmup <= 30
            or not 0 <= args.quiet_wait <= 300):
        p.error("--requests ≥ 1, 0 < --duration ≤ 120, 0 < --warmup ≤ 30, 0 ≤ --quiet-wait ≤ 300")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    rows: list[Row] = []
    notes: list[str] = []
    profile: dict[str, Any] = {}
    lite_version = None
    with Children() as kids:
        sim = start_simulator(kids)
        err.print(f"simulator pid {sim.pid} on :{sim.port}; load generator: {loadgen_name(args.loadgen)}")
        rows += measure_path(DIRECT, sim, "/v1/chat/completions", MODEL, None, args)

        steps: list[tuple[str, Callable[[], Child], str, str]] = [
            (OURS_OPENAI, lambda: start_router(kids, sim, "openai"), "/v1/chat/completions", "tier-1")]
        if args.log_off_variant:
            steps.append((OURS_NOLOG, lambda: start_router(kids, sim, "openai", routing_log=False),
                          "/v1/chat/completions", "tier-1"))
        if not args.skip_ollama:
            steps.append((OURS_OLLAMA, lambda: start_router(kids, sim, "ollama"), "/v1/chat/completions", "tier-1"))
        if args.aiohttp_variant:
            steps.append((OURS_AIOHTTP, lambda: start_router_aiohttp(kids, sim), "/v1/chat/completions", "tier-1"))
        for name, start, path, model in steps:
            child = start()
            try:
                rows += measure_path(name, child, path, model, sim, args)
                if args.profile and name == OURS_OPENAI:
                    profile = profile_router(child, f"http://{LOOPBACK}:{child.port}{path}", args, rows)
                    profile["in_process"] = in_process_costs(sim, kids.dir)
            finally:
                kids.stop(child)

        if args.skip_litellm:
            notes.append("LiteLLM skipped (--skip-litellm); targets use the issue's LiteLLM numbers")
        else:
            exe, how = ensure_litellm()
            if exe is None:
                notes.append(f"LiteLLM skipped: {how}")
                err.print(f"[yellow]LiteLLM skipped:[/] {how}")
            else:
                lite_version = litellm_version()
                try:
                    lite = start_litellm(kids, sim, exe)
                except RuntimeError as exc:
                    notes.append(f"LiteLLM skipped: it did not start ({str(exc).splitlines()[0]})")
                    err.print(f"[yellow]LiteLLM skipped:[/] {exc}")
                else:
                    try:
                        rows += measure_path(LITELLM, lite, "/v1/chat/completions", MODEL, sim, args)
                    finally:
                        kids.stop(lite)
    fill_overheads(rows)
    m = machine(["aiohttp"])
    if lite_version:
        m["packages"]["litellm (bench/.litellm-venv)"] = lite_version
    return {
        "machine": m,
        "loadgen": rows[0].load.loadgen if rows else loadgen_name(args.loadgen),
        "settings": {"requests": args.requests, "duration_s": args.duration, "warmup_s": args.warmup,
                     "concurrency": list(CONCURRENCY), "prompt": PROMPT},
        "rows": [r.as_dict() for r in rows],
        "targets": targets(rows),
        "targets_ollama": targets(rows, OURS_OLLAMA) if not args.skip_ollama else [],
        "targets_aiohttp_variant": targets(rows, OURS_AIOHTTP) if args.aiohttp_variant else [],
        "profile": profile,
        "notes": notes,
        "wall_s": time.monotonic() - started,
        "_rows": rows,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    rows: list[Row] = result.pop("_rows")
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m = result["machine"]
    console.print(results_table(rows, f"proxy overhead, loopback, simulator at 0 ms ({result['loadgen']} load, "
                                      f"≤{args.requests} requests / ≤{args.duration:g} s per window)"))
    for key, title in (("targets", "targets (tiered-router, OpenAI-compatible upstream)"),
                       ("targets_aiohttp_variant", "targets for the what-if (aiohttp upstream)")):
        if not result.get(key):
            continue
        goals = Table(title=title)
        for name in ("target", "result", "met", "against"):
            goals.add_column(name)
        for g in result[key]:
            goals.add_row(g["target"], g["shown"], "[green]yes[/]" if g["met"] else "[red]no[/]", g["against"])
        console.print(goals)
    if result["profile"]:
        print_profile(result["profile"])
    console.print(f"machine: {machine_line(m)}", highlight=False)
    console.print("packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()), highlight=False)
    console.print(f"note: the load generator ({result['loadgen']}), the simulator and the proxy share these "
                  f"{m['cores_usable']} cores, so every figure includes their competition for CPU; "
                  "'proxy CPU' for the direct path is the simulator's own; 'other load' is CPU used meanwhile by "
                  "processes outside this benchmark (in cores; high values make req/s and latency pessimistic).",
                  highlight=False)
    for note in result["notes"]:
        console.print(f"note: {note}", highlight=False)
    console.print(f"wall time {result['wall_s']:.0f} s", highlight=False)
    if args.markdown:
        print()
        print(markdown(rows, result["targets"]))
        if result.get("targets_aiohttp_variant"):
            print()
            print(targets_markdown(result["targets_aiohttp_variant"]))


if __name__ == "__main__":
    main()
