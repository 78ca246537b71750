"""Store URLs: the default location, psycopg 3 for postgresql://, and masked passwords."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mcpctl.errors import StoreError
from mcpctl.store import DatabaseUrl, default_database_url
from mcpctl.store._url import sqlalchemy_url


def test_default_is_a_sqlite_file_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_database_url() == f"sqlite:///{tmp_path}/mcpctl/mcpctl.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_database_url() == f"sqlite:///{tmp_path}/home/.local/share/mcpctl/mcpctl.db"


def test_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPCTL_DATABASE_URL", "postgresql://db.example/mcpctl")
    assert default_database_url() == "postgresql://db.example/mcpctl"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgresql_goes_through_psycopg_3(scheme: str) -> None:
    url = sqlalchemy_url(f"{scheme}://u:p@db.example:5433/mcpctl")
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.password) == ("db.example", 5433, "mcpctl", "p")


def test_unsupported_or_malformed_urls_are_store_errors() -> None:
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        sqlalchemy_url("mysql://root@localhost/x")
    with pytest.raises(StoreError, match="not a database URL"):
        sqlalchemy_url("not a url")


def test_printing_masks_the_password_but_the_value_is_real() -> None:
    url = DatabaseUrl("postgresql://admin:s3cret@db.example/mcpctl")
    assert str(url) == "postgresql://admin:***@db.example/mcpctl"
    assert f"{url}" == repr(url)[1:-1] == str(url)
    assert "s3cret" not in f"{url!r} {url!s} {url}"
    assert url == "postgresql://admin:s3cret@db.example/mcpctl"
    assert sqlalchemy_url(url).password == "s3cret"
    assert DatabaseUrl(url) == url and str(DatabaseUrl(url)) == str(url)
    assert subprocess.run(["echo", url], capture_output=True, text=True).stdout.strip() == url


def test_printing_masks_passwords_given_as_query_parameters() -> None:
    url = DatabaseUrl("postgresql://admin@db.example/mcpctl?password=s3cret&sslmode=require")
    assert str(url) == "postgresql://admin@db.example/mcpctl?password=***&sslmode=require"
    assert "s3cret" not in f"{url!r} {url} {DatabaseUrl('postgresql://db/x?sslpassword=s3cret')}"
    assert url == "postgresql://admin@db.example/mcpctl?password=s3cret&sslmode=require"
