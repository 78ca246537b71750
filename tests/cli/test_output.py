"""The shared renderers: ages, aligned tables, per-kind columns, documents and `kind/name`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ruamel.yaml import YAML

from mcpctl.cli._output import age, render, render_table, table
from mcpctl.schemas import KIND_INFO, KINDS, LiveResource, parse_resource

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def live(kind: str, name: str, spec: dict[str, Any], project: str | None = None, **meta: Any) -> LiveResource:
    metadata: dict[str, Any] = {"name": name, **meta}
    if project:
        metadata["project"] = project
    resource = parse_resource(
        {"apiVersion": "mcpctl.dev/v1", "kind": kind, "metadata": metadata, "spec": spec}
    )
    return LiveResource(resource, "cli", created_at=NOW - timedelta(hours=5))


SAMPLES = [
    live(
        "Template",
        "t",
        {
            "parameters": [{"name": "a", "required": True}, {"name": "b"}],
            "server": {"transport": "stdio", "command": "x", "args": ["{{ a }}"]},
        },
    ),
    live("Server", "s", {"transport": "sse", "url": "https://s.example/sse", "headers": {"X-Key": "v"}}),
    live("Project", "p", {"servers": ["s"], "proxyModel": "gate", "instructions": "Hello\nthere"}),
    live("Prompt", "q", {"linkTarget": "p/s:file:///doc", "priority": 2}, project="p"),
    live("User", "u", {"email": "u@example.com", "displayName": "U Ser"}),
    live("Group", "g", {"members": ["u"]}),
    live(
        "RoleBinding",
        "rb",
        {
            "subjects": [{"kind": "User", "name": "u"}],
            "rules": [{"role": "run", "resource": "servers", "names": ["s"]}],
        },
        project="p",
    ),
    live("McpToken", "tok", {"revoked": True, "owner": "u"}, project="p"),
    live(
        "ToolPins",
        "s",
        {
            "tools": [
                {
                    "name": "get_current_time",
                    "sha256": "11ec0ade3e0d442f9cb899c6eb92991b047e761cdf2384b7f3fed4521060a63b",
                    "description": "Current time.",
                    "inputSchema": {"type": "object"},
                }
            ]
        },
    ),
    live("ProxyModel", "pm", {"stages": [{"type": "paginate"}]}),
]


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (3 * 3600, "3h"),
        (7199, "119m"),
        (7200 * 2, "4h"),
        (86400 * 3, "3d"),
        (86400 * 800, "2y"),
        (-5, "0s"),
    ],
)
def test_age(seconds: int, expected: str) -> None:
    assert age(NOW - timedelta(seconds=seconds), NOW) == expected


def test_age_of_naive_and_missing_times() -> None:
    assert age((NOW - timedelta(minutes=3)).replace(tzinfo=None), NOW) == "3m"
    assert age(None, NOW) == "<unknown>"


def test_table_aligns_and_fills_cells() -> None:
    text = table(["NAME", "X"], [["a", ""], ["long-name", "multi\nline"], ["c", "y" * 80]])
    assert text.splitlines()[:3] == ["NAME        X", "a           <none>", "long-name   multi line"]
    assert text.splitlines()[3].endswith("y" * 57 + "...")


def test_every_kind_has_columns_and_renders() -> None:
    assert set(KIND_INFO) == set(KINDS) and all(KIND_INFO[kind].columns for kind in KINDS)
    for sample in SAMPLES:
        for wide in (False, True):
            lines = render_table(sample.identity.kind, [sample], wide=wide, now=NOW).splitlines()
            assert len(lines) == 2
            assert lines[1].startswith(sample.identity.name)
            assert lines[0].split()[-1] == ("LABELS" if wide else "AGE")


def test_kind_columns_show_the_spec() -> None:
    by_kind = {s.identity.kind: s for s in SAMPLES}
    assert render_table("Prompt", [by_kind["Prompt"]], wide=False, now=NOW).splitlines()[1].split() == [
        "q",
        "p",
        "2",
        "link",
        "<none>",
        "cli",
        "5h",
    ]
    token = render_table("McpToken", [by_kind["McpToken"]], wide=True, now=NOW).splitlines()
    assert token[0].split() == [
        "NAME",
        "PROJECT",
        "RBAC",
        "EXPIRES",
        "STATUS",
        "OWNER",
        "BINDINGS",
        "DESCRIPTION",
        "MANAGED-BY",
        "AGE",
        "LABELS",
    ]
    assert token[1].split()[:6] == ["tok", "p", "empty", "never", "revoked", "u"]
    template = render_table("Template", [by_kind["Template"]], wide=True, now=NOW).splitlines()[1].split()
    assert template[:6] == ["t", "1", "stdio", "2", "a*,b", "x"]
    binding = render_table("RoleBinding", [by_kind["RoleBinding"]], wide=True, now=NOW).splitlines()[1]
    assert "User/u" in binding and "run:servers[s]" in binding


def test_documents_round_trip_through_yaml_and_json_with_secrets_masked() -> None:
    from mcpctl.schemas import masked, sensitive_paths

    documents = [s.resource.to_document() for s in SAMPLES]
    expected = [parse_resource(masked(doc, sensitive_paths(doc, {}))) for doc in documents]
    one = YAML(typ="safe").load(render("ProxyModel", SAMPLES[-1:], "yaml", single=True))
    assert parse_resource(one) == SAMPLES[-1].resource
    many = json.loads(render("Server", SAMPLES, "json", single=False))
    assert many["kind"] == "List" and [parse_resource(doc) for doc in many["items"]] == expected
    assert many["items"][1]["spec"]["headers"] == {"X-Key": "(sensitive)"}
    many_yaml = YAML(typ="safe").load(render("Server", SAMPLES, "yaml", single=False))
    assert many_yaml == many


def test_names() -> None:
    assert render("Server", SAMPLES[:3], "name", single=False).splitlines() == [
        "template/t",
        "server/s",
        "project/p",
    ]


def test_credentials_in_urls_are_hidden() -> None:
    server = live("Server", "s", {"transport": "sse", "url": "https://bob:hunter2@s.example/sse"})
    row = render_table("Server", [server], wide=True, now=NOW).splitlines()[1]
    assert "https://(sensitive)@s.example/sse" in row and "hunter2" not in row
