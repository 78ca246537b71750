"""How the gateway app is put on uvicorn: the httptools parser, with a bounded request head and head time.

uvicorn bounds a request head only in its pure-Python h11 parser, and the time a client takes to send its
headers not at all. The gateway runs uvicorn's httptools protocol (llhttp, in C: about a quarter less of
the gateway's CPU per MCP call than h11, benchmarks/gateway_bench.py --upstream memory) with both limits
added here. A complete head over the size limit is answered 431 by the limits middleware (`_limits.py`),
which also counts header fields; this protocol stops a head that is still arriving once it is over that
size, so a huge or endless head is never held whole.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ._config import GatewayConfig, HttpLimits

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 26\r\nconnection: close\r\n\r\nrequest headers too slow\r\n"
)
_HEADER_FIELD_OVERHEAD = 4
"""Bytes of a header line besides its name and value (`: ` and CRLF)."""


def _too_large_response(limit: int) -> bytes:
    text = f"request headers over {limit} bytes\r\n".encode()
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
        + f"content-length: {len(text)}\r\nconnection: close\r\n\r\n".encode()
        + text
    )


def head_limited_protocol(limits: HttpLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing connections whose request head is too large or too slow.

    Size: llhttp reports a head piece by piece (the URL in fragments, each header field once whole), and
    those are counted. A field still arriving is not reported, so the bytes of reads in which nothing was
    reported are counted too; what is held of an unfinished head stays within the limit plus one read.
    Time: the head must be complete within the timeout, counted from the connection opening or the
    previous response ending.
    """
    timeout = limits.header_timeout_seconds
    max_bytes = limits.max_header_bytes

    class HeadLimitedProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _head_open = False
        """A request head has begun and is not complete."""
        _head_bytes = 0
        """Bytes of the open head that llhttp reported."""
        _unreported = 0
        """Bytes of the open head read since llhttp last reported a piece of it (one field arriving)."""
        _reported = False
        """Whether llhttp reported a piece of the head during the read being parsed."""

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(timeout, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing() or not (self.cycle is None or self.cycle.response_complete):
                return  # a request being served (an SSE stream, a slow tool call) is not the client's delay
            if self._head_open:
                self.transport.write(_TIMEOUT_RESPONSE)
            # An idle kept-alive connection is closed silently, as uvicorn's keep-alive timeout does: a 408
            # there could be read as the answer to a request the client is just sending.
            self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            self._reported = False
            super().data_received(data)
            if not self._head_open or self.transport.is_closing():
                return
            self._unreported = 0 if self._reported else self._unreported + len(data)
            if self._head_bytes + self._unreported > max_bytes:
                self._disarm()
                self.transport.write(_too_large_response(max_bytes))
                self.transport.close()

        def _counted(self, size: int) -> None:
            self._head_bytes += size
            self._reported = True

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_open, self._head_bytes, self._unreported = True, 0, 0
            self._reported = True

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            self._counted(len(url))

        def on_header(self, name: bytes, value: bytes) -> None:
            super().on_header(name, value)
            self._counted(len(name) + len(value) + _HEADER_FIELD_OVERHEAD)

        def on_headers_complete(self) -> None:
            self._head_open = False
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # The next request's head has its own deadline, counted from the end of this response (unless
            # a pipelined request, whose head is already complete, is being served now).
            if not self.transport.is_closing() and (self._head_open or self.cycle.response_complete):
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
        "limit_concurrency": limits.max_connections,
        "server_header": False,
        "access_log": False,
        "lifespan": "on",
        **options,
    }
    return uvicorn.Config(app, **settings)
