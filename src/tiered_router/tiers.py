"""The three tiers, and the names people use for them."""

from __future__ import annotations

from enum import IntEnum


class Tier(IntEnum):
    LOCAL_FAST = 1
    LOCAL_HEAVY = 2
    CLOUD_API = 3

    @property
    def slug(self) -> str:
        return _SLUGS[self]

    @classmethod
    def parse(cls, value: object) -> Tier:
        """Accept 1/2/3, "1", "tier-1", "LOCAL_FAST", "local-fast", "cloud", or a Tier."""
        if isinstance(value, Tier):
            return value
        if isinstance(value, bool):
            raise ValueError(f"not a tier: {value!r}")
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                raise ValueError(f"not a tier: {value!r} (use 1, 2 or 3)") from None
        if isinstance(value, str):
            key = value.strip().lower().replace("_", "-")
            if key in _ALIASES:
                return _ALIASES[key]
        raise ValueError(
            f"not a tier: {value!r} (use 1/2/3, tier-1/tier-2/tier-3, local-fast/local-heavy/cloud)"
        )


_SLUGS = {Tier.LOCAL_FAST: "local-fast", Tier.LOCAL_HEAVY: "local-heavy", Tier.CLOUD_API: "cloud"}

_ALIASES: dict[str, Tier] = {}
for _tier in Tier:
    for _alias in (
        str(_tier.value),
        f"tier-{_tier.value}",
        f"tier{_tier.value}",
        _tier.name.lower().replace("_", "-"),
        _SLUGS[_tier],
    ):
        _ALIASES[_alias] = _tier
_ALIASES["cloud-api"] = Tier.CLOUD_API

# The names the fronts advertise as model names and document as query values: tier-N and the slugs.
PUBLIC_NAMES: tuple[str, ...] = tuple(name for t in Tier for name in (f"tier-{t.value}", _SLUGS[t]))
