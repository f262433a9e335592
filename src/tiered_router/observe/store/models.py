"""Learned classifiers kept in the routing log's database (``router_models``, migration 3).

The store keeps the model as the learner serialised it (JSON text) and knows nothing of its insides
(``learn/`` does). Each model has a state: ``live`` (at most one: the one routers use), ``candidate``
(fitted, not promoted: its replay says why), ``retired`` (was live, replaced by a better one) or
``rolled-back``. Promotion and rollback each run in one transaction, so no reader ever sees two live models
or none in between. Several routers on one PostgreSQL database share the live model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from .direct import DirectConnection

LIVE, CANDIDATE, RETIRED, ROLLED_BACK = "live", "candidate", "retired", "rolled-back"
_COLUMNS = "version, created_us, state, n_train, replay, previous"


@dataclass(frozen=True, slots=True)
class StoredModel:
    version: str
    created: float  # epoch seconds
    state: str
    n_train: int
    replay: dict[str, Any] = field(default_factory=dict)  # what the promotion replay measured, and its reason
    previous: str | None = None  # the live model this one replaced, when promoted
    model: str | None = None  # the serialised model (only when asked for)


class ModelStore:
    def __init__(self, connection: DirectConnection) -> None:
        self._db = connection

    def add(self, version: str, model: str, n_train: int, replay: dict[str, Any], *, live: bool) -> None:
        """Store a fitted model: promoted to live (the current live one retired) or kept as a candidate."""
        row = (version, round(time.time() * 1_000_000), CANDIDATE, int(n_train), json.dumps(replay), None, model)
        insert = f"INSERT INTO router_models ({_COLUMNS}, model) VALUES (?, ?, ?, ?, ?, ?, ?)"
        if not live:
            self._db.run(insert, row)
            return
        current = self.live_version()
        self._db.transaction([
            (insert, row),
            ("UPDATE router_models SET state = ? WHERE state = ?", (RETIRED, LIVE)),
            ("UPDATE router_models SET state = ?, previous = ? WHERE version = ?", (LIVE, current, version)),
        ])

    def live_version(self) -> str | None:
        rows = self._db.run("SELECT version FROM router_models WHERE state = ? ORDER BY created_us DESC LIMIT 1",
                            (LIVE,))
        return str(rows[0][0]) if rows else None

    def live(self) -> StoredModel | None:
        """The live model, with its serialised form; None when routers use the heuristic alone."""
        rows = self._db.run(f"SELECT {_COLUMNS}, model FROM router_models WHERE state = ? "
                            "ORDER BY created_us DESC LIMIT 1", (LIVE,))
        return _stored(rows[0]) if rows else None

    def recent(self, limit: int = 10) -> list[StoredModel]:
        """The newest models, newest first, without their serialised form."""
        rows = self._db.run(f"SELECT {_COLUMNS} FROM router_models ORDER BY created_us DESC LIMIT ?", (limit,))
        return [_stored(row) for row in rows]

    def rollback(self) -> StoredModel | None:
        """Retire the live model and make the one it replaced live again (none: back to the heuristic alone).
        Returns the model that is live afterwards. LookupError when no model is live."""
        live = self.live()
        if live is None:
            raise LookupError("no learned model is live: the router already uses the heuristic alone")
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("UPDATE router_models SET state = ? WHERE version = ?", (ROLLED_BACK, live.version))]
        if live.previous:
            statements.append(("UPDATE router_models SET state = ? WHERE version = ?", (LIVE, live.previous)))
        self._db.transaction(statements)
        return self.live()


def _stored(row: tuple[Any, ...]) -> StoredModel:
    version, created_us, state, n_train, replay, previous, *model = row
    return StoredModel(str(version), created_us / 1_000_000, str(state), int(n_train), json.loads(replay or "{}"),
                       previous, model[0] if model else None)
