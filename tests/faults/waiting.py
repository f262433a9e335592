"""Waiting for a condition in a fault test, by polling it (never by sleeping a guessed time)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> float:
    """Poll ``condition`` until it holds; returns how long it took (the test fails after ``seconds``)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            pytest.fail(f"{what} did not happen within {seconds}s")
        time.sleep(0.02)
    return time.monotonic() - start
