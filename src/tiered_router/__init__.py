"""tiered-router: route each LLM request to the cheapest tier that will do it well."""

from .tiers import Tier

__all__ = ["Tier"]
__version__ = "0.1.0"
