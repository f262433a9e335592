"""schemathesis against the server's own OpenAPI document: no 5xx, and every response fits the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection

from tiered_router.demo import demo_settings
from tiered_router.routing import TieredModelRouter
from tiered_router.server.app import create_app
from tiered_router.server.openapi import openapi_document
from tiered_router.server.runner import ServerThread

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def live_server(simulator, tmp_path_factory):
    # The document describes the portable contract; this server's tiers speak OpenAI's protocol, which can
    # express all of it, and the cloud is off. Which fields each other protocol refuses, by name, is tested
    # front by front and upstream by upstream in test_agents_fuzz.py.
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    settings = demo_settings(simulator.url, db=str(db), local_fast_timeout_s=2.0, cloud_enabled=False,
                             local_fast_model=f"{simulator.url}/v1#llama3.1:8b",
                             local_heavy_model=f"{simulator.url}/v1#hermes3:70b")
    router = TieredModelRouter(settings, sinks=[])
    with ServerThread(create_app(router)) as server:
        yield server
    router.close()


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, live_server):
    # Every documented request is accepted (positive_data_acceptance), nothing is a 5xx, every answer fits
    # the document. The fronts also read some inputs the document does not promise (a plain string as a
    # content part, an unknown key in a content block), as the official servers do, so requests outside the
    # document are not required to be refused (negative_data_rejection is the one check left out).
    case.call_and_validate(base_url=live_server.url, timeout=15, excluded_checks=[negative_data_rejection])
