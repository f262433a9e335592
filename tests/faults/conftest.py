"""Fixtures shared by the fault tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tiered_router.server.runner import ServerThread
from tiered_router.sim import Simulator
from tiered_router.sim import create_app as simulator_app


@pytest.fixture
def slow_simulator() -> Iterator[ServerThread]:
    """A simulator whose answers take 300 ms to start: long enough to pull a plug in the middle of a call."""
    sim = Simulator(ttft_ms=300)
    with ServerThread(simulator_app(sim)) as server:
        server.sim = sim
        yield server
