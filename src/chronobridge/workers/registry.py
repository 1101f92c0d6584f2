"""Which modules define workflows: every process that runs jobs imports all of them first.

DBOS finds a workflow by the name it was registered under when its module was imported, so a
process must import every workflow module before it launches; otherwise a job of an unknown
workflow (or a PENDING one to recover) cannot run. The runtime imports `WORKFLOW_MODULES`
(the workers' own) plus `WorkerConfig.workflow_modules`, which the composition root
(`wiring.py`) fills with the modules of the higher layers, e.g.:

    WorkerConfig(..., workflow_modules=("chronobridge.sync.jobs", "chronobridge.ingress.jobs"))

so that `serve` and `worker` always register the same set.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

WORKFLOW_MODULES: tuple[str, ...] = ("chronobridge.workers.diagnostics",)


def load_workflows(extra: Iterable[str] = ()) -> None:
    """Import every workflow module (idempotent: Python imports a module once)."""
    for module in (*WORKFLOW_MODULES, *extra):
        importlib.import_module(module)
