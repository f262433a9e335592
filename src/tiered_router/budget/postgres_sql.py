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
    # A spend row charged by RECLAIM for a reservation nobody settled within its TTL. A late settle of that
    # call replaces it (and clears the flag).
    (2, ["ALTER TABLE budget_spend ADD COLUMN IF NOT EXISTS orphaned BOOLEAN NOT NULL DEFAULT FALSE"]),
]
LATEST_VERSION = MIGRATIONS[-1][0]

# Every reservation counts, expired or not: an expired one holds its money until RECLAIM charges it.
TOTALS_SQL = """
SELECT
  COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = %(dk)s), 0),
  COALESCE((SELECT SUM(amount_micro) FROM budget_reservations WHERE month_key = %(m)s AND day_key = %(d)s), 0),
  COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = %(mk)s), 0),
  COALESCE((SELECT SUM(amount_micro) FROM budget_reservations WHERE month_key = %(m)s), 0)
"""
# Runs after the month row is locked (a new statement, so a new snapshot that sees every commit made
# before the lock was granted). Inserts the reservation only if it fits; returns the totals it saw.
# The condition mirrors ledger.check_limits, which then builds the BudgetExceeded.
RESERVE_IF_FITS = """
WITH t AS (
  SELECT
    COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = %(dk)s), 0)::bigint AS ds,
    COALESCE((SELECT SUM(amount_micro) FROM budget_reservations
              WHERE month_key = %(m)s AND day_key = %(d)s), 0)::bigint AS dr,
    COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = %(mk)s), 0)::bigint AS ms,
    COALESCE((SELECT SUM(amount_micro) FROM budget_reservations WHERE month_key = %(m)s), 0)::bigint AS mr
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
# - held: the reservation's row is locked before the spend row is inserted, the order RECLAIM takes them in
#   (so a settle and a reclaim of the same reservation wait for each other instead of deadlocking);
# - upd: if the call_id's row is an orphaned charge (RECLAIM charged the reservation at its worst case), this
#   settle's real figures replace it, and d moves its windows by the difference (calls unchanged). The update
#   clears ``orphaned``, so it happens once, even for two concurrent settles.
# Returns (cost inserted, cost that replaced an orphaned charge, cost already settled). All three NULL: the row
# was committed (or replaced) by another transaction after this statement's snapshot; run it again.
SETTLE = """
WITH held AS (
  SELECT 1 FROM budget_reservations WHERE id = %(rid)s::text FOR UPDATE
), ins AS (
  INSERT INTO budget_spend (call_id, ts, day_key, month_key, provider, model, tokens_in, tokens_out,
                            cost_micro, cost_estimated, reserved_micro)
  SELECT %(cid)s::text, %(ts)s::timestamptz, %(d)s::text, %(m)s::text, %(provider)s::text, %(model)s::text,
         %(tin)s::bigint, %(tout)s::bigint, %(cost)s::bigint, %(est)s::boolean, %(reserved)s::bigint
  FROM (SELECT COUNT(*) FROM held) AS after_lock
  ON CONFLICT (call_id) DO NOTHING
  RETURNING cost_micro, cost_estimated
), upd AS (
  UPDATE budget_spend SET ts = %(ts)s, tokens_in = %(tin)s, tokens_out = %(tout)s, cost_micro = %(cost)s,
                          cost_estimated = %(est)s, orphaned = FALSE
  WHERE call_id = %(cid)s AND orphaned
  RETURNING cost_micro, cost_estimated, reserved_micro, day_key, month_key
), del AS (
  DELETE FROM budget_reservations WHERE id = %(rid)s AND EXISTS (SELECT 1 FROM ins)
), d AS (
  SELECT cost_micro AS spent, 1 AS calls, CASE WHEN cost_estimated THEN 1 ELSE 0 END AS est,
         %(mk)s::text AS mk, %(dk)s::text AS dk
  FROM ins
  UNION ALL  -- an orphaned charge is always cost_micro = reserved_micro, cost_estimated
  SELECT cost_micro - reserved_micro, 0, CASE WHEN cost_estimated THEN 0 ELSE -1 END,
         'month:' || month_key, 'day:' || day_key
  FROM upd
), win AS (
  INSERT INTO budget_windows AS w (window_key, spent_micro, calls, estimated_calls)
  SELECT k.key, d.spent, d.calls, d.est
  FROM d CROSS JOIN LATERAL (VALUES (1, d.mk), (2, d.dk)) AS k(ord, key)
  ORDER BY k.ord
  ON CONFLICT (window_key) DO UPDATE SET
    spent_micro = w.spent_micro + EXCLUDED.spent_micro,
    calls = w.calls + EXCLUDED.calls,
    estimated_calls = w.estimated_calls + EXCLUDED.estimated_calls
)
SELECT (SELECT cost_micro FROM ins), (SELECT cost_micro FROM upd),
       (SELECT cost_micro FROM budget_spend WHERE call_id = %(cid)s AND NOT orphaned)
"""
# One statement: charge every expired reservation at its reserved amount. The reservations are taken with
# SKIP LOCKED, so a concurrent reclaim (another replica) or a settle holding one leaves it to them; a
# reservation whose call_id is already in budget_spend is only deleted (ins skips it, so it is not counted).
# Windows are added to months first, then days, each in key order: the lock order of every writer.
RECLAIM = """
WITH gone AS (
  DELETE FROM budget_reservations
  WHERE id IN (SELECT id FROM budget_reservations WHERE expires_us <= %(now)s ORDER BY id FOR UPDATE SKIP LOCKED)
  RETURNING id, provider, model, amount_micro, day_key, month_key
), ins AS (
  INSERT INTO budget_spend (call_id, ts, day_key, month_key, provider, model, tokens_in, tokens_out,
                            cost_micro, cost_estimated, reserved_micro, orphaned)
  SELECT id, %(ts)s::timestamptz, day_key, month_key, provider, model, 0, 0, amount_micro, TRUE, amount_micro, TRUE
  FROM gone
  ON CONFLICT (call_id) DO NOTHING
  RETURNING cost_micro, day_key, month_key
), win AS (
  INSERT INTO budget_windows AS w (window_key, spent_micro, calls, estimated_calls)
  SELECT k.key, SUM(ins.cost_micro), COUNT(*), COUNT(*)
  FROM ins CROSS JOIN LATERAL (VALUES (1, 'month:' || ins.month_key), (2, 'day:' || ins.day_key)) AS k(ord, key)
  GROUP BY k.ord, k.key
  ORDER BY k.ord, k.key
  ON CONFLICT (window_key) DO UPDATE SET
    spent_micro = w.spent_micro + EXCLUDED.spent_micro,
    calls = w.calls + EXCLUDED.calls,
    estimated_calls = w.estimated_calls + EXCLUDED.estimated_calls
)
SELECT COUNT(*), COALESCE(SUM(cost_micro), 0) FROM ins
"""
ENSURE_WINDOW = "INSERT INTO budget_windows (window_key) VALUES (%s) ON CONFLICT DO NOTHING"
LOCK_WINDOW = "SELECT 1 FROM budget_windows WHERE window_key = %s FOR UPDATE"
INSERT_RESERVATION = """
INSERT INTO budget_reservations (id, provider, model, amount_micro, created_us, expires_us, day_key, month_key)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""
