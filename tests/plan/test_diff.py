"""The pure diff: per-identity actions, field changes, prune ownership, prevent-destroy, ordering."""

from __future__ import annotations

from _samples import res
from mcpctl.plan import Action, diff, field_changes, flatten
from mcpctl.schemas import CLI_MANAGER, PREVENT_DESTROY_ANNOTATION

from ._samples import MANAGER, live, scenario, stdio


def actions(plan: object) -> dict[str, str]:
    return {str(c.identity): c.action.name for c in plan.changes}  # type: ignore[attr-defined]


def test_empty_live_creates_everything_in_dependency_order() -> None:
    desired = [
        res("McpToken", "t", {}, project="p"),
        res("Prompt", "x", {"content": "hi"}, project="p"),
        res("Project", "p", {"servers": ["s"]}),
        res("Server", "s", stdio()),
        res("Template", "tpl", {"server": stdio()}),
        res("Group", "g", {"members": ["u"]}),
        res("User", "u", {"email": "u@example.com"}),
    ]
    plan = diff(desired, [], manager=MANAGER)
    assert [c.identity.kind for c in plan.changes] == [
        "Template",
        "Server",
        "Project",
        "Prompt",
        "User",
        "Group",
        "McpToken",
    ]
    assert all(c.action is Action.CREATE and c.before is None for c in plan.changes)
    assert plan.counts == {"add": 7, "change": 0, "destroy": 0}
    assert plan.applyable


def test_equal_state_is_no_change() -> None:
    desired, _ = scenario()
    plan = diff(desired, [live(r) for r in desired], manager=MANAGER)
    assert not plan.has_changes and not plan.applyable and not plan.errored
    assert plan.unchanged == len(desired)


def test_every_action_of_the_scenario() -> None:
    desired, live_state = scenario()
    plan = diff(desired, live_state, manager=MANAGER)
    assert actions(plan) == {
        "Server/old": "DELETE",
        "Server/github": "CREATE",
        "Server/time": "UPDATE",
        "Server/web": "REPLACE",
        "Project/team": "UPDATE",
        "Prompt/team/intro": "CREATE",
        "User/bob": "UPDATE",
        "McpToken/team/ci": "REPLACE",
    }
    assert [str(i) for i in plan.unmanaged] == ["Server/manual"]
    assert plan.unchanged == 2  # the template and user ada
    assert plan.counts == {"add": 4, "change": 3, "destroy": 3}
    assert next(iter(plan.changes)).action is Action.DELETE  # destroys are listed first
    ordered = plan.apply_order()
    assert ordered[-1].action is Action.DELETE  # ... and executed last


def test_field_changes_cover_metadata_and_nested_values() -> None:
    before = res("Server", "s", stdio("a", "x", K="1"), labels={"a": "1"})
    after = res("Server", "s", stdio("a", "x", "y", K="2"), annotations={"note": "n"})
    plan = diff([after], [live(before)], manager=MANAGER)
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    got = {f.dotted: (f.before, f.after) for f in change.field_changes}
    assert got == {
        "metadata.labels.a": ("1", None),
        "metadata.annotations.note": (None, "n"),
        "spec.args": (["x"], ["x", "y"]),
        "spec.env.K": ("1", "2"),
    }


def test_lists_of_mappings_diff_per_item() -> None:
    a = {"spec": {"rules": [{"role": "view", "names": ["a"]}]}}
    b = {"spec": {"rules": [{"role": "run", "names": ["a", "b"]}]}}
    got = {f.dotted: (f.before, f.after) for f in field_changes(a, b)}
    assert got == {"spec.rules[0].role": ("view", "run"), "spec.rules[0].names": (["a"], ["a", "b"])}
    assert flatten({"apiVersion": "x", "kind": "K", "spec": {"a": {}, "b": []}}) == {}


def test_reordered_yaml_lists_with_no_meaning_are_not_changes() -> None:
    a = res("Project", "p", {"servers": ["b", "a"]})
    b = res("Project", "p", {"servers": ["a", "b", "a"]})
    assert not diff([b], [live(a)], manager=MANAGER).has_changes


def test_token_spec_change_is_replace_but_revocation_is_in_place() -> None:
    old = res("McpToken", "t", {"expires": "30d"}, project="p")
    plan = diff([res("McpToken", "t", {"expires": "never"}, project="p")], [live(old)], manager=MANAGER)
    assert plan.changes[0].action is Action.REPLACE and "immutable" in plan.changes[0].reason
    revoked = res("McpToken", "t", {"expires": "30d", "revoked": True}, project="p")
    plan = diff([revoked], [live(old)], manager=MANAGER)
    assert plan.changes[0].action is Action.UPDATE


def test_server_transport_change_is_replace() -> None:
    old = res("Server", "s", stdio())
    new = res("Server", "s", {"transport": "sse", "url": "http://127.0.0.1:1/sse"})
    (change,) = diff([new], [live(old)], manager=MANAGER).changes
    assert change.action is Action.REPLACE and "spec.transport" in change.reason


def test_prune_only_deletes_what_this_source_owns() -> None:
    mine, cli_made, other = (
        res("User", "a", {"email": "a@x.io"}),
        res("User", "b", {"email": "b@x.io"}),
        res("User", "c", {"email": "c@x.io"}),
    )
    live_state = [live(mine), live(cli_made, CLI_MANAGER), live(other, "gitops:/elsewhere")]
    plan = diff([], live_state, manager=MANAGER)
    assert actions(plan) == {"User/a": "DELETE"}
    assert [str(i) for i in plan.unmanaged] == ["User/b", "User/c"]
    assert not diff([], live_state, manager=MANAGER, prune=False).has_changes
    everything = diff([], live_state, manager=MANAGER, prune_all=True)
    assert actions(everything) == {"User/a": "DELETE", "User/b": "DELETE", "User/c": "DELETE"}


def test_prevent_destroy_from_the_store_blocks_delete_after_yaml_removed() -> None:
    kept = res("Server", "db", stdio())  # the annotation is gone from the resource ...
    plan = diff([], [live(kept, prevent_destroy=True)], manager=MANAGER)  # ... but the store kept the mark
    assert plan.errored and not plan.applyable
    assert "Server/db" in plan.errors[0] and PREVENT_DESTROY_ANNOTATION in plan.errors[0]


def test_prevent_destroy_annotation_blocks_replace_but_not_update() -> None:
    marked = {"annotations": {PREVENT_DESTROY_ANNOTATION: "true"}}
    old = res("McpToken", "t", {"expires": "30d"}, project="p", **marked)
    new = res("McpToken", "t", {"expires": "1d"}, project="p", **marked)
    assert diff([new], [live(old)], manager=MANAGER).errored
    updated = res("McpToken", "t", {"expires": "30d", "description": "x"}, project="p", **marked)
    assert not diff([updated], [live(old)], manager=MANAGER).errored


def test_adopting_another_sources_resource_warns() -> None:
    user = res("User", "a", {"email": "a@x.io"})
    plan = diff([user], [live(user, "gitops:/other")], manager=MANAGER)
    assert plan.changes[0].action is Action.UPDATE and "taking over" in plan.changes[0].reason
    assert plan.warnings and "gitops:/other" in plan.warnings[0]


def test_secret_values_are_flagged_sensitive() -> None:
    desired, live_state = scenario()
    plan = diff(desired, live_state, manager=MANAGER)
    flagged = {f.dotted for c in plan.changes for f in c.field_changes if f.sensitive}
    assert flagged == {"spec.env.API_TOKEN", "spec.fromTemplate.values.token"}
