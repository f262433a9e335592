"""Numbered schema migrations, the one policy every store uses (budget ledger and routing log,
on SQLite and PostgreSQL): create the version table, warn when the database is newer than this
code, apply each pending migration and record its version. The caller holds the transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

Migrations = Sequence[tuple[int, Sequence[str]]]


def apply_migrations(
    execute: Callable[..., Any],
    fetch_version: Callable[[], int],
    migrations: Migrations,
    *,
    table: str,
    postgres: bool,
    what: str,
    description: str,
    log: logging.Logger,
    render: Callable[[str], str] = lambda sql: sql,
) -> None:
    """``execute(sql[, params])`` is a connection's or cursor's execute; ``fetch_version`` reads
    ``MAX(version)`` after the table exists. SQLite stores applied_at as ISO text, PostgreSQL as timestamptz."""
    applied_type, placeholder = ("TIMESTAMPTZ", "%s") if postgres else ("TEXT", "?")
    execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER PRIMARY KEY, applied_at {applied_type} NOT NULL)")
    current = fetch_version()
    latest = migrations[-1][0]
    if current > latest:
        log.warning("%s %s has schema version %d, newer than this code (%d)", what, description, current, latest)
    for version, statements in migrations:
        if version <= current:
            continue
        for sql in statements:
            execute(render(sql))
        now = datetime.now(UTC)
        execute(f"INSERT INTO {table} (version, applied_at) VALUES ({placeholder}, {placeholder})",
                (version, now if postgres else now.isoformat()))
        log.info("%s %s migrated to schema version %d", what, description, version)
