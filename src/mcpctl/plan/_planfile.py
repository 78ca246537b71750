"""The stable plan document: what `-o json` prints, the saved plan file (`plan -out FILE`) and digests.

The format is documented in docs/plan-format.md; `format_version` changes on any incompatible change.
Apply reads digests from here, not from a renderer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path as FilePath
from typing import Any

from mcpctl.errors import UsageError
from mcpctl.policy import AccessChange
from mcpctl.schemas import SENSITIVE, Identity, masked, parse_resource

from ._diff import field_changes
from ._plan import Action, Change, FieldChange, Plan
from ._sensitive import extract, restore, write_private

FORMAT_VERSION = "1"
"""Version of the plan JSON format."""

_ACTIONS = {
    "create": Action.CREATE,
    "update": Action.UPDATE,
    "replace": Action.REPLACE,
    "delete": Action.DELETE,
}
_NAMES = {action: name for name, action in _ACTIONS.items()}


def _identity(identity: Identity) -> dict[str, Any]:
    return {
        "address": str(identity),
        "kind": identity.kind,
        "project": identity.project,
        "name": identity.name,
    }


def _field(change: FieldChange) -> dict[str, Any]:
    def hide(value: Any) -> Any:
        return SENSITIVE if change.sensitive and value is not None else value

    return {
        "path": list(change.path),
        "field": change.dotted,
        "before": hide(change.before),
        "after": hide(change.after),
        "sensitive": change.sensitive,
    }


def _change(change: Change, with_secrets: bool) -> dict[str, Any]:
    paths = sorted(change.sensitive_paths, key=lambda p: [str(x) for x in p])
    before = change.before.to_document() if change.before is not None else None
    after = change.after.to_document() if change.after is not None else None
    out: dict[str, Any] = {
        "action": _NAMES[change.action],
        "symbol": change.action.value,
        **_identity(change.identity),
        "reason": change.reason,
        "previous_manager": change.previous_manager,
        "field_changes": [_field(f) for f in change.field_changes],
        "sensitive_paths": [list(p) for p in paths],
        "before": masked(before, paths) if before is not None else None,
        "after": masked(after, paths) if after is not None else None,
    }
    if with_secrets and paths:
        out["sensitive_values"] = {
            "before": extract(before, paths) if before is not None else {},
            "after": extract(after, paths) if after is not None else {},
        }
    return out


def plan_document(plan: Plan, *, with_secrets: bool = False) -> dict[str, Any]:
    """The plan as a JSON-ready dict; `with_secrets` adds the real sensitive values (plan files only)."""
    return {
        "format_version": FORMAT_VERSION,
        "source": plan.source,
        "manager": plan.manager,
        "revision": plan.revision,
        "base_generation": plan.base_generation,
        "prune": plan.prune,
        "prune_all": plan.prune_all,
        "applyable": plan.applyable,
        "errored": plan.errored,
        "summary": {**plan.counts, "unchanged": plan.unchanged},
        "errors": list(plan.errors),
        "warnings": list(plan.warnings),
        "changes": [_change(c, with_secrets) for c in plan.changes],
        "unmanaged": [_identity(i) for i in plan.unmanaged],
        "access_changes": [c.to_dict() for c in plan.access_changes],
        "extra": dict(plan.extra),
    }


def plan_digest(plan: Plan) -> str:
    """SHA-256 of the canonical plan JSON (sensitive values hidden): what a history row records."""
    canonical = json.dumps(plan_document(plan), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def changes_digest(plan: Plan) -> str:
    """SHA-256 of the plan's changes alone: equal when two plans would do exactly the same."""
    changes = plan_document(plan)["changes"]
    canonical = json.dumps(changes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _file_digest(document: dict[str, Any]) -> str:
    canonical = json.dumps(
        {k: v for k, v in document.items() if k != "digest"},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def save_plan(plan: Plan, path: FilePath) -> None:
    """Write a plan file: the plan JSON plus the sensitive values apply needs, readable by the owner only.

    The file carries a `digest` of its own content (SHA-256 of the canonical JSON without it):
    `load_plan` refuses a file edited since, so a change added by hand is never applied.
    """
    document = plan_document(plan, with_secrets=True)
    document["digest"] = _file_digest(document)
    write_private(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _resource(document: dict[str, Any] | None, secrets: dict[str, Any]) -> Any:
    if document is None:
        return None
    return parse_resource(restore(document, secrets))


def load_plan(path: FilePath) -> Plan:
    """Read a plan file written by `save_plan`; refuses one whose content no longer matches its digest."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: not a readable plan file ({error})") from error
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise UsageError(f"{path}: not a plan file of format version {FORMAT_VERSION}")
    if "digest" not in data:
        raise UsageError(f"{path}: no digest, so not a plan file written by `mcpctl plan -out`")
    if data["digest"] != _file_digest(data):
        raise UsageError(
            f"{path}: the plan file was changed after `mcpctl plan -out` wrote it (its digest no longer "
            "matches); nothing was applied: make the plan again"
        )
    if not isinstance(data.get("base_generation"), int) or isinstance(data["base_generation"], bool):
        raise UsageError(f"{path}: the plan file records no store generation, so staleness cannot be checked")
    try:
        changes = []
        for item in data["changes"]:
            secrets = item.get("sensitive_values", {})
            paths = frozenset(tuple(p) for p in item["sensitive_paths"])
            before = _resource(item["before"], secrets.get("before", {}))
            after = _resource(item["after"], secrets.get("after", {}))
            for document in (before, after):
                if (
                    document is not None
                    and paths
                    and SENSITIVE in json.dumps(extract(document.to_document(), paths))
                ):
                    raise UsageError(
                        f"{path}: sensitive values are missing (use a file written by plan -out)"
                    )
            # Recomputed from the restored documents (the JSON's field values are masked).
            fields = field_changes(
                before.to_document() if before is not None else None,
                after.to_document() if after is not None else None,
                paths,
            )
            identity = Identity(item["kind"], item["project"], item["name"])
            changes.append(
                Change(
                    _ACTIONS[item["action"]],
                    identity,
                    before,
                    after,
                    fields,
                    item["reason"],
                    paths,
                    item["previous_manager"],
                )
            )
        return Plan(
            changes=tuple(changes),
            manager=data["manager"],
            source=data["source"],
            revision=data["revision"],
            base_generation=data["base_generation"],
            errors=tuple(data["errors"]),
            warnings=tuple(data["warnings"]),
            unmanaged=tuple(Identity(i["kind"], i["project"], i["name"]) for i in data["unmanaged"]),
            unchanged=data["summary"]["unchanged"],
            prune=data["prune"],
            prune_all=data["prune_all"],
            extra=data.get("extra", {}),
            access_changes=tuple(AccessChange(**item) for item in data.get("access_changes", [])),
        )
    except UsageError:
        raise
    except KeyError as error:
        raise UsageError(f"{path}: malformed plan file (missing {error})") from error
    except (TypeError, ValueError) as error:
        # The error text may quote document values, which could be sensitive: name only its type.
        raise UsageError(f"{path}: malformed plan file ({type(error).__name__})") from error
