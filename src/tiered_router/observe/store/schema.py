"""The routing log's tables: which record field goes in which column, the migrations, the shared SQL.

Column names are the record's field names with the ``router.`` prefix dropped and dots written as
underscores (``gen_ai.usage.input_tokens`` → ``gen_ai_usage_input_tokens``); where the stored unit
differs the name says so (``time`` seconds → ``time_us``, ``router.cost_usd`` → ``cost_micro``).
``REQUEST_COLUMNS`` and ``ATTEMPT_COLUMNS`` are the full mapping, ``iter_columns()`` the documented one.
The statements here use ``?`` placeholders and SQL that both SQLite and PostgreSQL accept; each
dialect adapts them (``sqlite.py``, ``postgres.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

SCHEMA_TABLE = "router_schema_version"

# (column, record field, kind). kind: text, int, real, bool, json, time (epoch s ↔ µs), money (USD ↔ µ$).
# The columns of router_requests as migration 1 created them; later ones are added by their migration.
_REQUEST_COLUMNS_1: tuple[tuple[str, str, str], ...] = (
    ("request_id", "request_id", "text"),
    ("time_us", "time", "time"),
    ("entry_point", "router.entry_point", "text"),
    ("classified_tier", "router.classified_tier", "int"),
    ("score", "router.score", "real"),
    ("reasons", "router.reasons", "json"),
    ("forced_tier", "router.forced_tier", "int"),
    ("final_tier", "router.final_tier", "int"),
    ("gen_ai_provider_name", "gen_ai.provider.name", "text"),
    ("gen_ai_response_model", "gen_ai.response.model", "text"),
    ("escalated", "router.escalated", "bool"),
    ("escalation_reason", "router.escalation_reason", "text"),
    ("degraded", "router.degraded", "bool"),
    ("degraded_reason", "router.degraded_reason", "text"),
    ("quality", "router.quality", "text"),
    ("gen_ai_usage_input_tokens", "gen_ai.usage.input_tokens", "int"),
    ("gen_ai_usage_output_tokens", "gen_ai.usage.output_tokens", "int"),
    ("cost_micro", "router.cost_usd", "money"),
    ("cost_estimated", "router.cost_estimated", "bool"),
    ("latency_ms", "router.latency_ms", "real"),
    ("overhead_ms", "router.overhead_ms", "real"),
    ("status", "router.status", "text"),
    ("error_type", "error.type", "text"),
    ("prompt_sha256", "router.prompt_sha256", "text"),
    ("prompt_chars", "router.prompt_chars", "int"),
    ("answer_chars", "router.answer_chars", "int"),
    # Only filled when the user opted in (TIER_LOG_CONTENT): the record carries no text otherwise.
    ("prompt", "router.prompt", "json"),
    ("answer", "router.answer", "text"),
)
REQUEST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    *_REQUEST_COLUMNS_1,
    # Only filled when the user opted in (TIER_LOG_FEATURES): hashed learning features, not the text.
    ("features", "router.features", "text"),
)
ATTEMPT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("tier", "tier", "int"),
    ("gen_ai_provider_name", "gen_ai.provider.name", "text"),
    ("gen_ai_request_model", "gen_ai.request.model", "text"),
    ("outcome", "router.outcome", "text"),
    ("error_type", "error.type", "text"),
    ("error_message", "router.error", "text"),
    ("quality", "router.quality", "text"),
    ("gen_ai_response_finish_reasons", "gen_ai.response.finish_reasons", "json"),
    ("latency_ms", "router.latency_ms", "real"),
    ("gen_ai_usage_input_tokens", "gen_ai.usage.input_tokens", "int"),
    ("gen_ai_usage_output_tokens", "gen_ai.usage.output_tokens", "int"),
    ("cost_micro", "router.cost_usd", "money"),
)
_NOT_NULL = frozenset({"request_id", "time_us", "escalated", "degraded", "cost_micro", "cost_estimated", "status",
                       "outcome", "log_id", "attempt_index"})
_TYPES = {"text": "TEXT", "int": "{int}", "real": "{real}", "bool": "{bool}", "json": "TEXT", "time": "{bigint}",
          "money": "{bigint}"}


def _ddl(table: str, key: Sequence[tuple[str, str]], columns: Sequence[tuple[str, str, str]], pk: str) -> str:
    parts = [f"{name} {sql_type}" + (" NOT NULL" if name in _NOT_NULL else "") for name, sql_type in key]
    parts += [f"{c} {_TYPES[kind]}" + (" NOT NULL" if c in _NOT_NULL else "") for c, _, kind in columns]
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(parts) + f",\n  PRIMARY KEY ({pk})\n)"


# Numbered migrations, written once for both dialects ({int}, {bigint}, {real}, {bool} are filled in).
# Never edit one that has shipped: append a new number.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            # log_id: 16 hex digits of the record's epoch-µs then 8 random hex digits. Time-ordered (so
            # "newest N" and retention are b-tree ranges) and unique even when a client reuses a request id.
            _ddl("router_requests", [("log_id", "TEXT")], _REQUEST_COLUMNS_1, "log_id"),
            "CREATE INDEX IF NOT EXISTS router_requests_time ON router_requests (time_us)",
            "CREATE INDEX IF NOT EXISTS router_requests_request_id ON router_requests (request_id)",
            _ddl("router_attempts", [("log_id", "TEXT"), ("attempt_index", "{int}"), ("request_id", "TEXT"),
                                     ("time_us", "{bigint}")], ATTEMPT_COLUMNS, "log_id, attempt_index"),
            "CREATE INDEX IF NOT EXISTS router_attempts_time ON router_attempts (time_us)",
        ],
    ),
    (
        2,
        [
            # What was learned about a request after it was answered (judgements.py): the user's feedback,
            # a shadow answer of the next tier up and whether it agreed. One row per (request, kind), keyed
            # by the request's log_id so retention removes it with the request.
            """CREATE TABLE IF NOT EXISTS router_judgements (
  log_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  request_id TEXT NOT NULL,
  time_us {bigint} NOT NULL,
  score {real} NOT NULL,
  comment TEXT,
  tier {int},
  model TEXT,
  method TEXT,
  cost_micro {bigint},
  PRIMARY KEY (log_id, kind)
)""",
        ],
    ),
    (
        3,
        [
            # Learned classifiers (models.py, learn/): every model `tiered-router learn` fitted, with its state
            # (live, candidate, retired, rolled-back) and the replay that promoted or refused it. At most one
            # is live; replicas sharing the database share it.
            """CREATE TABLE IF NOT EXISTS router_models (
  version TEXT NOT NULL PRIMARY KEY,
  created_us {bigint} NOT NULL,
  state TEXT NOT NULL,
  n_train {int} NOT NULL,
  replay TEXT NOT NULL,
  previous TEXT,
  model TEXT NOT NULL
)""",
            "CREATE INDEX IF NOT EXISTS router_models_state ON router_models (state, created_us)",
        ],
    ),
    (
        4,
        [
            # A request's learning features, kept without its text (TIER_LOG_FEATURES; learn/stored.py).
            "ALTER TABLE router_requests ADD COLUMN features TEXT",
        ],
    ),
]
LATEST_VERSION = MIGRATIONS[-1][0]

_REQUEST_INSERT_COLS = ("log_id", *(c for c, _, _ in REQUEST_COLUMNS))
_ATTEMPT_INSERT_COLS = ("log_id", "attempt_index", "request_id", "time_us", *(c for c, _, _ in ATTEMPT_COLUMNS))
INSERT_REQUEST = (f"INSERT INTO router_requests ({', '.join(_REQUEST_INSERT_COLS)}) "
                  f"VALUES ({', '.join('?' * len(_REQUEST_INSERT_COLS))}) ON CONFLICT (log_id) DO NOTHING")
INSERT_ATTEMPT = (f"INSERT INTO router_attempts ({', '.join(_ATTEMPT_INSERT_COLS)}) "
                  f"VALUES ({', '.join('?' * len(_ATTEMPT_INSERT_COLS))}) "
                  "ON CONFLICT (log_id, attempt_index) DO NOTHING")
# The readers rebuild records from rows in exactly these column orders (rows.py).
SELECT_REQUEST = f"SELECT {', '.join(_REQUEST_INSERT_COLS)} FROM router_requests"
SELECT_ATTEMPT = f"SELECT {', '.join(_ATTEMPT_INSERT_COLS)} FROM router_attempts"


def iter_columns() -> Iterable[tuple[str, str, str, str]]:
    """(table, column, record field, kind) for every stored field: the documented mapping."""
    for column, field, kind in REQUEST_COLUMNS:
        yield "router_requests", column, field, kind
    for column, field, kind in ATTEMPT_COLUMNS:
        yield "router_attempts", column, f"router.attempts[].{field}", kind
