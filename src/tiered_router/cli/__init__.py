"""The ``tiered-router`` command (click): one module per group of commands, all on the ``main`` group.

``app``: the group and what the commands share; ``run``: route, ask, simulate, demo, serve, budget;
``logs``: stats, log, feedback; ``evaluation``: eval, bench-routing; ``learning``: learn.
"""

from . import evaluation, learning, logs, run  # noqa: F401  (importing a module registers its commands)
from .app import main

__all__ = ["main"]
