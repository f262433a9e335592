"""Proxy overhead, this checkout against another revision, side by side against one simulator.

    .venv/bin/python bench/proxy_ab.py [--base HEAD~1] [--rounds 8] [--window 3] [--env-a K=V ...] [--env-b K=V ...]

On a shared machine latency drifts by 10-20 % from minute to minute, more than most single changes are
worth. Here both proxies run at once against the same zero-latency simulator, and their windows
alternate (A B, B A, ...) at concurrency 1 after a direct window each round, so drift hits both alike.
``--base`` is checked out with ``git worktree`` into a temporary folder and run from there through
PYTHONPATH (this checkout's virtualenv and its dependencies serve both). ``--base`` may also be ``.``
with ``--env-a``/``--env-b`` to compare two settings of the same code (e.g. TIER_LOG_ENABLED=false).

Prints per round the direct p50 and each proxy's p50 overhead, p99 and CPU per request, then the medians
(and the median of the windows' p99, and of their p99.9 with the Python load generator).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead as po  # bench/ is not a package
from _machine import LOOPBACK, Child, Children, free_port, run_load

ROOT = Path(__file__).resolve().parent.parent


def start_proxy(kids: Children, name: str, sim: Child, env_extra: dict[str, str], src: Path | None) -> Child:
    port = free_port()
    env = po.router_env(sim.port, "openai", kids.dir / f"{name}.db")
    env.update(env_extra)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    argv = [sys.executable, "-m", "tiered_router.cli", "serve", "--host", LOOPBACK, "--port", str(port)]
    return kids.start(name, argv, port=port, ready="/healthz", env=env, timeout=60)


def pairs(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep:
            raise SystemExit(f"expected KEY=VALUE, got {v!r}")
        out[key] = value
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default="HEAD", help="git revision for proxy B ('.' = this checkout) [HEAD]")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--window", type=float, default=3.0, help="seconds per window")
    p.add_argument("--env-a", nargs="*", default=[], metavar="K=V", help="extra environment for proxy A")
    p.add_argument("--env-b", nargs="*", default=[], metavar="K=V", help="extra environment for proxy B")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="tr-ab-") as tmp, Children() as kids:
        base_src = None
        if args.base != ".":
            tree = Path(tmp) / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), args.base],
                           check=True)
            base_src = tree / "src"
        try:
            sim = po.start_simulator(kids)
            proxies = {"A": start_proxy(kids, "A", sim, pairs(args.env_a), None),
                       "B": start_proxy(kids, "B", sim, pairs(args.env_b), base_src)}
            direct = f"http://{LOOPBACK}:{sim.port}/v1/chat/completions"
            urls = {k: f"http://{LOOPBACK}:{c.port}/v1/chat/completions" for k, c in proxies.items()}
            for url in urls.values():  # warm-up
                run_load(url, po.body("tier-1"), concurrency=1, duration=2, max_requests=3000)
            over: dict[str, list[float]] = {"A": [], "B": []}
            cpu: dict[str, list[float]] = {"A": [], "B": []}
            p99: dict[str, list[float]] = {"A": [], "B": []}
            p999: dict[str, list[float]] = {"A": [], "B": []}
            print(f"A = this checkout {pairs(args.env_a) or ''}; B = {args.base} {pairs(args.env_b) or ''}")
            for i in range(args.rounds):
                d = run_load(direct, po.body(po.MODEL), concurrency=1, duration=args.window, max_requests=10**6)
                for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
                    child = proxies[name]
                    before = child.cpu_s()
                    load = run_load(urls[name], po.body("tier-1"), concurrency=1, duration=args.window,
                                    max_requests=10**6)
                    over[name].append(load.p50_ms - d.p50_ms)
                    p99[name].append(load.p99_ms)
                    if "p999_ms" in load.extra:
                        p999[name].append(load.extra["p999_ms"])
                    cpu[name].append((child.cpu_s() - before) * 1000 / max(1, load.requests))
                print(f"round {i}: direct p50 {d.p50_ms:.3f} ms   A +{over['A'][-1]:.3f} ms, p99 {p99['A'][-1]:.2f} ms "
                      f"({cpu['A'][-1]:.3f} ms CPU)   B +{over['B'][-1]:.3f} ms, p99 {p99['B'][-1]:.2f} ms "
                      f"({cpu['B'][-1]:.3f} ms CPU)", flush=True)
            for name in ("A", "B"):
                print(f"{name}: median p50 overhead +{statistics.median(over[name]):.3f} ms "
                      f"(range {min(over[name]):.3f}-{max(over[name]):.3f}), "
                      f"median CPU {statistics.median(cpu[name]):.3f} ms/request, median p99 "
                      f"{statistics.median(p99[name]):.2f} ms"
                      + (f", median p99.9 {statistics.median(p999[name]):.2f} ms" if p999[name] else ""))
        finally:
            kids.stop_all()
            if base_src is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_src.parent)],
                               check=False)


if __name__ == "__main__":
    main()
