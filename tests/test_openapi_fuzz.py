"""schemathesis against the server's own OpenAPI document: no 5xx, and every response fits the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tiered_router.demo import demo_settings
from tiered_router.routing import TieredModelRouter
from tiered_router.server.app import create_app
from tiered_router.server.openapi import openapi_document
from tiered_router.server.runner import ServerThread

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def live_server(simulator, tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    router = TieredModelRouter(demo_settings(simulator.url, db=str(db), local_fast_timeout_s=2.0), sinks=[])
    with ServerThread(create_app(router)) as server:
        yield server
    router.close()


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, live_server):
    case.call_and_validate(base_url=live_server.url, timeout=15)
