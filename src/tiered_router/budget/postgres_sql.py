"""The PostgreSQL ledger's schema (numbered migrations) and its statements, kept apart from the connection
handling in ``postgres.py`` so each reads alone. Every statement is explained where it stands."""

from __future__ import annotations

# Serialises migrations of concurrent processes (transaction-scoped advisory lock).
MIGRATION_LOCK_KEY = 0x7452_4275_6467  # "tRBudg"

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE IF NOT EXISTS budget_windows (
                window_key      TEXT PRIMARY KEY,
                spent_micro     BIGINT NOT NULL DEFAULT 0,
                calls           BIGINT NOT NULL DEFAULT 0,
                estimated_calls BIGINT NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE IF NOT EXISTS budget_reservations (
                id           TEXT PRIMARY KEY,
                provider     TEXT NOT NULL,
                model        TEXT NOT NULL,
                amount_micro BIGINT NOT NULL CHECK (amount_micro >= 0),
                created_us   BIGINT NOT NULL,
                expires_us   BIGINT NOT NULL,
                day_key      TEXT NOT NULL,
                month_key    TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS budget_reservations_month ON budget_reservations (month_key)",
            """CREATE TABLE IF NOT EXISTS budget_spend (
                call_id        TEXT PRIMARY KEY,
                ts             TIMESTAMPTZ NOT NULL,
                day_key        TEXT NOT NULL,
                month_key      TEXT NOT NULL,
                provider       TEXT NOT NULL,
                model          TEXT NOT NULL,
                tokens_in      BIGINT NOT NULL,
                tokens_out     BIGINT NOT NULL,
                cost_micro     BIGINT NOT NULL,
                cost_estimated BOOLEAN NOT NULL DEFAULT FALSE,
                reserved_micro BIGINT
            )""",
            "CREATE INDEX IF NOT EXISTS budget_spend_window ON budget_spend (month_key, day_key)",
        ],
    ),
]
LATEST_VERSION = MIGRATIONS[-1][0]

TOTALS_SQL = """
SELECT
  COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = %(dk)s), 0),
  COALESCE((SELECT SUM(amount_micro) FROM budget_reservations
            WHERE month_key = %(m)s AND day_key = %(d)s AND expires_us > %(now)s), 0),
  COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = %(mk)s), 0),
  COALESCE((SELECT SUM(amount_micro) FROM budget_reservations
            WHERE month_key = %(m)s AND expires_us > %(now)s), 0)
"""
# Runs after the month row is locked (a new statement, so a new snapshot that sees every commit made
# before the lock was granted). Inserts the reservation only if it fits; returns the totals it saw.
# The condition mirrors ledger.check_limits, which then builds the BudgetExceeded.
RESERVE_IF_FITS = """
WITH t AS (
  SELECT
    COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = %(dk)s), 0)::bigint AS ds,
    COALESCE((SELECT SUM(amount_micro) FROM budget_reservations
              WHERE month_key = %(m)s AND day_key = %(d)s AND expires_us > %(now)s), 0)::bigint AS dr,
    COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = %(mk)s), 0)::bigint AS ms,
    COALESCE((SELECT SUM(amount_micro) FROM budget_reservations
              WHERE month_key = %(m)s AND expires_us > %(now)s), 0)::bigint AS mr
), ins AS (
  INSERT INTO budget_reservations (id, provider, model, amount_micro, created_us, expires_us, day_key, month_key)
  SELECT %(id)s, %(provider)s, %(model)s, %(amt)s, %(created)s, %(expires)s, %(d)s, %(m)s FROM t
  WHERE %(amt)s::bigint = 0 OR (
    (%(mlim)s::bigint IS NULL OR t.ms + t.mr + %(amt)s::bigint <= %(mlim)s::bigint)
    AND (%(dlim)s::bigint IS NULL OR t.ds + t.dr + %(amt)s::bigint <= %(dlim)s::bigint))
  RETURNING 1
)
SELECT t.ds, t.dr, t.ms, t.mr, EXISTS (SELECT 1 FROM ins) FROM t
"""
# One statement (so one round trip, its own transaction): record the spend unless this call_id is
# already recorded, drop the reservation, add to the month then the day row (the lock order).
SETTLE = """
WITH ins AS (
  INSERT INTO budget_spend (call_id, ts, day_key, month_key, provider, model, tokens_in, tokens_out,
                            cost_micro, cost_estimated, reserved_micro)
  VALUES (%(cid)s, %(ts)s, %(d)s, %(m)s, %(provider)s, %(model)s, %(tin)s, %(tout)s, %(cost)s, %(est)s,
          %(reserved)s)
  ON CONFLICT (call_id) DO NOTHING
  RETURNING cost_micro, cost_estimated
), del AS (
  DELETE FROM budget_reservations WHERE id = %(rid)s AND EXISTS (SELECT 1 FROM ins)
), win AS (
  INSERT INTO budget_windows AS w (window_key, spent_micro, calls, estimated_calls)
  SELECT k.key, ins.cost_micro, 1, CASE WHEN ins.cost_estimated THEN 1 ELSE 0 END
  FROM ins CROSS JOIN (VALUES (1, %(mk)s::text), (2, %(dk)s::text)) AS k(ord, key)
  ORDER BY k.ord
  ON CONFLICT (window_key) DO UPDATE SET
    spent_micro = w.spent_micro + EXCLUDED.spent_micro,
    calls = w.calls + 1,
    estimated_calls = w.estimated_calls + EXCLUDED.estimated_calls
)
SELECT (SELECT cost_micro FROM ins), (SELECT cost_micro FROM budget_spend WHERE call_id = %(cid)s)
"""
ENSURE_WINDOW = "INSERT INTO budget_windows (window_key) VALUES (%s) ON CONFLICT DO NOTHING"
LOCK_WINDOW = "SELECT 1 FROM budget_windows WHERE window_key = %s FOR UPDATE"
INSERT_RESERVATION = """
INSERT INTO budget_reservations (id, provider, model, amount_micro, created_us, expires_us, day_key, month_key)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""
