"""How the gateway app is put on uvicorn: the HTTP/1.1 parser with a bounded request head and head-read time.

uvicorn has a head-size limit only in its h11 parser (httptools reads any header whole) and no limit at all
on the time a client takes to send its headers, so `serve` and the tests run this h11 protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._config import GatewayConfig, HttpLimits

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 26\r\nconnection: close\r\n\r\nrequest headers too slow\r\n"
)


def head_limited_protocol(limits: HttpLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol closing connections whose request head is not complete in time."""
    timeout = limits.header_timeout_seconds

    class HeadLimitedProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _partial_head = False

        def _arm(self) -> None:
            self._disarm()
            self._partial_head = False
            self._head_timer = self.loop.call_later(timeout, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            # Only a connection still waiting for a request head: a request being served (an SSE stream,
            # a slow tool call) is not the client's delay.
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                # An idle kept-alive connection is closed silently, as uvicorn's keep-alive timeout does: a
                # 408 there could be read as the answer to a request the client is just sending.
                if self._partial_head:
                    self.transport.write(_TIMEOUT_RESPONSE)
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()
            else:
                self._partial_head = True

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # The next request's head has its own deadline, counted from the end of this response.
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeadLimitedProtocol


def uvicorn_config(app: Any, config: GatewayConfig, **options: Any) -> uvicorn.Config:
    """The uvicorn settings the gateway is served with (`options` add to or override them)."""
    limits = config.http
    settings: dict[str, Any] = {
        # `[::1]` is how a Host header spells an IPv6 address; the socket wants the address alone.
        "host": config.host.strip("[]"),
        "port": config.port,
        "http": head_limited_protocol(limits),
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "limit_concurrency": limits.max_connections,
        "server_header": False,
        "access_log": False,
        "lifespan": "on",
        **options,
    }
    return uvicorn.Config(app, **settings)
