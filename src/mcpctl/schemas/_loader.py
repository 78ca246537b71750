"""Loading YAML documents from files, directories and stdin, keeping where each one came from.

Fast path in libyaml; positions of fields are recovered only for files that have a problem.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mcpctl._gc import paused_gc

from ._base import FieldPath
from ._forked import ForkedParse, ParsedFile, fork_possible, split
from ._limits import MAX_DOCUMENTS_ENV, Limits
from ._problems import Problem, ProblemLog, Severity, format_field

# libyaml (PyYAML's C binding) parses over 10x faster than ruamel.yaml's round-trip loader, and
# ruamel's own C parser is an optional extra that is often missing. Positions of keys and values come
# from re-composing the one file with a problem (`SourceText.root`), so valid files never pay for them.
try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml: same results, slower
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

STDIN = "-"
"""The path that means standard input."""
STDIN_NAME = "<stdin>"
"""How standard input is named in problems."""
YAML_SUFFIXES = (".yaml", ".yml")
"""Files a directory walk picks up."""
LIST_KIND = "List"
"""`kind` of a document that wraps others in `items`, as `mcpctl get -o yaml` and kubectl print them."""
MAX_FILE_BYTES = 16 * 1024 * 1024
"""Larger files are refused rather than parsed (a config file is never this big)."""


class _DocumentProblem(yaml.constructor.ConstructorError):
    """Raised by the constructor for a document that parses but is not acceptable (aliases, dup keys)."""


def _core_schema_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    # YAML 1.2 core schema, as ruamel.yaml and most editors read it: `country: NO` stays a string.
    resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}

    def add(tag: str, pattern: str, first: str) -> None:
        regexp = re.compile(pattern, re.X)
        for char in first:
            resolvers.setdefault(char, []).append((tag, regexp))

    add("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
    add("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN")
    resolvers.setdefault("", []).append(("tag:yaml.org,2002:null", re.compile(r"^$")))
    add("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789")
    add(
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    )
    return resolvers


_RESOLVERS = _core_schema_resolvers()


STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
SEQ = "tag:yaml.org,2002:seq"
MAP = "tag:yaml.org,2002:map"
MAX_DEPTH = 100
"""Deeper nesting is refused; no resource is nested more than a few levels."""
_TYPE_WORDS = {int: "a number", float: "a number", bool: "a boolean", type(None): "null"}
_NODE_WORDS: dict[type[Node], str] = {
    MappingNode: "a mapping",
    SequenceNode: "a list",
    ScalarNode: "a scalar",
}


RESOLVED_KEPT = 4096
"""Scalars whose tag `_resolve` remembers; keys and many values repeat from one document to the next."""


@functools.lru_cache(maxsize=RESOLVED_KEPT)
def _resolve(kind: type[Node], value: Any, implicit: tuple[bool, bool] | bool) -> str:
    """The YAML 1.2 core-schema tag of a node (the generic resolver walks path resolvers we never use).

    The C composer calls this for every node. Through lru_cache, a scalar met before (a key, `kind:
    Server`) is answered in C without running Python: a quarter less parse time at 10,000 documents.
    `_parse` empties the cache after each file, so it never keeps a file's strings past its load.
    """
    if kind is ScalarNode:
        if isinstance(implicit, tuple) and implicit[0]:  # (plain, quoted) for a scalar
            for tag, regexp in _RESOLVERS.get(value[:1], ()):
                if regexp.match(value):
                    return tag
        return STR
    return SEQ if kind is SequenceNode else MAP


class _Loader(_BaseLoader):
    """libyaml's parser and composer with a YAML 1.2 core-schema resolver (no path resolvers)."""

    yaml_implicit_resolvers = _RESOLVERS
    resolve = staticmethod(_resolve)

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def _build(node: Node, seen: set[int] | None, depth: int) -> Any:
    """Python data for a composed node; refuses aliases, duplicate keys, unknown tags, deep nesting.

    `seen` collects the nodes met so far, to find aliases; None when the text cannot hold one.
    """
    # A node met twice is an alias; refusing them all makes "billion laughs" impossible.
    if seen is not None:
        if id(node) in seen:
            raise _DocumentProblem(
                problem="this anchored value is reused by an alias; YAML aliases (*name) are not supported",
                problem_mark=node.start_mark,
            )
        seen.add(id(node))
    tag = node.tag
    if tag == STR and type(node) is ScalarNode:
        return node.value
    if tag == MAP and isinstance(node, MappingNode):
        if depth > MAX_DEPTH:
            raise _DocumentProblem(problem="YAML nested too deeply", problem_mark=node.start_mark)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _DocumentProblem(
                    problem="a mapping key must be a scalar", problem_mark=key_node.start_mark
                )
            # Plain string keys are the rule; the generic path is for the rest (and alias tracking).
            fast = seen is None and key_node.tag == STR
            key = key_node.value if fast else _build(key_node, seen, depth + 1)
            if not isinstance(key, str):
                # Every mapping of a resource is keyed by strings; `1:` or `true:` is an int or a bool
                # under YAML 1.2 (and 1 == True in Python, which would make them look like one key).
                raise _DocumentProblem(
                    problem=f"mapping key {key_node.value!r} is read as {_TYPE_WORDS[type(key)]}, not a "
                    f"string; quote it ('{key_node.value}')",
                    problem_mark=key_node.start_mark,
                )
            if key in mapping:
                first = next(k for k, _ in node.value if k.tag == STR and k.value == key)
                raise _DocumentProblem(
                    problem=f"duplicate key {key!r} (first at line {first.start_mark.line + 1})",
                    problem_mark=key_node.start_mark,
                )
            if fast and value_node.tag == STR and type(value_node) is ScalarNode:
                mapping[key] = value_node.value  # the most common value, a plain string: no call
            else:
                mapping[key] = _build(value_node, seen, depth + 1)
        return mapping
    if tag == SEQ and isinstance(node, SequenceNode):
        if depth > MAX_DEPTH:
            raise _DocumentProblem(problem="YAML nested too deeply", problem_mark=node.start_mark)
        return [
            item.value
            if seen is None and item.tag == STR and type(item) is ScalarNode
            else _build(item, seen, depth + 1)
            for item in node.value
        ]
    if isinstance(node, ScalarNode):
        text = node.value
        if tag == INT:
            if text.startswith("0o"):
                return int(text[2:], 8)
            return int(text[2:], 16) if text.startswith("0x") else int(text, 10)
        if tag == FLOAT:
            lowered = text.lower()
            if lowered.endswith(".inf"):
                return float("-inf") if lowered.startswith("-") else float("inf")
            return float("nan") if lowered == ".nan" else float(text)
        if tag == BOOL:
            return text.lower() == "true"
        if tag == NULL:
            return None
    if tag in (STR, INT, FLOAT, BOOL, NULL, MAP, SEQ):  # a tag that does not fit: `a: !!str {b: 1}`
        what = _NODE_WORDS.get(type(node), "a value")
        raise _DocumentProblem(problem=f"YAML tag {tag!r} on {what}", problem_mark=node.start_mark)
    raise _DocumentProblem(problem=f"unsupported YAML tag {tag!r}", problem_mark=node.start_mark)


