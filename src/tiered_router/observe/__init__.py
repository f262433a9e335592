"""Observability: routing records, and (later) their storage, metrics and stats."""
