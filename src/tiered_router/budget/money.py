"""Money is stored as integer micro-dollars (1e-6 USD); floats only at the API edges."""

from __future__ import annotations

import math
import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import SplitResult, urlsplit, urlunsplit

MICRO_PER_USD = 1_000_000
_MICRO = Decimal(MICRO_PER_USD)


def _to_decimal(usd: float | int | Decimal | str) -> Decimal:
    if isinstance(usd, bool):
        raise TypeError("a money amount cannot be a bool")
    if isinstance(usd, Decimal):
        value = usd
    elif isinstance(usd, int):
        value = Decimal(usd)
    elif isinstance(usd, float):
        if not math.isfinite(usd):
            raise ValueError(f"not a finite amount of money: {usd!r}")
        # str() is the shortest repr, so 0.002 becomes Decimal("0.002"), not 0.00200000000000000004...
        value = Decimal(str(usd))
    elif isinstance(usd, str):
        try:
            value = Decimal(usd)
        except InvalidOperation:
            raise ValueError(f"not an amount of money: {usd!r}") from None
    else:
        raise TypeError(f"not an amount of money: {usd!r}")
    if not value.is_finite():
        raise ValueError(f"not a finite amount of money: {usd!r}")
    if value < 0:
        raise ValueError(f"a money amount cannot be negative: {usd!r}")
    return value


def usd_to_micro(usd: float | int | Decimal | str, *, round_up: bool = False) -> int:
    """Convert USD to integer micro-dollars.

    ``round_up=True`` (used for reservations) never rounds a worst case down; otherwise half-up.
    """
    scaled = _to_decimal(usd) * _MICRO
    return int(scaled.to_integral_value(rounding=ROUND_CEILING if round_up else ROUND_HALF_UP))


def micro_to_usd(micro: int) -> float:
    return micro / MICRO_PER_USD


def ceil_micro(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


_PASSWORD_KV = re.compile(r"(password\s*=\s*)('[^']*'|[^\s&]+)", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(\w+://[^:/@\s]*):[^@/\s]*@")


def redact_url(url: str) -> str:
    """Hide a password in a database URL (``postgresql://user:***@host/db``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if parts.password is None:
        return redact_text(url)
    if parts.password is not None:
        host = parts.hostname or ""
        if ":" in host:  # IPv6
            host = f"[{host}]"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        user = parts.username or ""
        parts = SplitResult(parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment)
    return redact_text(urlunsplit(parts))


def redact_text(text: str, secret: str | None = None) -> str:
    """Remove passwords from a message: URL user-info, ``password=...`` and a known secret."""
    if secret:
        text = text.replace(secret, "***")
    text = _URL_USERINFO.sub(r"\1:***@", text)
    return _PASSWORD_KV.sub(r"\1***", text)
