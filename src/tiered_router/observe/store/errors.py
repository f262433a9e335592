"""The exception the routing log raises."""

from __future__ import annotations


class LogStoreError(RuntimeError):
    """The routing log's database cannot be read (readers raise it; the writer never does)."""
