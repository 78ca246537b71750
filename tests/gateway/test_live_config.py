"""Live config: store changes reach the running gateway within 2 s, without a restart."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest

from gateway.gateway_harness import (
    create_token,
    delete,
    mcp_session,
    project_doc,
    prompt_doc,
    put,
    serve_gateway,
    server_doc,
    token_doc,
)
from mcpctl.gateway import GatewayConfig, ListConfig, load_snapshot
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio
DEFAULTS = GatewayConfig(lists=ListConfig(deadline_seconds=30.0))  # poll every 1 s, as `mcpctl serve` does


def template_doc(name: str, toy: ServerSpec) -> dict[str, Any]:
    server = toy.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    server["env"] = {"TOY_NAME": "{{ label }}"}
    return {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "Template",
        "metadata": {"name": name},
        "spec": {"parameters": [{"name": "label", "required": True}], "server": server},
    }


def test_snapshot_instantiates_templates_and_reports_changed_projects(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(
        sqlite_store,
        template_doc("toy-tpl", toy_stdio()),
        server_doc("a", {"fromTemplate": {"name": "toy-tpl", "values": {"label": "one"}}}),
        server_doc("b", {"fromTemplate": {"name": "missing-tpl"}}),
        project_doc("p", ["a"]),
        project_doc("q", ["b"]),
        prompt_doc("q", "hi", content="hello"),
    )
    first = load_snapshot(sqlite_store)
    assert first.servers["a"].env == {"TOY_NAME": "one"} and first.servers["a"].transport == "stdio"
    assert "missing-tpl" in first.server_errors["b"]
    assert first.project_servers("q") == [] and first.prompts["q"]["hi"].content == "hello"

    put(sqlite_store, server_doc("a", {"fromTemplate": {"name": "toy-tpl", "values": {"label": "two"}}}))
    second = load_snapshot(sqlite_store)
    assert second.generation > first.generation
    assert first.changed_projects(second) == {"p"}
    put(sqlite_store, prompt_doc("q", "hi", content="changed"), project_doc("r", []))
    assert second.changed_projects(load_snapshot(sqlite_store)) == {"q", "r"}


async def _wait(predicate: Callable[[], Any], limit: float) -> float:
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < limit, f"not within {limit} s"
        await anyio.sleep(0.05)
    return time.monotonic() - started


async def test_project_and_server_changes_are_served_within_two_seconds(
    store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(store, server_doc("alpha", toy_stdio(env={"TOY_NAME": "alpha"})), project_doc("demo", ["alpha"]))
    token = create_token(store, "demo", "t")
    with serve_gateway(store, DEFAULTS) as gateway:
        notifications: list[Any] = []

        async def on_message(message: Any) -> None:
            notifications.append(message)

        async with mcp_session(gateway.url("demo"), token, message_handler=on_message) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert "alpha__echo" in names

            # A new server joins the project: the open session is told, and lists it.
            put(
                store,
                server_doc("beta", toy_stdio(env={"TOY_NAME": "beta"}, toolFilter={"include": ["add"]})),
                project_doc("demo", ["alpha", "beta"], instructions="Now with beta."),
            )

            async def told() -> bool:
                return any(isinstance(m, types.ToolListChangedNotification) for m in notifications)

            lag = await _wait(told, 2.0)
            print(f"tools/list_changed {lag * 1000:.0f} ms after the apply")
            names = {t.name for t in (await session.list_tools()).tools}
            assert "beta__add" in names and "beta__echo" not in names
            assert (await session.call_tool("beta__add", {"a": 1, "b": 1})).content[0].text == "2"  # type: ignore[union-attr]

        # New sessions get the new instructions.
        async with mcp_session(gateway.url("demo"), token) as session:
            assert session.initialize_result is not None
            assert session.initialize_result.instructions == "Now with beta."

        # A brand-new project is served without a restart.
        put(store, project_doc("fresh", ["alpha"]))
        fresh_token = create_token(store, "fresh", "t")

        async def fresh_served() -> bool:
            headers = {
                "Authorization": f"Bearer {fresh_token}",
                "Accept": "application/json, text/event-stream",
            }
            response = httpx.post(gateway.url("fresh"), headers=headers, json={}, timeout=5)
            return response.status_code != 404

        await _wait(fresh_served, 2.0)
        async with mcp_session(gateway.url("fresh"), fresh_token) as session:
            assert any(t.name == "alpha__echo" for t in (await session.list_tools()).tools)


async def test_removed_servers_are_stopped_and_removed_projects_unserved(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(
        sqlite_store,
        server_doc("alpha", toy_stdio()),
        server_doc("beta", toy_stdio()),
        project_doc("demo", ["alpha", "beta"]),
    )
    token = create_token(sqlite_store, "demo", "t")
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            pid = int((await session.call_tool("beta__pid", {})).content[0].text)  # type: ignore[union-attr]
        put(sqlite_store, project_doc("demo", ["alpha"]))
        delete(sqlite_store, "Server", "beta")

        async def beta_gone() -> bool:
            return "beta" not in gateway.runtime.pool.status()

        await _wait(beta_gone, 2.0)

        async def process_gone() -> bool:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
            except FileNotFoundError:
                return True

        await _wait(process_gone, 5.0)
        async with mcp_session(gateway.url("demo"), token) as session:
            assert not any(t.name.startswith("beta__") for t in (await session.list_tools()).tools)

        delete(sqlite_store, "Project", "demo")

        async def unserved() -> bool:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.post(gateway.url("demo"), headers=headers, json={}, timeout=5).status_code == 404

        await _wait(unserved, 2.0)


async def test_an_upstream_announcing_new_tools_reaches_open_sessions(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("alpha", toy_stdio()), project_doc("demo", ["alpha"]))
    token = create_token(sqlite_store, "demo", "t")
    with serve_gateway(sqlite_store) as gateway:
        received: list[Any] = []

        async def on_message(message: Any) -> None:
            received.append(message)

        async with mcp_session(gateway.url("demo"), token, message_handler=on_message) as session:
            assert "alpha__extra0" not in {t.name for t in (await session.list_tools()).tools}
            await session.call_tool("alpha__grow", {})

            async def told() -> bool:
                return any(isinstance(m, types.ToolListChangedNotification) for m in received)

            await _wait(told, 5.0)
            assert "alpha__extra0" in {t.name for t in (await session.list_tools()).tools}


async def test_two_gateways_on_one_postgresql_store_both_follow_changes(
    postgres_database_url: str, toy_stdio: Callable[..., ServerSpec]
) -> None:
    with Store.open(postgres_database_url) as first_store, Store.open(postgres_database_url) as second_store:
        put(first_store, server_doc("alpha", toy_stdio()), project_doc("demo", ["alpha"]))
        token = create_token(first_store, "demo", "t")
        with serve_gateway(first_store, DEFAULTS) as one, serve_gateway(second_store, DEFAULTS) as two:
            for gateway in (one, two):
                async with mcp_session(gateway.url("demo"), token) as session:
                    assert (await session.call_tool("alpha__echo", {"text": "hi"})).is_error is False
            put(first_store, project_doc("later", ["alpha"]))
            put(first_store, token_doc("demo", "t", revoked=True))

            async def both_follow() -> bool:
                # Without a token, unknown and known projects both answer 401 (no project enumeration).
                later = [httpx.post(g.url("later"), json={}).status_code for g in (one, two)]
                demo = [
                    httpx.post(
                        g.url("demo"), headers={"Authorization": f"Bearer {token}"}, json={}
                    ).status_code
                    for g in (one, two)
                ]
                return later == [401, 401] and demo == [401, 401]

            await _wait(both_follow, 2.5)
