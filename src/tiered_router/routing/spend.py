"""The budget step of the request path: reserve before a paid call, settle or release after.

Local backends skip all of this (their cost is 0). For a paid backend the worst case — the
prompt plus ``max_tokens`` of output — is reserved atomically before any byte is sent, and the
real cost from the provider's usage is settled afterwards. When the provider sends no usage,
the tokens are estimated and the record is marked ``cost_estimated``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from ..chat import ChatRequest, Usage, estimate_tokens

if TYPE_CHECKING:
    from ..backends import Backend
    from ..budget import BudgetTracker, Reservation
    from ..config import Settings

log = logging.getLogger("tiered_router.budget")


@dataclass
class Hold:
    """A reservation for one call, or nothing for a free one. ``prompt_tokens`` is the bound it was made on,
    ``max_tokens`` the output allowed."""

    reservation: Reservation | None
    prompt_tokens: int
    max_tokens: int = 0
    request_id: str = ""


# How long after a failed attempt the ledger is opened again: doubling, at most _REOPEN_MAX_S, so the cloud
# comes back by itself within about that long of the database.
_REOPEN_FIRST_S = 1.0
_REOPEN_MAX_S = 15.0


class Spend:
    """Owns the BudgetTracker: opened on first paid call, failing closed while it cannot open, and opened
    again (with backoff) once the database is back."""

    def __init__(self, settings: Settings, tracker: BudgetTracker | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._tracker = tracker
        self._clock = clock
        self._open_error: Exception | None = None
        self._retry_at = 0.0
        self._backoff_s = _REOPEN_FIRST_S
        self._lock = threading.Lock()

    @property
    def tracker(self) -> BudgetTracker:
        if self._tracker is not None:
            return self._tracker
        from ..budget import BudgetTracker, LedgerUnavailable

        with self._lock:
            if self._tracker is not None:
                return self._tracker
            if self._open_error is not None and self._clock() < self._retry_at:
                raise LedgerUnavailable(str(self._open_error))
            s = self.settings
            try:
                self._tracker = BudgetTracker(
                    db=s.db, daily_limit_usd=s.cloud_daily_budget_usd, monthly_limit_usd=s.cloud_monthly_budget_usd,
                    timezone=s.budget_timezone, fail_open=s.budget_fail_open, prices=s.price_overrides or None,
                    reservation_ttl_s=s.reservation_ttl_s, reclaim_interval_s=min(60.0, s.reservation_ttl_s),
                )
            except LedgerUnavailable as exc:
                self._open_error = exc
                self._retry_at = self._clock() + self._backoff_s
                self._backoff_s = min(self._backoff_s * 2, _REOPEN_MAX_S)
                raise
            if self._open_error is not None:
                log.warning("budget ledger open again after: %s", self._open_error)
            self._open_error, self._backoff_s = None, _REOPEN_FIRST_S
            return self._tracker

    @property
    def ledger_error(self) -> str | None:
        """Why the ledger is not open, when it is not (for /readyz)."""
        return None if self._open_error is None or self._tracker is not None else str(self._open_error)

    def is_paid(self, backend: Backend) -> bool:
        return not backend.is_local

    async def hold(self, backend: Backend, request: ChatRequest, estimate: int, request_id: str = "") -> Hold:
        """Reserve the worst case of a paid call: a bound on its prompt that no provider's count can exceed
        (``prompt_bound``) and ``request.max_tokens`` of output. A free call holds nothing (``estimate`` is
        its prompt tokens, for the record). Raises BudgetExceeded, UnknownPrice or LedgerUnavailable."""
        max_tokens = backend.max_output_tokens(request)
        if not self.is_paid(backend):
            return Hold(None, estimate, max_tokens, request_id)
        bound = prompt_bound(request, getattr(backend, "protocol", ""), backend.model)
        tracker = self.tracker
        reservation = await asyncio.to_thread(tracker.reserve_call, backend.provider, backend.model, bound, max_tokens)
        return Hold(reservation, bound, max_tokens, request_id)

    async def settle(self, hold: Hold, usage: Usage | None, text: str) -> tuple[float, Usage]:
        """Charge what the call consumed; returns (cost, usage actually charged). Never loses a paid call's
        spend: the tracker journals it when the ledger is unreachable."""
        charged = self.fill_usage(usage, hold.prompt_tokens, text)
        if hold.reservation is None:
            return self.local_cost(charged), charged
        cost = await asyncio.to_thread(
            self.tracker.settle, hold.reservation, charged.input_tokens, charged.output_tokens,
            None, charged.estimated,
        )
        if cost > hold.reservation.amount_usd:
            # Cannot happen if the bound holds; if a provider ever counts more, the real cost is what is
            # recorded, and the window refuses new reservations until it has room again.
            log.warning("request %s: %s/%s reported $%.6f, more than the $%.6f reserved for it",
                        hold.request_id, hold.reservation.provider, hold.reservation.model, cost,
                        hold.reservation.amount_usd)
        return cost, charged

    async def settle_worst(self, hold: Hold) -> tuple[float, Usage]:
        """Charge a call that was sent and then timed out or broke with no count from the provider: at the
        worst case that was reserved (the provider may have billed it), never as free."""
        worst = Usage(hold.prompt_tokens, hold.max_tokens, estimated=True)
        if hold.reservation is None:
            return self.local_cost(worst), worst
        cost = await asyncio.to_thread(self.tracker.settle, hold.reservation, worst.input_tokens,
                                       worst.output_tokens, hold.reservation.amount_usd, True)
        return cost, worst

    async def settle_failure(self, hold: Hold, billable: bool) -> tuple[float, Usage]:
        """A failed call: released when it cost nothing (never sent, or the provider answered with an
        error), else charged at the worst case."""
        if billable and hold.reservation is not None:
            return await self.settle_worst(hold)
        await self.release(hold)
        return 0.0, Usage()

    def local_cost(self, usage: Usage) -> float:
        price = self.settings.local_price_per_mtok
        if price is None:
            return 0.0
        return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000

    async def release(self, hold: Hold) -> None:
        """Free the reservation of a call that cost nothing (never sent, or refused by the provider). If the
        ledger cannot be reached, the reservation is charged at its worst case once its TTL has passed."""
        if hold.reservation is None:
            return
        from ..budget import LedgerUnavailable

        try:
            await asyncio.to_thread(self.tracker.release, hold.reservation)
        except LedgerUnavailable as exc:
            log.warning("could not release reservation %s (%s); once its TTL has passed it is charged at its "
                        "worst case", hold.reservation.id, exc)

    @staticmethod
    def fill_usage(usage: Usage | None, prompt_tokens: int, text: str) -> Usage:
        """The provider's counts where it sent them, estimates (marked) where it did not."""
        if usage is not None and not usage.estimated and (usage.input_tokens or usage.output_tokens):
            return usage
        return Usage(
            input_tokens=(usage.input_tokens if usage and usage.input_tokens else prompt_tokens),
            output_tokens=(usage.output_tokens if usage and usage.output_tokens else estimate_tokens(text)),
            estimated=True,
        )

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()