@dataclass(eq=False)
class SourceText:
    """The text of one file (or stdin), shared by its documents; composes node trees on demand."""

    path: str
    """Display path, as problems show it."""
    text: str
    """The decoded file content."""
    _found: dict[str, bool] = field(default_factory=dict, repr=False)

    def contains(self, needle: str) -> bool:
        """Whether `needle` occurs anywhere in the file (searched once per file, not per document)."""
        found = self._found.get(needle)
        if found is None:
            found = self._found[needle] = needle in self.text
        return found

    def root(self, index: int) -> Node | None:
        """Root node of document `index` (0-based, counting every document), with line/column marks."""
        # One file at a time, composed only as far as asked and only the last few trees kept: problems
        # come in file order, and holding every tree of a huge file would take gigabytes.
        global _composer
        with _composer_lock:
            composer = _composer
            if composer is None or composer.source is not self or index < composer.oldest:
                composer = _composer = _Composer(self)
            return composer.get(index)


_KEPT_ROOTS = 64


class _Composer:
    """Composes the documents of one file in order, keeping the node trees of the last few."""

    def __init__(self, source: SourceText) -> None:
        self.source = source
        self.loader: _Loader | None = _Loader(source.text)
        self.roots: dict[int, Node | None] = {}
        self.next = 0
        self.oldest = 0

    def get(self, index: int) -> Node | None:
        while self.loader is not None and self.next <= index:
            try:
                more = self.loader.check_node()
                node = self.loader.get_node() if more else None
            except yaml.YAMLError:
                more = False  # the syntax error was reported by the first pass
            if not more:
                self.loader.dispose()
                self.loader = None
                break
            self.roots[self.next] = node
            self.next += 1
            if len(self.roots) > _KEPT_ROOTS:
                del self.roots[self.oldest]
                self.oldest += 1
        return self.roots.get(index)


