"""The live store: resources as schema objects in SQLite or PostgreSQL, tokens, history and audit.

Open it with `Store.open(url)`; write inside `with store.transaction() as tx:` (one locked transaction).
"""

from __future__ import annotations

from ._records import AuditEvent, Revision, TokenRecord
from ._store import Store
from ._tokens import TOKEN_PREFIX, hash_token
from ._transaction import StoreTransaction
from ._url import DatabaseUrl, default_database_url

__all__ = [
    "TOKEN_PREFIX",
    "AuditEvent",
    "DatabaseUrl",
    "Revision",
    "Store",
    "StoreTransaction",
    "TokenRecord",
    "default_database_url",
    "hash_token",
]
