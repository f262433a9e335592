"""The shared migration policy, on a real SQLite connection."""

from __future__ import annotations

import logging
import sqlite3

from tiered_router.migrations import apply_migrations

MIGRATIONS = [(1, ["CREATE TABLE a (x INTEGER)"]), (2, ["CREATE TABLE b (y INTEGER)"])]
log = logging.getLogger("test.migrations")


def migrate(conn: sqlite3.Connection) -> None:
    apply_migrations(conn.execute, lambda: conn.execute("SELECT COALESCE(MAX(version), 0) FROM v").fetchone()[0],
                     MIGRATIONS, table="v", postgres=False, what="test db", description=":memory:", log=log)


def test_applies_pending_once_and_records_versions():
    conn = sqlite3.connect(":memory:")
    migrate(conn)
    migrate(conn)  # idempotent: nothing left to apply
    assert [r[0] for r in conn.execute("SELECT version FROM v ORDER BY version")] == [1, 2]
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")} == {"a", "b", "v"}


def test_a_newer_database_is_left_alone_with_a_warning(caplog):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE v (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.execute("INSERT INTO v VALUES (7, 'later')")
    with caplog.at_level(logging.WARNING):
        migrate(conn)
    assert "newer than this code" in caplog.text
    assert not conn.execute("SELECT name FROM sqlite_master WHERE name='a'").fetchall()
