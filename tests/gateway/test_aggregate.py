"""Aggregation of a project's upstreams: every MCP request routed or answered, failures isolated."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    create_token,
    mcp_session,
    project_doc,
    prompt_doc,
    put,
    serve_gateway,
    server_doc,
    wait_until,
)
from mcpctl.gateway._aggregate import (
    collision_uri,
    parse_collision_uri,
    split_name,
    template_prefix,
)
from mcpctl.gateway._toolfilter import tool_visible
from mcpctl.reconciler import FileSource, apply_plan, plan_against
from mcpctl.schemas import ServerSpec, ToolFilter, load_documents
from mcpctl.store import Store

pytestmark = pytest.mark.anyio
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config-repo"


def test_split_name_prefers_the_longest_server() -> None:
    servers = ["git", "git__hub", "time"]
    assert split_name("git__status", servers) == ("git", "status")
    assert split_name("git__hub__issues", servers) == ("git__hub", "issues")
    assert split_name("time__", servers) is None
    assert split_name("fetch__get", servers) is None


def test_tool_filter_include_then_exclude() -> None:
    assert tool_visible("anything", ToolFilter())
    only = ToolFilter(include=["get_*", "list"], exclude=["get_secret*"])
    assert tool_visible("get_time", only) and tool_visible("list", only)
    assert not tool_visible("get_secret_key", only) and not tool_visible("delete", only)


def test_collision_uris_round_trip() -> None:
    uri = "file:///tmp/a b?x=1#y"
    made = collision_uri("srv", uri)
    assert made.startswith("mcpctl://srv/") and " " not in made
    assert parse_collision_uri(made) == ("srv", uri)
    assert parse_collision_uri("toy://readme") is None
    assert template_prefix("toy://items/{id}") == "toy://items/"


def two_toys(store: Store, toy_stdio: Callable[..., ServerSpec], **extra: ServerSpec) -> str:
    put(
        store,
        server_doc("alpha", toy_stdio(env={"TOY_NAME": "alpha"})),
        server_doc("beta", toy_stdio(env={"TOY_NAME": "beta"})),
        *(server_doc(name, spec) for name, spec in extra.items()),
        project_doc("demo", ["alpha", "beta", *extra]),
        prompt_doc("demo", "style", content="Be brief.", summary="House style", tags=["writing"]),
        prompt_doc("demo", "linked", linkTarget="demo/alpha:toy://readme", summary="The readme"),
    )
    return create_token(store, "demo", "t")


async def test_prompts_from_store_and_upstreams(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = two_toys(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            prompts = {p.name: p for p in (await session.list_prompts()).prompts}
            assert set(prompts) == {"style", "linked", "alpha__greet", "beta__greet"}
            assert prompts["style"].description == "House style"
            assert prompts["alpha__greet"].description == "[alpha] Greet someone."
            assert prompts["alpha__greet"].arguments is not None
            assert prompts["alpha__greet"].arguments[0].name == "name"

            style = await session.get_prompt("style")
            assert style.messages[0].content.text == "Be brief."  # type: ignore[union-attr]
            linked = await session.get_prompt("linked")
            assert linked.messages[0].content.text == "alpha readme"  # type: ignore[union-attr]
            greet = await session.get_prompt("beta__greet", {"name": "Ada"})
            assert greet.messages[0].content.text == "Hello, Ada!"  # type: ignore[union-attr]
            with pytest.raises(MCPError) as raised:
                await session.get_prompt("beta__nope")
            assert raised.value.code == -32602


async def test_resources_federated_with_collisions_templates_subscribe_and_completion(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = two_toys(sqlite_store, toy_stdio)
    received: list[object] = []

    async def on_message(message: object) -> None:
        received.append(message)

    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token, message_handler=on_message) as session:
            uris = [r.uri for r in (await session.list_resources()).resources]
            # The project's prompts are resources too (tests/gateway/test_prompt_resources.py).
            prompts = [u for u in uris if u.startswith("mcpctl://prompts/")]
            assert sorted(prompts) == ["mcpctl://prompts/linked", "mcpctl://prompts/style"]
            # Both toys list the same two URIs (over two pages each), so every one is namespaced.
            assert sorted(u for u in uris if u not in prompts) == sorted(
                collision_uri(s, u) for s in ("alpha", "beta") for u in ("toy://readme", "toy://data")
            )
            read = await session.read_resource(collision_uri("beta", "toy://readme"))
            assert read.contents[0].text == "beta readme"  # type: ignore[union-attr]
            assert read.contents[0].uri == collision_uri("beta", "toy://readme")

            templates = (await session.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["toy://items/{id}", "toy://items/{id}"]
            item = await session.read_resource("toy://items/42")
            assert item.contents[0].text == "item 42"  # type: ignore[union-attr]
            with pytest.raises(MCPError) as raised:
                await session.read_resource("nowhere://x")
            assert raised.value.code == -32602

            await session.subscribe_resource(collision_uri("alpha", "toy://data"))
            deadline = time.monotonic() + 5
            while not any(isinstance(m, types.ResourceUpdatedNotification) for m in received):
                assert time.monotonic() < deadline, "the upstream's resources/updated was not forwarded"
                await anyio.sleep(0.05)
            updated = next(m for m in received if isinstance(m, types.ResourceUpdatedNotification))
            assert updated.params.uri == collision_uri("alpha", "toy://data")
            await session.unsubscribe_resource(collision_uri("alpha", "toy://data"))

            prompt_ref = types.PromptReference(type="ref/prompt", name="alpha__greet")
            done = await session.complete(prompt_ref, {"name": "name", "value": "al"})
            assert done.completion.values == ["alice", "albert"]
            template_ref = types.ResourceTemplateReference(type="ref/resource", uri="toy://items/{id}")
            done = await session.complete(template_ref, {"name": "id", "value": "b"})
            assert done.completion.values == ["bob"]
            with pytest.raises(MCPError):
                await session.complete(
                    types.PromptReference(type="ref/prompt", name="zzz"), {"name": "a", "value": ""}
                )

            await session.set_logging_level("debug")
            await session.send_ping()


async def test_a_failing_upstream_is_skipped_and_counted(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    broken = ServerSpec.model_validate(
        {"transport": "stdio", "command": "/nonexistent/mcp-server", "timeouts": {"connectSeconds": 5}}
    )
    token = two_toys(sqlite_store, toy_stdio, broken=broken)
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            names = [t.name for t in (await session.list_tools()).tools]
            assert "alpha__echo" in names and "beta__echo" in names
            assert not any(n.startswith("broken__") for n in names)
            result = await session.call_tool("broken__echo", {"text": "x"})
            assert result.is_error
            assert "broken" in result.content[0].text  # type: ignore[union-attr]
        metrics = httpx.get(f"{gateway.base}/metrics").text
        assert (
            'mcpctl_upstream_list_failures_total{project="demo",server="broken",method="tools/list"} 1'
            in metrics
        )
        assert 'mcpctl_upstream_up{server="broken"} 0' in metrics


async def test_upstream_crash_mid_call_then_recovers(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = two_toys(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            first_pid = (await session.call_tool("alpha__pid", {})).content[0].text  # type: ignore[union-attr]
            crashed = await session.call_tool("alpha__crash", {})
            assert crashed.is_error
            deadline = time.monotonic() + 15
            while True:
                again = await session.call_tool("alpha__pid", {})
                if not again.is_error or time.monotonic() > deadline:
                    break
                await anyio.sleep(0.2)
            assert not again.is_error
            assert again.content[0].text != first_pid  # type: ignore[union-attr]
            assert (await session.call_tool("beta__echo", {"text": "fine"})).is_error is False


async def test_a_hung_upstream_times_out_without_stalling_others(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = two_toys(sqlite_store, toy_stdio, sleepy=toy_stdio(call_seconds=2.0))
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            await session.list_tools()
            timings: dict[str, float] = {}

            async def hang() -> None:
                started = time.monotonic()
                result = await session.call_tool("sleepy__slow", {"seconds": 30})
                timings["hang"] = time.monotonic() - started
                assert result.is_error

            async def quick() -> None:
                await anyio.sleep(0.2)
                started = time.monotonic()
                result = await session.call_tool("alpha__echo", {"text": "fast"})
                timings["quick"] = time.monotonic() - started
                assert not result.is_error

            async with anyio.create_task_group() as group:
                group.start_soon(hang)
                group.start_soon(quick)
            # The quick call starts 0.2 s after the hung one and is answered long before that one times out.
            assert timings["quick"] < 1.0
            assert 1.9 < timings["hang"] < 6


async def test_the_example_git_server_is_read_only(sqlite_store: Store, git_repo: Path) -> None:
    # The example config repo's git server, pointed at a scratch repository instead of the checkout.
    loaded = load_documents(
        [str(EXAMPLES / "templates" / "git.yaml"), str(EXAMPLES / "servers" / "git.yaml")]
    )
    template, server = (document.data for document in loaded.documents)
    server["spec"]["fromTemplate"]["values"]["repository"] = str(git_repo)
    put(sqlite_store, template, server, project_doc("demo", ["git"]))
    token = create_token(sqlite_store, "demo", "t")
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            tools = {tool.name for tool in (await session.list_tools()).tools}
            assert {"git__git_status", "git__git_log", "git__git_diff"} <= tools
            assert not tools & {"git__git_commit", "git__git_add", "git__git_reset", "git__git_checkout"}
            with pytest.raises(MCPError):
                await session.call_tool("git__git_commit", {"repo_path": str(git_repo), "message": "x"})


async def test_a_server_from_the_builtin_catalog_is_served(sqlite_store: Store, tmp_path: Path) -> None:
    (tmp_path / "estate.yaml").write_text(
        "apiVersion: mcpctl.dev/v1\nkind: Server\nmetadata:\n  name: clock\n"
        "spec:\n  fromTemplate:\n    name: builtin.time\n---\n"
        "apiVersion: mcpctl.dev/v1\nkind: Project\nmetadata:\n  name: demo\nspec:\n  servers: [clock]\n"
    )
    state = FileSource((str(tmp_path / "estate.yaml"),)).load().require_valid()
    apply_plan(sqlite_store, plan_against(sqlite_store, state))
    stored = sqlite_store.list_resources("Template")
    assert [(t.identity.name, t.managed_by) for t in stored] == [("builtin.time", state.manager)]
    token = create_token(sqlite_store, "demo", "t")
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            result = await session.call_tool("clock__get_current_time", {"timezone": "UTC"})
            assert not result.is_error and "UTC" in result.content[0].text  # type: ignore[union-attr]


async def test_a_hung_list_is_left_out_after_the_deadline_and_joins_when_it_answers(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    from dataclasses import replace

    from gateway.gateway_harness import FAST
    from mcpctl.gateway import ListConfig

    put(
        sqlite_store,
        server_doc("alpha", toy_stdio(env={"TOY_NAME": "alpha"})),
        server_doc("hung", toy_stdio(env={"TOY_NAME": "hung", "TOY_LIST_SECONDS": "6"}, call_seconds=30)),
        project_doc("demo", ["alpha", "hung"]),
    )
    token = create_token(sqlite_store, "demo", "t")
    received: list[object] = []

    async def on_message(message: object) -> None:
        received.append(message)

    config = replace(FAST, lists=ListConfig(deadline_seconds=1.5))
    with serve_gateway(sqlite_store, config) as gateway:
        async with mcp_session(gateway.url("demo"), token, message_handler=on_message) as session:
            # The SDK client lists tools around its first call (to check results): that list waits for the
            # deadline, once (after starting alpha, which takes seconds on a loaded machine), without hung.
            assert not (await session.call_tool("alpha__echo", {"text": "warm"})).is_error
            for _ in range(2):
                # The next lists do not wait again while the first fetch (6 s) still runs.
                started = time.monotonic()
                names = {t.name for t in (await session.list_tools()).tools}
                assert time.monotonic() - started < 1.4
                assert "alpha__echo" in names and not any(n.startswith("hung__") for n in names)

            def told() -> bool:
                return any(isinstance(m, types.ToolListChangedNotification) for m in received)

            await wait_until(told, 20)
            started = time.monotonic()
            names = {t.name for t in (await session.list_tools()).tools}
            assert "hung__echo" in names and time.monotonic() - started < 1.4
        metrics = httpx.get(f"{gateway.base}/metrics").text
        slow = 'mcpctl_upstream_list_slow_total{project="demo",server="hung",method="tools/list"} '
        assert any(line.startswith(slow) and int(line.split()[-1]) >= 3 for line in metrics.splitlines())
