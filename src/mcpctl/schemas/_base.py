"""Shared building blocks of every resource kind: metadata, identity, value references.

Models are frozen, forbid unknown fields, and normalise defaults so equal meaning means equal objects.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

API_VERSION = "mcpctl.dev/v1"
Scope = Literal["global", "project", "either"]

FieldPath = tuple[str | int, ...]
"""A path into a resource document: keys (camelCase, as in YAML) and list indexes."""
PREVENT_DESTROY_ANNOTATION = "mcpctl.dev/prevent-destroy"

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253, pattern=r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$"),
]
"""A resource name: lowercase letters, digits, `-`, `_` and `.`, starting and ending alphanumeric."""


def _scalar_to_str(value: Any) -> Any:
    # YAML turns `PORT: 8080` or `DEBUG: true` into numbers and booleans; env values are strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _sorted_unique(value: Any) -> Any:
    # Lists whose order carries no meaning are kept sorted, so reordering YAML never shows as a change.
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return sorted(set(value))
    return value


SortedNames = Annotated[list[Name], BeforeValidator(_sorted_unique)]
SortedStrings = Annotated[list[str], BeforeValidator(_sorted_unique)]


class Model(BaseModel):
    """Base of every schema model: frozen, strict about unknown fields, camelCase in YAML.

    The docstring under a field is its description in the JSON Schemas and docs (`_field_docs`).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
    )


class SecretKeyRef(Model):
    """Where a secret lives: file `name/key` under `MCPCTL_SECRETS_DIR`, or env `NAME_KEY`."""

    name: Name
    """Name of the secret (a directory under the secrets dir)."""
    key: Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")]
    """Key inside the secret (a file in that directory)."""


class SecretRef(Model):
    """A value read from a secret at run time; never stored or shown."""

    secret_ref: SecretKeyRef
    """The secret and key holding the value."""


class FromEnv(Model):
    """A value read from the gateway's environment at run time."""

    from_env: Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    """Name of the environment variable."""


ValueSource = (
    # The JSON Schema admits what YAML gives for `PORT: 8080`, so generic validators agree with mcpctl.
    Annotated[str, BeforeValidator(_scalar_to_str, json_schema_input_type=str | int | float | bool)]
    | SecretRef
    | FromEnv
)
"""An env or header value: a literal string, a `{secretRef: {name, key}}` or a `{fromEnv: VAR}`."""


class Metadata(Model):
    """Identity and descriptive data shared by every kind."""

    name: Name
    """Name of the resource, unique per kind (and per project for project-scoped kinds)."""
    project: Name | None = None
    """Owning project; required for project-scoped kinds (Prompt, McpToken), optional for RoleBinding."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Free-form labels used for selection."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Free-form annotations; `mcpctl.dev/prevent-destroy: "true"` blocks deletion."""
    description: str = ""
    """Human description."""


_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
"""`json.dumps(..., sort_keys=True, separators=(",", ":"))`, without building an encoder per call (a
plan hashes every desired resource)."""

_KIND_NAMES: dict[type[BaseModel], str] = {}
"""`kind` of each resource model class, once read."""


class Identity(NamedTuple):
    """What makes a resource unique: its kind, its project (or None) and its name."""

    kind: str
    project: str | None
    name: str

    def __str__(self) -> str:
        if self.project:
            return f"{self.kind}/{self.project}/{self.name}"
        return f"{self.kind}/{self.name}"


class ResourceModel(Model):
    """Base of every top-level resource document (`apiVersion`, `kind`, `metadata`, `spec`)."""

    api_version: Annotated[str, StringConstraints(pattern=r"^mcpctl\.dev/v1$")] = Field(alias="apiVersion")
    """Always `mcpctl.dev/v1`."""
    metadata: Metadata
    """Name, project, labels, annotations and description."""

    scope: ClassVar[Scope] = "global"
    """Whether `metadata.project` is forbidden (global), required (project) or optional (either)."""

    @property
    def identity(self) -> Identity:
        """The (kind, project, name) key of this resource."""
        metadata = self.metadata
        return Identity(self.kind_name(), metadata.project, metadata.name)

    @classmethod
    def kind_name(cls) -> str:
        """The value of `kind` for this model."""
        # Hot in validation and diffs: read once per class.
        found = _KIND_NAMES.get(cls)
        if found is None:
            # __pydantic_fields__ is a plain dict; `model_fields` rebuilds one per access.
            found = _KIND_NAMES[cls] = str(cls.__pydantic_fields__["kind"].default)
        return found

    @property
    def prevent_destroy(self) -> bool:
        """True when the resource carries `mcpctl.dev/prevent-destroy: "true"`."""
        return self.metadata.annotations.get(PREVENT_DESTROY_ANNOTATION, "").lower() == "true"

    def to_document(self) -> dict[str, Any]:
        """The YAML/JSON document for this resource, defaults left out, keys in their YAML spelling."""
        doc = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        doc["apiVersion"] = API_VERSION
        doc["kind"] = self.kind_name()
        doc.setdefault("spec", {})
        keys = ("apiVersion", "kind", "metadata", "spec")
        ordered: dict[str, Any] = {key: doc[key] for key in keys if key in doc}
        return ordered

    def content_hash(self) -> str:
        """SHA-256 of the canonical document: equal meaning gives an equal hash."""
        canonical = _CANONICAL_JSON.encode(self.to_document())
        return hashlib.sha256(canonical.encode()).hexdigest()

    @model_validator(mode="after")
    def _check_scope(self) -> ResourceModel:
        if self.scope == "project" and self.metadata.project is None:
            raise ValueError(f"{self.kind_name()} is project-scoped: metadata.project is required")
        if self.scope == "global" and self.metadata.project is not None:
            raise ValueError(f"{self.kind_name()} is global: metadata.project is not allowed")
        return self
