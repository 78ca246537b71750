"""GitRepository against real repositories made with gitpython: branches, tags, force-pushes, deletions."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mcpctl.errors import SourceError
from mcpctl.reconciler._git import GitRepository, canonical_url, source_name, subpath
from mcpctl.schemas import mask_url

from ._remote import Remote


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_default_branch_branches_tags_and_shas_resolve(remote: Remote, cache: Path) -> None:
    first = remote.commit({"servers/a.yaml": "a: 1\n"})
    remote.push("main")
    remote.work.create_tag("v1")
    remote.work.git.checkout("-b", "feature")
    second = remote.commit({"servers/b.yaml": "b: 2\n"})
    remote.push("feature", "v1")

    repo = GitRepository(str(remote.bare), cache_dir=cache)
    repo.fetch()
    assert repo.resolve() == first
    assert repo.resolve("main") == first
    assert repo.resolve("v1") == first
    assert repo.resolve("feature") == second
    assert repo.resolve(second) == second
    assert repo.resolve(second[:10]) == second

    checkout = repo.checkout(second)
    assert checkout.revision == second
    assert (checkout.directory / "servers" / "a.yaml").read_text() == "a: 1\n"
    assert (checkout.directory / "servers" / "b.yaml").read_text() == "b: 2\n"
    assert not (checkout.directory / ".git").exists()
    assert repo.checkout(first).directory != checkout.directory
    assert not (repo.checkout(first).directory / "servers" / "b.yaml").exists()


def test_cache_is_reused_and_fetch_sees_new_commits(remote: Remote, cache: Path) -> None:
    remote.commit({"a.yaml": "1\n"})
    remote.push("main")
    repo = GitRepository(str(remote.bare), cache_dir=cache)
    repo.fetch()
    cached = repo.path
    newer = remote.commit({"a.yaml": "2\n"})
    remote.push("main")
    again = GitRepository(str(remote.bare), cache_dir=cache)
    assert again.path == cached
    assert again.resolve("main") != newer  # not fetched yet: the cache answers what it knows
    again.fetch()
    assert again.resolve("main") == newer
    assert list(cache.iterdir()).count(cached) == 1


def test_force_push_moves_the_branch_and_drops_the_old_commit(remote: Remote, cache: Path) -> None:
    base = remote.commit({"a.yaml": "1\n"})
    old = remote.commit({"a.yaml": "2\n"}, "to be rewritten")
    remote.push("main")
    repo = GitRepository(str(remote.bare), cache_dir=cache)
    repo.fetch()
    assert repo.resolve("main") == old

    remote.work.git.reset("--hard", base)
    new = remote.commit({"a.yaml": "3\n"}, "rewritten")
    remote.push("main", force=True)
    repo.fetch()
    assert repo.resolve("main") == new
    assert not repo.is_ancestor(old, new)
    assert repo.is_ancestor(base, new)
    with pytest.raises(SourceError, match=r"on no branch or tag .*history rewritten"):
        repo.resolve(old)


def test_deleted_branch_is_a_clear_error(remote: Remote, cache: Path) -> None:
    remote.commit({"a.yaml": "1\n"})
    remote.push("main")
    remote.work.git.checkout("-b", "topic")
    remote.commit({"b.yaml": "1\n"})
    remote.push("topic")
    repo = GitRepository(str(remote.bare), cache_dir=cache)
    repo.fetch()
    repo.resolve("topic")
    remote.push(":topic")
    repo.fetch()
    with pytest.raises(SourceError, match=r"branch or tag 'topic' not found .*deleted"):
        repo.resolve("topic")


def test_unknown_ref_and_commit(remote: Remote, cache: Path) -> None:
    remote.commit({"a.yaml": "1\n"})
    remote.push("main")
    repo = GitRepository(str(remote.bare), cache_dir=cache)
    repo.fetch()
    with pytest.raises(SourceError, match="commit 0123456789abcdef0123456789abcdef01234567 not found"):
        repo.resolve("0123456789abcdef0123456789abcdef01234567")


def test_unreachable_remote_is_a_source_error_with_credentials_masked(cache: Path) -> None:
    url = "http://alice:s3cr3t-token@127.0.0.1:9/nothing.git"
    repo = GitRepository(url, cache_dir=cache)
    with pytest.raises(SourceError) as caught:
        repo.fetch()
    assert "s3cr3t-token" not in caught.value.detail
    assert "http://***@127.0.0.1:9/nothing.git" in caught.value.detail
    assert "s3cr3t" not in str(repo.path)


def test_empty_remote_has_no_default_branch(remote: Remote, cache: Path) -> None:
    repo = GitRepository(str(remote.bare), cache_dir=cache)
    repo.fetch()
    with pytest.raises(SourceError, match="no default branch"):
        repo.resolve()


def test_file_url_and_local_path_work(remote: Remote, cache: Path) -> None:
    sha = remote.commit({"a.yaml": "1\n"})
    remote.push("main")
    for url in (f"file://{remote.bare}", str(remote.bare)):
        repo = GitRepository(url, cache_dir=cache)
        repo.fetch()
        assert repo.resolve("main") == sha


def test_concurrent_fetch_and_checkout_do_not_trample(remote: Remote, cache: Path) -> None:
    shas = [remote.commit({"a.yaml": f"{n}\n"}) for n in range(3)]
    remote.push("main")
    errors: list[BaseException] = []
    found: list[Path] = []

    def run(sha: str) -> None:
        try:
            repo = GitRepository(str(remote.bare), cache_dir=cache)
            repo.fetch()
            checkout = repo.checkout(sha)
            found.append(checkout.directory)
            assert (checkout.directory / "a.yaml").read_text() == f"{shas.index(sha)}\n"
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(sha,)) for sha in shas * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(found)) == 3


def test_subpath_stays_inside(remote: Remote, cache: Path) -> None:
    sha = remote.commit({"deploy/mcp/a.yaml": "1\n"})
    remote.push("main")
    repo = GitRepository(str(remote.bare), cache_dir=cache)
    repo.fetch()
    checkout = repo.checkout(sha)
    assert subpath(checkout, "deploy/mcp/") == checkout.directory / "deploy" / "mcp"
    with pytest.raises(SourceError, match="inside the repository"):
        subpath(checkout, "../etc")
    with pytest.raises(SourceError, match="does not exist"):
        subpath(checkout, "nope")


def test_names_are_masked_and_canonical(tmp_path: Path) -> None:
    assert mask_url("https://user:pw@example.com/r.git") == "https://***@example.com/r.git"
    assert mask_url("git@github.com:org/r.git") == "git@github.com:org/r.git"
    assert mask_url("see https://u:p@a.example and http://b.example/x@y", "(sensitive)") == (
        "see https://(sensitive)@a.example and http://b.example/x@y"
    )
    assert source_name("https://tok@example.com/r.git", "/mcp/") == "https://***@example.com/r.git//mcp"
    assert canonical_url(str(tmp_path / "x" / ".." / "y")) == str((tmp_path / "y").resolve())


def test_url_credentials_reach_git_per_command_and_never_the_disk(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import stat

    from mcpctl.reconciler._git import default_cache_dir

    from ._remote import GitHttpServer

    sha = remote.publish({"servers/a.yaml": "a: 1\n"})
    # The default cache (under XDG_CACHE_HOME), and a user whose git would store credentials it is given.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MCPCTL_CACHE_DIR", raising=False)
    store_file = tmp_path / "git-credentials"
    (tmp_path / "gitconfig").write_text(f"[credential]\n\thelper = store --file={store_file}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    with GitHttpServer(remote.bare.parent, "alice", "s3cr3t-PW") as server:
        url = f"http://alice:s3cr3t-PW@127.0.0.1:{server.port}/origin.git"
        # A cache an older version made, keyed by the URL with its credentials and holding them.
        legacy = default_cache_dir() / hashlib.sha1(url.encode()).hexdigest()
        legacy.mkdir(parents=True)
        (legacy / "config").write_text(f'[remote "origin"]\n\turl = {url}\n')
        repo = GitRepository(url)
        repo.fetch()
        assert repo.resolve("main") == sha
        assert (repo.checkout(sha).directory / "servers" / "a.yaml").read_text() == "a: 1\n"
        assert any(authorized for _method, _path, authorized in server.requests)
        wrong = GitRepository(f"http://alice:not-the-PW@127.0.0.1:{server.port}/origin.git")
        with pytest.raises(SourceError) as caught:
            wrong.fetch()
        assert "not-the-PW" not in caught.value.detail and "***@127.0.0.1" in caught.value.detail
        anonymous = GitRepository(f"http://127.0.0.1:{server.port}/origin.git")
        with pytest.raises(SourceError):
            anonymous.fetch()  # fails at once: no prompt, no stored credential to fall back on
    root = default_cache_dir()
    assert not legacy.exists()
    written = [p for p in root.parent.rglob("*") if p.is_file() and not p.is_symlink()]
    assert written and not [p for p in written if b"s3cr3t-PW" in p.read_bytes()]
    assert not store_file.exists()  # git's own helpers were not asked to keep them
    assert stat.S_IMODE(root.stat().st_mode) == 0o700 and stat.S_IMODE(repo.path.stat().st_mode) == 0o700
    assert stat.S_IMODE((repo.path / "config").stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(repo.path.with_suffix(".lock").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "checkouts" / repo.path.name).stat().st_mode) == 0o700
