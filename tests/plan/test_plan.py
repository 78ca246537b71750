"""The plan model: counts as terraform counts them, applyable/errored, apply order, field paths."""

from __future__ import annotations

from mcpctl.plan import Action, Change, FieldChange, Plan, format_path
from mcpctl.schemas import Identity


def change(action: Action, kind: str = "User", name: str = "a") -> Change:
    return Change(action, Identity(kind, None, name), None, None)


def test_counts_treat_replace_as_add_and_destroy() -> None:
    plan = Plan(
        changes=(
            change(Action.DELETE, name="d"),
            change(Action.CREATE),
            change(Action.UPDATE, name="u"),
            change(Action.REPLACE, name="r"),
        ),
        manager="gitops:x",
        source="x",
    )
    assert plan.counts == {"add": 2, "change": 1, "destroy": 2}
    assert plan.applyable and plan.has_changes and not plan.errored
    assert [c.action for c in plan.apply_order()] == [
        Action.CREATE,
        Action.UPDATE,
        Action.REPLACE,
        Action.DELETE,
    ]


def test_errors_make_a_plan_unapplyable() -> None:
    plan = Plan(changes=(change(Action.CREATE),), manager="m", source="s", errors=("no",))
    assert plan.errored and not plan.applyable
    empty = Plan(changes=(), manager="m", source="s")
    assert (
        not empty.applyable
        and not empty.has_changes
        and empty.counts == {"add": 0, "change": 0, "destroy": 0}
    )


def test_action_symbols_and_verbs() -> None:
    assert [a.value for a in Action] == ["+", "~", "-/+", "-", ""]
    assert Action.DELETE.verb == "destroy" and Action.REPLACE.verb == "replace"


def test_paths_print_dotted_with_quoted_odd_keys() -> None:
    assert format_path(("spec", "env", "API_KEY")) == "spec.env.API_KEY"
    assert format_path(("spec", "rules", 0, "role")) == "spec.rules[0].role"
    assert format_path(("metadata", "annotations", "mcpctl.dev/x")) == 'metadata.annotations["mcpctl.dev/x"]'
    assert FieldChange(("spec", "x-y"), 1, 2).dotted == "spec.x-y"