_composer: _Composer | None = None
_composer_lock = threading.Lock()


@dataclass(eq=False, slots=True)
class Document:
    """One YAML document: its data, and where it and everything inside it came from."""

    path: str
    """File it came from (`<stdin>` for standard input)."""
    index: int
    """Position among the file's documents, 0-based."""
    line: int
    """Line where the document's content starts, 1-based."""
    col: int
    """Column where the document's content starts, 1-based."""
    data: dict[str, Any]
    """The parsed mapping."""
    source: SourceText = field(repr=False)
    """The file's text, for positions of fields."""
    base: FieldPath = ()
    """Where the data sits in the YAML document: `("items", 3)` for an item of a `kind: List`."""

    @property
    def kind(self) -> str | None:
        """The document's `kind`, if it is a string."""
        kind = self.data.get("kind")
        return kind if isinstance(kind, str) else None

    @property
    def name(self) -> str | None:
        """The document's `metadata.name`, if it is a string."""
        metadata = self.data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        return name if isinstance(name, str) else None

    def locate(self, path: FieldPath, *, key: bool = False) -> tuple[int, int]:
        """1-based (line, col) of the value at `path`.

        A scalar points at its value, a mapping or sequence at the key that holds it, and a path
        that does not exist (a missing field) at the mapping that should have held it. With
        `key=True` a mapping entry always points at its key.
        """
        node = self.source.root(self.index)
        if node is None:
            return (self.line, self.col)
        holder: Node | None = None
        for step in self.base:
            found = _child(node, step)
            if found is None:
                return (self.line, self.col)
            node = found[1]
        for step in path:
            found = _child(node, step)
            if found is None:
                return _mark(node)
            holder, node = found
        if holder is not None and (key or not isinstance(node, ScalarNode)):
            return _mark(holder)
        return _mark(node)

    def problem(
        self, path: FieldPath, message: str, *, key: bool = False, severity: Severity = "error"
    ) -> Problem:
        """A problem about the field at `path` of this document, placed as `locate` places it."""
        line, col = self.locate(path, key=key)
        return Problem(
            self.path,
            line,
            col,
            kind=self.kind,
            name=self.name,
            field=format_field(path) or None,
            message=message,
            severity=severity,
        )


def _child(node: Node, step: str | int) -> tuple[Node | None, Node] | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(step):
                return key_node, value_node
        return None
    if isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return None, node.value[step]
    return None


