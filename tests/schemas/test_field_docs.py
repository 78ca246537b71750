"""Tests of mcpctl.schemas._field_docs: descriptions read from field docstrings only when documenting."""

from __future__ import annotations

from pydantic import Field

from mcpctl.schemas import Metadata, Server
from mcpctl.schemas._base import Model
from mcpctl.schemas._field_docs import DocumentedJsonSchema, field_description, field_docstrings


class Base(Model):
    """A base."""

    shared: str = ""
    """Said by the base."""
    overridden: int = 0
    """Said by the base, then by the subclass."""


class Derived(Base):
    """A subclass."""

    overridden: int = 1
    """Said by the subclass."""
    explicit: str = Field(default="", description="Given to Field.")
    """A docstring that Field's description outranks."""
    undocumented_field: bool = False

    def method(self) -> str:
        """Not a field: a method's docstring."""
        return ""


def test_docstrings_are_inherited_and_the_nearest_wins() -> None:
    docs = field_docstrings(Derived)
    assert docs["shared"] == "Said by the base."
    assert docs["overridden"] == "Said by the subclass."
    assert "undocumented_field" not in docs
    assert "method" not in docs


def test_a_description_given_to_field_outranks_the_docstring() -> None:
    assert field_description(Derived, "explicit") == "Given to Field."
    assert field_description(Derived, "shared") == "Said by the base."
    assert field_description(Derived, "undocumented_field") is None


def test_the_json_schema_carries_docstrings_under_the_yaml_keys() -> None:
    schema = Derived.model_json_schema(by_alias=True, schema_generator=DocumentedJsonSchema)
    properties = schema["properties"]
    assert properties["overridden"]["description"] == "Said by the subclass."
    assert properties["explicit"]["description"] == "Given to Field."
    assert "description" not in properties["undocumentedField"]


def test_defining_a_model_reads_no_source() -> None:
    # The import-time cost this module exists to avoid: pydantic's docstring reading is off.
    assert Metadata.model_fields["name"].description is None
    assert field_description(Metadata, "name")
    assert Server.model_json_schema(schema_generator=DocumentedJsonSchema)["$defs"]
