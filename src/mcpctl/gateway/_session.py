"""One MCP client session as the gateway sees it: who opened it, when, and a channel back to that client.

Sessions are opened and closed by `ProjectSessions`; layers keep per-session values in `state` (dropped at
close) or react to `Layer.session_opened` / `Layer.session_closed`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
import mcp_types as types
from mcp import ServerSession

from ._principal import Principal

logger = logging.getLogger("mcpctl.gateway.sessions")

SessionState = Literal["opening", "open", "closed"]
CloseReason = Literal["client", "idle", "gone", "project-removed", "stopped", "closed"]
"""Why a session ended: the client sent DELETE; it was idle past the timeout; the SDK no longer knew it;
its project left the store; the gateway stopped; or something in the gateway closed it (`close()`)."""
NOTIFY_TIMEOUT = 5.0
"""Seconds a notification to one client may take before it is given up (a stalled client delays nobody)."""


class GatewaySession:
    """One client session of a project's MCP endpoint (one `Mcp-Session-Id`)."""

    def __init__(
        self,
        project: str,
        principal: Principal | None,
        closer: Callable[[GatewaySession, CloseReason], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = ""
        """The `Mcp-Session-Id`; empty while the opening request is being answered."""
        self.project = project
        self.principal = principal
        """Who opened it; None when the gateway runs without auth."""
        self.status: SessionState = "opening"
        self.opened_at: datetime | None = None
        self.closed_reason: CloseReason | None = None
        self.state: dict[str, Any] = {}
        """Per-session values of layers, by a key of the layer's own (e.g. its name); cleared at close."""
        self._closer = closer
        self._clock = clock
        self._last_seen = clock()
        self._in_flight = 0
        self._peer: ServerSession | None = None
        self.log_level: types.LoggingLevel | None = None
        """The client's `logging/setLevel`; relayed upstream log lines below it are dropped."""
        self.owner_user: object = None
        """`scope["user"]` of the opening request: the credential the SDK bound the session to."""
        self.owner_identity: object = None
        """What the SDK compares on every request of the session (derived from `owner_user`)."""

    def __repr__(self) -> str:
        return f"GatewaySession({self.project}/{self.id[:8] or '?'}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def last_seen(self) -> float:
        """`time.monotonic()` when the last HTTP request of the session ended (now, while one is running)."""
        return self._clock() if self._in_flight else self._last_seen

    def idle_for(self) -> float:
        """Seconds without any request in flight (an open GET stream counts as one); 0 while one is."""
        return 0.0 if self._in_flight else self._clock() - self._last_seen

    @property
    def in_flight(self) -> int:
        """HTTP requests of this session being served now (its open GET stream counts as one)."""
        return self._in_flight

    def request_started(self) -> None:
        self._in_flight += 1

    def request_ended(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        self._last_seen = self._clock()

    def opened(self, session_id: str, owner_user: object, owner_identity: object) -> None:
        self.id = session_id
        self.owner_user, self.owner_identity = owner_user, owner_identity
        self.status = "open"
        self.opened_at = datetime.now(UTC)

    def attach(self, peer: ServerSession) -> None:
        """Remember a channel to the client: its standalone stream carries notifications tied to no call."""
        if self._peer is None:
            self._peer = peer

    @property
    def peer(self) -> ServerSession | None:
        """The channel to the client for what no request of it caused; None before the first request."""
        return self._peer if self.status == "open" else None

    def ended(self, reason: CloseReason) -> bool:
        """Mark the session closed (`state` stays until the layers have seen the close); False if it was."""
        if self.status == "closed":
            return False
        self.status, self.closed_reason = "closed", reason
        self._peer = None
        return True

    async def close(self) -> None:
        """End the session from inside the gateway: the client's next request gets 404 and re-initializes."""
        await self._closer(self, "closed")

    async def notify(self, notification: types.ServerNotification) -> bool:
        """Send `notification` to this client on its standalone stream; False when it could not be sent.

        For notifications tied to one request (progress, its log lines) use `CallContext.peer`.
        """
        peer = self._peer
        if peer is None or self.status != "open":
            return False
        try:
            with anyio.fail_after(NOTIFY_TIMEOUT):
                await peer.send_notification(notification)
        except Exception as error:  # a client that went away must not stop whoever is notifying
            logger.info("session %s: %s not delivered (%s)", self, notification.method, type(error).__name__)
            return False
        return True

    async def tools_changed(self) -> bool:
        """`notifications/tools/list_changed` to this client only (gating unlocks tools per session)."""
        return await self.notify(types.ToolListChangedNotification())

    async def lists_changed(self) -> bool:
        """`notifications/{tools,prompts,resources}/list_changed` to this client."""
        sent = await self.notify(types.ToolListChangedNotification())
        sent = await self.notify(types.PromptListChangedNotification()) and sent
        return await self.notify(types.ResourceListChangedNotification()) and sent

    async def resource_updated(self, uri: str) -> bool:
        """`notifications/resources/updated` for `uri` (as this client knows it)."""
        params = types.ResourceUpdatedNotificationParams(uri=uri)
        return await self.notify(types.ResourceUpdatedNotification(params=params))

    async def log(self, level: types.LoggingLevel, data: Any, logger_name: str | None = None) -> bool:
        """`notifications/message` on the standalone stream (a log line not tied to a request)."""
        params = types.LoggingMessageNotificationParams(level=level, data=data, logger=logger_name)
        return await self.notify(types.LoggingMessageNotification(params=params))
