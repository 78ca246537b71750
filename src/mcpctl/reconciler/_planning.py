"""Planning against the live store: read its generation and resources, then run the pure diff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcpctl.plan import Plan, diff

from ._sources import DesiredState

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mcpctl.schemas import ResourceModel
    from mcpctl.store import Store


def by_content_hash(resources: Iterable[ResourceModel]) -> dict[str, ResourceModel]:
    """Resources by `content_hash`: what `Store.list_resources(reuse=...)` takes."""
    return {resource.content_hash(): resource for resource in resources}


def plan_against(store: Store, state: DesiredState, *, prune: bool = True, prune_all: bool = False) -> Plan:
    """The plan making `store` match `state`; raises `ValidationFailed` if `state` has errors.

    The generation is read before the resources: if the store moves in between, the plan carries the
    older generation and apply refuses it as stale rather than acting on a mixed view. Stored rows
    that hash like a desired resource are not validated again (see `Store.list_resources`).
    """
    state.require_valid()
    generation = store.generation()
    live = store.list_resources(reuse=by_content_hash(state.resources))
    return diff(
        state.resources,
        live,
        manager=state.manager,
        prune=prune,
        prune_all=prune_all,
        source=state.source,
        revision=state.revision,
        base_generation=generation,
        warnings=[str(p) for p in state.warnings],
    )
