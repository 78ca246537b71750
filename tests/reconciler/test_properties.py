"""Property tests over generated resource sets: a plan turns live into desired; apply then plan is empty."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcpctl.plan import Action, diff
from mcpctl.reconciler import DesiredState, apply_plan, plan_against
from mcpctl.schemas import CLI_MANAGER, LiveResource, ResourceModel, parse_resource
from mcpctl.store import Store
from plan._samples import MANAGER

NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
TEXT = st.text(alphabet="abc xyz-_.:/", max_size=12)
ENV_KEYS = st.sampled_from(["PATH", "API_TOKEN", "DEBUG", "SECRET_KEY", "TZ"])


def _doc(
    kind: str, name: str, spec: dict[str, Any], project: str | None = None, **meta: Any
) -> ResourceModel:
    metadata = {"name": name, **meta} | ({"project": project} if project else {})
    return parse_resource({"apiVersion": "mcpctl.dev/v1", "kind": kind, "metadata": metadata, "spec": spec})


@st.composite
def resource_sets(draw: st.DrawFn) -> list[ResourceModel]:
    """A consistent set: servers, projects naming them, prompts and tokens in projects, users, groups."""
    labels = st.dictionaries(st.sampled_from(["team", "tier"]), st.sampled_from(["x", "y"]), max_size=2)
    out: list[ResourceModel] = []
    servers = sorted(draw(st.sets(NAMES, max_size=4)))
    for name in servers:
        if draw(st.booleans()):
            spec = {
                "transport": "stdio",
                "command": draw(st.sampled_from(["uvx", "node"])),
                "args": draw(st.lists(TEXT, max_size=3)),
                "env": draw(st.dictionaries(ENV_KEYS, TEXT, max_size=3)),
            }
        else:
            spec = {
                "transport": draw(st.sampled_from(["sse", "streamable-http"])),
                "url": f"http://127.0.0.1:{draw(st.integers(1024, 65535))}/mcp",
                "headers": draw(
                    st.dictionaries(st.sampled_from(["Authorization", "X-Team"]), TEXT, max_size=2)
                ),
            }
        out.append(_doc("Server", f"srv-{name}", spec, labels=draw(labels)))
    projects = sorted(draw(st.sets(NAMES, max_size=3)))
    for name in projects:
        chosen = draw(st.lists(st.sampled_from(servers), unique=True)) if servers else []
        out.append(
            _doc(
                "Project",
                f"proj-{name}",
                {"servers": [f"srv-{s}" for s in chosen], "instructions": draw(TEXT)},
            )
        )
        for prompt in sorted(draw(st.sets(NAMES, max_size=2))):
            out.append(
                _doc(
                    "Prompt",
                    f"pr-{prompt}",
                    {"content": draw(TEXT) or "x", "priority": draw(st.integers(1, 10))},
                    project=f"proj-{name}",
                )
            )
        for token in sorted(draw(st.sets(NAMES, max_size=2))):
            out.append(
                _doc(
                    "McpToken",
                    f"tok-{token}",
                    {"expires": draw(st.sampled_from(["never", "30d"])), "revoked": draw(st.booleans())},
                    project=f"proj-{name}",
                )
            )
    users = sorted(draw(st.sets(NAMES, max_size=4)))
    for name in users:
        out.append(_doc("User", f"user-{name}", {"email": f"{name}@example.com"}))
    for name in sorted(draw(st.sets(NAMES, max_size=2))):
        members = draw(st.lists(st.sampled_from(users), unique=True)) if users else []
        out.append(_doc("Group", f"grp-{name}", {"members": [f"user-{m}" for m in members]}))
    return out


def simulate(
    live: list[LiveResource], desired: list[ResourceModel], prune_all: bool = False
) -> dict[str, str]:
    """Apply a plan to an in-memory copy of `live`; returns identity → content hash."""
    plan = diff(desired, live, manager=MANAGER, prune_all=prune_all)
    state = {str(item.identity): item.resource for item in live}
    for change in plan.apply_order():
        if change.action is Action.DELETE:
            del state[str(change.identity)]
        else:
            assert change.after is not None
            state[str(change.identity)] = change.after
    return {key: value.content_hash() for key, value in state.items()}


@given(before=resource_sets(), after=resource_sets(), foreign=resource_sets())
@settings(max_examples=150, deadline=None)
def test_plan_turns_live_into_desired(
    before: list[ResourceModel], after: list[ResourceModel], foreign: list[ResourceModel]
) -> None:
    mine = {r.identity for r in before}
    live = [LiveResource(r, MANAGER) for r in before]
    # Resources another manager owns (and that this source does not also declare) must survive.
    live += [LiveResource(r, CLI_MANAGER) for r in foreign if r.identity not in mine]
    result = simulate(live, after)
    wanted = {str(r.identity): r.content_hash() for r in after}
    kept = {
        str(item.identity): item.resource.content_hash()
        for item in live
        if item.managed_by == CLI_MANAGER and str(item.identity) not in wanted
    }
    assert result == wanted | kept
    # Planning again against the result finds nothing to do.
    converged = [LiveResource(r, MANAGER) for r in after] + [i for i in live if str(i.identity) in kept]
    assert not diff(after, converged, manager=MANAGER).has_changes


@pytest.mark.parametrize("backend", ["sqlite_database_url", "postgres_database_url"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sets=st.lists(resource_sets(), min_size=1, max_size=3))
def test_apply_then_plan_is_empty_on_a_real_store(
    request: pytest.FixtureRequest, backend: str, sets: list[list[ResourceModel]]
) -> None:
    store = Store.open(request.getfixturevalue(backend))
    try:
        for resources in sets:  # successive commits of one repo, on top of whatever came before
            desired = DesiredState(tuple(resources), "/generated")
            apply_plan(store, plan_against(store, desired))
            again = plan_against(store, desired)
            assert not again.has_changes, [str(c.identity) for c in again.changes]
            stored = {str(i.identity): i.resource.content_hash() for i in store.list_resources()}
            assert stored == {str(r.identity): r.content_hash() for r in resources}
    finally:
        store.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resources=resource_sets())
def test_generated_yaml_repo_validates_applies_and_converges(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, resources: list[ResourceModel]
) -> None:
    import yaml

    from mcpctl.reconciler import FileSource

    repo = tmp_path_factory.mktemp("repo")
    for index, resource in enumerate(resources):
        kind = resource.kind_name().lower()
        (repo / f"{index:03d}-{kind}.yaml").write_text(
            yaml.safe_dump(resource.to_document(), sort_keys=False)
        )
    desired = FileSource((str(repo),)).load().require_valid()
    assert len(desired.resources) == len(resources)
    store = Store.open(database_url)
    try:
        apply_plan(store, plan_against(store, desired))
        assert not plan_against(store, desired).has_changes
    finally:
        store.close()
