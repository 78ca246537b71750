"""Backups of the live store that keep tokens working: every resource as stored, tokens as their hashes.

Unlike `export` (a config repo, from which `apply` makes new token values), a backup restores a store
whose tokens still authenticate. It holds no token value, only SHA-256 hashes and display prefixes,
and the specs as the store keeps them (secrets are references there).

    {"format": "mcpctl.dev/backup", "version": 1, "createdAt": ..., "generation": N,
     "resources": [{"document": {...}, "managedBy": ..., "sourceRevision": ..., "createdAt": ...,
                    "updatedAt": ..., "token": {"hash": ..., "prefix": ..., "expiresAt": ...}}, ...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mcpctl.errors import McpctlError, StoreError
from mcpctl.schemas import McpToken, parse_resource

if TYPE_CHECKING:
    from ._store import Store

BACKUP_FORMAT = "mcpctl.dev/backup"
"""`format` of a backup document."""
BACKUP_VERSION = 1
"""`version` of the backup documents this mcpctl writes and reads."""
RESTORE_SOURCE = "restore"
"""History `source` of a restore."""


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def backup_document(store: Store) -> dict[str, Any]:
    """The whole store (resources, their bookkeeping and token hashes) as a JSON-ready document."""
    generation = store.generation()
    tokens = {(r.project, r.name): r for r in store.token_records()}
    entries = []
    for live in store.list_resources():
        entry: dict[str, Any] = {
            "document": live.resource.to_document(),
            "managedBy": live.managed_by,
            "sourceRevision": live.source_revision,
            "createdAt": _time(live.created_at),
            "updatedAt": _time(live.updated_at),
        }
        if isinstance(live.resource, McpToken):
            record = tokens[(live.identity.project or "", live.identity.name)]
            entry["token"] = {
                "hash": record.token_hash,
                "prefix": record.prefix,
                "expiresAt": _time(record.expires_at),
            }
        entries.append(entry)
    return {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "createdAt": _time(datetime.now(UTC)),
        "generation": generation,
        "resources": entries,
    }


class BadBackup(McpctlError):
    """A backup file that this mcpctl cannot restore."""


def _parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise BadBackup(f"{where}: expected an ISO date and time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadBackup(f"{where}: {value!r} is not an ISO date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _restorable(entry: Any, number: int) -> tuple[Any, dict[str, Any]]:
    where = f"resources[{number}]"
    if not isinstance(entry, Mapping) or not isinstance(entry.get("document"), Mapping):
        raise BadBackup(f"{where}: expected an object with a document")
    try:
        resource = parse_resource(dict(entry["document"]))
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        raise BadBackup(f"{where}: invalid document: {first['msg']}") from None
    options: dict[str, Any] = {
        "managed_by": str(entry.get("managedBy") or "cli"),
        "source_revision": entry.get("sourceRevision"),
        "created_at": _parse_time(entry.get("createdAt"), f"{where}.createdAt"),
        "updated_at": _parse_time(entry.get("updatedAt"), f"{where}.updatedAt"),
    }
    if isinstance(resource, McpToken):
        token = entry.get("token")
        digest = token.get("hash") if isinstance(token, Mapping) else None
        if not isinstance(token, Mapping) or not isinstance(digest, str) or len(digest) != 64:
            raise BadBackup(f"{where}: a token needs token.hash (its SHA-256) and token.prefix")
        expires = token.get("expiresAt")
        options["token"] = {
            "token_hash": digest,
            "token_prefix": str(token.get("prefix") or "")[:32],
            "expires_at": None if expires is None else _parse_time(expires, f"{where}.token.expiresAt"),
        }
    return resource, options


def restore_backup(store: Store, document: Any, *, force: bool = False, actor: str | None = None) -> int:
    """Make the store hold exactly the backup's resources, in one transaction; returns how many.

    Refuses a store that holds any resource unless `force` (which deletes what the backup lacks).
    """
    if not isinstance(document, Mapping) or document.get("format") != BACKUP_FORMAT:
        raise BadBackup(f"not an mcpctl backup (format {BACKUP_FORMAT!r} expected)")
    if document.get("version") != BACKUP_VERSION:
        version = document.get("version")
        raise BadBackup(f"backup version {version!r} is not supported (this mcpctl reads {BACKUP_VERSION})")
    entries = document.get("resources")
    if not isinstance(entries, list):
        raise BadBackup("resources: expected a list")
    restorable = [_restorable(entry, number) for number, entry in enumerate(entries)]
    with store.transaction(actor=actor) as tx:
        present = store.list_resources()
        if present and not force:
            raise StoreError(
                f"the store at {store.url} is not empty ({len(present)} resource(s)); "
                "restore into an empty store, or pass --force to replace its contents"
            )
        for live in present:
            tx.delete(live.identity, force=True)
        for resource, options in restorable:
            tx.restore(resource, **options)
        tx.record_revision(
            source=RESTORE_SOURCE,
            revision=None,
            plan_digest=str(document.get("createdAt") or ""),
            counts={"add": len(restorable), "change": 0, "destroy": len(present)},
        )
    return len(restorable)
