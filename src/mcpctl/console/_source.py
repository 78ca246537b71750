"""Where the console reads the audit trail: the store itself, or a gateway's audit API.

Both answer the same three questions; calls block, and the app runs them off its event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from mcpctl.errors import McpctlError

if TYPE_CHECKING:
    from mcpctl.store import AuditEvent, AuditQuery, AuditSession, Store


class AuditSource(Protocol):
    """Sessions and events of the audit trail, newest first; `after_id` reads what came since."""

    label: str
    """Where it reads, for the title bar (a store URL without credentials, a gateway URL)."""

    def sessions(self, query: AuditQuery) -> list[AuditSession]: ...

    def events(self, query: AuditQuery) -> list[AuditEvent]: ...

    def latest_id(self) -> int: ...


class StoreSource:
    """The store's audit tables, read directly (the default: `--database-url` or the default store)."""

    def __init__(self, store: Store, label: str) -> None:
        self._store, self.label = store, label

    def sessions(self, query: AuditQuery) -> list[AuditSession]:
        return self._store.audit_sessions(query)

    def events(self, query: AuditQuery) -> list[AuditEvent]:
        return self._store.query_audit(query)

    def latest_id(self) -> int:
        return self._store.latest_audit_id()


class GatewaySource:
    """A gateway's `/api/v1/audit/*`, with a token allowed the `audit` operation."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        import httpx

        self.label = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.label, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, query: AuditQuery) -> Any:
        import httpx

        try:
            response = self._client.get(path, params=_params(query))
        except httpx.HTTPError as error:
            raise McpctlError(f"cannot reach {self.label}: {type(error).__name__}") from None
        if response.status_code in (401, 403):
            raise McpctlError(f"{self.label} refused the token ({response.status_code}): it needs `audit`")
        if response.status_code != 200:
            raise McpctlError(f"{self.label}{path} answered {response.status_code}")
        return response.json()

    def sessions(self, query: AuditQuery) -> list[AuditSession]:
        from mcpctl.store import AuditSession

        return [_build(AuditSession, item) for item in _items(self._get("/api/v1/audit/sessions", query))]

    def events(self, query: AuditQuery) -> list[AuditEvent]:
        from mcpctl.store import AuditEvent

        return [_build(AuditEvent, item) for item in _items(self._get("/api/v1/audit/events", query))]

    def latest_id(self) -> int:
        from mcpctl.store import AuditQuery

        newest = self.events(AuditQuery(limit=1))
        return newest[0].id or 0 if newest else 0


def _params(query: AuditQuery) -> dict[str, str]:
    params: dict[str, str] = {}
    for key in ("project", "token", "user", "server", "tool", "kind", "outcome", "session_id"):
        value = getattr(query, key)
        if value is not None:
            params[key] = str(value)
    for key in ("since", "until"):
        moment: datetime | None = getattr(query, key)
        if moment is not None:
            params[key] = moment.isoformat()
    if query.after_id is not None:
        params["after_id"] = str(query.after_id)
    params["limit"] = str(query.limit)
    return params


def _items(body: Any) -> list[Mapping[str, Any]]:
    items = body.get("items", body) if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        raise McpctlError("the gateway's audit API answered something other than a list")
    return [item for item in items if isinstance(item, Mapping)]


def _build(cls: Any, item: Mapping[str, Any]) -> Any:
    """An AuditEvent/AuditSession from the API's JSON (its `to_document()` shape)."""
    import dataclasses

    names = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in item.items():
        if key not in names:
            continue
        if key in ("time", "first_seen", "last_seen") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        values[key] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise McpctlError(
            f"the gateway's audit API answered a record this console cannot read: {error}"
        ) from None
