"""Where the live store lives: the default URL, driver mapping and a URL that masks its password.

`MCPCTL_DATABASE_URL` wins; otherwise a SQLite file under `$XDG_DATA_HOME` (or ~/.local/share)/mcpctl.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from mcpctl.errors import StoreError

ENV_VAR = "MCPCTL_DATABASE_URL"
_SECRET_PARAM = re.compile(r"(?P<key>[?&][^=&]*(?:passw|secret|token)[^=&]*=)[^&]*", re.IGNORECASE)
"""Query parameters masked too: libpq also takes `?password=` (and `sslpassword=`) in the URL."""


def default_database_url() -> str:
    """`$MCPCTL_DATABASE_URL`, else `sqlite:///<data dir>/mcpctl/mcpctl.db` (made on open)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(data_home) / 'mcpctl' / 'mcpctl.db'}"


class DatabaseUrl(str):
    """A store URL: its value is the real URL (pass it on freely); printing it masks the password."""

    __slots__ = ()

    def __new__(cls, value: str) -> DatabaseUrl:
        # str(other DatabaseUrl) would give the masked text; copy the real value instead.
        return super().__new__(cls, str.__str__(value))

    @property
    def masked(self) -> str:
        """The URL with any password (in the userinfo or a query parameter) replaced by `***`."""
        try:
            shown = make_url(str.__str__(self)).render_as_string(hide_password=True)
        except ArgumentError:
            return "<unparseable database URL>"
        return _SECRET_PARAM.sub(r"\g<key>***", shown)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return repr(self.masked)

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)


def sqlite_file(url: str) -> Path | None:
    """The file a `sqlite:///PATH` URL names; None for other databases and in-memory SQLite."""
    parsed = sqlalchemy_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database)).expanduser()


def sqlalchemy_url(url: str) -> URL:
    """The SQLAlchemy URL for a user-given one: `postgresql://` goes through psycopg 3."""
    raw = str.__str__(url) if isinstance(url, DatabaseUrl) else url
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise StoreError(f"not a database URL: {DatabaseUrl(raw).masked!s}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://"
        )
    return parsed
