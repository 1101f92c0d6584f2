"""The webhook ingress: DrChrono's deliveries verified, stored durably before the 200,
deduplicated, processed as hints through the sync engine, and reconciled (docs/webhooks.md).

    async with open_receiver(db, jobs, database_url=url) as receiver:   # in `serve`
        answer = await receiver.receive(ref, headers, body, started=t0)
    install(factory)                       # how this process's jobs fetch and apply objects

The processing job is `chronobridge.ingress.jobs.process_delivery` (queue `webhooks`); list
`chronobridge.ingress.jobs` in the worker's workflow modules.
"""

from __future__ import annotations

from chronobridge.ingress._admin import (
    WebhookSetup,
    ensure_webhook_secret,
    is_emulator,
    read_payload,
    register_with_emulator,
    reprocess,
    setup_for,
)
from chronobridge.ingress._apps import AppSecret, WebhookApps
from chronobridge.ingress._context import (
    Applier,
    Factory,
    Processing,
    current,
    install,
    uninstall,
)
from chronobridge.ingress._deadlines import Deadlines
from chronobridge.ingress._defaults import processing_from_settings
from chronobridge.ingress._framing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Rejection,
    check_content_type,
)
from chronobridge.ingress._inbox_batch import Arrival, BatchStore, delivery_job_id
from chronobridge.ingress._receiver import Answer, WebhookReceiver, rejected
from chronobridge.ingress._reconcile import ReconcileResult, reconcile, webhook_resources
from chronobridge.ingress._routing import Action, Route, route
from chronobridge.ingress._service import open_receiver, sweep_inbox
from chronobridge.ingress._signature import (
    SignatureMode,
    body_signature,
    match_signature,
    verification_token,
)
from chronobridge.ingress._writer import InboxWriter, ThreadBackend, Unavailable
from chronobridge.ingress._writer_process import WriterLost, WriterProcess
from chronobridge.ingress.jobs import delivery_job, dispatch_deliveries, process_delivery

WORKFLOW_MODULES = ("chronobridge.ingress.jobs",)
"""The modules a worker must import so that it can run the ingress's jobs."""

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "WORKFLOW_MODULES",
    "Action",
    "Answer",
    "AppSecret",
    "Applier",
    "Arrival",
    "BatchStore",
    "Deadlines",
    "Factory",
    "InboxWriter",
    "Processing",
    "ReconcileResult",
    "Rejection",
    "Route",
    "SignatureMode",
    "ThreadBackend",
    "Unavailable",
    "WebhookApps",
    "WebhookReceiver",
    "WebhookSetup",
    "WriterLost",
    "WriterProcess",
    "body_signature",
    "check_content_type",
    "current",
    "delivery_job",
    "delivery_job_id",
    "dispatch_deliveries",
    "ensure_webhook_secret",
    "install",
    "is_emulator",
    "match_signature",
    "open_receiver",
    "process_delivery",
    "processing_from_settings",
    "read_payload",
    "reconcile",
    "register_with_emulator",
    "rejected",
    "reprocess",
    "route",
    "setup_for",
    "sweep_inbox",
    "uninstall",
    "verification_token",
    "webhook_resources",
]
