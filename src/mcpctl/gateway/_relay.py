"""What an upstream sends back while serving a client's request: progress, log lines, and its own requests.

One `Relay` per upstream session. It knows which client requests are in flight on that session and ties
what the upstream sends to the one client session that caused it:
- progress is exact: each forwarded request carries a progress token of its own (the SDK's request id),
  whose notifications are answered against the client's token on the client's request;
- log lines and server→client requests (elicitation, sampling, roots) carry nothing on the wire that names
  the request they belong to, so they go to the client whose requests are in flight. On a shared upstream
  session that is only certain while a single client session has requests there; otherwise log lines go
  to the gateway log and requests are declined (never sent to a client that may not have caused them).
  With `spec.sessions: per-client` the upstream session has one client, so this is always certain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import anyio
import mcp_types as types
from mcp import ServerSession
from mcp.client.session import ClientRequestContext
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp.shared.message import ServerMessageMetadata
from pydantic import BaseModel

from mcpctl.errors import UpstreamUnavailable
from mcpctl.schemas import ServerSpec

from ._context import CallContext
from ._events import ClientRequestRelayed, GatewayEvent
from ._session import GatewaySession

logger = logging.getLogger("mcpctl.gateway.relay")
upstream_logger = logging.getLogger("mcpctl.gateway.upstream")
"""Where upstream log lines that belong to no single client request go."""

RequestKind = Literal["elicitation", "sampling", "roots"]
EventFn = Callable[[GatewayEvent], None]
R = TypeVar("R", bound=BaseModel)

LEVELS: tuple[types.LoggingLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
_PYTHON_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "emergency": logging.CRITICAL,
}
DRAIN_SECONDS = 1.0
"""How long a finished request waits for the relays of its last progress and log lines."""
GATEWAY_LOG_CHARS = 500
"""An upstream log line written to the gateway log is cut to this many characters."""
_LABELS: dict[RequestKind, str] = {
    "elicitation": "Elicitation",
    "sampling": "Sampling",
    "roots": "List roots",
}


@dataclass(frozen=True)
class RelayLimits:
    """What one upstream (or client) can make the gateway hold."""

    max_pending: int = 16
    """Server→client requests of one upstream session waiting for a client's answer at once."""
    max_notifications_per_call: int = 10_000
    """Progress and log notifications relayed for one client request; the rest are dropped."""


def log_allowed(level: types.LoggingLevel, minimum: types.LoggingLevel | None) -> bool:
    """Whether a line at `level` passes a client's `logging/setLevel` (everything passes without one)."""
    return minimum is None or LEVELS.index(level) >= LEVELS.index(minimum)


@dataclass(frozen=True)
class _Route:
    """Where something the upstream sent goes: a client channel, and the request it rides (if any)."""

    session: GatewaySession
    peer: ServerSession
    call: CallContext | None

    @property
    def related(self) -> types.RequestId | None:
        # A JSON-response POST has no stream to carry anything but its answer: use the standalone stream.
        call = self.call
        return call.request_id if call is not None and call.peer.can_send_request else None


