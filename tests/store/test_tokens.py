"""Token values: generated once, stored only as SHA-256 + display prefix, found by hash, expiring."""

from __future__ import annotations

import hashlib
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from _samples import token
from mcpctl.errors import StoreError
from mcpctl.schemas import Identity, McpTokenSpec
from mcpctl.store import TOKEN_PREFIX, Store, hash_token
from mcpctl.store._tokens import display_prefix
from mcpctl.store._url import sqlalchemy_url


def test_create_token_returns_a_value_found_only_by_its_hash(store: Store) -> None:
    with store.transaction() as tx:
        value = tx.create_token(token(expires="30d"), managed_by="cli")
    assert re.fullmatch(rf"{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}", value)
    assert hash_token(value) == hashlib.sha256(value.encode()).hexdigest()
    record = store.find_token(hash_token(value))
    assert record is not None
    assert (record.project, record.name, record.revoked) == ("platform", "ci-bot", False)
    assert record.prefix == value[:19] + "…"
    assert record.expires_at is not None
    assert record.expires_at - record.created_at == timedelta(days=30)
    assert record.is_valid()
    assert not record.is_valid(record.expires_at + timedelta(seconds=1))
    assert store.find_token(hash_token(value + "x")) is None


def test_the_value_is_never_stored(store: Store, database_url: str, tmp_path: Path) -> None:
    with store.transaction() as tx:
        value = tx.create_token(token(), managed_by="cli")
    secret_part = value[len(TOKEN_PREFIX) :]
    if database_url.startswith("sqlite"):
        store.close()
        database = Path(sqlalchemy_url(database_url).database or "")
        files = [database, *database.parent.glob(database.name + "-*")]
        assert all(secret_part.encode() not in file.read_bytes() for file in files)
    else:
        schema = re.search(r"search_path%3D(\w+)", database_url)
        assert schema is not None
        dump = subprocess.run(
            ["pg_dump", "--data-only", "-n", schema.group(1), database_url.split("?")[0]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "ci-bot" in dump and hash_token(value) in dump
        assert secret_part not in dump


def test_put_updates_a_token_but_keeps_its_hash(store: Store) -> None:
    with store.transaction() as tx:
        value = tx.create_token(token(expires="2030-01-01"), managed_by="cli")
    with store.transaction() as tx:
        tx.put(token(expires="2030-01-01", revoked=True), managed_by="cli")
    record = store.find_token(hash_token(value))
    assert record is not None and record.revoked and record.spec.revoked
    assert not record.is_valid()
    assert record.expires_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_create_token_again_replaces_the_value(store: Store) -> None:
    with store.transaction() as tx:
        first = tx.create_token(token(), managed_by="cli")
    with store.transaction() as tx:
        second = tx.create_token(token(description="rotated"), managed_by="cli")
    assert first != second
    assert store.find_token(hash_token(first)) is None
    record = store.find_token(hash_token(second))
    assert record is not None and record.spec.description == "rotated" and record.expires_at is None
    assert len(store.list_resources("McpToken")) == 1


def test_a_token_needs_create_token(store: Store) -> None:
    with pytest.raises(StoreError, match="create_token"), store.transaction() as tx:
        tx.put(token(), managed_by="cli")
    with store.transaction() as tx:
        value = tx.create_token(token(), managed_by="cli")
        tx.put(token(description="same transaction"), managed_by="cli")
    record = store.find_token(hash_token(value))
    assert record is not None and record.spec.description == "same transaction"
    with store.transaction() as tx:
        tx.delete(Identity("McpToken", "platform", "ci-bot"))
    assert store.find_token(hash_token(value)) is None


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        ("never", None),
        ("12h", datetime(2026, 1, 1, 12, tzinfo=UTC)),
        ("30d", datetime(2026, 1, 31, tzinfo=UTC)),
        ("2w", datetime(2026, 1, 15, tzinfo=UTC)),
        ("2027-03-04", datetime(2027, 3, 4, tzinfo=UTC)),
        ("2027-03-04T05:06:07Z", datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2027-03-04T05:06:07+02:00", datetime(2027, 3, 4, 3, 6, 7, tzinfo=UTC)),
    ],
)
def test_expiry(expires: str, expected: datetime | None) -> None:
    assert McpTokenSpec(expires=expires).expiry(datetime(2026, 1, 1, tzinfo=UTC)) == expected


def test_display_prefix_hides_the_random_part() -> None:
    assert display_prefix("mcpctl_pat_abcdefghijklmnop") == "mcpctl_pat_abcdefgh…"


def test_timestamps_come_back_in_utc(store: Store, database_url: str) -> None:
    with store.transaction() as tx:
        value = tx.create_token(token(expires="2027-03-04T05:06:07+02:00"), managed_by="cli")
    record = store.find_token(hash_token(value))
    assert record is not None and record.expires_at == datetime(2027, 3, 4, 3, 6, 7, tzinfo=UTC)
    assert record.expires_at.utcoffset() == timedelta(0)
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_prefix FROM mcp_tokens")).scalar_one()
    engine.dispose()
    assert stored == record.prefix


def test_last_use_is_written_at_most_once_a_minute(store: Store) -> None:
    with store.transaction() as tx:
        value = tx.create_token(token(), managed_by="cli")
    digest = hash_token(value)
    assert store.token_record("platform", "ci-bot").last_used_at is None  # type: ignore[union-attr]
    assert store.tokens_last_used() == {}
    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert store.touch_token(digest, t0)
    assert not store.touch_token(digest, t0 + timedelta(seconds=59))  # throttled: no UPDATE
    assert store.token_record("platform", "ci-bot").last_used_at == t0  # type: ignore[union-attr]
    assert store.touch_token(digest, t0 + timedelta(seconds=61))
    assert store.tokens_last_used() == {("platform", "ci-bot"): t0 + timedelta(seconds=61)}
    assert store.tokens_last_used("other") == {}
    # Another process (its own throttle) never moves it backwards.
    with Store.open(store.url) as other:
        assert other.touch_token(digest, t0)
    assert store.find_token(digest).last_used_at == t0 + timedelta(seconds=61)  # type: ignore[union-attr]
    assert store.touch_token(hash_token("unknown"), t0)  # no such token: nothing to update
    # A token made again has a new value and has not been used yet.
    with store.transaction() as tx:
        tx.create_token(token(), managed_by="cli")
    assert store.token_record("platform", "ci-bot").last_used_at is None  # type: ignore[union-attr]
