"""tiered-router: route each LLM request to the cheapest tier that will do it well."""

from .backends.errors import BackendError, ErrorKind
from .classify import Classifier, Decision, HeuristicClassifier, Thresholds, classify, classify_tier
from .errors import (
    AllTiersFailed,
    CloudBudgetExceeded,
    CloudUnavailable,
    ConfigError,
    InvalidRequest,
    RouterError,
    StreamBroken,
)
from .options import RouteOptions
from .quality import QualityVerdict, assess_response
from .routing import (
    Attempt,
    AttemptOutcome,
    Outcome,
    Recorder,
    RoutedResponse,
    RoutedStream,
    SinkRecorder,
    TieredModelRouter,
)
from .tiers import Tier
from .version import __version__ as __version__

__all__ = [
    "AllTiersFailed",
    "Attempt",
    "AttemptOutcome",
    "BackendError",
    "Classifier",
    "CloudBudgetExceeded",
    "CloudUnavailable",
    "ConfigError",
    "Decision",
    "ErrorKind",
    "HeuristicClassifier",
    "InvalidRequest",
    "Outcome",
    "QualityVerdict",
    "Recorder",
    "RouteOptions",
    "RoutedResponse",
    "RoutedStream",
    "RouterError",
    "SinkRecorder",
    "StreamBroken",
    "Thresholds",
    "Tier",
    "TieredModelRouter",
    "assess_response",
    "classify",
    "classify_tier",
]
