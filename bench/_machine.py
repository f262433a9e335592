"""Shared plumbing for the HTTP benchmarks (bench/proxy_overhead.py, bench/http_clients.py).

* ``machine()``: CPU model, cores, Python, kernel, date and package versions, for every report.
* ``Children`` / ``Child``: server processes, each in its own process group, always killed at the end.
* ``Child.cpu_s()`` / ``Child.rss_mb()``: utime+stime and VmRSS from /proc, summed over the process group.
* ``run_load()``: a bounded closed-loop load (count AND time) from a separate process: ``wrk`` when
  installed, else this file's own asyncio/aiohttp load generator (``python bench/_machine.py loadgen ...``).

Traffic goes to 127.0.0.1 only: ``run_load`` refuses any other host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# Any stray outbound HTTP(S) from a child (a third-party proxy phoning home) goes to a closed loopback port.
BLACKHOLE_ENV = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
                 "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
                 "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
                 "no_proxy": "127.0.0.1,localhost"}


# --- the machine ---------------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine(extra_packages: Sequence[str] = ()) -> dict[str, Any]:
    versions = {}
    for name in ("tiered-router", "uvicorn", "starlette", "httpx", "httpcore", "httptools", "uvloop", "pydantic",
                 *extra_packages):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "packages": versions,
    }


def machine_line(m: Mapping[str, Any]) -> str:
    return (f"{m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), Python {m['python']}, "
            f"Linux {m['kernel']}, {m['date']}")


def busy_cpu_s() -> float:
    """CPU-seconds the whole machine has spent busy since boot (all cores; /proc/stat, idle and iowait excluded)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK


def wait_quiet(own_pids: Sequence[int] = (), max_wait: float = 60.0, threshold_cores: float = 0.25,
               window: float = 2.0) -> float:
    """Wait (at most ``max_wait`` s) until other processes use less than ``threshold_cores`` for ``window`` s.

    Returns the background load last seen, in cores. The benchmarks share the machine with whatever else runs
    (test suites of other sessions, say); this keeps them from starting in the middle of such a burst.
    """
    deadline = time.monotonic() + max_wait
    while True:
        own0 = sum(_pid_cpu_s(p) for p in own_pids)
        busy0, t0 = busy_cpu_s(), time.monotonic()
        time.sleep(window)
        own1 = sum(_pid_cpu_s(p) for p in own_pids)
        other = max(0.0, (busy_cpu_s() - busy0) - (own1 - own0)) / (time.monotonic() - t0)
        if other < threshold_cores or time.monotonic() >= deadline:
            return other


def _pid_cpu_s(pid: int) -> float:
    stat = _stat_fields(pid)
    return (int(stat[11]) + int(stat[12])) / CLK_TCK if stat else 0.0


# --- child processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: ours without TIER_* settings, outbound HTTP black-holed, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIER_")}
    env.update(BLACKHOLE_ENV)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Child:
    """One server process, leader of its own process group (so its workers die with it)."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int
    headers: dict[str, str] = field(default_factory=dict)  # sent with every benchmark request (auth)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def group_pids(self) -> list[int]:
        """Every live process in this child's process group (the server and any workers it forked)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = _stat_fields(int(entry))
            if stat is not None and int(stat[2]) == self.pid:  # field 5, pgrp
                pids.append(int(entry))
        return pids or [self.pid]

    def cpu_s(self) -> float:
        """utime+stime of the process group, in seconds."""
        total = 0
        for pid in self.group_pids():
            stat = _stat_fields(pid)
            if stat is not None:
                total += int(stat[11]) + int(stat[12])  # fields 14 and 15: utime, stime (clock ticks)
        return total / CLK_TCK

    def thread_cpu_s(self) -> tuple[float, float]:
        """(main threads, every other thread) CPU seconds over the process group: the event loop vs helpers such
        as a log writer thread, a thread pool or a server's native I/O threads."""
        main = other = 0.0
        for pid in self.group_pids():
            with contextlib.suppress(OSError):
                for tid in os.listdir(f"/proc/{pid}/task"):
                    try:
                        raw = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                    except OSError:
                        continue
                    f = raw[raw.rindex(")") + 2:].split()
                    cpu = (int(f[11]) + int(f[12])) / CLK_TCK
                    if int(tid) == pid:
                        main += cpu
                    else:
                        other += cpu
        return main, other

    def rss_mb(self) -> float:
        """VmRSS summed over the process group, in MiB."""
        kb = 0
        for pid in self.group_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        kb += int(line.split()[1])
        return kb / 1024

    def tail(self, lines: int = 25) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the group, then SIGKILL after ``timeout`` seconds."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError):  # workers that outlived their leader
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(2)


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat fields after the command name: index 0 is field 3 (state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


class Children:
    """Starts servers and kills every one of them on exit, on error, on Ctrl-C and on SIGTERM.

        with Children() as kids:
            sim = kids.start("sim", [...], port=p, ready="/v1/models")
    """

    def __init__(self, workdir: Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="tr-bench-") if workdir is None else None
        self.dir = Path(self._tmp.name) if self._tmp else workdir  # type: ignore[assignment]
        self.children: list[Child] = []
        self._old_term: Any = None

    def __enter__(self) -> Children:
        self._old_term = signal.signal(signal.SIGTERM, _raise_exit)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        signal.signal(signal.SIGTERM, self._old_term or signal.SIG_DFL)
        if self._tmp is not None:
            self._tmp.cleanup()

    def start(self, name: str, argv: Sequence[str], *, port: int, ready: str, env: Mapping[str, str] | None = None,
              timeout: float = 60.0, cwd: Path | None = None) -> Child:
        """Start ``argv`` and wait until ``GET http://127.0.0.1:port{ready}`` answers (any status)."""
        log = self.dir / f"{name.replace('/', '_').replace(' ', '_')}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=dict(env) if env is not None else clean_env(), cwd=cwd,
                                    start_new_session=True)
        child = Child(name, proc, log, port)
        self.children.append(child)
        deadline = time.monotonic() + timeout
        while True:
            if not child.alive():
                child.stop()
                raise RuntimeError(f"{name} exited with code {proc.returncode} before it was ready:\n{child.tail()}")
            if http_get(port, ready) is not None:
                return child
            if time.monotonic() > deadline:
                child.stop()
                raise RuntimeError(f"{name} was not ready on port {port} within {timeout:.0f}s:\n{child.tail()}")
            time.sleep(0.2)

    def stop(self, child: Child) -> None:
        child.stop()
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        while self.children:
            self.children.pop().stop()