class Relay:
    """Ties what one upstream session sends back to the client session (and request) that caused it."""

    def __init__(
        self,
        server: str,
        spec: ServerSpec,
        *,
        owner: GatewaySession | None = None,
        limits: RelayLimits | None = None,
        on_event: EventFn | None = None,
    ) -> None:
        self.server = server
        self.spec = spec
        self.owner = owner
        """The one client session of a per-client upstream session; None for a shared one."""
        self.limits = limits or RelayLimits()
        self._on_event = on_event
        self._calls: list[CallContext] = []
        self._sent: dict[str, int] = {}
        self._busy: dict[str, int] = {}
        self._scopes: dict[str, set[anyio.CancelScope]] = {}
        self.pending = 0

    # -- what the gateway's upstream ClientSession is given

    def callbacks(self) -> dict[str, Any]:
        """`ClientSession` keyword arguments: the callbacks for the request kinds this server may send."""
        allowed = self.spec.client_requests
        found: dict[str, Any] = {"logging_callback": self.on_log}
        if allowed.elicitation:
            found["elicitation_callback"] = self.on_elicit
        if allowed.sampling:
            found["sampling_callback"] = self.on_sample
        if allowed.roots:
            found["list_roots_callback"] = self.on_list_roots
        return found

    @asynccontextmanager
    async def serving(self, call: CallContext | None) -> AsyncIterator[None]:
        """Mark `call` in flight on this upstream session for the duration of its upstream request.

        On the way out it waits (briefly) for the relays of what the upstream sent before its answer: the
        SDK hands progress and log lines to tasks of their own, which may still be sending.
        """
        if call is None:
            yield
            return
        self._calls.append(call)
        session_id = call.session.id
        try:
            # Cancelled when the client session ends; the SDK then tells the upstream it is cancelled.
            with anyio.CancelScope() as scope:
                self._scopes.setdefault(session_id, set()).add(scope)
                yield
        finally:
            scopes = self._scopes.get(session_id, set())
            scopes.discard(scope)
            if not scopes:
                self._scopes.pop(session_id, None)
            _remove_last(self._calls, call)
            with anyio.move_on_after(DRAIN_SECONDS, shield=True):
                while self._busy.get(call.correlation_id):
                    await anyio.sleep(0.005)
            if not any(other is call for other in self._calls):
                self._sent.pop(call.correlation_id, None)
                self._busy.pop(call.correlation_id, None)
        if scope.cancelled_caught:
            raise UpstreamUnavailable(
                f"upstream {self.server!r}: request cancelled, its client session ended"
            )

    @property
    def in_flight(self) -> int:
        """Client requests running on this upstream session."""
        return len(self._calls)

    def cancel_session(self, session_id: str) -> None:
        """Cancel every request of client session `session_id` still running on this upstream session."""
        for scope in self._scopes.pop(session_id, set()):
            scope.cancel()

    @contextmanager
    def _relaying(self, call: CallContext | None) -> Iterator[None]:
        if call is None:
            yield
            return
        key = call.correlation_id
        self._busy[key] = self._busy.get(key, 0) + 1
        try:
            yield
        finally:
            self._busy[key] -= 1

    def progress_for(self, call: CallContext | None) -> ProgressFnT | None:
        """A progress callback relaying to `call`'s client against its token; None when it asked for none."""
        if call is None or call.progress_token is None:
            return None
        token = call.progress_token

        async def relay(progress: float, total: float | None, message: str | None) -> None:
            if not self._count(call):
                return
            params = types.ProgressNotificationParams(
                progress_token=token, progress=progress, total=total, message=message
            )
            with self._relaying(call):
                await _deliver(
                    _Route(call.session, call.peer, call), types.ProgressNotification(params=params)
                )

        return relay

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        route, _ = self._route()
        if route is None:
            text = str(params.data)[:GATEWAY_LOG_CHARS]
            upstream_logger.log(
                _PYTHON_LEVELS.get(params.level, logging.INFO),
                "upstream %r%s: %s",
                self.server,
                f" [{params.logger}]" if params.logger else "",
                text,
            )
            return
        if not log_allowed(params.level, route.session.log_level):
            return
        if route.call is not None and not self._count(route.call):
            return
        with self._relaying(route.call):
            await _deliver(route, types.LoggingMessageNotification(params=params))

    async def on_elicit(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        def capable(caps: types.ClientCapabilities) -> bool:
            if caps.elicitation is None:
                return False
            # A client that declared neither mode supports form (the 2025-06-18 capability had no modes).
            if isinstance(params, types.ElicitRequestURLParams):
                return caps.elicitation.url is not None
            return caps.elicitation.form is not None or caps.elicitation.url is None

        request = types.ElicitRequest(params=params)
        return await self._forward("elicitation", request, types.ElicitResult, capable)

    async def on_sample(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.CreateMessageResultWithTools | types.ErrorData:
        def capable(caps: types.ClientCapabilities) -> bool:
            if caps.sampling is None:
                return False
            return not params.tools or caps.sampling.tools is not None

        request = types.CreateMessageRequest(params=params)
        if params.tools:
            return await self._forward("sampling", request, types.CreateMessageResultWithTools, capable)
        return await self._forward("sampling", request, types.CreateMessageResult, capable)

    async def on_list_roots(self, context: ClientRequestContext) -> types.ListRootsResult | types.ErrorData:
        request = types.ListRootsRequest()
        return await self._forward("roots", request, types.ListRootsResult, lambda c: c.roots is not None)

    # -- routing

    def _route(self) -> tuple[_Route | None, str]:
        """Where what the upstream just sent goes, or None and why it cannot be told."""
        calls = self._calls
        if self.owner is not None:
            session = self.owner
            call = calls[-1] if calls else None
            peer = call.peer if call is not None else session.peer
            if peer is None or not session.is_open:
                return None, "its client session is closed"
            return _Route(session, peer, call), ""
        if not calls:
            return None, "no client request is in flight on it"
        sessions = {call.session.id for call in calls}
        if len(sessions) > 1:
            return None, f"{len(sessions)} client sessions have requests in flight on this shared session"
        call = calls[-1]
        return _Route(call.session, call.peer, call), ""

    def _count(self, call: CallContext) -> bool:
        sent = self._sent.get(call.correlation_id, 0) + 1
        self._sent[call.correlation_id] = sent
        if sent == self.limits.max_notifications_per_call + 1:
            logger.warning(
                "upstream %r: more than %d notifications for request %s; dropping the rest",
                self.server,
                self.limits.max_notifications_per_call,
                call.correlation_id,
            )
        return sent <= self.limits.max_notifications_per_call

    async def _forward(
        self,
        kind: RequestKind,
        request: types.ElicitRequest | types.CreateMessageRequest | types.ListRootsRequest,
        result_type: type[R],
        capable: Callable[[types.ClientCapabilities], bool],
    ) -> R | types.ErrorData:
        started = time.perf_counter()
        method = request.method
        route, why = self._route()
        label = _LABELS[kind]

        def finish(outcome: str, answer: R | types.ErrorData) -> R | types.ErrorData:
            if self._on_event is not None:
                self._on_event(
                    ClientRequestRelayed(
                        self.server,
                        method,
                        outcome,
                        time.perf_counter() - started,
                        route.session if route is not None else None,
                        route.call if route is not None else None,
                    )
                )
            return answer

        if route is None:
            message = (
                f"{label} not supported here: the gateway cannot tell which client this {method} is for "
                f"({why}); set spec.sessions: per-client on server {self.server!r}"
            )
            return finish("unrouted", types.ErrorData(code=types.INVALID_REQUEST, message=message))
        caps = route.peer.client_capabilities
        if caps is None or not capable(caps):
            message = f"{label} not supported: the client did not declare the {kind} capability"
            return finish("unsupported", types.ErrorData(code=types.INVALID_REQUEST, message=message))
        if self.pending >= self.limits.max_pending:
            message = f"too many {method} requests waiting for the client (at most {self.limits.max_pending})"
            return finish("limited", types.ErrorData(code=types.INVALID_REQUEST, message=message))
        timeout = self.spec.client_requests.timeout_seconds
        related = route.related
        metadata = ServerMessageMetadata(related_request_id=related) if related is not None else None
        self.pending += 1
        try:
            with anyio.fail_after(timeout):
                # The typed request, as sent; its params are the upstream's unchanged (id aside).
                answer = await route.peer.send_request(request, result_type, metadata=metadata)
        except TimeoutError:
            message = f"the client did not answer {method} within {timeout:g}s"
            return finish("timeout", types.ErrorData(code=types.REQUEST_TIMEOUT, message=message))
        except NoBackChannelError:
            message = f"{label} not supported: the client has no stream open for requests from the server"
            return finish("unsupported", types.ErrorData(code=types.INVALID_REQUEST, message=message))
        except MCPError as error:
            return finish("error", error.error)
        except anyio.get_cancelled_exc_class():
            finish("cancelled", types.ErrorData(code=types.INVALID_REQUEST, message="cancelled"))
            raise
        finally:
            self.pending -= 1
        return finish("answered", answer)


def _remove_last(calls: list[CallContext], call: CallContext) -> None:
    # By identity: with dozens of calls in flight, `list.remove`'s field-by-field dataclass comparisons
    # were a measurable share of each call.
    for index in range(len(calls) - 1, -1, -1):
        if calls[index] is call:
            del calls[index]
            return


async def _deliver(route: _Route, notification: types.ServerNotification) -> None:
    """Send a notification to the client; a client that went away must not fail the upstream's session."""
    try:
        with anyio.fail_after(5.0):
            await route.peer.send_notification(notification, related_request_id=route.related)
    except Exception as error:
        logger.info(
            "session %s: %s not delivered (%s)", route.session, notification.method, type(error).__name__
        )