def _mark(node: Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


@dataclass
class LoadResult:
    """Documents that parsed, and problems with the files or documents that did not."""

    documents: list[Document] = field(default_factory=list)
    """Every non-empty document that parsed into a mapping, in file order."""
    problems: list[Problem] = field(default_factory=list)
    """Unreadable files, syntax errors, duplicate keys, aliases, non-mapping documents."""
    files: int = 0
    """Number of files (and stdin) read."""


def load_documents(
    paths: Sequence[str],
    *,
    stdin: IO[bytes] | None = None,
    limits: Limits | None = None,
    progress: Callable[[int], object] | None = None,
) -> LoadResult:
    """Load every YAML document from `paths`: files, directories (recursively) and `-` for stdin.

    Never raises for bad input: unreadable files, syntax errors and bad documents become problems.
    `limits` (default: from the environment) caps documents and problems; `progress` is called with
    the count of documents read so far.
    """
    limits = limits or Limits.from_env()
    log = ProblemLog(limits.max_problems)
    stream = DocumentStream(paths, log, stdin=stdin, max_documents=limits.max_documents)
    with paused_gc():
        documents = []
        for document in stream:
            documents.append(document)
            if progress is not None:
                progress(len(documents))
    return LoadResult(documents, log.problems, stream.files)


def load_text(text: str, path: str, into: LoadResult | None = None) -> LoadResult:
    """Parse one file's text (named `path` in problems), adding its documents and problems to `into`."""
    result = into if into is not None else LoadResult()
    log = ProblemLog()
    result.documents.extend(_parse(text, path, log, _Count(None)))
    result.problems.extend(log.problems)
    return result


@dataclass
class _Count:
    """Documents parsed so far in one run, against the run's limit."""

    limit: int | None
    parsed: int = 0
    exceeded: bool = False


class DocumentStream:
    """The documents of `paths`, parsed one at a time as they are iterated; problems go to `log`.

    Reading stops at the first document past `max_documents` (with a problem saying so) and as soon
    as `log` is full, so a hostile input costs no more than the limits allow.
    """

    def __init__(
        self,
        paths: Sequence[str],
        log: ProblemLog,
        *,
        stdin: IO[bytes] | None = None,
        max_documents: int | None = None,
    ) -> None:
        self.paths = paths
        self.log = log
        self.stdin = stdin
        self.files = 0
        """Files (and stdin) read so far."""
        self._count = _Count(max_documents)

    def __iter__(self) -> Iterator[Document]:
        if STDIN not in self.paths and fork_possible():
            # Listed up front to be split; if listing found a problem, the plain way reports it.
            probe = ProblemLog()
            inputs = list(_unique(_expand(self.paths, probe)))
            if not probe.problems:
                yield from self._read_with_helper([(path, walked) for path, walked, _ in inputs])
                return
        for display, walked, is_stdin in _unique(_expand(self.paths, self.log)):
            if self._count.exceeded or self.log.full:
                return
            yield from self._read_file(display, walked, is_stdin)

    def _read_file(self, display: str, walked: bool, is_stdin: bool) -> Iterator[Document]:
        text = _read(display, is_stdin, self.stdin, self.log, regular_only=walked)
        self.files += 1
        if text is not None:
            yield from _parse(text, display, self.log, self._count)

    def _read_with_helper(self, files: list[tuple[str, bool]]) -> Iterator[Document]:
        """Files in order, the tail parsed by a forked child (`_forked`) while this process reads the head."""
        head = split(files)
        helper = ForkedParse(files[head:], self._parse_cleanly) if head < len(files) else None
        try:
            for display, walked in files[:head]:
                if self._count.exceeded or self.log.full:
                    return
                yield from self._read_file(display, walked, False)
            if helper is None:
                return
            for (display, walked), parsed in zip(files[head:], helper.results(), strict=True):
                if self._count.exceeded or self.log.full:
                    return
                limit = self._count.limit
                if parsed is None or (limit is not None and self._count.parsed + parsed.nodes > limit):
                    yield from self._read_file(display, walked, False)
                    continue
                self.files += 1
                self._count.parsed += parsed.nodes
                source = SourceText(display, parsed.text)
                for index, line, col, data, base in parsed.documents:
                    yield Document(display, index, line, col, data, source, base)
        finally:
            if helper is not None:
                helper.close()

    def _parse_cleanly(self, display: str, walked: bool) -> ParsedFile | None:
        """In the helper: one file's documents, or None if reading it found any problem."""
        log = ProblemLog()
        text = _read(display, False, None, log, regular_only=walked)
        if text is None:
            return None
        count = _Count(self._count.limit)
        documents = [
            (doc.index, doc.line, doc.col, doc.data, doc.base) for doc in _parse(text, display, log, count)
        ]
        return None if log.problems or count.exceeded else ParsedFile(text, count.parsed, documents)


def _unique(
    inputs: Iterable[tuple[str, FileId | None, bool, bool]],
) -> Iterator[tuple[str, bool, bool]]:
    """(display path, found by walking, is stdin) of each input, a file named twice only once."""
    seen: set[FileId] = set()
    for display, file_id, walked, is_stdin in inputs:
        if file_id is not None:
            if file_id in seen:
                continue
            seen.add(file_id)
        yield display, walked, is_stdin


def _parse(text: str, path: str, log: ProblemLog, count: _Count) -> Iterator[Document]:
    source = SourceText(path, text)
    loader = _Loader(text)
    # An alias needs an anchor (`&a`) and a reference (`*a`): without both characters in the file,
    # no node can be met twice and tracking every node's id would be wasted work.
    aliases_possible = "&" in text and "*" in text
    index = -1
    try:
        while not log.full and loader.check_node():
            index += 1
            node = loader.get_node()
            if node is None:
                break
            count.parsed += 1
            line, col = _mark(node)
            if count.limit is not None and count.parsed > count.limit:
                count.exceeded = True
                log.add(
                    Problem(
                        path,
                        line,
                        col,
                        message=f"more than {count.limit:,} documents in one run, the limit; nothing "
                        f"after this was read (raise it with --max-documents or {MAX_DOCUMENTS_ENV})",
                    )
                )
                return
            try:
                data = _build(node, set() if aliases_possible else None, 0)
            except yaml.MarkedYAMLError as error:
                log.add(_yaml_problem(path, text, error))
                continue
            except (ValueError, TypeError, OverflowError) as error:
                log.add(Problem(path, line, col, message=f"cannot read value: {error}"))
                continue
            if data is None:
                continue  # an empty document, as after a trailing `---`
            if not isinstance(data, dict):
                found = type(data).__name__ if not isinstance(data, list) else "a list"
                log.add(
                    Problem(
                        path,
                        line,
                        col,
                        message=f"a document must be a mapping (apiVersion, kind, ...), found {found}",
                    )
                )
                continue
            if data.get("kind") == LIST_KIND and "items" in data:
                yield from _list_items(log, path, index, node, data, source)
            else:
                yield Document(path, index, line, col, data, source)
    except yaml.YAMLError as error:
        log.add(_yaml_problem(path, text, error))
    finally:
        loader.dispose()
        _resolve.cache_clear()


def _list_items(
    log: ProblemLog, path: str, index: int, node: Node, data: dict[str, Any], source: SourceText
) -> Iterator[Document]:
    """Each item of a `kind: List` (what `mcpctl get -o yaml` prints) as a document of its own."""
    items = data["items"]
    found = _child(node, "items")
    if not isinstance(items, list) or found is None or not isinstance(found[1], SequenceNode):
        line, col = _mark(found[1] if found is not None else node)
        log.add(Problem(path, line, col, kind=LIST_KIND, message="items must be a list"))
        return
    for number, (item, item_node) in enumerate(zip(items, found[1].value, strict=True)):
        line, col = _mark(item_node)
        if not isinstance(item, dict):
            message = f"items[{number}] must be a mapping (apiVersion, kind, ...)"
            log.add(Problem(path, line, col, kind=LIST_KIND, message=message))
            continue
        yield Document(path, index, line, col, item, source, base=("items", number))


def _yaml_problem(path: str, text: str, error: yaml.YAMLError) -> Problem:
    if isinstance(error, yaml.reader.ReaderError):
        before = text[: error.position]
        row = before.count("\n") + 1
        return Problem(path, row, len(before) - before.rfind("\n"), message=f"not YAML text: {error.reason}")
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line: int | None = mark.line + 1 if mark is not None else None
    col: int | None = mark.column + 1 if mark is not None else None
    problem = str(getattr(error, "problem", None) or error)
    if line is not None and col is not None and _char_at(text, line, col) == "\t":
        message = "tab characters are not allowed in YAML indentation; use spaces"
    elif isinstance(error, yaml.constructor.ConstructorError):
        message = problem
    else:
        context = getattr(error, "context", None)
        message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return Problem(path, line, col, message=message)


def _char_at(text: str, line: int, col: int) -> str:
    lines = text.split("\n", line)
    if len(lines) < line:
        return ""
    row = lines[line - 1]
    return row[col - 1] if 0 < col <= len(row) else ""


FileId = tuple[int, int]
"""(device, inode) of a file: the same file named twice (by two paths, or a symlink) is read once."""


def _expand(paths: Sequence[str], log: ProblemLog) -> Iterator[tuple[str, FileId | None, bool, bool]]:
    """(display path, file id if known, found by walking a directory, is stdin) of each input."""
    for path in paths:
        if path == STDIN:
            yield STDIN_NAME, None, False, True
        elif os.path.isdir(path):
            yield from ((p, file_id, True, False) for p, file_id in _walk(path, log))
        elif os.path.exists(path):
            yield path, _file_id(os.stat(path)), False, False
        else:
            log.add(Problem(path, message="no such file or directory"))


def _file_id(info: os.stat_result) -> FileId:
    return (info.st_dev, info.st_ino)


def _walk(directory: str, log: ProblemLog) -> list[tuple[str, FileId | None]]:
    """The YAML files under `directory`, sorted; what is not read is said, never skipped silently.

    Symlinked directories are not followed (a warning), file symlinks pointing outside `directory`
    are refused (an error: a repository must not make the reader load files from elsewhere), and
    FIFOs, sockets and devices are skipped (a warning; reading a FIFO would wait forever).
    """
    root = os.path.realpath(directory)
    found: list[tuple[str, FileId | None]] = []
    for folder, dirs, files in os.walk(directory):
        # Hidden directories hold tooling (.git, .github), never resources.
        for name in sorted(
            d for d in dirs if not d.startswith(".") and os.path.islink(os.path.join(folder, d))
        ):
            log.add(
                Problem(
                    os.path.join(folder, name),
                    message="symlinked directory not followed; give it with its own -f to read it",
                    severity="warning",
                )
            )
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(folder, d))
        )
        for name in files:
            if not name.endswith(YAML_SUFFIXES) or name.startswith("."):
                continue
            path = os.path.join(folder, name)
            if os.path.islink(path):
                target = os.path.realpath(path)
                if os.path.commonpath([root, target]) != root:
                    log.add(
                        Problem(
                            path,
                            message=f"symlink to a file outside {directory} ({target}) not read; give "
                            "that file with its own -f to read it",
                        )
                    )
                    continue
            try:
                info = os.stat(path)
            except OSError:
                found.append((path, None))  # broken symlink: reading it says why
                continue
            if not stat.S_ISREG(info.st_mode):
                log.add(
                    Problem(
                        path,
                        message="not a regular file (a FIFO, socket or device); skipped",
                        severity="warning",
                    )
                )
                continue
            found.append((path, _file_id(info)))
    return sorted(found, key=lambda entry: entry[0])


