"""Offline routing evaluation: replay the cascade on recorded benchmark answers (no network, no model).

``tiered-router bench-routing DATASET`` runs it; :func:`run` is the library entry point. Plotting needs
matplotlib (imported only by :mod:`tiered_router.evaluate.plot`).
"""

from __future__ import annotations

from .datasets import DATASETS, Dataset, load
from .replay import Report, evaluate, run

__all__ = ["DATASETS", "Dataset", "Report", "evaluate", "load", "run"]
