"""Optional OpenTelemetry spans: one per request, one child per attempt, GenAI attribute names."""

from __future__ import annotations

import pytest

from tiered_router.demo import demo_settings
from tiered_router.routing import TieredModelRouter

sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def provider():
    tp = sdk.TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(tp)  # a process-wide, set-once global
    yield


async def test_request_span_with_attempt_children(simulator):
    EXPORTER.clear()
    router = TieredModelRouter(demo_settings(simulator.url), sinks=[])
    try:
        r = await router.complete("Open the inventory [[sim:refuse@llama3.1:8b]]")
    finally:
        await router.aclose()
    spans = EXPORTER.get_finished_spans()
    parent = next(s for s in spans if s.parent is None)
    children = [s for s in spans if s.parent is not None]
    assert parent.name == f"chat {r.model}"
    assert parent.attributes["gen_ai.operation.name"] == "chat"
    assert parent.attributes["router.request_id"] == r.request_id
    assert parent.attributes["router.final_tier"] == 2 and parent.attributes["router.escalated"] is True
    assert [c.attributes["router.outcome"] for c in sorted(children, key=lambda c: c.attributes["router.attempt"])] \
        == ["rejected", "accepted"]
    assert all(c.parent.span_id == parent.context.span_id for c in children)
    assert children[0].attributes["gen_ai.request.model"] in ("llama3.1:8b", "hermes3:70b")
    assert all(c.start_time >= parent.start_time and c.end_time <= parent.end_time for c in children)
