"""Helpers shared by the budget ledger tests (not a test module).

PostgreSQL: ``TIER_TEST_PG_URL`` if set, else ``postgresql://postgres@127.0.0.1:5432/test`` and then
``postgresql://root@127.0.0.1:5432/test``. Each test gets its own schema (``search_path`` via the
URL's ``options``), dropped afterwards, so tests are isolated and safe to run in parallel. If no
server answers, the PostgreSQL parameters are skipped with a loud reason — or fail, when
``TIER_REQUIRE_PG=1`` (for CI, where a server must be running).
"""

from __future__ import annotations

import functools
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from tiered_router.budget import redact_url

TESTS_DIR = Path(__file__).resolve().parent
WORKER = TESTS_DIR / "budget_worker.py"
PYTHON = sys.executable

PG_CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)

# Read at import (collection) time: tests/conftest.py strips TIER_* variables inside each test.
REQUIRE_PG = os.environ.get("TIER_REQUIRE_PG") == "1"
PG_URL_FROM_ENV = os.environ.get("TIER_TEST_PG_URL")

BACKENDS = (
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
)


class FakeClock:
    """An injectable clock: ``clock()`` returns ``clock.now``; ``advance(...)`` moves it."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


@functools.cache
def pg_admin_url() -> tuple[str | None, str]:
    """(url, "") for a reachable server, or (None, why not)."""
    import psycopg

    env = os.environ.get("TIER_TEST_PG_URL") or PG_URL_FROM_ENV
    candidates = (env,) if env else PG_CANDIDATES
    errors = []
    for url in candidates:
        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except Exception as exc:
            errors.append(f"{redact_url(url)}: {str(exc).strip().splitlines()[0] if str(exc) else exc!r}")
    return None, "; ".join(errors)


def require_pg() -> str:
    url, why = pg_admin_url()
    if url is None:
        msg = (
            "!!! PostgreSQL NOT REACHABLE — the PostgreSQL budget-ledger tests are SKIPPED !!! "
            f"Tried: {why}. Set TIER_TEST_PG_URL=postgresql://user@host:port/db or start a server "
            "(the Makefile's PostgreSQL target)."
        )
        if REQUIRE_PG:
            pytest.fail(msg + " (TIER_REQUIRE_PG=1 makes this a failure)")
        pytest.skip(msg)
    return url


def with_params(url: str, **params: str) -> str:
    extra = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


@contextmanager
def pg_schema_url(prefix: str = "budget_t") -> Iterator[str]:
    """A fresh schema; yields a URL whose search_path points at it; drops it afterwards."""
    import psycopg

    admin = require_pg()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_params(admin, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def backend_db(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger location for ``backend``: "sqlite", "postgres" or "memory"."""
    if backend == "sqlite":
        yield str(tmp_path / "budget.db")
    elif backend == "postgres":
        with pg_schema_url() as url:
            yield url
    elif backend == "memory":
        yield "memory://"
    else:  # pragma: no cover
        raise ValueError(backend)