# --- the bound a reservation is made on -------------------------------------------------------------------
#
# A byte-level BPE (OpenAI's tokenizers, and by every public measurement Anthropic's) never makes more tokens
# than the UTF-8 bytes it reads: every token stands for at least one byte. So the bytes of everything a
# request sends, plus what the provider adds around it, is a bound no provider's count can pass, for any
# prompt: punctuation, digits, CJK, emoji, base64 or whitespace runs. It is about four times the usual count
# for prose, which only matters near a limit.

_PER_MESSAGE = 8  # role markers and chat-template tokens around each message
_PER_REQUEST = 16  # reply priming and start tokens
_PER_TOOL_CALL = 16  # the framing of a call in the history
_WITH_TOOLS = 600  # the tool-use instructions a provider adds when tools are offered (Anthropic: ~350)
# Documented image costs: Claude about width × height / 750, at most ~1,600 tokens (~4,800 for the newest
# models); OpenAI's high detail at most 1,445 (gpt-4o), while its mini models count images in far more tokens
# at a lower price, up to ~48,000.
_IMAGE_TOKENS = 5_000
_IMAGE_TOKENS_MINI = 50_000


def prompt_bound(request: ChatRequest, protocol: str, model: str) -> int:
    """Prompt tokens that a provider of ``protocol`` cannot exceed for ``request``."""
    image = _IMAGE_TOKENS_MINI if protocol == "openai" and "mini" in model.lower() else _IMAGE_TOKENS
    total = _PER_REQUEST
    for m in request.messages:
        total += _PER_MESSAGE + _utf8(m.text)
        if m.thinking:
            total += _utf8(m.thinking)
        if m.name:
            total += _utf8(m.name)
        if m.tool_call_id:
            total += _utf8(m.tool_call_id)
        for call in m.tool_calls:
            total += _PER_TOOL_CALL + _utf8(call.id) + _utf8(call.name) + _utf8(call.arguments)
        total += image * len(m.images)
    if request.tools:
        total += _WITH_TOOLS + len(orjson.dumps([(t.name, t.description, t.parameters) for t in request.tools]))
    schema = request.json_schema
    if schema is not None:
        total += len(orjson.dumps(schema))
    return total


def _utf8(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