def _raise_exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def http_get(port: int, path: str, timeout: float = 2.0) -> int | None:
    """The status of GET http://127.0.0.1:port/path, or None when nothing answers."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def http_post_json(port: int, path: str, body: Mapping[str, Any], timeout: float = 10.0,
                   headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode(errors="replace")
    finally:
        conn.close()


# --- load -----------------------------------------------------------------------------------------------


@dataclass
class Load:
    """One measured window of closed-loop load."""

    requests: int  # completed with a 2xx
    errors: int  # connect/read/write errors, timeouts and non-2xx answers
    seconds: float
    p50_ms: float
    p99_ms: float
    loadgen: str
    loadgen_cpu_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": self.rps}


_WRK_LUA = """
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
%(headers)s
local done_count = 0
local limit = %(limit)d
response = function(status, headers, body)
  done_count = done_count + 1
  if done_count >= limit then wrk.thread:stop() end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,' ..
    '"timeout":%%d,"p50_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def loadgen_name(choice: str = "auto") -> str:
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk), use --loadgen python")
    return choice


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in (LOOPBACK, "localhost"):
        raise SystemExit(f"refusing to load {url}: only {LOOPBACK} is allowed")


def run_load(url: str, body: Mapping[str, Any], *, concurrency: int, duration: float, max_requests: int,
             loadgen: str = "auto", headers: Mapping[str, str] | None = None) -> Load:
    """Closed-loop POSTs of ``body`` to ``url`` from a separate process, until ``max_requests`` answers or
    ``duration`` seconds, whichever comes first."""
    check_loopback(url)
    which = loadgen_name(loadgen)
    hdrs = dict(headers or {})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = _run_wrk(url, body, concurrency, duration, max_requests, hdrs) if which == "wrk" else _run_python(
        url, body, concurrency, duration, max_requests, hdrs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load.loadgen_cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return load


def _run_wrk(url: str, body: Mapping[str, Any], concurrency: int, duration: float, max_requests: int,
             headers: Mapping[str, str]) -> Load:
    lua_headers = "\n".join(f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_LUA % {"body": _lua_string(json.dumps(body)), "limit": max(1, max_requests),
                            "headers": lua_headers})
        script = f.name
    try:
        argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
                "-s", script, url]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=False)
    finally:
        os.unlink(script)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed (exit {out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    d = json.loads(line[len("WRKJSON "):])
    errors = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    seconds = d["duration_us"] / 1e6
    capped = d["requests"] >= max_requests
    if capped:
        # wrk's clock runs for the whole -d even after the script stopped the thread at the request cap; for a
        # closed loop the busy time is (mean latency × requests / connections) (Little's law).
        seconds = min(seconds, d["mean_us"] * d["requests"] / concurrency / 1e6)
    return Load(requests=max(0, d["requests"] - d["status"]), errors=errors, seconds=seconds,
                p50_ms=d["p50_us"] / 1000, p99_ms=d["p99_us"] / 1000, loadgen="wrk",
                extra={"max_ms": d["max_us"] / 1000, "mean_ms": d["mean_us"] / 1000, "capped": capped})


def _run_python(url: str, body: Mapping[str, Any], concurrency: int, duration: float, max_requests: int,
                headers: Mapping[str, str]) -> Load:
    argv = [sys.executable, __file__, "loadgen", url, json.dumps(body), "-c", str(concurrency),
            "-d", str(duration), "-n", str(max_requests), "--headers", json.dumps(dict(headers))]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed (exit {out.returncode}): {out.stderr[-800:]}")
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return Load(requests=d["requests"], errors=d["errors"], seconds=d["seconds"], p50_ms=d["p50_ms"],
                p99_ms=d["p99_ms"], loadgen=d["loadgen"],
                extra={k: d[k] for k in ("p999_ms", "max_ms", "mean_ms") if k in d})


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


async def _python_load(url: str, body: dict[str, Any], concurrency: int, duration: float,
                       max_requests: int, extra_headers: dict[str, str]) -> dict[str, Any]:
    """The fallback load generator: ``concurrency`` workers on a pre-opened aiohttp pool (httpx if absent)."""
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/json", **extra_headers}
    try:
        import aiohttp
    except ImportError:
        aiohttp = None  # type: ignore[assignment]
    if aiohttp is not None:
        session: Any = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), trust_env=False)

        async def post() -> bool:
            async with session.post(url, data=payload, headers=headers) as r:
                await r.read()
                return 200 <= r.status < 300

        name = "python-aiohttp"
    else:
        import httpx

        session = httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), trust_env=False)

        async def post() -> bool:
            r = await session.post(url, content=payload, headers=headers)
            return 200 <= r.status_code < 300

        name = "python-httpx"
    try:
        await asyncio.gather(*(post() for _ in range(concurrency)))  # open the pool's connections first
        latencies, errors, seconds, _ = await closed_loop(post, max_requests, concurrency, duration)
    finally:
        if aiohttp is not None:
            await session.close()
        else:
            await session.aclose()
    latencies.sort()
    return {"requests": len(latencies), "errors": errors, "seconds": seconds, "loadgen": name,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "p999_ms": percentile(latencies, 99.9) * 1000,
            "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
            "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan")}


