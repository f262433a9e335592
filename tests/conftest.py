from __future__ import annotations

import os
from pathlib import Path

import pytest

from budget_support import pg_schema_url
from tiered_router.demo import demo_settings
from tiered_router.routing import TieredModelRouter
from tiered_router.server.app import create_app as create_server
from tiered_router.server.runner import ServerThread
from tiered_router.sim import Simulator, create_app

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
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # spend journals of PostgreSQL ledgers go here


@pytest.fixture(scope="session")
def simulator():
    sim = Simulator()
    with ServerThread(create_app(sim)) as server:
        server.sim = sim
        yield server


@pytest.fixture
def records():
    """The routing records of the routers ``make_router`` builds, in order."""
    return []


@pytest.fixture
async def make_router(simulator, records, tmp_path):
    """Routers with all three tiers on the simulator (timeouts short enough for [[sim:hang]]), recording into
    ``records``. ``make_router(budget=..., **settings)``."""
    made = []

    def make(budget=None, **overrides):
        overrides.setdefault("db", str(tmp_path / "router.db"))
        overrides.setdefault("local_fast_timeout_s", 2.0)
        overrides.setdefault("local_heavy_timeout_s", 5.0)
        overrides.setdefault("cloud_timeout_s", 5.0)
        router = TieredModelRouter(demo_settings(simulator.url, **overrides), budget=budget, sinks=[records.append])
        made.append(router)
        return router

    yield make
    for router in made:
        await router.aclose()  # this test loop's connections
        router.close()  # the sync wrapper's loop, the ledger, the routing log


@pytest.fixture
def router(make_router):
    return make_router()


@pytest.fixture
def serve(simulator, tmp_path):
    """Proxy servers on loopback in front of the simulator. ``serve(budget=..., **settings)``."""
    started = []

    def start(budget=None, **overrides):
        overrides.setdefault("db", str(tmp_path / "server.db"))
        overrides.setdefault("local_fast_timeout_s", 1.0)
        router = TieredModelRouter(demo_settings(simulator.url, **overrides), sinks=[], budget=budget)
        server = ServerThread(create_server(router)).start()
        server.router = router
        started.append((server, router))
        return server

    yield start
    for server, router in started:
        server.stop()
        router.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    """A routing-log (or ledger) database, once as a SQLite file and once as a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "log.db")
    else:
        with pg_schema_url("t") as url:
            yield url
