"""Backups of the live store that keep tokens working: every resource as stored, tokens as their hashes.

Unlike `export` (a config repo, from which `apply` makes new token values), a backup restores a store
whose tokens still authenticate. It holds no token value, only SHA-256 hashes and display prefixes,
and the specs as the store keeps them (secrets are references there). It also holds the prompt
requests, pending and decided, which live only in the store.

    {"format": "mcpctl.dev/backup", "version": 2, "createdAt": ..., "generation": N,
     "resources": [{"document": {...}, "managedBy": ..., "sourceRevision": ..., "createdAt": ...,
                    "updatedAt": ..., "token": {"hash": ..., "prefix": ..., "expiresAt": ...}}, ...],
     "promptRequests": [{"project": ..., "name": ..., "content": ..., "status": ..., ...}, ...]}

Version 1 (before prompt requests were kept) is still read: it restores no prompt request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from mcpctl.errors import McpctlError, StoreError
from mcpctl.schemas import McpToken, parse_resource

from ._prompt_requests import REQUEST_STATUSES, PromptRequest, column_length

if TYPE_CHECKING:
    from ._store import Store

BACKUP_FORMAT = "mcpctl.dev/backup"
"""`format` of a backup document."""
BACKUP_VERSION = 2
"""`version` of the backup documents this mcpctl writes (it reads this one and 1)."""
READABLE_VERSIONS = (1, BACKUP_VERSION)
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
        "promptRequests": [_request_entry(request) for request in store.prompt_requests()],
    }


def _request_entry(request: PromptRequest) -> dict[str, Any]:
    """A request as a backup holds it: its fields in camelCase, times in ISO form, tags as a list."""
    entry: dict[str, Any] = {}
    for field in fields(request):
        value = getattr(request, field.name)
        if isinstance(value, datetime):
            value = _time(value)
        entry[to_camel(field.name)] = list(value) if isinstance(value, tuple) else value
    return entry


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


def _request_text(entry: Mapping[str, Any], field: str, where: str, *, required: bool) -> str | None:
    """Field `field` of a request entry (spelt in camelCase there), within its column's length: PostgreSQL
    refuses a longer value, and SQLite would keep it."""
    key = to_camel(field)
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise BadBackup(f"{where}.{key}: expected {'a non-empty' if required else 'a'} string")
    limit = column_length(field)
    if limit is not None and len(value) > limit:
        raise BadBackup(f"{where}.{key}: longer than {limit} characters")
    return value


def _restorable_request(entry: Any, number: int) -> PromptRequest:
    where = f"promptRequests[{number}]"
    if not isinstance(entry, Mapping):
        raise BadBackup(f"{where}: expected an object")
    status = entry.get("status")
    if status not in REQUEST_STATUSES:
        raise BadBackup(f"{where}.status: expected one of {', '.join(REQUEST_STATUSES)}")
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise BadBackup(f"{where}.tags: expected a list of strings")
    decided = entry.get("decidedAt")

    def text(field: str, *, required: bool = False) -> str | None:
        return _request_text(entry, field, where, required=required)

    return PromptRequest(
        project=str(text("project", required=True)),
        name=str(text("name", required=True)),
        content=text("content") or "",
        tags=tuple(tags),
        summary=text("summary") or "",
        status=status,
        token=text("token"),
        user=text("user"),
        session_id=text("session_id"),
        created_at=_parse_time(entry.get("createdAt"), f"{where}.createdAt"),
        updated_at=_parse_time(entry.get("updatedAt"), f"{where}.updatedAt"),
        decided_at=None if decided is None else _parse_time(decided, f"{where}.decidedAt"),
        decided_by=text("decided_by"),
        reason=text("reason"),
        branch=text("branch"),
        commit=text("commit"),
    )


def _restorable_requests(document: Mapping[str, Any]) -> list[PromptRequest]:
    entries = document.get("promptRequests", [])
    if not isinstance(entries, list):
        raise BadBackup("promptRequests: expected a list")
    requests = [_restorable_request(entry, number) for number, entry in enumerate(entries)]
    seen: set[tuple[str, str]] = set()
    for number, request in enumerate(requests):
        key = (request.project, request.name)
        if key in seen:
            raise BadBackup(
                f"promptRequests[{number}]: a second request {request.name!r} in {request.project}"
            )
        seen.add(key)
    return requests


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore wrote."""

    resources: int
    prompt_requests: int


def restore_backup(store: Store, document: Any, *, force: bool = False, actor: str | None = None) -> Restored:
    """Make the store hold exactly the backup's resources and prompt requests, in one transaction.

    Refuses a store that holds any resource or prompt request unless `force` (which deletes what the
    backup lacks). Every entry is checked before anything is written.
    """
    if not isinstance(document, Mapping) or document.get("format") != BACKUP_FORMAT:
        raise BadBackup(f"not an mcpctl backup (format {BACKUP_FORMAT!r} expected)")
    if document.get("version") not in READABLE_VERSIONS:
        version = document.get("version")
        readable = " and ".join(str(known) for known in READABLE_VERSIONS)
        raise BadBackup(f"backup version {version!r} is not supported (this mcpctl reads {readable})")
    entries = document.get("resources")
    if not isinstance(entries, list):
        raise BadBackup("resources: expected a list")
    restorable = [_restorable(entry, number) for number, entry in enumerate(entries)]
    requests = _restorable_requests(document)
    with store.transaction(actor=actor) as tx:
        present = store.list_resources()
        held_requests = tx.prompt_request_count()
        if (present or held_requests) and not force:
            raise StoreError(
                f"the store at {store.url} is not empty ({len(present)} resource(s), "
                f"{held_requests} prompt request(s)); "
                "restore into an empty store, or pass --force to replace its contents"
            )
        for live in present:
            tx.delete(live.identity, force=True)
        for resource, options in restorable:
            tx.restore(resource, **options)
        tx.restore_prompt_requests(requests)
        tx.record_revision(
            source=RESTORE_SOURCE,
            revision=None,
            plan_digest=str(document.get("createdAt") or ""),
            counts={"add": len(restorable), "change": 0, "destroy": len(present)},
        )
    return Restored(len(restorable), len(requests))
