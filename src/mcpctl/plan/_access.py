"""A plan's access changes: what each subject may newly do, or no longer do, once the plan is applied.

Before is the live store's RBAC; after is the same with the plan's changes to users, groups, role
bindings and tokens made. The comparison itself is `mcpctl.policy.access_changes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mcpctl.policy import POLICY_KINDS, AccessChange, access_changes
from mcpctl.schemas import Identity, LiveResource, ResourceModel

from ._plan import Change


def plan_access_changes(live: Sequence[LiveResource], changes: Iterable[Change]) -> tuple[AccessChange, ...]:
    """The access changes of applying `changes` to `live`; none when no RBAC resource changes."""
    touched = [c for c in changes if c.identity.kind in POLICY_KINDS]
    if not touched:
        return ()
    before: dict[Identity, ResourceModel] = {
        item.resource.identity: item.resource for item in live if item.resource.identity.kind in POLICY_KINDS
    }
    after = dict(before)
    for change in touched:
        if change.after is None:
            after.pop(change.identity, None)
        else:
            after[change.identity] = change.after
    return tuple(access_changes(before.values(), after.values()))
