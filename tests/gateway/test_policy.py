"""RBAC held by the gateway, end to end: real store (SQLite and PostgreSQL), real app, real SDK client.

A token sees and uses only what its bindings (or its owner's, for `rbac: clone`) grant; a refusal reads
exactly like an unknown name; binding changes reach open sessions within 2 s; the admin API shows a token
its own project only, and only what it may view.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from _samples import API
from gateway.gateway_harness import (
    TOY,
    Recorder,
    create_token,
    delete,
    mcp_session,
    project_doc,
    prompt_doc,
    put,
    serve_gateway,
    server_doc,
    wait_until,
)
from mcpctl.gateway import AccessDenied, GatewayConfig, ListConfig
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio
# Poll every 1 s and cache tokens 1 s, as `mcpctl serve` does; a long list deadline, as FAST has, so a
# slowly starting upstream on a loaded machine is not left out of the first list.
DEFAULTS = GatewayConfig(lists=ListConfig(deadline_seconds=30.0))
MCPCTL = str(Path(sys.executable).parent / "mcpctl")


def run(names: list[str] | None = None, tools: list[str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"role": "run", "resource": "servers"}
    if names:
        rule["names"] = names
    if tools:
        rule["tools"] = tools
    return rule


def binding_doc(
    name: str, project: str | None, subjects: list[dict[str, str]], rules: list[Any]
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if project is not None:
        metadata["project"] = project
    return {
        "apiVersion": API,
        "kind": "RoleBinding",
        "metadata": metadata,
        "spec": {"subjects": subjects, "rules": rules},
    }


def estate(store: Store, toy_stdio: Callable[..., ServerSpec]) -> None:
    """Project `demo` of servers alpha and beta with two prompts; project `other` of server gamma."""
    put(
        store,
        server_doc("alpha", toy_stdio(env={"TOY_NAME": "alpha"})),
        server_doc("beta", toy_stdio(env={"TOY_NAME": "beta"})),
        server_doc("gamma", toy_stdio(env={"TOY_NAME": "gamma"})),
        project_doc("demo", ["alpha", "beta"]),
        project_doc("other", ["gamma"]),
        prompt_doc("demo", "house-style", content="Write short sentences."),
        prompt_doc("demo", "secret-plan", content="Not for everyone."),
        {
            "apiVersion": API,
            "kind": "User",
            "metadata": {"name": "alice"},
            "spec": {"email": "a@example.com"},
        },
    )


async def refused(call: Any) -> str:
    """The -32602 message a call is answered with."""
    with pytest.raises(MCPError) as raised:
        await call
    assert raised.value.code == -32602
    return raised.value.message


async def test_a_token_bound_to_one_server_sees_and_calls_only_that_server(
    store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    estate(store, toy_stdio)
    only_alpha = create_token(store, "demo", "alpha-only", bindings=[run(["alpha"])])
    scoped = create_token(
        store,
        "demo",
        "echo-only",
        bindings=[
            run(["alpha"], ["echo", "ad?"]),
            {"role": "view", "resource": "prompts", "names": ["house-style"]},
        ],
    )
    nothing = create_token(store, "demo", "nothing", bindings=[])
    full = create_token(store, "demo", "full")
    recorder = Recorder()
    with serve_gateway(store, event_sinks=[recorder]) as gateway:
        async with mcp_session(gateway.url("demo"), full) as session:
            everything = {t.name for t in (await session.list_tools()).tools}
            beta_uris = [r.uri for r in (await session.list_resources()).resources if "beta" in r.uri]
        assert {"alpha__echo", "beta__echo"} <= everything and beta_uris

        async with mcp_session(gateway.url("demo"), only_alpha) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert names == {n for n in everything if n.startswith("alpha__")}
            assert (await session.call_tool("alpha__echo", {"text": "hi"})).content[0].text == "hi"  # type: ignore[union-attr]
            # Refused exactly as a name nothing serves is.
            assert await refused(session.call_tool("beta__echo", {})) == "Unknown tool: beta__echo"
            assert await refused(session.call_tool("nope__echo", {})) == "Unknown tool: nope__echo"
            # A server's prompts and resources come with `run` on the whole server; project prompts need view.
            prompts = {p.name for p in (await session.list_prompts()).prompts}
            assert prompts == {"alpha__greet"}
            assert (
                await refused(session.get_prompt("beta__greet", {"name": "x"}))
                == "Unknown prompt: beta__greet"
            )
            assert await refused(session.get_prompt("house-style"))
            resources = [r.uri for r in (await session.list_resources()).resources]
            assert resources and not any("beta" in uri for uri in resources)
            assert (await session.read_resource(resources[0])).contents
            assert await refused(session.read_resource(beta_uris[0]))
            assert await refused(session.subscribe_resource(beta_uris[0]))
            templates = (await session.list_resource_templates()).resource_templates
            assert [t.name for t in templates] == ["alpha__item"] or all(
                "beta" not in t.uri_template for t in templates
            )
            greet = types.PromptReference(type="ref/prompt", name="beta__greet")
            assert await refused(session.complete(greet, {"name": "name", "value": "al"}))
            alpha_greet = types.PromptReference(type="ref/prompt", name="alpha__greet")
            done = await session.complete(alpha_greet, {"name": "name", "value": "al"})
            assert done.completion.values == ["alice", "albert"]

        async with mcp_session(gateway.url("demo"), scoped) as session:
            assert {t.name for t in (await session.list_tools()).tools} == {"alpha__echo", "alpha__add"}
            assert (await session.call_tool("alpha__add", {"a": 1, "b": 2})).content[0].text == "3"  # type: ignore[union-attr]
            assert await refused(session.call_tool("alpha__pid", {})) == "Unknown tool: alpha__pid"
            # Tool-scoped: not the whole server, so none of its prompts or resources; of the project's
            # prompts (also served as resources) only the one it may view.
            assert {p.name for p in (await session.list_prompts()).prompts} == {"house-style"}
            assert (await session.get_prompt("house-style")).messages
            assert await refused(session.get_prompt("secret-plan")) == "Unknown prompt: secret-plan"
            listed = (await session.list_resources()).resources
            assert [str(r.uri) for r in listed] == ["mcpctl://prompts/house-style"]

        async with mcp_session(gateway.url("demo"), nothing) as session:
            assert (await session.list_tools()).tools == []
            assert (await session.list_prompts()).prompts == []
            assert await refused(session.call_tool("alpha__echo", {"text": "x"}))

        denials = recorder.of(AccessDenied)
        reasons = [d.reason for d in denials]
        assert "McpToken/demo/alpha-only may not run servers/beta/echo" in reasons
        assert "McpToken/demo/echo-only may not run servers/alpha/pid" in reasons
        assert all(d.call.principal is not None for d in denials)
        metrics = httpx.get(f"{gateway.base}/metrics", timeout=5).text
        # alpha-only's beta__echo, echo-only's alpha__pid, nothing's alpha__echo (nope__echo is unknown).
        assert 'mcpctl_access_denied_total{project="demo",method="tools/call"} 3' in metrics
        assert 'mcpctl_tool_calls_total{project="demo",server="beta"' not in metrics


async def test_a_clone_token_gets_its_owners_permissions_narrowed_by_its_bindings(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    estate(sqlite_store, toy_stdio)
    put(
        sqlite_store,
        binding_doc("alice-demo", "demo", [{"kind": "User", "name": "alice"}], [run(["alpha", "beta"])]),
    )
    cloned = create_token(sqlite_store, "demo", "alice-all", rbac="clone", owner="alice")
    narrowed = create_token(
        sqlite_store, "demo", "alice-git", rbac="clone", owner="alice", bindings=[run(None, ["echo"])]
    )
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), cloned) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert "alpha__pid" in names and "beta__pid" in names
        async with mcp_session(gateway.url("demo"), narrowed) as session:
            assert {t.name for t in (await session.list_tools()).tools} == {"alpha__echo", "beta__echo"}


async def test_a_binding_change_reaches_open_sessions_within_two_seconds(
    store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    estate(store, toy_stdio)
    subject = [{"kind": "McpToken", "name": "ci"}]
    put(store, binding_doc("ci-run", "demo", subject, [run(["alpha", "beta"])]))
    token = create_token(store, "demo", "ci", bindings=[])
    bystander = create_token(store, "demo", "bystander", bindings=[run(["alpha"])])
    with serve_gateway(store, DEFAULTS) as gateway:
        told: list[Any] = []
        bystander_told: list[Any] = []

        async def on_message(message: Any) -> None:
            told.append(message)

        async def on_bystander(message: Any) -> None:
            bystander_told.append(message)

        async with (
            mcp_session(gateway.url("demo"), token, message_handler=on_message) as session,
            mcp_session(gateway.url("demo"), bystander, message_handler=on_bystander) as other,
        ):
            assert "beta__echo" in {t.name for t in (await session.list_tools()).tools}
            await other.list_tools()

            # The binding loses beta, as `mcpctl apply` of a narrowed config repo would write it.
            put(store, binding_doc("ci-run", "demo", subject, [run(["alpha"])]))
            applied = time.monotonic()

            def changed() -> bool:
                return any(isinstance(m, types.ToolListChangedNotification) for m in told)

            await wait_until(changed, 2.0)
            lag = time.monotonic() - applied
            print(f"tools/list_changed {lag * 1000:.0f} ms after the binding changed")
            names = {t.name for t in (await session.list_tools()).tools}
            assert names and all(n.startswith("alpha__") for n in names)
            assert await refused(session.call_tool("beta__echo", {"text": "x"})) == "Unknown tool: beta__echo"
            # Only sessions whose permissions changed are told.
            assert not any(isinstance(m, types.ToolListChangedNotification) for m in bystander_told)

            # And the binding going altogether leaves the token nothing.
            delete(store, "RoleBinding", "ci-run", "demo")
            await wait_until(
                lambda: len([m for m in told if isinstance(m, types.ToolListChangedNotification)]) >= 2, 2.0
            )
            assert (await session.list_tools()).tools == []


def _get(http: httpx.Client, path: str, token: str, **params: Any) -> httpx.Response:
    return http.get(path, headers={"Authorization": f"Bearer {token}"}, params=params)


async def test_the_admin_api_shows_a_token_its_own_project_and_what_it_may_view(
    store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    estate(store, toy_stdio)
    put(store, binding_doc("demo-readers", "demo", [{"kind": "User", "name": "alice"}], [run()]))
    reader = create_token(store, "other", "reader", bindings=[{"role": "view", "resource": "*"}, run()])
    runner = create_token(store, "other", "runner", bindings=[run()])
    narrow = create_token(
        store,
        "demo",
        "narrow",
        bindings=[
            {"role": "view", "resource": "servers", "names": ["beta"]},
            {"role": "view", "resource": "projects"},
        ],
    )
    demo_full = create_token(store, "demo", "full")
    hashes = [record.token_hash for record in store.token_records()]
    assert len(hashes) == 4 and all(hashes)
    with serve_gateway(store) as gateway, httpx.Client(base_url=gateway.base, timeout=10) as http:
        bodies: list[str] = []

        def get(path: str, token: str, **params: Any) -> httpx.Response:
            response = _get(http, path, token, **params)
            bodies.append(response.text)
            return response

        # A token of `other`, allowed to view everything: of `other` only.
        assert [p["name"] for p in get("/api/v1/projects", reader).json()] == ["other"]
        assert get("/api/v1/projects/other", reader).status_code == 200
        assert get("/api/v1/projects/demo", reader).status_code == 404
        assert get("/api/v1/projects/demo", reader).json()["detail"] == "project demo not found"
        assert get("/api/v1/resources/mcptokens", reader, project="demo").status_code == 404
        tokens = get("/api/v1/resources/mcptokens", reader).json()
        assert sorted(t["metadata"]["name"] for t in tokens) == ["reader", "runner"]
        bindings = get("/api/v1/resources/rolebindings", reader).json()
        assert bindings == []  # demo's binding stays in demo
        assert {s["name"]: s["projects"] for s in get("/api/v1/servers", reader).json()} == {
            "gamma": ["other"]
        }
        assert [s["metadata"]["name"] for s in get("/api/v1/resources/servers", reader).json()] == ["gamma"]
        prompts = get("/api/v1/resources/prompts", reader).json()
        assert prompts == []
        upstreams = get("/api/v1/upstreams", reader).json()
        assert set(upstreams) <= {"gamma"}
        assert get("/api/v1/resources/users", reader).json()[0]["spec"]["email"] == "a@example.com"

        # A token that may run but view nothing: no kind at all, and no project.
        assert get("/api/v1/projects", runner).json() == []
        assert get("/api/v1/projects/other", runner).status_code == 404
        denied = get("/api/v1/resources/users", runner)
        assert denied.status_code == 403 and "a@example.com" not in denied.text
        assert get("/api/v1/resources/mcptokens", runner).status_code == 403
        assert get("/api/v1/servers", runner).json() == []

        # Name-scoped views: only beta of demo's servers.
        assert [s["name"] for s in get("/api/v1/servers", narrow).json()] == ["beta"]
        assert [s["metadata"]["name"] for s in get("/api/v1/resources/servers", narrow).json()] == ["beta"]
        assert get("/api/v1/resources/prompts", narrow).status_code == 403
        assert get("/api/v1/projects/demo", narrow).json()["prompts"] == []

        # A token of demo that may view everything sees demo's tokens, not other's.
        tokens = get("/api/v1/resources/mcptokens", demo_full).json()
        assert sorted(t["metadata"]["name"] for t in tokens) == ["full", "narrow"]
        assert [b["metadata"]["name"] for b in get("/api/v1/resources/rolebindings", demo_full).json()] == [
            "demo-readers"
        ]

        # Introspection of the token itself keeps working, whatever it may view.
        for token, name in ((runner, "runner"), (narrow, "narrow")):
            introspected = http.post(
                "/api/v1/tokens/introspect", headers={"Authorization": f"Bearer {token}"}
            )
            bodies.append(introspected.text)
            assert introspected.json()["active"] is True and introspected.json()["name"] == name

        # Token hashes (and values) never leave the store.
        for body in bodies:
            for secret in (*hashes, *(h[:16] for h in hashes), reader, runner, narrow, demo_full):
                assert secret not in body


def stream(docs: list[dict[str, Any]]) -> str:
    """A YAML stream of the documents (JSON is YAML)."""
    return "\n---\n".join(json.dumps(doc) for doc in docs) + "\n"


async def test_a_binding_narrowed_in_git_and_applied_narrows_an_open_session(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    import git

    repo_dir = tmp_path / "config"
    repo_dir.mkdir()
    toy = {"transport": "stdio", "command": sys.executable, "args": [str(TOY)]}
    docs = [
        server_doc("alpha", toy),
        server_doc("beta", toy),
        project_doc("demo", ["alpha", "beta"]),
        {"apiVersion": API, "kind": "McpToken", "metadata": {"name": "ci", "project": "demo"}, "spec": {}},
        binding_doc("ci-run", "demo", [{"kind": "McpToken", "name": "ci"}], [run(["alpha", "beta"])]),
    ]
    (repo_dir / "estate.yaml").write_text(stream(docs))
    repo = git.Repo.init(repo_dir)
    repo.index.add(["estate.yaml"])
    repo.index.commit("estate")
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}

    def apply() -> None:
        done = subprocess.run(
            [MCPCTL, "apply", "-f", str(repo_dir), "--yes", "--token-output", str(tmp_path / "tokens")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    apply()
    token = next((tmp_path / "tokens").iterdir()).read_text().strip()
    with Store.open(sqlite_database_url) as store, serve_gateway(store, DEFAULTS) as gateway:
        told: list[Any] = []

        async def on_message(message: Any) -> None:
            told.append(message)

        async with mcp_session(gateway.url("demo"), token, message_handler=on_message) as session:
            assert "beta__echo" in {t.name for t in (await session.list_tools()).tools}
            docs[-1] = binding_doc("ci-run", "demo", [{"kind": "McpToken", "name": "ci"}], [run(["alpha"])])
            (repo_dir / "estate.yaml").write_text(stream(docs))
            repo.index.add(["estate.yaml"])
            repo.index.commit("ci runs alpha only")
            apply()
            applied = time.monotonic()
            await wait_until(lambda: any(isinstance(m, types.ToolListChangedNotification) for m in told), 2.0)
            print(f"tools/list_changed {(time.monotonic() - applied) * 1000:.0f} ms after `mcpctl apply`")
            names = {t.name for t in (await session.list_tools()).tools}
            assert names and all(n.startswith("alpha__") for n in names)
            assert await refused(session.call_tool("beta__echo", {"text": "x"})) == "Unknown tool: beta__echo"
