"""Where tiered-router keeps its files by default."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DB_NAME = "tiered-router.db"


def default_db_path() -> Path:
    """The SQLite file that holds the budget ledger and the routing log when ``TIER_DB`` is not set."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("tiered-router")) / DEFAULT_DB_NAME
