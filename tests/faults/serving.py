"""``tiered-router serve`` as a child process, for the fault tests that kill it, signal it or read what it printed:
its environment (``child_env``), a free port, and ``ServeChild``, a started server with an HTTP client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from waiting import polled

import tiered_router

SRC = Path(tiered_router.__file__).resolve().parent.parent  # the child runs the code under test, not an install


def child_env(**settings: str) -> dict[str, str]:
    """This process's environment without its TIER_ settings or keys, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIER_") and not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(PYTHONUNBUFFERED="1", **settings)
    return env


def local_tiers(sim_url: str) -> dict[str, str]:
    """Settings for tiers 1 and 2 on the simulator at ``sim_url``, over the Ollama protocol."""
    return {"TIER_LOCAL_FAST_MODEL": "ollama/llama3.1:8b", "TIER_LOCAL_FAST_URL": sim_url,
            "TIER_LOCAL_HEAVY_MODEL": "ollama/hermes3:70b", "TIER_LOCAL_HEAVY_URL": sim_url}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeChild:
    """``tiered-router serve`` on a free loopback port with ``settings``, its output in ``out``; returns once
    ``/healthz`` answers (or fails the test with what the child printed)."""

    def __init__(self, settings: dict[str, str], out: Path, *, start_s: float = 60.0,
                 timeout_s: float = 10.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = out
        with out.open("wb") as sink:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tiered_router.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=child_env(**settings), stdout=sink, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.url, timeout=timeout_s)
        if not polled(self._up, start_s):
            self.stop()
            raise AssertionError(f"the server did not start:\n{self.output()}")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited with {self.proc.returncode}:\n{self.output()}")
        try:
            return self.client.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return self.out.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
