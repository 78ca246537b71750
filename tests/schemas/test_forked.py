"""Tests of mcpctl.schemas._forked: a big input read half in a forked child gives what one process gives."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mcpctl.schemas import Limits, _forked, _loader, load_and_validate, load_documents
from mcpctl.schemas._forked import DocumentFields, ForkedParse, ParsedFile, fork_possible, split

T = TypeVar("T")
PROJECT = "apiVersion: mcpctl.dev/v1\nkind: Project\nmetadata:\n  name: p{i}\n  description: {pad}\n"


def _repo(root: Path, files: int = 40, per_file: int = 25) -> Path:
    """A repository big enough to be split: `files` files of `per_file` projects each."""
    root.mkdir()
    pad = "x" * 600  # 40 files of ~16 KB: past `MIN_BYTES`
    for number in range(files):
        documents = [PROJECT.format(i=number * per_file + i, pad=pad) for i in range(per_file)]
        (root / f"f{number:03}.yaml").write_text("---\n".join(documents))
    return root


@pytest.fixture
def broken_repo(tmp_path: Path) -> Path:
    """A big repository with problems in the child's share: bad YAML, a duplicate key, a schema error,
    empty documents."""
    root = _repo(tmp_path / "repo")
    (root / "f035.yaml").write_text("kind: [unclosed\n")
    (root / "f036.yaml").write_text("apiVersion: mcpctl.dev/v1\nkind: Project\nkind: Project\n")
    (root / "f037.yaml").write_text("apiVersion: mcpctl.dev/v1\nkind: Project\nmetadata:\n  name: BAD NAME\n")
    (root / "f038.yaml").write_text("---\n---\napiVersion: mcpctl.dev/v1\nkind: Project\nmetadata: {name: q}")
    return root


def _shape(result: Any) -> tuple[list[tuple[Any, ...]], list[str]]:
    documents = [(d.path, d.index, d.line, d.col, d.data, d.base) for d in result.documents]
    return documents, [str(problem) for problem in result.problems]


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> list[ForkedParse]:
    """Lets this (multi-threaded, long-lived) test process fork; records each helper started."""
    started: list[ForkedParse] = []

    class Recorded(ForkedParse):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            started.append(self)

    monkeypatch.setattr(_loader, "fork_possible", lambda: True)
    monkeypatch.setattr(_loader, "ForkedParse", Recorded)
    return started


def _both_ways(
    read: Callable[[], T], forking: list[ForkedParse], monkeypatch: pytest.MonkeyPatch
) -> tuple[T, T]:
    """What `read` gives with a forked helper (asserting one ran), then what it gives in one process."""
    with_helper = read()
    assert len(forking) == 1
    monkeypatch.setattr(_loader, "fork_possible", lambda: False)
    return with_helper, read()


def test_a_big_input_read_with_a_helper_gives_what_one_process_gives(
    broken_repo: Path, forking: list[ForkedParse], monkeypatch: pytest.MonkeyPatch
) -> None:
    with_helper, alone = _both_ways(lambda: load_documents([str(broken_repo)]), forking, monkeypatch)
    assert _shape(with_helper) == _shape(alone)
    assert len(alone.problems) == 2  # the syntax error and the duplicate key, from the child's share
    assert with_helper.files == alone.files == 40
    # Positions of fields in a document the child parsed come from the text it handed back.
    last = with_helper.documents[-1]
    assert last.path.endswith("f039.yaml")
    assert last.locate(("metadata", "name")) == alone.documents[-1].locate(("metadata", "name"))


def test_validation_with_a_helper_finds_the_same_problems(
    broken_repo: Path, forking: list[ForkedParse], monkeypatch: pytest.MonkeyPatch
) -> None:
    with_helper, alone = _both_ways(lambda: load_and_validate([str(broken_repo)]), forking, monkeypatch)
    assert [str(p) for p in with_helper.problems] == [str(p) for p in alone.problems]
    assert any("BAD NAME" in str(p) and ":4:" in str(p) for p in alone.problems)
    assert with_helper.documents == alone.documents
    assert [r.identity for r in with_helper.resources] == [r.identity for r in alone.resources]


@pytest.mark.parametrize("limit", [700, 999, 1000])
def test_the_document_limit_falls_where_it_falls_without_a_helper(
    tmp_path: Path, forking: list[ForkedParse], monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    repo = _repo(tmp_path / "repo")  # 1,000 documents; the child's share starts near the 450th
    limits = Limits(max_documents=limit, max_problems=100)
    read = lambda: load_documents([str(repo)], limits=limits)  # noqa: E731
    with_helper, alone = _both_ways(read, forking, monkeypatch)
    assert _shape(with_helper) == _shape(alone)
    assert len(alone.documents) == min(limit, 1000)


def test_a_helper_that_dies_costs_its_files_a_second_read(
    tmp_path: Path, forking: list[ForkedParse], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path / "repo")
    real_results = ForkedParse.results

    def killed_first(self: ForkedParse) -> Any:
        os.kill(self._pid, signal.SIGKILL)
        return real_results(self)

    monkeypatch.setattr(ForkedParse, "results", killed_first)
    with_helper, alone = _both_ways(lambda: load_documents([str(repo)]), forking, monkeypatch)
    assert _shape(with_helper) == _shape(alone)
    assert len(with_helper.documents) == 1000


def test_the_helper_hands_back_clean_files_and_none_for_the_rest(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("a: 1\n---\n---\nb: [x, {c: 2.5}]\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n")

    documents: list[DocumentFields] = [(0, 1, 1, {"a": 1}, ()), (2, 4, 1, {"b": ["x", {"c": 2.5}]}, ())]

    def parse(path: str, walked: bool) -> ParsedFile | None:
        if not Path(path).exists() or "a: 2" in (text := Path(path).read_text()):
            return None
        return ParsedFile(text, 3, documents)

    files = [(str(good), True), (str(bad), True), (str(tmp_path / "gone.yaml"), True)]
    helper = ForkedParse(files, parse)
    child = helper._pid
    found = list(helper.results())
    assert found == [ParsedFile(good.read_text(), 3, documents), None, None]
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped: no zombie left


def test_a_helper_whose_parse_raises_hands_every_file_back(tmp_path: Path) -> None:
    def parse(path: str, walked: bool) -> ParsedFile | None:
        raise RuntimeError("boom")

    helper = ForkedParse([("a.yaml", True), ("b.yaml", True)], parse)
    assert list(helper.results()) == [None, None]


def test_small_inputs_stay_in_one_process(tmp_path: Path) -> None:
    small = tmp_path / "a.yaml"
    small.write_text("a: 1\n")
    big = tmp_path / "b.yaml"
    big.write_text("x" * _forked.MIN_BYTES)
    assert split([(str(small), True), (str(small), True)]) == 2
    assert split([(str(big), True)]) == 1
    # Of a big input, the parent keeps the files in the first 45% of its bytes.
    files = [(str(big), True), (str(small), True), (str(big), True), (str(big), True)]
    assert split(files) == 2


def test_only_a_single_threaded_one_shot_process_forks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_forked, "in_one_shot_process", lambda: True)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert fork_possible()
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not fork_possible()
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(_forked, "in_one_shot_process", lambda: False)
    assert not fork_possible()
