"""The audit event: what the gateway and the reconciler record, its kinds and outcomes, and the rules
that keep argument values, token values and secrets out of it (digests, masked and capped text).

Every `AuditEvent` is cleaned when it is made, so no path into the store can skip the masking.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from mcpctl.schemas import SENSITIVE, looks_secret, mask_url

from ._tokens import TOKEN_PREFIX

AuditKind = Literal[
    "session_open",
    "session_close",
    "tool_call",
    "prompt_get",
    "resource_read",
    "auth_failure",
    "access_denied",
    "apply",
    "reconcile",
    "config_reload",
    "tool_pin_mismatch",
    "description_flagged",
    "client_request",
    "tools_selected",
    "prompt_proposed",
    "prompt_decided",
]
"""What happened. The gateway writes the session, call, auth and denial kinds; the reconciler
writes `apply` and `reconcile`; `config_reload` is the gateway taking a new store generation;
`tool_pin_mismatch` a tool served other than its ToolPins say, `description_flagged` a tool
description with hidden characters or instructions for the model; `client_request` an upstream's
elicitation, sampling or roots request relayed to a client (never its content); `tools_selected` a
gated session's `begin_session` choice (who chose, how fast, how many; never the task);
`prompt_proposed` a session's `propose_prompt` (name and size, never the content) and
`prompt_decided` its approval or rejection with `mcpctl approve|reject promptrequest`."""

AuditOutcome = Literal["ok", "error", "denied", "timeout", "unauthorized"]
"""How it ended."""

AUDIT_KINDS: tuple[AuditKind, ...] = get_args(AuditKind)
AUDIT_OUTCOMES: tuple[AuditOutcome, ...] = get_args(AuditOutcome)
CALL_KINDS: tuple[AuditKind, ...] = ("tool_call", "prompt_get", "resource_read")
"""Kinds counted as calls of a session."""

DetailValue = str | int | float | bool | None
"""A value of `AuditEvent.detail`: scalars only (anything else is kept as its JSON text)."""

MAX_DETAIL_CHARS = 1024
"""Longest `detail` as JSON; keys beyond it are left out and `truncated: true` is set."""
MAX_DETAIL_KEYS = 16
MAX_DETAIL_VALUE_CHARS = 256
_MAX_KEY_CHARS = 64
_NAME_CHARS = 253
_DISPLAY_PREFIX_CHARS = 12
_ELLIPSIS = "…"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_PLAIN = re.compile(r"[\w./-]*")
"""Text without separators, spaces, quotes or `@` cannot hold a `key=value`, a URL credential or a
scheme's value."""
_TOKEN_VALUE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{2,}")
"""More of a token value than its display prefix (`mcpctl_pat_A…`) shows."""
_AUTH_SCHEME = re.compile(r"\b(?P<scheme>bearer|basic)(?P<space>\s+)[^\s,;]+", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"""(?P<key>["']?[A-Za-z_][\w.-]{0,63}["']?)(?P<sep>\s*(?:=|:(?!//))\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s,;&?#"']+)"""
)
"""`key=value`, `key: value`, `"key": "value"` and query parameters (not a URL's `scheme://`)."""


def mask_text(text: str) -> str:
    """`text` with token values, URL credentials, `Bearer ...` and `secret-ish-key=value` pairs hidden.

    Free text in an audit event (an error reason, a resource URI) may quote what a client sent, so it
    gets the same treatment plans give secret-looking keys: the value becomes `(sensitive)`.
    """
    if _PLAIN.fullmatch(text) and TOKEN_PREFIX not in text:
        return text  # a name: nothing to hide (most fields of most events)
    text = _TOKEN_VALUE.sub(TOKEN_PREFIX + "***", text)
    text = mask_url(text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m['scheme']}{m['space']}{SENSITIVE}", text)

    def hide(found: re.Match[str]) -> str:
        if not looks_secret(found["key"].strip("\"'")):
            return found[0]
        return f"{found['key']}{found['sep']}{SENSITIVE}"

    return _KEY_VALUE.sub(hide, text)


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def _clean_text(value: str | None, limit: int = _NAME_CHARS) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"audit event text fields must be str, not {type(value).__name__}")
    return _capped(mask_text(value), limit)


def _clean_value(key: str, value: Any) -> DetailValue:
    if looks_secret(key):
        return None if value is None else SENSITIVE
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return _capped(mask_text(text), MAX_DETAIL_VALUE_CHARS)


def clean_detail(detail: Mapping[str, Any]) -> dict[str, DetailValue]:
    """A short, flat, masked copy of `detail`: at most MAX_DETAIL_KEYS keys and MAX_DETAIL_CHARS of JSON.

    Values of keys that look secret (`token`, `password`, `api_key`, ...) become `(sensitive)`; strings
    go through `mask_text` and are capped at MAX_DETAIL_VALUE_CHARS; non-scalars become their JSON text.
    """
    cleaned: dict[str, DetailValue] = {}
    size = 2
    for raw_key, value in detail.items():
        if len(cleaned) == MAX_DETAIL_KEYS:
            cleaned["truncated"] = True
            break
        key = _capped(mask_text(str(raw_key)), _MAX_KEY_CHARS)
        item = _clean_value(key, value)
        item_size = len(json.dumps({key: item})) - 1
        if size + item_size > MAX_DETAIL_CHARS - len(',"truncated":true'):
            cleaned["truncated"] = True
            break
        cleaned[key] = item
        size += item_size
    return cleaned


