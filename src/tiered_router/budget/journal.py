"""The spend journal: settlements the ledger could not take, kept until it can.

A cloud call that was paid for must be recorded, even when the ledger is unreachable at the moment it
ends (a PostgreSQL blip, a locked file). ``BudgetTracker.settle`` then writes the settlement here: a small
SQLite file of its own (beside a SQLite ledger, or in the user data directory for a PostgreSQL one), or,
if even that cannot be written, a list in memory. The journal is replayed into the ledger, oldest first,
before the next reservation, and settling is idempotent by call id, so a replay that is interrupted and
run again records nothing twice. While anything is left unreplayed, no new reservation is made: the
budget never "gets back" money that was really spent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

from ..paths import default_db_path
from .ledger import SpendRow, Windows

log = logging.getLogger("tiered_router.budget")

_SCHEMA = """CREATE TABLE IF NOT EXISTS spend_journal (
    call_id TEXT PRIMARY KEY, reservation_id TEXT, row TEXT NOT NULL, journalled_at TEXT NOT NULL)"""


def journal_path(db: str | os.PathLike[str] | None) -> str | None:
    """Where the journal of ledger ``db`` lives: beside a SQLite file; in the user data directory for a
    PostgreSQL URL (named after it); nowhere (in memory) for ``memory://``."""
    target = os.fspath(db) if db is not None else str(default_db_path())
    if target.startswith("memory:"):
        return None
    if target.startswith(("postgresql://", "postgres://")):
        digest = hashlib.sha256(target.encode()).hexdigest()[:16]
        return str(default_db_path().with_name(f"spend-journal-{digest}.db"))
    target = target.removeprefix("sqlite:///")
    return str(Path(target).with_name(Path(target).name + ".spend-journal"))


class SpendJournal:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._memory: dict[str, tuple[SpendRow, str | None]] = {}
        self._conn: sqlite3.Connection | None = None
        self._count = 0
        if path is not None and Path(path).exists():  # settlements a previous process left unreplayed
            with contextlib.suppress(sqlite3.Error, OSError):
                self._count = len(self._file_rows(self._open()))

    def __len__(self) -> int:
        return self._count + len(self._memory)

    def add(self, spend: SpendRow, reservation_id: str | None) -> str:
        """Keep a settlement; returns where it was kept ("file" or "memory")."""
        with self._lock:
            if self.path is not None:
                try:
                    conn = self._open()
                    with conn:
                        cur = conn.execute("INSERT OR IGNORE INTO spend_journal VALUES (?, ?, ?, ?)",
                                           (spend.call_id, reservation_id, _dump(spend), datetime.now().isoformat()))
                    self._count += cur.rowcount
                    return "file"
                except (sqlite3.Error, OSError) as exc:
                    log.error("the spend journal %s cannot be written (%s); keeping the settlement in memory",
                              self.path, exc)
            self._memory[spend.call_id] = (spend, reservation_id)
            return "memory"

    def pending(self) -> list[tuple[SpendRow, str | None]]:
        """Every kept settlement, oldest first."""
        with self._lock:
            rows = list(self._memory.values())
            if self.path is not None and self._count:
                with contextlib.suppress(sqlite3.Error, OSError):
                    rows = self._file_rows(self._open()) + rows
            return rows

    def done(self, call_id: str) -> None:
        """The ledger has this settlement now: forget it."""
        with self._lock:
            if self._memory.pop(call_id, None) is not None:
                return
            if self.path is not None and self._count:
                conn = self._open()
                with conn:
                    cur = conn.execute("DELETE FROM spend_journal WHERE call_id = ?", (call_id,))
                self._count -= cur.rowcount

    def total_micro(self) -> int:
        return sum(spend.cost_micro for spend, _ in self.pending())

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            assert self.path is not None
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level="DEFERRED")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a journalled spend survives a crash
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    @staticmethod
    def _file_rows(conn: sqlite3.Connection) -> list[tuple[SpendRow, str | None]]:
        rows = conn.execute("SELECT row, reservation_id FROM spend_journal ORDER BY journalled_at, call_id")
        return [(_load(row), reservation_id) for row, reservation_id in rows]


def _dump(spend: SpendRow) -> str:
    return json.dumps({
        "call_id": spend.call_id, "ts": spend.ts.isoformat(), "day": spend.windows.day,
        "month": spend.windows.month, "provider": spend.provider, "model": spend.model,
        "tokens_in": spend.tokens_in, "tokens_out": spend.tokens_out, "cost_micro": spend.cost_micro,
        "cost_estimated": spend.cost_estimated, "reserved_micro": spend.reserved_micro,
    })


def _load(raw: str) -> SpendRow:
    d = json.loads(raw)
    return SpendRow(d["call_id"], datetime.fromisoformat(d["ts"]), Windows(d["day"], d["month"]), d["provider"],
                    d["model"], d["tokens_in"], d["tokens_out"], d["cost_micro"], d["cost_estimated"],
                    d["reserved_micro"])
