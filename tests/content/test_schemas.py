"""The advertised tool schemas: the tool's own output, the index and the parts validate; refs still hold."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft7Validator, ValidationError
from jsonschema.validators import validator_for

from mcpctl.content import (
    FETCH_PROPERTIES,
    INDEX_SCHEMA,
    PART_SCHEMA,
    advertised_input_schema,
    advertised_output_schema,
)

OWN: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tree": {"$ref": "#/$defs/node"},
        "tag": {"const": {"$ref": "#/not-a-ref"}},
    },
    "required": ["tree"],
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["name"],
        }
    },
}
INDEX = {
    "_resultId": "r" * 24,
    "pages": 3,
    "totalChars": 90_000,
    "partChars": [1, 2, 3],
    "titles": ["a", "b", "c"],
}


def valid(schema: dict[str, Any], instance: Any) -> bool:
    cls = validator_for(schema)
    cls.check_schema(schema)
    return bool(cls(schema).is_valid(instance))


def test_a_tool_without_an_output_schema_gets_none() -> None:
    assert advertised_output_schema(None) is None


@pytest.mark.parametrize(
    "instance",
    [
        {"tree": {"name": "root", "children": [{"name": "leaf"}]}, "tag": {"$ref": "#/not-a-ref"}},
        INDEX,
        {**INDEX, "summary": "short"},
        {**{k: v for k, v in INDEX.items() if k != "pages"}, "sections": 3},
        {"_resultId": "r" * 24, "page": 2, "pages": 3},
        {"_resultId": "r" * 24, "section": 1, "sections": 4},
    ],
)
def test_the_own_output_the_index_and_parts_are_admitted(instance: dict[str, Any]) -> None:
    schema = advertised_output_schema(OWN)
    assert schema is not None and schema["type"] == "object"
    assert valid(schema, instance)


@pytest.mark.parametrize(
    "instance",
    [
        {"tree": {"name": 5}},  # the tool's own shape, broken behind the $ref
        {"tree": {"name": "x", "children": [{"children": []}]}},
        {"_resultId": "r" * 24, "page": 2},  # a part without its count
        {**INDEX, "extra": 1},
        {"_resultId": "r" * 24},
    ],
)
def test_what_no_shape_admits_is_refused(instance: dict[str, Any]) -> None:
    schema = advertised_output_schema(OWN)
    assert schema is not None
    assert not valid(schema, instance)


def test_the_original_is_untouched_and_data_keywords_are_not_rebased() -> None:
    before = copy.deepcopy(OWN)
    schema = advertised_output_schema(OWN)
    assert before == OWN and schema is not None
    nested = schema["anyOf"][0]
    assert nested["properties"]["tree"] == {"$ref": "#/anyOf/0/$defs/node"}
    assert nested["properties"]["tag"] == {"const": {"$ref": "#/not-a-ref"}}
    assert schema["anyOf"][1:] == [INDEX_SCHEMA, PART_SCHEMA]


def test_a_root_ref_a_dialect_and_an_embedded_id() -> None:
    recursive = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"next": {"$ref": "#"}, "v": {"type": "integer"}},
    }
    schema = advertised_output_schema(recursive)
    assert schema is not None and schema["$schema"] == recursive["$schema"]
    assert validator_for(schema) is Draft7Validator and "$schema" not in schema["anyOf"][0]
    assert valid(schema, {"v": 1, "next": {"v": 2, "next": {"v": 3}}})
    assert not valid(schema, {"v": 1, "next": {"v": "two"}})
    # A schema with its own $id is a resource of its own: its refs resolve against it, unchanged.
    identified = {"$id": "https://example.com/out", **{k: v for k, v in OWN.items()}}
    wrapped = advertised_output_schema(identified)
    assert wrapped is not None and wrapped["anyOf"][0]["properties"]["tree"] == {"$ref": "#/$defs/node"}
    assert valid(wrapped, {"tree": {"name": "x"}}) and not valid(wrapped, {"tree": {"name": 1}})


def test_the_fetch_arguments_are_added_optional_and_a_tools_own_property_wins() -> None:
    original = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    advertised = advertised_input_schema(original)
    assert advertised["properties"] == {"q": {"type": "string"}, **FETCH_PROPERTIES}
    assert advertised["required"] == ["q"] and original["properties"] == {"q": {"type": "string"}}
    assert valid(advertised, {"_resultId": "r" * 24, "_page": 1, "q": "x"})
    with pytest.raises(ValidationError):
        validator_for(advertised)(advertised).validate({"q": "x", "_page": 0})
    own = {"type": "object", "properties": {"_page": {"type": "string"}}, "additionalProperties": False}
    kept = advertised_input_schema(own)
    assert kept["properties"]["_page"] == {"type": "string"}
    assert kept["properties"].keys() == {"_page", "_resultId", "_section"}
    assert advertised_input_schema({"type": "object"})["properties"] == FETCH_PROPERTIES
