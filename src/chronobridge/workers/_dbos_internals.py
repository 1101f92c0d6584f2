"""The one place that reaches past DBOS's public API (pinned dbos>=3.4,<4).

Orphan recovery needs a *conditional* re-enqueue: "put workflow W back on its queue only if it
is still PENDING and still owned by dead executor X". DBOS's own startup recovery uses exactly
that primitive; its public `resume_workflow` is unconditional, so a sweep racing with the dead
executor's own restart could hand one workflow to two executors. A test covers this function,
so a DBOS upgrade that moves it fails loudly instead of silently.
"""

from __future__ import annotations

from dbos import DBOSClient
from dbos._utils import INTERNAL_QUEUE_NAME


def reenqueue_if_owned(client: DBOSClient, workflow_id: str, executor_id: str) -> bool:
    """Re-enqueue a PENDING workflow of `executor_id` (to its own queue, else DBOS's internal
    queue); False if it is no longer PENDING there (finished, or already taken over)."""
    sys_db = client._sys_db
    return bool(sys_db.reenqueue_for_recovery(workflow_id, [executor_id], INTERNAL_QUEUE_NAME))
