"""ASGI middleware bounding what one HTTP request may cost: header count, body size and body read time, and
the DNS-rebinding `Host`/`Origin` check of the admin API.

The request head's size and read time are bounded earlier, in the HTTP parser (`_serving.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
from litestar.types import ASGIApp

from ._config import HttpLimits
from ._endpoint import MCP_MOUNT, rpc_error, send_json

Send = Callable[[Any], Awaitable[None]]

GUARDED_PREFIXES = ("/api/v1",)
"""Routes a browser page must not reach through DNS rebinding (the MCP endpoints check it in the SDK)."""
UNGUARDED_PREFIXES = ("/api/v1/reconcile",)
"""The git webhook: a forge calls it under the public name, and its HMAC signature is its protection."""


def _path(scope: Any) -> str:
    # Routing rewrites `path` for mounted apps; `raw_path` is what the client asked for.
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def _host_allowed(host: str | None, allowed: Sequence[str]) -> bool:
    if host is None:
        return False
    for pattern in allowed:
        if pattern == host:
            return True
        if pattern.endswith(":*") and host.rpartition(":")[0] == pattern[:-2]:
            return True
    return False


class _Refusal:
    """Answers a request with an error once, whoever (middleware or app) tries to answer after it."""

    def __init__(self, send: Send, mcp: bool) -> None:
        self._send = send
        self._mcp = mcp
        self.started = False
        self.refused = False

    async def send(self, message: Any) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def refuse(self, status: int, detail: str) -> None:
        if self.started or self.refused:
            return
        self.refused = True
        body = rpc_error(detail) if self._mcp else {"status_code": status, "detail": detail}
        await send_json(self._send, status, body, {"connection": "close"})


def limits_middleware(
    limits: HttpLimits, allowed_hosts: Sequence[str], allowed_origins: Sequence[str]
) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware factory (for Litestar's `middleware=`)."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = _path(scope)
            answer = _Refusal(send, path.startswith(MCP_MOUNT + "/"))
            headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
            if len(headers) > limits.max_headers:
                await answer.refuse(431, f"too many header fields (at most {limits.max_headers})")
                return
            # The parser refuses a head that grows past the limit while it arrives; one that came whole in
            # a single read is only measured here.
            if sum(len(k) + len(v) + 4 for k, v in headers) + len(path) > limits.max_header_bytes:
                await answer.refuse(431, f"request headers over {limits.max_header_bytes} bytes")
                return
            if _under(path, GUARDED_PREFIXES) and not _under(path, UNGUARDED_PREFIXES):
                host = next((v.decode("latin-1") for k, v in headers if k == b"host"), None)
                origin = next((v.decode("latin-1") for k, v in headers if k == b"origin"), None)
                if not _host_allowed(host, allowed_hosts):
                    await answer.refuse(421, "this Host is not served here (see --allowed-host)")
                    return
                if origin is not None and origin not in allowed_origins:
                    await answer.refuse(403, "this Origin is not allowed")
                    return
            length = next((v for k, v in headers if k == b"content-length"), None)
            if length is not None and length.strip().isdigit() and int(length) > limits.max_body_bytes:
                await answer.refuse(413, f"request body over {limits.max_body_bytes} bytes")
                return
            received = 0
            body_done = False

            async def bounded_receive() -> Any:
                nonlocal received, body_done
                if body_done:
                    # Only a disconnect is left to wait for (an SSE stream waits for it for hours).
                    return await receive()
                with anyio.move_on_after(limits.body_timeout_seconds):
                    message = await receive()
                    if message["type"] == "http.request":
                        received += len(message.get("body", b""))
                        body_done = not message.get("more_body", False)
                        if received > limits.max_body_bytes:
                            await answer.refuse(413, f"request body over {limits.max_body_bytes} bytes")
                            return {"type": "http.disconnect"}
                    return message
                await answer.refuse(408, f"no request body data for {limits.body_timeout_seconds:g} s")
                return {"type": "http.disconnect"}

            await app(scope, bounded_receive, answer.send)

        return middleware

    return factory
