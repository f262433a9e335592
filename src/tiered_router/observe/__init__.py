"""Observability: routing records, the routing log store, stats, Prometheus metrics, optional OpenTelemetry."""
