"""tools/call to a Streamable HTTP upstream as one POST read in place, beside the SDK's client session.

Why: per call, the SDK's client transport spent ~2 ms of the gateway's CPU (a task per message, memory
streams, its stream wrappers and models), about twice the rest of the gateway together; the same POST
read here costs ~0.8 ms. Only `tools/call` — the hot path — goes this way, and only on sessions the
SDK negotiated at a protocol revision before 2026-07-28, whose wire rules are fixed (the newer one adds
per-tool headers and input-required rounds that only the SDK handles). Everything else, including the
session's start, its GET stream and its answers to server→client requests, stays the SDK's.

What the POST's SSE stream carries besides the answer goes where the SDK would send it: progress for
this request to its progress callback and log lines to the logging callback, both before the answer is
returned (so while the request still counts as in flight for the relay); every other message
(server→client requests, notifications) into the SDK session's own inbound stream, so it handles them
exactly as on its own POSTs.
Failures are raised as the `MCPError`s the SDK raises for the same case, so the upstream's error
handling (session gone → one retry on a new session, a lost stream → restart) is the same for both.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, cast

import anyio
import httpx2
import mcp_types as types
from mcp import ClientSession
from mcp.client.streamable_http import DEFAULT_MAX_SSE_EVENT_SIZE, MCP_SESSION_ID
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp.shared.message import SessionMessage
from mcp_types.methods import parse_server_result
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from opentelemetry.propagate import inject
from pydantic import ValidationError

logger = logging.getLogger(__name__)

Inbox = Callable[[SessionMessage], Awaitable[None]]
"""Hands a message the upstream sent to the SDK session, as if its own transport had read it."""
LogFn = Callable[[types.LoggingMessageNotificationParams], Awaitable[None]]
"""Takes the upstream's log lines, as the session's logging callback does."""
CANCEL_SECONDS = 5.0
"""How long telling the upstream about a cancelled call may take; the caller has already given up."""
FIRST_ID = 1 << 30
"""Direct calls number their requests from here, per session; the SDK numbers its own from 0 on the same
session. Integers, as every server handles them (some mishandle string ids), and below 2**31 so that
servers keeping ids in 32 bits read them right."""


def direct_calls_allowed(protocol_version: str) -> bool:
    """Whether a session at this negotiated revision may take `tools/call` past the SDK's transport."""
    return protocol_version not in MODERN_PROTOCOL_VERSIONS


