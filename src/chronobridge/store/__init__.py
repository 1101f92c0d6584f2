"""The hub's store: SQLAlchemy 2 (async) over SQLite or PostgreSQL, Alembic migrations, and the
repositories that the client, the workers and the web layer use. See docs/store.md.

    db = await open_database(settings)          # migrates to the newest revision
    app = await Apps(db).ensure(AppSpec.from_settings(settings))
    grant = await Budget(db).reserve(app.id, Priority.POLL)
    async with Tokens(db).begin_refresh(connection_id) as handle: ...

Repositories return frozen dataclasses, never ORM objects; secrets in them are hidden from repr.
Methods that write take an optional `tx=` to join a transaction the caller opened with
`db.write()`.
"""

from __future__ import annotations

from chronobridge.store._api_log import ApiCall, ApiCallLog, LoggedCall
from chronobridge.store._apps import App, Apps, AppSpec
from chronobridge.store._audit import GENESIS, AuditEntry, AuditLog, AuditRecord, ChainCheck
from chronobridge.store._blind_index import BLIND_INDEX_SECRET, BlindIndex
from chronobridge.store._budget import Budget, BudgetUsage, Reservation
from chronobridge.store._common import ConnectionStatus, Role
from chronobridge.store._connections import Connection, Connections, Identity
from chronobridge.store._crypto import KeyRing
from chronobridge.store._cursors import CursorRow, Cursors
from chronobridge.store._database import Database, make_engine, normalize_url
from chronobridge.store._events import ChangeEvents, StoredEvent
from chronobridge.store._iframes import IframeRegistration, IframeRegistrations
from chronobridge.store._inbox import Inbox, StoredDelivery, encrypt_payload, payload_context
from chronobridge.store._inbox_refusals import RefusalCount, Refusals
from chronobridge.store._inbox_writer import NewDelivery, make_sync_engine, write_deliveries
from chronobridge.store._keyfile import KeyFile, load_keyring
from chronobridge.store._match_reviews import (
    MatchReviews,
    NewReview,
    Review,
    ReviewKind,
    ReviewStatus,
)
from chronobridge.store._matching import IndexedPatient, MatchIndex
from chronobridge.store._migrate import (
    alembic_config,
    current_revisions,
    downgrade,
    head_revisions,
    open_database,
    upgrade,
)
from chronobridge.store._model_rows import ModelRow, ModelRows, ModelRowWrite, model_context
from chronobridge.store._oauth_states import (
    STATE_TTL,
    AuthorizationRequest,
    OAuthStates,
    VerifiedState,
)
from chronobridge.store._pending_creates import CreateLock, LockStatus, PendingCreates
from chronobridge.store._records import (
    Records,
    RecordWrite,
    StoredRecord,
    StoredVersion,
    record_context,
)
from chronobridge.store._rotate import RotationReport, reencrypt_all
from chronobridge.store._runs import COUNTERS, RunRow, SyncRuns
from chronobridge.store._schema import ensure_schema
from chronobridge.store._staged import StagedPage, StagedPages, staged_context
from chronobridge.store._sync_errors import ErrorStatus, SyncError, SyncErrors, SyncErrorWrite
from chronobridge.store._sync_lock import sync_lock
from chronobridge.store._tokens import RefreshHandle, StoredTokens, TokenPair, Tokens
from chronobridge.store._writebacks import (
    FINAL,
    NewWriteback,
    Settled,
    StoredWriteback,
    Writebacks,
    WritebackStatus,
)

__all__ = [
    "BLIND_INDEX_SECRET",
    "COUNTERS",
    "FINAL",
    "GENESIS",
    "STATE_TTL",
    "ApiCall",
    "ApiCallLog",
    "App",
    "AppSpec",
    "Apps",
    "AuditEntry",
    "AuditLog",
    "AuditRecord",
    "AuthorizationRequest",
    "BlindIndex",
    "Budget",
    "BudgetUsage",
    "ChainCheck",
    "ChangeEvents",
    "Connection",
    "ConnectionStatus",
    "Connections",
    "CreateLock",
    "CursorRow",
    "Cursors",
    "Database",
    "ErrorStatus",
    "Identity",
    "IframeRegistration",
    "IframeRegistrations",
    "Inbox",
    "IndexedPatient",
    "KeyFile",
    "KeyRing",
    "LockStatus",
    "LoggedCall",
    "MatchIndex",
    "MatchReviews",
    "ModelRow",
    "ModelRowWrite",
    "ModelRows",
    "NewDelivery",
    "NewReview",
    "NewWriteback",
    "OAuthStates",
    "PendingCreates",
    "RecordWrite",
    "Records",
    "RefreshHandle",
    "RefusalCount",
    "Refusals",
    "Reservation",
    "Review",
    "ReviewKind",
    "ReviewStatus",
    "Role",
    "RotationReport",
    "RunRow",
    "Settled",
    "StagedPage",
    "StagedPages",
    "StoredDelivery",
    "StoredEvent",
    "StoredRecord",
    "StoredTokens",
    "StoredVersion",
    "StoredWriteback",
    "SyncError",
    "SyncErrorWrite",
    "SyncErrors",
    "SyncRuns",
    "TokenPair",
    "Tokens",
    "VerifiedState",
    "WritebackStatus",
    "Writebacks",
    "alembic_config",
    "current_revisions",
    "downgrade",
    "encrypt_payload",
    "ensure_schema",
    "head_revisions",
    "load_keyring",
    "make_engine",
    "make_sync_engine",
    "model_context",
    "normalize_url",
    "open_database",
    "payload_context",
    "record_context",
    "reencrypt_all",
    "staged_context",
    "sync_lock",
    "upgrade",
    "write_deliveries",
]
