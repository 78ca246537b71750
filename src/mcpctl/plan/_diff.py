"""The pure diff: desired resources against live ones, per identity, into a `Plan`.

Imports no SQL, git or HTTP (a test enforces it); the store and sources are the caller's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mcpctl.schemas import (
    PREVENT_DESTROY_ANNOTATION,
    Identity,
    LiveResource,
    ResourceModel,
    Template,
    TemplateSpec,
    is_sensitive,
    masked,
    resource_sensitive_paths,
)

from ._access import plan_access_changes
from ._order import dependency_key
from ._plan import Action, Change, FieldChange, Path, Plan

MUTABLE_TOKEN_FIELDS = frozenset({"description", "revoked"})
"""McpToken spec fields that change in place; any other spec change replaces the token (new value)."""

IMMUTABLE_FIELDS: Mapping[str, tuple[Path, ...]] = {"Server": (("spec", "transport"),)}
"""Fields whose change is planned as replace. A Server's transport decides what kind of upstream the
gateway runs (a subprocess or a remote connection), so changing it tears the upstream down and starts
a new one rather than reconfiguring it; in the store it is still one overwrite, and relations to it
(projects) are kept."""

_DOC_SKIP = frozenset({"apiVersion", "kind"})


def flatten(document: Mapping[str, Any], prefix: Path = ()) -> dict[Path, Any]:
    """Leaves of a document by path: scalars and lists of scalars (whole); empty containers are skipped."""
    leaves: dict[Path, Any] = {}
    for key, value in document.items():
        if not prefix and key in _DOC_SKIP:
            continue
        _flatten_into(leaves, (*prefix, key), value)
    return leaves


def _flatten_into(leaves: dict[Path, Any], path: Path, value: Any) -> None:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten_into(leaves, (*path, key), item)
    elif isinstance(value, list) and any(isinstance(item, Mapping | list) for item in value):
        for index, item in enumerate(value):
            _flatten_into(leaves, (*path, index), item)
    elif value != {} and value != []:
        # An empty mapping or list means the same as an absent one (the models' defaults), so it is
        # not a leaf: `spec: {}` never shows as a change.
        leaves[path] = value


def _leaves_at(path: Path, leaves: Mapping[Path, Any]) -> set[Path]:
    # deepdiff reports changes at any depth (an item inside a list of scalars, a whole sub-mapping);
    # map each to the leaves `flatten` defines, so field changes always have the same granularity.
    for cut in range(len(path), 0, -1):
        if path[:cut] in leaves:
            return {path[:cut]}
    return {p for p in leaves if p[: len(path)] == path}


def field_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, sensitive: Iterable[Path] = ()
) -> tuple[FieldChange, ...]:
    """Every leaf that differs between two documents (either may be None: all leaves added/removed).

    Which leaves differ is decided by deepdiff on the documents (order of lists matters: lists whose
    order carries no meaning are already sorted by the schema models); the result is reported per
    leaf as `flatten` defines it, in document order, added/changed leaves before removed ones.
    """
    secret = tuple(sensitive)
    old = flatten(before) if before is not None else {}
    new = flatten(after) if after is not None else {}
    if before is not None and after is not None:
        # Imported here: deepdiff takes ~0.4 s to import, which every CLI command would otherwise pay.
        from deepdiff import DeepDiff

        tree = DeepDiff(
            {k: v for k, v in before.items() if k not in _DOC_SKIP},
            {k: v for k, v in after.items() if k not in _DOC_SKIP},
            view="tree",
            verbose_level=2,
        )
        touched: set[Path] = set()
        for level in (level for levels in tree.values() for level in levels):
            path = tuple(level.path(output_format="list"))
            for leaves in (old, new):
                touched |= _leaves_at(path, leaves)
        ordered = [p for p in new if p in touched] + [p for p in old if p in touched and p not in new]
    else:
        ordered = list(new) + [p for p in old if p not in new]
    changes = []
    for path in ordered:
        was, now = old.get(path), new.get(path)
        if path in old and path in new and was == now:
            continue
        hidden = is_sensitive(path, secret)
        if not hidden:
            was, now = _masked_below(path, was, secret), _masked_below(path, now, secret)
        changes.append(FieldChange(path, was, now, hidden))
    return tuple(changes)


def _masked_below(path: Path, value: Any, secret: Sequence[Path]) -> Any:
    # A leaf that is a whole list (`spec.args`) shows its secret items as `(sensitive)`, the rest as is.
    inner = [("v", *p[len(path) :]) for p in secret if len(p) > len(path) and p[: len(path)] == path]
    return masked({"v": value}, inner)["v"] if inner and value is not None else value


def _templates(desired: Sequence[ResourceModel], live: Sequence[LiveResource]) -> dict[str, TemplateSpec]:
    found = {
        item.resource.metadata.name: item.resource.spec
        for item in live
        if isinstance(item.resource, Template)
    }
    found.update({r.metadata.name: r.spec for r in desired if isinstance(r, Template)})
    return found


def _replace_reason(identity: Identity, changes: Sequence[FieldChange]) -> str:
    if identity.kind == "McpToken":
        fields = sorted(
            {
                c.dotted
                for c in changes
                if c.path[:1] == ("spec",) and c.path[1:2] and c.path[1] not in MUTABLE_TOKEN_FIELDS
            }
        )
        if fields:
            return (
                f"McpToken values are immutable: {', '.join(fields)} changed, "
                "so the token is revoked and a new value is generated"
            )
        return ""
    for field in IMMUTABLE_FIELDS.get(identity.kind, ()):
        for change in changes:
            if change.path[: len(field)] == field:
                return f"{change.dotted} changed ({change.before} → {change.after}): it is recreated"
    return ""


def _protected(live: LiveResource | None, desired: ResourceModel | None) -> bool:
    return bool(
        (live is not None and (live.prevent_destroy or live.resource.prevent_destroy))
        or (desired is not None and desired.prevent_destroy)
    )


def _refusal(identity: Identity, verb: str) -> str:
    return (
        f"{identity} has {PREVENT_DESTROY_ANNOTATION} (kept in the store): refusing to {verb} it; "
        f"apply it without the annotation first to allow this"
    )


def diff(
    desired: Sequence[ResourceModel],
    live: Sequence[LiveResource],
    *,
    manager: str,
    prune: bool = True,
    prune_all: bool = False,
    source: str = "",
    revision: str | None = None,
    base_generation: int | None = None,
    warnings: Sequence[str] = (),
) -> Plan:
    """The plan that makes `live` match `desired` for the source whose `managed_by` is `manager`.

    Per identity: absent live → create; equal → no-op (not listed, counted in `unchanged`); a
    difference → update, or replace when an immutable field (or an McpToken's spec) changed; a live
    resource missing from `desired` → delete if `prune` and it is managed by `manager` (any manager
    with `prune_all`), otherwise it is only reported in `unmanaged`. A live resource owned by another
    manager that `desired` also holds is taken over (an update, with a warning if another git source
    owned it). Deleting or replacing a prevent-destroy resource makes the plan errored.
    """
    templates = _templates(desired, live)
    live_by_id = {item.resource.identity: item for item in live}
    errors: list[str] = []
    notes: list[str] = list(warnings)
    taken: dict[str, list[Identity]] = {}
    changes: list[Change] = []
    unchanged = 0
    seen: set[Identity] = set()

    for resource in desired:
        identity = resource.identity
        seen.add(identity)
        current = live_by_id.get(identity)
        if current is None:
            secret = resource_sensitive_paths(resource, templates)
            fields = field_changes(None, resource.to_document(), secret)
            changes.append(Change(Action.CREATE, identity, None, resource, fields, "", frozenset(secret)))
            continue
        adopting = current.managed_by != manager
        # `is`: the store hands back the desired object itself for rows that hash the same.
        if not adopting and (current.resource is resource or current.resource == resource):
            unchanged += 1
            continue
        before_doc, after_doc = current.resource.to_document(), resource.to_document()
        if before_doc == after_doc and not adopting:
            unchanged += 1
            continue
        secret = resource_sensitive_paths(current.resource, templates) | resource_sensitive_paths(
            resource, templates
        )
        fields = field_changes(before_doc, after_doc, secret) if before_doc != after_doc else ()
        reason = _replace_reason(identity, fields) if fields else ""
        action = Action.REPLACE if reason else Action.UPDATE
        if adopting:
            reason = "; ".join(filter(None, (reason, f"taking over from {current.managed_by}")))
            if current.managed_by.startswith("gitops:"):
                taken.setdefault(current.managed_by, []).append(identity)
        if action is Action.REPLACE and _protected(current, resource):
            errors.append(_refusal(identity, "replace"))
        changes.append(
            Change(
                action,
                identity,
                current.resource,
                resource,
                fields,
                reason,
                frozenset(secret),
                current.managed_by,
            )
        )

    unmanaged: list[Identity] = []
    for identity, item in live_by_id.items():
        if identity in seen:
            continue
        if prune and (prune_all or item.managed_by == manager):
            if _protected(item, None):
                errors.append(_refusal(identity, "destroy"))
            secret = resource_sensitive_paths(item.resource, templates)
            fields = field_changes(item.resource.to_document(), None, secret)
            reason = (
                "no longer in the desired state"
                if item.managed_by == manager
                else (f"managed by {item.managed_by}, pruned because of --prune-all")
            )
            changes.append(
                Change(
                    Action.DELETE,
                    identity,
                    item.resource,
                    None,
                    fields,
                    reason,
                    frozenset(secret),
                    item.managed_by,
                )
            )
        else:
            unmanaged.append(identity)

    for owner, identities in sorted(taken.items()):
        shown = ", ".join(str(i) for i in sorted(identities, key=dependency_key)[:3])
        more = f" and {len(identities) - 3} more" if len(identities) > 3 else ""
        notes.append(f"this apply takes over {len(identities)} resource(s) managed by {owner}: {shown}{more}")
    deletes = sorted(
        (c for c in changes if c.action is Action.DELETE),
        key=lambda c: dependency_key(c.identity),
        reverse=True,
    )
    others = sorted(
        (c for c in changes if c.action is not Action.DELETE), key=lambda c: dependency_key(c.identity)
    )
    ordered = tuple(deletes + others)
    return Plan(
        changes=ordered,
        manager=manager,
        source=source,
        revision=revision,
        base_generation=base_generation,
        errors=tuple(sorted(errors)),
        warnings=tuple(notes),
        unmanaged=tuple(sorted(unmanaged, key=dependency_key)),
        unchanged=unchanged,
        prune=prune,
        prune_all=prune_all,
        access_changes=plan_access_changes(live, ordered),
    )
