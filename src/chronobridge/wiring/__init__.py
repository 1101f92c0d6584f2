"""The composition root: the only package that knows every layer.

- `Hub` (`_hub.py`): settings → database and key ring → connection services → apps,
  connections and a client per connection with the store-backed ports.
- `_jobs.py`: the durable jobs in one place — the workflows, queues and schedules every worker
  runs (`worker_config`) and what each job builds in its process (`install_job_contexts`),
  with the same ingest hooks for polls, webhooks and write-back.
"""

from chronobridge.wiring._hub import (
    CLOCK_OFFSET_ENV,
    DEFAULT_APP,
    Hub,
    clock_offset,
    environment_client_id,
    load_settings,
)
from chronobridge.wiring._jobs import (
    QUEUES,
    WORKFLOW_MODULES,
    JobsEnqueuer,
    hub_clock,
    ingest_hooks,
    install_job_contexts,
    worker_config,
    writeback_services,
)

__all__ = [
    "CLOCK_OFFSET_ENV",
    "DEFAULT_APP",
    "QUEUES",
    "WORKFLOW_MODULES",
    "Hub",
    "JobsEnqueuer",
    "clock_offset",
    "environment_client_id",
    "hub_clock",
    "ingest_hooks",
    "install_job_contexts",
    "load_settings",
    "worker_config",
    "writeback_services",
]
