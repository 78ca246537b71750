"""The plan as data: what apply would do to the live store, per resource, with field-level detail.

Pure: no SQL, git or HTTP here. Rendering lives in the `_render_*` modules, effects in `_apply`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcpctl.policy import AccessChange
from mcpctl.schemas import FieldPath, Identity, ResourceModel

Path = FieldPath
"""A path into a resource document (see `mcpctl.schemas.FieldPath`)."""


class Action(enum.Enum):
    """What apply does to one resource; the value is the terraform-style symbol."""

    CREATE = "+"
    UPDATE = "~"
    REPLACE = "-/+"
    DELETE = "-"
    NOOP = ""

    @property
    def verb(self) -> str:
        """The word renderers use: `create`, `update`, `replace`, `destroy` or `no-op`."""
        return _VERBS[self]


_VERBS = {
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.REPLACE: "replace",
    Action.DELETE: "destroy",
    Action.NOOP: "no-op",
}


def format_path(path: Path) -> str:
    """`spec.env.API_KEY`; keys that are not plain words are quoted: `metadata.annotations["a.b/c"]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "a").replace("-", "a").isalnum():
            out += f".{part}" if out else part
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{escaped}"]'
    return out


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One leaf of a document that differs: `before` None means added, `after` None means removed.

    Values are JSON values (strings, numbers, lists of scalars, ...). When `sensitive` is true the
    values are real in memory but every renderer shows `(sensitive)` instead.
    """

    path: Path
    before: Any
    after: Any
    sensitive: bool = False

    @property
    def dotted(self) -> str:
        """The path as renderers print it."""
        return format_path(self.path)


@dataclass(frozen=True, slots=True)
class Change:
    """What happens to one resource identity.

    ========  ==================  ===================
    action    before              after
    ========  ==================  ===================
    CREATE    None                desired resource
    UPDATE    live resource       desired resource
    REPLACE   live resource       desired resource
    DELETE    live resource       None
    NOOP      live resource       desired (equal)
    ========  ==================  ===================

    `field_changes` lists every differing leaf (for CREATE every field of `after`, for DELETE every
    field of `before`); `sensitive_paths` are the document paths whose values renderers must hide;
    `reason` says why, when the action needs explaining (replace, adoption, prune).
    """

    action: Action
    identity: Identity
    before: ResourceModel | None
    after: ResourceModel | None
    field_changes: tuple[FieldChange, ...] = ()
    reason: str = ""
    sensitive_paths: frozenset[Path] = frozenset()
    previous_manager: str | None = None
    """`managed_by` of the live resource, when there is one."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything apply would do, plus what stops it (`errors`) and what it leaves alone (`unmanaged`).

    `changes` holds no NOOPs and is in display order: destroys first (reverse dependency order),
    then creates, updates and replaces in dependency order. `base_generation` is the store
    generation the live state was read at; apply refuses the plan if the store has moved since.
    """

    changes: tuple[Change, ...]
    manager: str
    source: str
    revision: str | None = None
    base_generation: int | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    unmanaged: tuple[Identity, ...] = ()
    """Live resources missing from the desired state that this source does not own: reported, kept."""
    unchanged: int = 0
    """Number of resources that already match."""
    prune: bool = True
    prune_all: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Free-form metadata a source may attach (e.g. a git subpath); carried into the JSON as is."""
    access_changes: tuple[AccessChange, ...] = ()
    """What each subject gains or loses when the plan is applied (`mcpctl.policy.access_changes`)."""

    @property
    def errored(self) -> bool:
        """True when the plan must not be applied."""
        return bool(self.errors)

    @property
    def has_changes(self) -> bool:
        """True when applying would change the store."""
        return bool(self.changes)

    @property
    def applyable(self) -> bool:
        """True when the plan has changes and no errors."""
        return self.has_changes and not self.errored

    @property
    def counts(self) -> dict[str, int]:
        """`add`, `change`, `destroy` as terraform counts them (a replace is one add and one destroy)."""
        counts = {"add": 0, "change": 0, "destroy": 0}
        for change in self.changes:
            if change.action in (Action.CREATE, Action.REPLACE):
                counts["add"] += 1
            if change.action in (Action.DELETE, Action.REPLACE):
                counts["destroy"] += 1
            if change.action is Action.UPDATE:
                counts["change"] += 1
        return counts

    def apply_order(self) -> list[Change]:
        """Changes in the order apply executes them: creates/updates/replaces, then deletes.

        Deletes run last (in reverse dependency order) so a resource is only removed after whatever
        referred to it has been updated away from it in the same transaction.
        """
        deletes = [c for c in self.changes if c.action is Action.DELETE]
        others = [c for c in self.changes if c.action is not Action.DELETE]
        return others + deletes
