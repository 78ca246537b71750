"""Field descriptions from the docstring under each field, read only when documentation is made.

Why not pydantic's `use_attribute_docstrings`: it parses every model's source when the model is defined,
~40 ms of the start of every command that imports the schemas (a twentieth of `validate` at 10,000
documents), while only the published JSON Schemas and docs/resources.md show descriptions.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema


def field_description(model: type[BaseModel], name: str) -> str | None:
    """The description of field `name`: one given to `Field`, else the docstring written under it."""
    return model.model_fields[name].description or field_docstrings(model).get(name)


@functools.cache
def field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """Field name → the docstring under its definition, inherited ones included (the nearest wins)."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if issubclass(cls, BaseModel) and cls is not BaseModel:
            found.update(_own_docstrings(cls))
    return found


@functools.cache
def _own_docstrings(cls: type[Any]) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (a frozen app): no descriptions, as pydantic would do
        return {}
    definition = ast.parse(source).body[0]
    if not isinstance(definition, ast.ClassDef):
        return {}
    docs: dict[str, str] = {}

    for statement, following in itertools.pairwise(definition.body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


class DocumentedJsonSchema(GenerateJsonSchema):
    """JSON Schema generation that gives each model's properties their field docstrings."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        model = schema["cls"]
        properties = json_schema.get("properties")
        if isinstance(properties, dict) and issubclass(model, BaseModel):
            for name, info in model.model_fields.items():
                key = (info.alias or name) if self.by_alias else name
                described = properties.get(key)
                docstring = field_docstrings(model).get(name)
                if isinstance(described, dict) and docstring and "description" not in described:
                    described["description"] = docstring
        return json_schema
