"""The routing log: every routing record stored in the router's database, for ``stats`` and ``log``.

One row per request in ``router_requests`` and one per attempt in ``router_attempts``, in the same
database as the budget ledger: a SQLite file by default, PostgreSQL when ``settings.db`` is a
``postgresql://`` URL. The schema is versioned (``router_schema_version``, numbered migrations).

Writing never slows a request: ``sink`` only appends the record to an in-memory queue. A daemon
thread writes what is queued once the oldest record has waited ``flush_interval_s`` (0.25 s) or
``batch_size`` records are waiting, one transaction per batch, so every record is in the database within
about a quarter of a second, busy or idle. It works in small chunks and hands the GIL back between them,
so the server's event loop never waits long for it. Text no database can store (a NUL, a lone surrogate)
is written escaped; a record the database refuses anyway is dropped with a logged reason, and the rest of
its batch is written without it. If the database is unavailable the writer logs a (rate-limited)
warning, keeps the newest ``max_pending`` records in memory and retries later. ``flush()`` writes
everything queued so far; ``close()`` flushes and stops the thread (also run at interpreter exit), so a
clean shutdown loses nothing. Retention (``retention_days``, ``max_rows``) is applied by the writer every
``prune_every_batches`` batches and by ``prune()``. docs/reliability.md lists these promises and the
tests that check them.

Column names are the record's field names with the ``router.`` prefix dropped and dots written as
underscores (``gen_ai.usage.input_tokens`` → ``gen_ai_usage_input_tokens``); where the stored unit
differs the name says so (``time`` seconds → ``time_us``, ``router.cost_usd`` → ``cost_micro``).
``REQUEST_COLUMNS`` and ``ATTEMPT_COLUMNS`` are the full mapping. Readers (``recent``, ``get``) give
rows back in the record's own shape, so code that reads records reads the log the same way.

This package is split like ``budget/``. Other code imports from the package; its modules hold:

- ``log_store.py``: ``RoutingLogStore`` (the writer plus the readers) and ``open_log_store``;
- ``writer.py``: ``LogWriter``, the queue and the thread that writes it, retention;
- ``dialect.py``: the ``Dialect`` interface and ``open_dialect``, and the chunks and pauses the writer
  works in; ``sqlite.py`` and ``postgres.py`` implement it;
- ``schema.py``: the column mapping, the migrations and the SQL both databases share;
- ``rows.py``: routing record ↔ rows; ``errors.py``: ``LogStoreError``;
- ``judgements.py``: what is learned about a request later (feedback, shadow answers, the second opinion's
  comparison), ``router_judgements``;
- ``models.py``: the learned classifiers (``router_models``) and which one is live;
- ``direct.py``: the connection those two side tables write through.
"""

from .errors import LogStoreError
from .judgements import Judgement, parse_score
from .log_store import MAX_READ_LIMIT, RoutingLogStore, open_log_store
from .models import ModelStore, StoredModel
from .rows import record_rows
from .schema import ATTEMPT_COLUMNS, LATEST_VERSION, MIGRATIONS, REQUEST_COLUMNS, SCHEMA_TABLE, iter_columns
from .writer import LogWriter

__all__ = [
    "ATTEMPT_COLUMNS",
    "LATEST_VERSION",
    "MAX_READ_LIMIT",
    "MIGRATIONS",
    "REQUEST_COLUMNS",
    "SCHEMA_TABLE",
    "Judgement",
    "LogStoreError",
    "LogWriter",
    "ModelStore",
    "RoutingLogStore",
    "StoredModel",
    "iter_columns",
    "open_log_store",
    "parse_score",
    "record_rows",
]
