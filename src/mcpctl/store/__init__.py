"""The live store: resources as schema objects in SQLite or PostgreSQL, tokens, history and audit.

Open it with `Store.open(url)`; write inside `with store.transaction() as tx:` (one locked transaction).
Audit events go through an `AuditWriter` (batched, off the request path) and are read with
`Store.query_audit(AuditQuery(...))`, `Store.audit_sessions` and an `AuditFollower`; see docs/audit.md.
"""

from __future__ import annotations

from ._audit_event import (
    AUDIT_KINDS,
    AUDIT_OUTCOMES,
    CALL_KINDS,
    MAX_DETAIL_CHARS,
    AuditEvent,
    AuditKind,
    AuditOutcome,
    AuditSession,
    DetailValue,
    clean_detail,
    digest_arguments,
    mask_text,
    new_correlation_id,
)
from ._audit_follow import AuditFollower
from ._audit_query import MAX_LIMIT, AuditQuery
from ._audit_retention import PRUNE_BATCH, AuditRetention, prune_audit
from ._audit_writer import AuditWriter, AuditWriterStats
from ._backup import BACKUP_FORMAT, BACKUP_VERSION, BadBackup, Restored, backup_document, restore_backup
from ._changes import CHANNEL, ChangeFeed
from ._prompt_requests import REQUEST_STATUSES, PromptProposal, PromptRequest, RequestStatus
from ._records import Revision, TokenRecord
from ._store import COMMIT_DELAY_ENV, TOUCH_INTERVAL, Store
from ._timespec import parse_duration, parse_time
from ._tokens import TOKEN_PREFIX, hash_token
from ._transaction import StoreTransaction
from ._url import DatabaseUrl, default_database_url

__all__ = [
    "AUDIT_KINDS",
    "AUDIT_OUTCOMES",
    "BACKUP_FORMAT",
    "BACKUP_VERSION",
    "CALL_KINDS",
    "CHANNEL",
    "COMMIT_DELAY_ENV",
    "MAX_DETAIL_CHARS",
    "MAX_LIMIT",
    "PRUNE_BATCH",
    "REQUEST_STATUSES",
    "TOKEN_PREFIX",
    "TOUCH_INTERVAL",
    "AuditEvent",
    "AuditFollower",
    "AuditKind",
    "AuditOutcome",
    "AuditQuery",
    "AuditRetention",
    "AuditSession",
    "AuditWriter",
    "AuditWriterStats",
    "BadBackup",
    "ChangeFeed",
    "DatabaseUrl",
    "DetailValue",
    "PromptProposal",
    "PromptRequest",
    "RequestStatus",
    "Restored",
    "Revision",
    "Store",
    "StoreTransaction",
    "TokenRecord",
    "backup_document",
    "clean_detail",
    "default_database_url",
    "digest_arguments",
    "hash_token",
    "mask_text",
    "new_correlation_id",
    "parse_duration",
    "parse_time",
    "prune_audit",
    "restore_backup",
]