def _read(
    display: str, is_stdin: bool, stdin: IO[bytes] | None, log: ProblemLog, *, regular_only: bool
) -> str | None:
    try:
        if is_stdin:
            stream = stdin if stdin is not None else sys.stdin.buffer
            raw = stream.read(MAX_FILE_BYTES + 1)
        else:
            # A file found by walking must still be a regular file when opened (O_NONBLOCK: a FIFO put
            # there since would otherwise block the open); one named on the command line may be a pipe.
            flags = os.O_RDONLY | (os.O_NONBLOCK if regular_only else 0)
            with os.fdopen(os.open(display, flags), "rb") as handle:
                if regular_only and not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    log.add(Problem(display, message="not a regular file; skipped", severity="warning"))
                    return None
                raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        log.add(Problem(display, message=f"cannot read: {error.strerror or error}"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        log.add(Problem(display, message=f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"))
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        log.add(Problem(display, message="UTF-16 text; save the file as UTF-8"))
        return None
    if b"\x00" in raw:
        log.add(Problem(display, message="binary file (contains NUL bytes), not YAML"))
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line_start = raw.rfind(b"\n", 0, offset) + 1
        line = raw.count(b"\n", 0, offset) + 1
        col = len(raw[line_start:offset].decode("utf-8", "replace")) + 1
        log.add(
            Problem(
                display,
                line,
                col,
                message=f"not UTF-8 text (bad byte 0x{raw[offset]:02x} at offset {offset})",
            )
        )
        return None
