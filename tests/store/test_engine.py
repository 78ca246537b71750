"""SQLite engine setup: WAL, foreign keys, busy timeout, the directory made on first use."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from mcpctl.store._engine import make_engine
from mcpctl.store._url import sqlalchemy_url


def test_sqlite_pragmas_and_directory(tmp_path: Path) -> None:
    engine = make_engine(sqlalchemy_url(f"sqlite:///{tmp_path}/a/b/mcpctl.db"))
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}
    assert (tmp_path / "a" / "b" / "mcpctl.db").exists()


def test_in_memory_sqlite_shares_one_connection() -> None:
    engine = make_engine(sqlalchemy_url("sqlite://"))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    finally:
        engine.dispose()