def digest_arguments(arguments: Mapping[str, Any] | None) -> str:
    """`sha256:<hex>` of the canonical JSON of tool arguments (sorted keys, no spaces; None as `{}`).

    Equal arguments give equal digests, so calls can be compared without recording what was sent.
    """
    canonical = json.dumps(
        dict(arguments or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def new_correlation_id() -> str:
    """A fresh correlation id (32 hex digits)."""
    return uuid.uuid4().hex


def _display_prefix(value: str | None) -> str | None:
    # Only a display prefix may be stored; a whole value passed by mistake is cut down to one.
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("token_prefix must be str")
    if len(value) <= _DISPLAY_PREFIX_CHARS + 1:
        return value
    return value[:_DISPLAY_PREFIX_CHARS] + _ELLIPSIS


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited event. Making one validates `kind` and `outcome` (ValueError) and cleans every field.

    It never holds argument values (only `args_digest`), token values (only `token_prefix`) or secrets:
    free text is masked (`mask_text`), `detail` is cut down by `clean_detail`, names are capped at 253
    characters. `time` defaults to now; naive times are taken as UTC.
    """

    kind: AuditKind
    """What happened (see `AuditKind`)."""
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When it happened (UTC)."""
    project: str | None = None
    """Project whose endpoint was used, or the project an event concerns."""
    session_id: str | None = None
    """MCP session (`Mcp-Session-Id`) the event belongs to."""
    correlation_id: str = field(default_factory=new_correlation_id)
    """Ties the events of one client request (or one apply) together; a new one by default."""
    token: str | None = None
    """Name of the McpToken used (never its value)."""
    token_prefix: str | None = None
    """Display prefix of the token value (`mcpctl_pat_A…`), as `get mcptokens` shows it."""
    user: str | None = None
    """The token's owner, or the acting user (an apply's actor)."""
    server: str | None = None
    """Upstream server involved."""
    tool: str | None = None
    """Tool called, prompt read or resource URI read (per `kind`)."""
    outcome: AuditOutcome = "ok"
    """How it ended."""
    duration_ms: float | None = None
    """How long it took, in milliseconds."""
    args_digest: str | None = None
    """`sha256:<hex>` of the call's arguments (see `digest_arguments`); never the arguments."""
    result_size: int | None = None
    """Size of the result in bytes, as the writer measured it."""
    detail: Mapping[str, DetailValue] = field(default_factory=dict)
    """A few short, masked facts: a denial's reason, a client address, an apply's counts."""
    id: int | None = None
    """Sequence number in the store (set on events read back; a follower's cursor)."""

    def __post_init__(self) -> None:
        if self.kind not in AUDIT_KINDS:
            raise ValueError(f"unknown audit kind {self.kind!r}; one of: {', '.join(AUDIT_KINDS)}")
        if self.outcome not in AUDIT_OUTCOMES:
            raise ValueError(f"unknown audit outcome {self.outcome!r}; one of: {', '.join(AUDIT_OUTCOMES)}")
        if not isinstance(self.time, datetime):
            raise ValueError("audit event time must be a datetime")
        moment = self.time.replace(tzinfo=UTC) if self.time.tzinfo is None else self.time.astimezone(UTC)
        if self.args_digest is not None and not _DIGEST.match(self.args_digest):
            raise ValueError("args_digest must be 'sha256:<64 hex digits>' (see digest_arguments)")
        if self.duration_ms is not None and not self.duration_ms >= 0:
            raise ValueError("duration_ms must be a non-negative number")
        if self.result_size is not None and self.result_size < 0:
            raise ValueError("result_size must be non-negative")
        values: dict[str, Any] = {
            "time": moment,
            "project": _clean_text(self.project),
            "session_id": _clean_text(self.session_id, 128),
            "correlation_id": _clean_text(self.correlation_id, 64) or new_correlation_id(),
            "token": _clean_text(self.token),
            "token_prefix": _display_prefix(self.token_prefix),
            "user": _clean_text(self.user),
            "server": _clean_text(self.server),
            "tool": _clean_text(self.tool),
            "detail": clean_detail(self.detail),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def to_document(self) -> dict[str, Any]:
        """The JSON form, with the field names of the audit docs (time in ISO 8601, UTC)."""
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "kind": self.kind,
            "project": self.project,
            "session_id": self.session_id,
            "correlation_id": self.correlation_id,
            "token": self.token,
            "token_prefix": self.token_prefix,
            "user": self.user,
            "server": self.server,
            "tool": self.tool,
            "outcome": self.outcome,
            "duration_ms": self.duration_ms,
            "args_digest": self.args_digest,
            "result_size": self.result_size,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class AuditSession:
    """One MCP session as `mcpctl audit sessions` lists it, aggregated from its events."""

    session_id: str
    project: str | None
    token: str | None
    user: str | None
    first_seen: datetime
    """Time of its first event (UTC)."""
    last_seen: datetime
    """Time of its latest event (UTC)."""
    calls: int
    """Tool calls, prompt gets and resource reads."""
    errors: int
    """Events whose outcome was not `ok`."""
    closed: bool
    """True once a `session_close` event was recorded."""

    def to_document(self) -> dict[str, Any]:
        """The JSON form (times in ISO 8601, UTC)."""
        return {
            "session_id": self.session_id,
            "project": self.project,
            "token": self.token,
            "user": self.user,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "calls": self.calls,
            "errors": self.errors,
            "closed": self.closed,
        }
