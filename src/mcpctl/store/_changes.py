"""Change notifications on PostgreSQL: every transaction that moves the generation NOTIFYs a channel.

`notify_change` runs inside the writing transaction, so PostgreSQL delivers it exactly when the change
commits (and never for a rolled-back one). `ChangeFeed` LISTENs on its own connection and yields the
generations committed in its schema: several stores may share one database (one schema each), and the
channel is per database. SQLite has no such thing; its readers keep polling the generation.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from ._url import sqlalchemy_url

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream

CHANNEL = "mcpctl_store_changed"
"""The PostgreSQL channel; the payload is `<schema> <generation>`."""

_BUFFER = 64
_NOTIFY = text("SELECT pg_notify(:channel, current_schema() || ' ' || :generation)")


def notify_change(connection: Connection, generation: int) -> None:
    """Queue the notification of `generation` in the open transaction (PostgreSQL only; a no-op on SQLite)."""
    if connection.dialect.name == "postgresql":
        connection.execute(_NOTIFY, {"channel": CHANNEL, "generation": str(generation)})


def libpq_url(url: str) -> str:
    """The store URL as libpq takes it (the driver suffix removed, the password kept)."""
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeFeed:
    """The generations other connections commit to one PostgreSQL store, as they commit.

    `async with feed.listen() as changes:` returns once LISTEN is in place; `await changes.receive()`
    then gives each generation committed in this store's schema, in commit order (waiting may be
    cancelled freely). A lost connection ends the stream (`anyio.EndOfStream`) after raising
    psycopg.Error out of the block: the caller decides how to retry. Notifications sent while nothing
    listens are lost, so a caller re-reads the generation after every (re)connect.
    """

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self._url = url
        self._connect_timeout = connect_timeout

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[MemoryObjectReceiveStream[int]]:
        # Imported here: every store command loads this module (for `notify_change`), few listen.
        import anyio
        import psycopg

        async with await psycopg.AsyncConnection.connect(
            libpq_url(self._url), autocommit=True, connect_timeout=max(1, round(self._connect_timeout))
        ) as connection:
            cursor = await connection.execute("SELECT current_schema()")
            row = await cursor.fetchone()
            schema = str(row[0]) if row is not None else "public"
            await connection.execute(f"LISTEN {CHANNEL}")
            # A bounded buffer: a consumer that lags only needs the newest generation anyway.
            send, receive = anyio.create_memory_object_stream[int](_BUFFER)

            async def read() -> None:
                async with send:
                    async for note in connection.notifies():
                        where, _, generation = note.payload.partition(" ")
                        if where == schema and generation.isdigit():
                            with contextlib.suppress(anyio.WouldBlock):
                                send.send_nowait(int(generation))

            async with anyio.create_task_group() as group, receive:
                group.start_soon(read)
                try:
                    yield receive
                finally:
                    group.cancel_scope.cancel()
