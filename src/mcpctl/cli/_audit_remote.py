"""`mcpctl audit --url URL`: the audit trail read through the gateway's `/api/v1/audit/*` rather than
the store, with the same methods as `Store` so the command prints exactly what the store path prints.

The token comes from `$MCPCTL_TOKEN` or a file (`--token-file`), never from the command line.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from mcpctl.errors import GatewayError, UsageError

if TYPE_CHECKING:
    from mcpctl.store import AuditEvent, AuditQuery, AuditSession

TOKEN_ENV = "MCPCTL_TOKEN"
_QUERY_PARAMS = {
    "project": "project",
    "token": "token",
    "user": "user",
    "server": "server",
    "tool": "tool",
    "kind": "kind",
    "outcome": "outcome",
    "session_id": "session",
    "after_id": "after",
    "limit": "limit",
}
"""AuditQuery field -> query parameter of `/api/v1/audit/events`."""
_SESSION_PARAMS = ("project", "token", "user", "server", "tool", "kind", "outcome", "limit")


def optional_token(token_file: Path | None) -> str | None:
    """The bearer token: the file's content (stripped) when given, else `$MCPCTL_TOKEN`, else None."""
    if token_file is not None:
        try:
            value = token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise UsageError(f"{token_file}: cannot read the token file ({error.strerror})") from None
        if not value:
            raise UsageError(f"{token_file}: the token file is empty")
        return value
    return os.environ.get(TOKEN_ENV, "").strip() or None


def read_token(token_file: Path | None) -> str:
    """`optional_token`, required: the audit API always needs one."""
    value = optional_token(token_file)
    if value is None:
        raise UsageError(f"--url needs a token: set {TOKEN_ENV} or pass --token-file")
    return value


def event_from_document(doc: dict[str, Any]) -> AuditEvent:
    """An `AuditEvent` from its JSON form (`AuditEvent.to_document`)."""
    from mcpctl.store import AuditEvent

    return AuditEvent(
        kind=doc["kind"],
        time=datetime.fromisoformat(doc["time"]),
        project=doc.get("project"),
        session_id=doc.get("session_id"),
        correlation_id=doc.get("correlation_id") or "",
        token=doc.get("token"),
        token_prefix=doc.get("token_prefix"),
        user=doc.get("user"),
        server=doc.get("server"),
        tool=doc.get("tool"),
        outcome=doc.get("outcome", "ok"),
        duration_ms=doc.get("duration_ms"),
        args_digest=doc.get("args_digest"),
        result_size=doc.get("result_size"),
        detail=doc.get("detail") or {},
        id=doc.get("id"),
    )


def session_from_document(doc: dict[str, Any]) -> AuditSession:
    """An `AuditSession` from its JSON form (`AuditSession.to_document`)."""
    from mcpctl.store import AuditSession

    return AuditSession(
        session_id=doc["session_id"],
        project=doc.get("project"),
        token=doc.get("token"),
        user=doc.get("user"),
        first_seen=datetime.fromisoformat(doc["first_seen"]),
        last_seen=datetime.fromisoformat(doc["last_seen"]),
        calls=int(doc["calls"]),
        errors=int(doc["errors"]),
        closed=bool(doc["closed"]),
    )


def _params(query: AuditQuery, fields: tuple[str, ...] | None = None) -> dict[str, str]:
    params: dict[str, str] = {}
    for field_name, param in _QUERY_PARAMS.items():
        value = getattr(query, field_name)
        if value is not None and (fields is None or field_name in fields):
            params[param] = str(value)
    for bound in ("since", "until"):
        moment = getattr(query, bound)
        if moment is not None:
            params[bound] = moment.isoformat()
    return params


class RemoteAudit:
    """The audit reads of `Store` (`query_audit`, `audit_sessions`, `latest_audit_id`) over the API."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base + "/api/v1/audit",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as error:
            raise GatewayError(f"cannot reach the gateway at {self.base}: {type(error).__name__}") from None
        if response.status_code != 200:
            try:
                detail = str(response.json().get("detail") or response.reason_phrase)
            except ValueError:
                detail = response.reason_phrase
            message = f"the gateway at {self.base} answered {response.status_code}: {detail}"
            raise (UsageError if response.status_code == 400 else GatewayError)(message)
        body: dict[str, Any] = response.json()
        return body

    def _events(self, query: AuditQuery) -> tuple[int, list[AuditEvent]]:
        body = self._get("/events", _params(query))
        return int(body["latest_id"]), [event_from_document(doc) for doc in body["events"]]

    def query_audit(self, query: AuditQuery | None = None) -> list[AuditEvent]:
        from mcpctl.store import AuditQuery

        return self._events(query or AuditQuery())[1]

    def latest_audit_id(self) -> int:
        from mcpctl.store import AuditQuery

        return self._events(AuditQuery(limit=1))[0]

    def audit_sessions(self, query: AuditQuery | None = None) -> list[AuditSession]:
        from mcpctl.store import AuditQuery

        body = self._get("/sessions", _params(query or AuditQuery(), _SESSION_PARAMS))
        return [session_from_document(doc) for doc in body["sessions"]]
