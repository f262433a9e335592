"""The server's learning loop: refit on a schedule (``TIER_LEARN_EVERY``) and pick up the live model that
this or another process promoted (every ``TIER_LEARN_REFRESH_S``). It runs beside the requests, its database
work on a thread, and a failure is logged and tried again next time: it never stops the server."""

from __future__ import annotations

import asyncio
import logging
import time

from ..learn.from_log import learn
from ..routing import TieredModelRouter

log = logging.getLogger("tiered_router.learn")


async def keep_learning(router: TieredModelRouter) -> None:
    settings = router.settings
    every = settings.learn_every
    next_fit = time.monotonic() + every if every else None
    while True:
        now = time.monotonic()
        wait = settings.learn_refresh_s if next_fit is None else min(settings.learn_refresh_s, next_fit - now)
        await asyncio.sleep(max(wait, 0.0))  # a timer, not a synchronisation: nothing waits on this loop
        try:
            if next_fit is not None and time.monotonic() >= next_fit and router.log_store is not None:
                next_fit = time.monotonic() + (every or 0.0)
                heuristic = router.live_model.heuristic if router.live_model else None
                run = await asyncio.to_thread(learn, router.log_store, heuristic)
                log.info("learning: %s%s", "promoted " if run.promoted else "", run.reason)
            await asyncio.to_thread(router.refresh_model)
        except Exception as exc:  # the loop must outlive a database blip
            log.warning("learning loop: %s", exc)
