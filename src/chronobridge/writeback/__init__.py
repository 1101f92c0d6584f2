"""Patient matching with a review queue, and write-back of practice-model changes to DrChrono
(issue 4 §5-6; docs/writeback.md).

    hook = MatchIndexHook(db)                        # give to the sync core's ingest(hooks=...)
    found = await match_inbound(services, app_id, values)   # exact / possible (review) / none
    result = await submit(services, change, app_id=1, connection_id=3)        # queued job
    result = await submit(services, change, app_id=1, connection_id=3, inline=True)  # CLI
    queue = ReviewQueue(services); await queue.confirm(review_id, actor="user:7")

`WritebackServices` holds the ports the composition root fills (a client per connection, the
sync core's ingest, the mapping, the job queue); `install(provider)` lets worker processes
build them for the `chronobridge.writeback.run` workflow on the `writeback` queue.
"""

from __future__ import annotations

from chronobridge.writeback._appointments import find_booked, reschedule_change
from chronobridge.writeback._executor import Attempt, execute
from chronobridge.writeback._hook import MatchIndexHook, ModelRowLike
from chronobridge.writeback._inbound import InboundMatch, match_inbound
from chronobridge.writeback._outbox import enqueue, result_of, run_inline, submit
from chronobridge.writeback._outcome import EXIT_CODES, Retry, WritebackResult
from chronobridge.writeback._reviews import ReviewDetails, ReviewQueue
from chronobridge.writeback._services import (
    ClientFactory,
    ContextSource,
    DoctorZones,
    Enqueuer,
    Ingestor,
    WritebackServices,
    WritebackSettings,
)
from chronobridge.writeback._values import decode_values, encode_values, model_values
from chronobridge.writeback._workflow import (
    MAX_ATTEMPTS,
    QUEUE,
    WORKFLOW,
    current_services,
    install,
    run_writeback,
    workflow_id,
)

WORKFLOW_MODULES = ("chronobridge.writeback",)
"""The modules a worker must import so that it can run the write-back jobs."""

__all__ = [
    "EXIT_CODES",
    "MAX_ATTEMPTS",
    "QUEUE",
    "WORKFLOW",
    "WORKFLOW_MODULES",
    "Attempt",
    "ClientFactory",
    "ContextSource",
    "DoctorZones",
    "Enqueuer",
    "InboundMatch",
    "Ingestor",
    "MatchIndexHook",
    "ModelRowLike",
    "Retry",
    "ReviewDetails",
    "ReviewQueue",
    "WritebackResult",
    "WritebackServices",
    "WritebackSettings",
    "current_services",
    "decode_values",
    "encode_values",
    "enqueue",
    "execute",
    "find_booked",
    "install",
    "match_inbound",
    "model_values",
    "reschedule_change",
    "result_of",
    "run_inline",
    "run_writeback",
    "submit",
    "workflow_id",
]
