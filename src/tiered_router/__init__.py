"""tiered-router: route each LLM request to the cheapest tier that will do it well."""

from .classify import Decision, Thresholds, classify, classify_tier
from .errors import (
    AllTiersFailed,
    BackendError,
    CloudBudgetExceeded,
    CloudUnavailable,
    ConfigError,
    ErrorKind,
    RouterError,
    StreamBroken,
)
from .quality import QualityVerdict, assess_response
from .result import Attempt, RoutedResponse
from .router import InvalidRequest, RoutedStream, TieredModelRouter
from .tiers import Tier

__all__ = [
    "AllTiersFailed",
    "Attempt",
    "BackendError",
    "CloudBudgetExceeded",
    "CloudUnavailable",
    "ConfigError",
    "Decision",
    "ErrorKind",
    "InvalidRequest",
    "QualityVerdict",
    "RoutedResponse",
    "RoutedStream",
    "RouterError",
    "StreamBroken",
    "Thresholds",
    "Tier",
    "TieredModelRouter",
    "assess_response",
    "classify",
    "classify_tier",
]
__version__ = "0.1.0"
