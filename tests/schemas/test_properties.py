"""Property tests: no YAML text and no mutation of a valid document makes validation raise."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcpctl.schemas import Problem, load_documents, load_text, validate_documents
from mcpctl.schemas._schema_errors import check_schema

FIXTURES = Path(__file__).parent / "fixtures"
VALID = [d.data for d in load_documents([str(FIXTURES / "valid")]).documents]
VALID_TEXT = "\n---\n".join(p.read_text() for p in sorted((FIXTURES / "valid").iterdir()))
ALL_KINDS = jsonschema.Draft202012Validator(
    json.loads((Path(__file__).resolve().parents[2] / "schemas" / "all.json").read_text())
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

yaml_alphabet = st.sampled_from(list("abcdefgkmnprstuv:-_ []{}&*!|>#'\"\t\n.,?%@`~0123456789"))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def validate_text(text: str) -> list[Problem]:
    loaded = load_text(text, "fuzz.yaml")
    result = validate_documents(loaded.documents, loaded.problems)
    for problem in result.problems:
        assert problem.path == "fuzz.yaml" and problem.message
        assert str(problem)
    return result.problems


@SETTINGS
@given(st.text(yaml_alphabet, max_size=200))
def test_random_yaml_text_only_ever_gives_problems(text: str) -> None:
    validate_text(text)


@SETTINGS
@given(st.data())
def test_mutated_valid_text_only_ever_gives_problems(data: st.DataObject) -> None:
    text = VALID_TEXT
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = data.draw(st.text(yaml_alphabet, min_size=1, max_size=5))
        if action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + len(piece) :]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    validate_text(text)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, (*prefix, index))
    return found


@SETTINGS
@given(st.data())
def test_mutated_valid_documents_only_ever_give_problems(data: st.DataObject) -> None:
    import yaml

    documents = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 3))):
        document = data.draw(st.sampled_from(documents))
        path = data.draw(st.sampled_from(paths_of(document)[1:]))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(values)
    text = yaml.safe_dump_all(documents, sort_keys=False)
    problems = validate_text(text)
    for problem in problems:
        assert problem.line is None or problem.line >= 1
    # A generic JSON Schema validator is never stricter than mcpctl on the same documents.
    for document in load_text(text, "fuzz.yaml").documents:
        resource, found = check_schema(document)
        if resource is not None and not any(p.is_error for p in found):
            assert list(ALL_KINDS.iter_errors(document.data)) == [], document.data
