"""Tests of mcpctl.schemas._loader: files, directories, stdin, positions, and bad YAML as problems."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mcpctl.schemas import load_documents, load_text


def problems_of(text: str) -> list[str]:
    return [str(p) for p in load_text(text, "f.yaml").problems]


def test_multi_document_file_keeps_positions_of_documents_and_fields() -> None:
    text = (
        "# comment\na: 1\n---\nkind: Project\nspec:\n"
        "  servers:\n    - one\n    - two\n  nested:\n    deep: x\n"
    )
    result = load_text(text, "f.yaml")
    assert result.problems == []
    first, second = result.documents
    assert (first.index, first.line, first.col) == (0, 2, 1)
    assert (second.index, second.line, second.col) == (1, 4, 1)
    assert second.data == {"kind": "Project", "spec": {"servers": ["one", "two"], "nested": {"deep": "x"}}}
    assert second.locate(("spec", "servers", 1)) == (8, 7)
    assert second.locate(("spec", "nested", "deep")) == (10, 11)
    assert second.locate(("spec", "nested", "deep"), key=True) == (10, 5)
    # A container points at its key; a missing field at the mapping that should hold it.
    assert second.locate(("spec", "nested")) == (9, 3)
    assert second.locate(("spec", "nested", "missing")) == (10, 5)
    assert second.locate(("kind",)) == (4, 7)
    assert (second.kind, second.name) == ("Project", None)


def test_empty_documents_are_skipped_silently() -> None:
    result = load_text("---\n---\n# only a comment\n---\na: 1\n---\n", "f.yaml")
    assert result.problems == []
    assert [d.data for d in result.documents] == [{"a": 1}]
    assert result.documents[0].index == 2
    assert result.documents[0].locate(("a",)) == (5, 4)


def test_duplicate_keys_are_problems_and_later_documents_still_load() -> None:
    result = load_text("a: 1\nb:\n  c: 1\n  c: 2\n---\nok: true\n", "f.yaml")
    assert [str(p) for p in result.problems] == ["f.yaml:4:3: duplicate key 'c' (first at line 3)"]
    assert [d.data for d in result.documents] == [{"ok": True}]


def test_keys_that_are_not_strings_are_named_at_their_own_line() -> None:
    # `1` and `true` are an int and a bool (and 1 == True in Python): not one key given twice.
    assert problems_of("metadata:\n  labels:\n    team: a\n    1: x\n    true: y\n") == [
        "f.yaml:4:5: mapping key '1' is read as a number, not a string; quote it ('1')"
    ]
    assert problems_of("labels:\n  true: y\n") == [
        "f.yaml:2:3: mapping key 'true' is read as a boolean, not a string; quote it ('true')"
    ]
    assert problems_of("labels:\n  '1': x\n  'true': y\n") == []


def test_tabs_in_indentation_are_reported_with_their_position() -> None:
    assert problems_of("a:\n\tb: 1\n") == [
        "f.yaml:2:1: tab characters are not allowed in YAML indentation; use spaces"
    ]


def test_aliases_are_refused_so_billion_laughs_cannot_expand() -> None:
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    assert problems_of(laughs) == [
        "f.yaml:1:4: this anchored value is reused by an alias; YAML aliases (*name) are not supported"
    ]
    assert problems_of("a: &x 1\nb: *x\n") == [
        "f.yaml:1:4: this anchored value is reused by an alias; YAML aliases (*name) are not supported"
    ]
    # An anchor nobody refers to is harmless.
    assert problems_of("a: &x 1\n") == []


def test_non_mapping_documents_are_problems() -> None:
    prefix = "f.yaml:1:1: a document must be a mapping (apiVersion, kind, ...), found"
    assert problems_of("- a\n- b\n") == [f"{prefix} a list"]
    assert problems_of("just text\n") == [f"{prefix} str"]


def test_syntax_errors_unsupported_tags_and_bad_keys_are_problems() -> None:
    assert problems_of("a: [1, 2\nb: 3\n") == [
        "f.yaml:2:2: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)"
    ]
    assert problems_of("a: !!python/object:os.system x\n") == [
        "f.yaml:1:4: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'"
    ]
    assert problems_of("? [a]\n: 1\n") == ["f.yaml:1:3: a mapping key must be a scalar"]
    # A standard tag on the wrong kind of node is refused, never read as something else.
    assert problems_of("a: !!str {b: 1}\nb: !!seq {c: 2}\nc: !!map [1]\nd: !!int [1]\ne: !!map x\n") == [
        "f.yaml:1:4: YAML tag 'tag:yaml.org,2002:str' on a mapping"
    ]
    assert problems_of("b: !!seq {c: 2}\n") == ["f.yaml:1:4: YAML tag 'tag:yaml.org,2002:seq' on a mapping"]
    assert problems_of("c: !!map [1]\n") == ["f.yaml:1:4: YAML tag 'tag:yaml.org,2002:map' on a list"]
    assert problems_of("e: !!map x\n") == ["f.yaml:1:4: YAML tag 'tag:yaml.org,2002:map' on a scalar"]
    assert problems_of("a: " + "[" * 200 + "]" * 200 + "\n") == ["f.yaml:1:104: YAML nested too deeply"]
    assert problems_of("a: b\x07\n") == ["f.yaml:1:5: not YAML text: control characters are not allowed"]


def test_scalars_follow_yaml_1_2_core_schema() -> None:
    text = "a: yes\nb: 2027-01-01\nc: 0o17\nd: 0x1F\ne: 010\nf: -1.5e3\ng: ~\nh:\ni: True\nj: '1'\n"
    text += "k: .inf\nl: NO\n"
    (document,) = load_text(text, "f.yaml").documents
    assert document.data == {
        "a": "yes",
        "b": "2027-01-01",
        "c": 15,
        "d": 31,
        "e": 10,
        "f": -1500.0,
        "g": None,
        "h": None,
        "i": True,
        "j": "1",
        "k": float("inf"),
        "l": "NO",
    }


def test_directories_are_walked_recursively_sorted_skipping_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "z.yml").write_text("n: 3\n")
    (tmp_path / "b" / "a.yaml").write_text("n: 2\n")
    (tmp_path / "a.yaml").write_text("n: 1\n")
    (tmp_path / ".git" / "config.yaml").write_text("n: hidden\n")
    (tmp_path / ".hidden.yaml").write_text("n: hidden\n")
    (tmp_path / "notes.txt").write_text("n: text\n")
    result = load_documents([str(tmp_path), str(tmp_path / "a.yaml")])
    assert [d.data["n"] for d in result.documents] == [1, 2, 3]  # a.yaml listed twice, loaded once
    assert result.files == 3


def test_unreadable_inputs_are_problems(tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"\x00\x01\x02")
    (tmp_path / "latin1.yaml").write_bytes("name: ok\ncity: caf\xe9\n".encode("latin-1"))
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfn: 1\n")
    (tmp_path / "utf16.yaml").write_bytes("n: 1\n".encode("utf-16"))
    result = load_documents([str(tmp_path), str(tmp_path / "missing.yaml")])
    assert sorted(str(p).replace(str(tmp_path), "D") for p in result.problems) == [
        "D/binary.yaml: binary file (contains NUL bytes), not YAML",
        "D/latin1.yaml:2:10: not UTF-8 text (bad byte 0xe9 at offset 18)",
        "D/missing.yaml: no such file or directory",
        "D/utf16.yaml: UTF-16 text; save the file as UTF-8",
    ]
    assert [d.data for d in result.documents] == [{"n": 1}]


def test_stdin_is_read_for_dash() -> None:
    result = load_documents(["-"], stdin=io.BytesIO(b"a: 1\n---\nb: 2\n"))
    assert [(d.path, d.line, d.data) for d in result.documents] == [
        ("<stdin>", 1, {"a": 1}),
        ("<stdin>", 3, {"b": 2}),
    ]


@pytest.mark.parametrize("text", ["", "\n", "# nothing\n"])
def test_files_without_documents_are_fine(text: str) -> None:
    result = load_text(text, "f.yaml")
    assert (result.documents, result.problems) == ([], [])


def test_symlinks_and_special_files_in_a_directory_are_said_not_skipped_silently(tmp_path: Path) -> None:
    import os

    outside, repo = tmp_path / "outside", tmp_path / "repo"
    outside.mkdir()
    repo.mkdir()
    (outside / "secret.yaml").write_text("n: outside\n")
    (outside / "more").mkdir()
    (outside / "more" / "x.yaml").write_text("n: linked-dir\n")
    (repo / "a.yaml").write_text("n: 1\n")
    (repo / "alias.yaml").symlink_to(repo / "a.yaml")  # inside: read (once)
    (repo / "escape.yaml").symlink_to(outside / "secret.yaml")
    (repo / "linked").symlink_to(outside / "more")
    os.mkfifo(repo / "pipe.yaml")
    result = load_documents([str(repo)])
    assert [d.data["n"] for d in result.documents] == [1]
    assert sorted((str(p).replace(str(tmp_path), "T"), p.severity) for p in result.problems) == [
        ("T/repo/escape.yaml: symlink to a file outside T/repo (T/outside/secret.yaml) not read; "
         "give that file with its own -f to read it", "error"),
        ("T/repo/linked: warning: symlinked directory not followed; give it with its own -f to read it",
         "warning"),
        ("T/repo/pipe.yaml: warning: not a regular file (a FIFO, socket or device); skipped", "warning"),
    ]  # fmt: skip
    # Named on the command line, a symlink or a directory behind one is read as asked.
    explicit = load_documents([str(repo / "escape.yaml"), str(repo / "linked")])
    assert [d.data["n"] for d in explicit.documents] == ["outside", "linked-dir"]


def test_a_list_document_gives_its_items_with_their_positions() -> None:
    text = (
        "apiVersion: mcpctl.dev/v1\nkind: List\nitems:\n"
        "  - apiVersion: mcpctl.dev/v1\n    kind: User\n"
        "    metadata: {name: ada}\n    spec: {email: a@b.co}\n"
        "  - apiVersion: mcpctl.dev/v1\n    kind: Group\n    metadata:\n      name: devs\n"
        "    spec:\n      members: [ada, bob]\n"
        "  - just text\n"
        "---\napiVersion: mcpctl.dev/v1\nkind: List\nitems: {}\n"
    )
    result = load_text(text, "f.yaml")
    user, group = result.documents
    assert (user.kind, user.name, user.line, user.col) == ("User", "ada", 4, 5)
    assert (group.kind, group.index, group.line) == ("Group", 0, 8)
    assert group.locate(("spec", "members", 1)) == (13, 22)
    problem = group.problem(("spec", "members", 1), "unknown User 'bob'")
    assert str(problem) == "f.yaml:13:22: Group/devs: spec.members[1]: unknown User 'bob'"
    assert problems_of(text) == [
        "f.yaml:14:5: List: items[2] must be a mapping (apiVersion, kind, ...)",
        "f.yaml:18:8: List: items must be a list",
    ]


def test_the_scalar_tag_cache_keeps_nothing_past_a_load() -> None:
    from mcpctl.schemas._loader import _resolve

    # The same scalars in the cached resolver, in every role: plain, quoted, as keys and values.
    text = "true: 1\n---\na: true\nb: 'true'\nc: [true, null, '1', 1, 1.5, .inf]\n"
    result = load_text(text, "f.yaml")
    assert [str(p) for p in result.problems] == [
        "f.yaml:1:1: mapping key 'true' is read as a boolean, not a string; quote it ('true')"
    ]
    assert result.documents[0].data == {"a": True, "b": "true", "c": [True, None, "1", 1, 1.5, float("inf")]}
    assert _resolve.cache_info().currsize == 0