async def closed_loop(post: Callable[[], Awaitable[bool]], n: int, concurrency: int,
                      duration: float) -> tuple[list[float], int, float, float]:
    """n requests (at most ``duration`` s) from ``concurrency`` workers: (latencies, errors, seconds, cpu_s)."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal issued, errors
        while issued < n and time.perf_counter() < deadline:
            issued += 1
            t0 = time.perf_counter()
            try:
                ok = await asyncio.wait_for(post(), 10)
            except Exception:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - t0, time.process_time() - cpu0


def new_loop_runner() -> asyncio.Runner:
    """An asyncio.Runner on uvloop when installed (what uvicorn picks), else the default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


# --- profiles (py-spy raw/collapsed output) -----------------------------------------------------------


def asgi_post(path: str, body: bytes) -> tuple[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]],
                                                Callable[[dict[str, Any]], Awaitable[None]], list[int]]:
    """Drive an ASGI app in-process, with no server: ``await app(dict(scope), receive, send)`` POSTs
    ``body`` as JSON to ``path``; the returned list collects the statuses the app answered with."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "client": (LOOPBACK, 50000), "server": (LOOPBACK, 8080),
             "headers": [(b"host", b"127.0.0.1:8080"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    return scope, receive, send, statuses


def read_collapsed(path: Path) -> Iterator[tuple[list[str], int]]:
    """(frames root→leaf, samples) from py-spy's ``--format raw`` output."""
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";"), int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("loadgen", help="closed-loop POST load on 127.0.0.1 (used by run_load)")
    lg.add_argument("url")
    lg.add_argument("body", help="the JSON body")
    lg.add_argument("-c", "--concurrency", type=int, default=1)
    lg.add_argument("-d", "--duration", type=float, default=10.0)
    lg.add_argument("-n", "--requests", type=int, default=10000)
    lg.add_argument("--headers", default="{}", help="extra request headers, a JSON object")
    info = sub.add_parser("machine", help="print the machine as JSON")
    info.add_argument("--packages", nargs="*", default=[])
    args = parser.parse_args()
    if args.cmd == "machine":
        print(json.dumps(machine(args.packages), indent=2))
        return
    check_loopback(args.url)
    with new_loop_runner() as runner:
        result = runner.run(_python_load(args.url, json.loads(args.body), args.concurrency,
                                         min(args.duration, 600.0), args.requests, json.loads(args.headers)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