class DirectToolCalls:
    """`tools/call` on one live Streamable HTTP session: the SDK's HTTP client, session id and version."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        url: str,
        session_id: Callable[[], str | None],
        protocol_version: str,
        inbox: Inbox,
        on_log: LogFn,
    ) -> None:
        self._http = http
        self._url = url
        self._session_id = session_id
        self._version = protocol_version
        self._inbox = inbox
        self._on_log = on_log
        self._ids = itertools.count(FIRST_ID)

    async def call_tool(
        self,
        session: ClientSession,
        name: str,
        arguments: dict[str, Any] | None,
        *,
        progress: ProgressFnT | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> types.CallToolResult:
        """Call tool `name`; its answer as the SDK's `call_tool` would return it (output schema checked)."""
        request_id = next(self._ids)
        if request_id >= 1 << 31:
            self._ids = itertools.count(FIRST_ID + 1)
            request_id = FIRST_ID
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        meta = dict(meta or {})
        if progress is not None:
            meta["progressToken"] = request_id
        inject(meta)  # the current span's W3C trace context, as the SDK's client sends it (SEP-414)
        if meta:
            params["_meta"] = meta
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
        try:
            raw = await self._post(request_id, body, progress)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_SECONDS):
                await _tell_cancelled(session, request_id)
            raise
        try:
            result = parse_server_result("tools/call", self._version, raw)
        except (KeyError, ValueError, ValidationError) as error:
            raise MCPError(types.INVALID_PARAMS, f"invalid tools/call result: {error}") from None
        if not isinstance(result, types.CallToolResult):
            raise MCPError(types.INVALID_REQUEST, f"unexpected tools/call result: {type(result).__name__}")
        if not result.is_error:
            await session.validate_tool_result(name, result)
        return result

    def _headers(self) -> dict[str, str]:
        headers = {
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            MCP_PROTOCOL_VERSION_HEADER: self._version,
        }
        session_id = self._session_id()
        if session_id:
            headers[MCP_SESSION_ID] = session_id
        return headers

    async def _post(self, request_id: int, body: str, progress: ProgressFnT | None) -> dict[str, Any]:
        async with self._http.stream("POST", self._url, content=body, headers=self._headers()) as response:
            status = response.status_code
            content_type = response.headers.get("content-type", "").lower()
            if status >= 400 or status == 202 or 300 <= status < 400:
                raise await self._http_failure(response, content_type)
            if content_type.startswith("application/json"):
                message = _parsed(await response.aread(), "JSON response")
                answer = await self._answer(request_id, message, progress)
                if answer is None:
                    raise MCPError(types.INVALID_REQUEST, "the JSON response did not answer the request")
                return answer
            if not content_type.startswith("text/event-stream"):
                raise MCPError(types.INVALID_REQUEST, f"Unexpected content type: {content_type}")
            return await self._read_sse(response, request_id, progress)

    async def _read_sse(
        self, response: httpx2.Response, request_id: int, progress: ProgressFnT | None
    ) -> dict[str, Any]:
        """The answer in an SSE body, passing on what comes before it."""
        response.encoding = "utf-8"  # what SSE always is; spares parsing the charset off the header
        source = httpx2.EventSource(response, max_event_size=DEFAULT_MAX_SSE_EVENT_SIZE)
        events = cast(AsyncGenerator[httpx2.ServerSentEvent], aiter(source))  # typed as an iterator
        answered = False
        try:
            async for event in events:
                if event.event != "message" or not event.data:
                    continue  # a priming event, or one that is not a JSON-RPC message
                message = _parsed(event.data, "SSE message")
                answered = _is_answer(message, request_id)
                answer = await self._answer(request_id, message, progress)
                if answer is not None:
                    return answer
        except httpx2.SSEError as error:
            raise MCPError(types.CONNECTION_CLOSED, f"SSE stream failed: {error}") from None
        finally:
            if answered:
                # Answered (a result or an error): closed while the reader still holds the body, the
                # response reads the body's end and keeps the connection (`DrainingStream`).
                await response.aclose()
            # Then the reader, not left to the garbage collector: closed while the body is unread, it
            # closes the connection, which must not happen under whichever request has it by then.
            await events.aclose()
        raise MCPError(types.CONNECTION_CLOSED, "SSE stream ended without a response")

    async def _answer(
        self, request_id: int, message: Any, progress: ProgressFnT | None
    ) -> dict[str, Any] | None:
        """This request's result from `message`; anything else the upstream sent is passed on (None)."""
        if not isinstance(message, dict):
            raise MCPError(types.PARSE_ERROR, "Failed to parse response: not a JSON-RPC message")
        if _is_answer(message, request_id):
            if isinstance(error := message.get("error"), dict):
                raise _error(error)
            result = message.get("result")
            if not isinstance(result, dict):
                raise MCPError(types.PARSE_ERROR, "Failed to parse response: result is not an object")
            return result
        method = message.get("method")
        params = message.get("params")
        values: dict[str, Any] = params if isinstance(params, dict) else {}
        token = values.get("progressToken")
        if method == "notifications/progress" and progress is not None and token == request_id:
            await _report(progress, values)
            return None
        if method == "notifications/message" and "id" not in message:
            await self._log(values)
            return None
        try:
            parsed = types.jsonrpc_message_adapter.validate_python(message, by_name=False)
        except ValidationError:
            logger.debug("upstream sent a message that is not JSON-RPC; dropped")
            return None
        await self._inbox(SessionMessage(parsed))
        return None

    async def _log(self, values: Any) -> None:
        try:
            params = types.LoggingMessageNotificationParams.model_validate(values, by_name=False)
        except ValidationError:
            logger.debug("upstream sent a malformed log line; dropped")
            return
        try:
            await self._on_log(params)
        except Exception:
            logger.exception("relaying an upstream log line failed")

    async def _http_failure(self, response: httpx2.Response, content_type: str) -> MCPError:
        """The error the SDK reports for a POST answered by an HTTP error, a redirect or a 202."""
        if response.status_code == 202:
            return MCPError(types.INVALID_REQUEST, "server answered a request with 202 Accepted")
        if 300 <= response.status_code < 400:
            return MCPError(types.INVALID_REQUEST, f"server redirected the request ({response.status_code})")
        if content_type.startswith("application/json"):
            try:
                message = json.loads(await response.aread())
            except (ValueError, httpx2.StreamError):
                message = None
            if isinstance(message, dict) and isinstance(error := message.get("error"), dict):
                return _error(error)
        if response.status_code == 404:
            if self._session_id() is None:
                return MCPError(types.METHOD_NOT_FOUND, "Not Found")
            return MCPError(types.INVALID_REQUEST, "Session terminated")
        return MCPError(types.INTERNAL_ERROR, "Server returned an error response")


def _is_answer(message: Any, request_id: int) -> bool:
    return isinstance(message, dict) and message.get("id") == request_id and "method" not in message


def _parsed(data: bytes | str, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as error:
        raise MCPError(types.PARSE_ERROR, f"Failed to parse {what}: {error}") from None


def _error(error: dict[str, Any]) -> MCPError:
    code = error.get("code")
    message = error.get("message")
    return MCPError(
        code if isinstance(code, int) else types.INTERNAL_ERROR,
        message if isinstance(message, str) else "upstream error",
        error.get("data"),
    )


async def _report(progress: ProgressFnT, values: dict[str, Any]) -> None:
    """Hands one progress notification's values to `progress`; malformed ones are dropped."""
    amount, total, message = values.get("progress"), values.get("total"), values.get("message")
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        return
    try:
        await progress(
            float(amount),
            float(total) if isinstance(total, int | float) and not isinstance(total, bool) else None,
            message if isinstance(message, str) else None,
        )
    except Exception:
        # As the SDK does: a failing relay must not fail the call whose progress it carried.
        logger.exception("relaying upstream progress failed")


async def _tell_cancelled(session: ClientSession, request_id: int) -> None:
    try:
        await session.send_notification(
            types.CancelledNotification(
                params=types.CancelledNotificationParams(
                    request_id=request_id, reason="cancelled by the client"
                )
            )
        )
    except Exception as error:
        logger.debug("telling the upstream of a cancelled call failed: %s", type(error).__name__)
