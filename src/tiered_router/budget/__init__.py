"""A cloud budget that cannot be overspent: a reserve-and-settle ledger on SQLite or PostgreSQL.

    tracker = BudgetTracker(db="postgresql://…", daily_limit_usd=5, monthly_limit_usd=50)
    res = tracker.reserve("anthropic", "claude-haiku-4-5",
                          tracker.prices.worst_case_cost("anthropic", "claude-haiku-4-5", 1200, 512))
    try:
        reply = call_the_cloud(...)
    except Exception:
        tracker.release(res)
        raise
    tracker.settle(res, tokens_in=1200, tokens_out=311)

See docs/budget.md.
"""

from ..paths import default_db_path
from .errors import BudgetError, BudgetExceeded, LedgerUnavailable, UnknownPrice
from .ledger import Ledger, Limits, Reclaimed, Windows, WindowStats, WindowTotals, open_ledger
from .memory import MemoryLedger
from .money import micro_to_usd, redact_url, usd_to_micro
from .pricing import DEFAULT_LOCAL_PROVIDERS, PriceBook, Rates
from .tracker import BudgetTracker, Reservation

__all__ = [
    "DEFAULT_LOCAL_PROVIDERS",
    "BudgetError",
    "BudgetExceeded",
    "BudgetTracker",
    "Ledger",
    "LedgerUnavailable",
    "Limits",
    "MemoryLedger",
    "PriceBook",
    "Rates",
    "Reclaimed",
    "Reservation",
    "UnknownPrice",
    "WindowStats",
    "WindowTotals",
    "Windows",
    "default_db_path",
    "micro_to_usd",
    "open_ledger",
    "redact_url",
    "usd_to_micro",
]
