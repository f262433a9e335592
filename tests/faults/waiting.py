"""Waiting for a condition in a fault test, by polling it (never by sleeping a guessed time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> float:
    """Poll ``condition`` until it holds; returns how long it took (the test fails after ``seconds``)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            pytest.fail(f"{what} did not happen within {seconds}s")
        time.sleep(0.02)
    return time.monotonic() - start


def polled(condition: Callable[[], T], timeout: float) -> T:
    """``condition()`` polled until it is truthy or ``timeout`` seconds have passed; its last value (for
    tests that assert on what came back)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)
