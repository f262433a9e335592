"""Configuration faults through the real command line, as an operator meets them: ``tiered-router serve`` runs
as a child process (docs/reliability.md, "The HTTP edge and configuration").

A bad setting stops it before it serves anything: one line on stderr naming the variable or TOML key, exit
code 2, no traceback; with the routing log and ledger on SQLite and on PostgreSQL. A PostgreSQL server that is
down is not a configuration error: the server starts, the local tiers answer and ``/readyz`` says the cloud
waits for its ledger.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from serving import child_env, free_port
from waiting import polled

from sim_support import CLOUD, FAST, HEAVY


def serve(env: dict[str, str], port: int = 0, **kwargs: Any) -> subprocess.Popen[str]:
    """``tiered-router serve`` as an operator starts it, in a child process."""
    return subprocess.Popen([sys.executable, "-m", "tiered_router.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, text=True, **kwargs)


SECRET = "s3cret-pw"  # a password in a bad URL, which the error must not repeat


def with_port(url: str, port: str) -> str:
    """``url`` on loopback at ``port``, with a password."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'router'}:{SECRET}@127.0.0.1:{port}"))


# (what is wrong, the settings, what the one line must name). TIER_DB is the test's database unless the case
# sets its own.
BadSetting = tuple[str, Callable[[Path, str], dict[str, str]], tuple[str, ...]]


def toml(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


BAD_SETTINGS: list[BadSetting] = [
    ("TOML syntax", lambda tmp, db: {"TIER_CONFIG": toml(tmp, "syntax.toml", "local_fast_model = \n")},
     ("TIER_CONFIG", "not valid TOML")),
    ("unknown TOML key", lambda tmp, db: {"TIER_CONFIG": toml(tmp, "key.toml", 'local_fast_modle = "ollama/x"\n')},
     ("local_fast_modle", "did you mean 'local_fast_model'")),
    ("infinite limit", lambda tmp, db: {"TIER_CLOUD_MONTHLY_BUDGET_USD": "inf"}, ("TIER_CLOUD_MONTHLY_BUDGET_USD",)),
    ("empty key list", lambda tmp, db: {"TIER_API_KEYS": ","}, ("TIER_API_KEYS",)),
    ("model URL with a bad port", lambda tmp, db: {"TIER_LOCAL_FAST_URL": "http://127.0.0.1:99999"},
     ("TIER_LOCAL_FAST_URL", "bad port")),
    ("unusable TIER_DB", lambda tmp, db: {"TIER_DB": "/proc/no-such-place/ledger.db"} if "://" not in db
     else {"TIER_DB": with_port(db, "99999")}, ("TIER_DB",)),  # PostgreSQL: a port no server can have
    ("TIER_DB that cannot be a database", lambda tmp, db: {"TIER_DB": str(tmp)} if "://" not in db
     else {"TIER_DB": db.replace("127.0.0.1", "local host")}, ("TIER_DB",)),  # a directory; a host with a space
]


def test_a_bad_setting_stops_serve_with_one_line_naming_it_and_exit_2(db, tmp_path) -> None:
    children: list[subprocess.Popen[str]] = []
    # On PostgreSQL, only the TIER_DB cases: the others fail before the database is looked at.
    cases = [case for case in BAD_SETTINGS if "://" not in db or "TIER_DB" in case[2]]
    try:
        for _what, settings, _ in cases:  # all at once: each is a Python start-up, the rest is quick
            env = child_env(**{"TIER_DB": db, **settings(tmp_path, db)})
            children.append(serve(env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for (what, _, named), child in zip(cases, children, strict=True):
            try:
                out, err = child.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{what}: serve did not stop at its bad setting")
            lines = err.strip().splitlines()
            assert child.returncode == 2, f"{what}: exit {child.returncode}\n{err}"
            assert len(lines) == 1 and lines[0].startswith("error: "), f"{what}: not one line\n{err}"
            assert all(name in lines[0] for name in named), f"{what}: the line does not name {named}: {lines[0]}"
            assert "Traceback" not in out + err and not out, what
            assert SECRET not in err, f"{what}: the error repeats the password"
    finally:
        for child in children:  # a server that started after all is stopped, not left running
            if child.poll() is None:
                child.kill()
                child.communicate()


def test_a_postgres_ledger_that_is_down_is_not_a_configuration_error(simulator, tmp_path) -> None:
    port = free_port()
    closed = socket.socket()  # bound and never listening: a connection to it is refused, and no one else gets it
    closed.bind(("127.0.0.1", 0))
    down = closed.getsockname()[1]
    ledger = f"postgresql://nobody@127.0.0.1:{down}/ledger"
    env = child_env(TIER_DB=ledger, TIER_LOCAL_FAST_MODEL=f"ollama/{FAST}", TIER_LOCAL_FAST_URL=simulator.url,
                    TIER_LOCAL_HEAVY_MODEL=f"ollama/{HEAVY}", TIER_LOCAL_HEAVY_URL=simulator.url,
                    TIER_CLOUD_MODEL=f"anthropic/{CLOUD}", TIER_CLOUD_URL=simulator.url,
                    TIER_CLOUD_API_KEY="simulator-key", TIER_CLOUD_ENABLED="true")
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        child = serve(env, port, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            assert child.poll() is None, f"serve exited with {child.returncode}:\n{log.read_text()}"
            try:
                return httpx.get(url + "/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        assert polled(up, 60), f"serve did not start:\n{log.read_text()}"
        ready = httpx.get(url + "/readyz", timeout=10)
        assert ready.status_code == 200  # the local tiers can answer
        tiers = ready.json()["tiers"]
        assert tiers["cloud"]["state"] == "ledger-down"
        assert tiers["local-fast"]["state"] == tiers["local-heavy"]["state"] == "ok"
        local = httpx.post(url + "/v1/chat/completions", timeout=30, json={
            "model": "auto", "messages": [{"role": "user", "content": "Walk to the next room"}]})
        assert local.status_code == 200 and local.json()["model"] == FAST
        cloud = httpx.post(url + "/v1/chat/completions", timeout=30, json={
            "model": "cloud", "max_tokens": 20, "messages": [{"role": "user", "content": "Summarise the log."}]})
        # No unbudgeted cloud call: the documented fail-closed answer, naming no database address.
        assert cloud.status_code == 502 and "budget_unavailable" in cloud.text and str(down) not in cloud.text
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        closed.close()
    output = log.read_text()
    assert child.returncode in (0, -signal.SIGTERM), output  # uvicorn ends by raising the signal it caught
    assert "budget ledger unavailable at start-up" in output and "Traceback" not in output
