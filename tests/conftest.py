from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiered_router.serving import ServerThread
from tiered_router.simulate import Simulator, create_app

REPO = Path(__file__).resolve().parent.parent


def eval_dir() -> Path:
    return Path(os.environ.get("TIER_EVAL_DIR", REPO.parent / "shared" / "eval"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Tests never read the developer's keys, config file or database."""
    for key in list(os.environ):
        if (key.startswith("TIER_") and key not in ("TIER_TEST_PG_URL", "TIER_EVAL_DIR")) or key.endswith("_API_KEY"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TIER_DB", str(tmp_path / "tiered-router.db"))


@pytest.fixture(scope="session")
def simulator():
    sim = Simulator()
    with ServerThread(create_app(sim)) as server:
        server.sim = sim
        yield server
