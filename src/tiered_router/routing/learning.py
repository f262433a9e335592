"""The router's live learned model: loaded from the routing log at start, swapped in when another process
promotes or rolls back one (``tiered-router learn``, ``TIER_LEARN_EVERY``, a replica on the same database).

Only a router built with the default classifier learns; one given its own classifier keeps it. Reading the
model never stops the router: a log that cannot be read leaves the classifier as it was, with a warning.
"""

from __future__ import annotations

import logging

from ..classify import Classifier, HeuristicClassifier
from ..learn import BlendedClassifier
from ..learn.from_log import live_classifier
from ..observe.store import LogStoreError, RoutingLogStore

log = logging.getLogger("tiered_router.learn")


class LiveModel:
    def __init__(self, store: RoutingLogStore, heuristic: HeuristicClassifier) -> None:
        self.store = store
        self.heuristic = heuristic

    def load(self) -> Classifier:
        """The classifier to start with: the heuristic, blended with the live model if there is one."""
        if not self.store.exists():  # a log not written yet holds no model (and is not created here)
            return self.heuristic
        try:
            return live_classifier(self.store, self.heuristic)
        except (LogStoreError, ValueError) as exc:
            log.warning("learned model not loaded, routing with the heuristic alone: %s", exc)
            return self.heuristic

    def refresh(self, current: Classifier) -> Classifier | None:
        """The classifier to use instead of ``current`` when the live model changed; None when it did not."""
        try:
            version = self.store.models.live_version() if self.store.exists() else None
        except LogStoreError as exc:
            log.warning("could not check for a new learned model: %s", exc)
            return None
        model = current.model if isinstance(current, BlendedClassifier) else None
        if version == (model.version if model is not None else None):
            return None
        fresh = self.load()
        log.info("learned model %s is live", version or "(none: the heuristic alone)")
        return fresh
