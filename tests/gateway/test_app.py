"""The gateway app end to end: a real store, real upstream servers, the SDK client over HTTP on uvicorn."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    INITIALIZE,
    create_token,
    mcp_session,
    project_doc,
    prompt_doc,
    put,
    serve_gateway,
    server_doc,
)
from mcpctl.content import FETCH_PROPERTIES
from mcpctl.errors import UsageError
from mcpctl.gateway import AuthConfig, GatewayConfig, create_app
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio


def fill(store: Store, toy_stdio: Callable[..., ServerSpec]) -> str:
    """Two toy servers in project `demo` (one filtered), one in `other`; returns a token of `demo`."""
    put(
        store,
        server_doc("alpha", toy_stdio(env={"TOY_NAME": "alpha"})),
        server_doc(
            "beta",
            toy_stdio(
                env={"TOY_NAME": "beta"}, toolFilter={"include": ["echo", "add", "e*"], "exclude": ["env"]}
            ),
        ),
        project_doc("demo", ["alpha", "beta"], instructions="Use the demo tools."),
        project_doc("other", ["alpha"]),
        prompt_doc("demo", "house-style", content="Write short sentences.", summary="How we write"),
    )
    return create_token(store, "demo", "ci")


async def test_tools_are_aggregated_with_server_prefix_and_filters(
    store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = fill(store, toy_stdio)
    with serve_gateway(store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert "alpha__echo" in tools and "alpha__crash" in tools
            assert sorted(n for n in tools if n.startswith("beta__")) == ["beta__add", "beta__echo"]
            echo = tools["alpha__echo"]
            assert echo.description == "[alpha] Echo the text back."
            # The upstream's schema, plus the content layer's optional part-fetch arguments.
            assert echo.input_schema == {
                "type": "object",
                "properties": {"text": {"type": "string"}, **FETCH_PROPERTIES},
                "required": ["text"],
            }
            result = await session.call_tool("beta__add", {"a": 2, "b": 3})
            assert not result.is_error and result.content[0].text == "5"  # type: ignore[union-attr]
            result = await session.call_tool("alpha__echo", {"text": "héllo"})
            assert result.content[0].text == "héllo"  # type: ignore[union-attr]


async def test_initialize_carries_project_instructions_and_capabilities(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = fill(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            init = session.initialize_result
            assert init is not None
            assert init.instructions == "Use the demo tools."
            assert init.server_info.name == "mcpctl/demo"
            assert init.capabilities.tools is not None and init.capabilities.tools.list_changed
            assert init.capabilities.prompts is not None and init.capabilities.resources is not None
            await session.send_ping()


async def test_unknown_and_filtered_tools_are_invalid_params(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = fill(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            for name in ("nope", "alpha__nope", "beta__env", "gamma__echo", "alpha__"):
                with pytest.raises(MCPError) as raised:
                    await session.call_tool(name, {})
                assert raised.value.code == -32602, name
                assert name in raised.value.message
            with pytest.raises(MCPError) as raised:
                await session.get_prompt("no-such-prompt")
            assert raised.value.code == -32602
            # The session still works after the errors.
            assert (await session.call_tool("alpha__echo", {"text": "ok"})).is_error is False


def _post(url: str, token: str, body: bytes | str, session_id: str | None = None) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    if session_id:
        headers["Mcp-Session-Id"] = session_id
        headers["Mcp-Protocol-Version"] = "2025-06-18"
    return httpx.post(url, headers=headers, content=body, timeout=10)


def _rpc_payload(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        payload: dict[str, Any] = json.loads(next(d for d in data if d))
        return payload
    return dict(response.json())


async def test_malformed_json_rpc_gets_an_error_and_the_gateway_keeps_working(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = fill(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store) as gateway:
        url = gateway.url("demo")
        opened = _post(url, token, json.dumps(INITIALIZE))
        assert opened.status_code == 200
        session_id = opened.headers["mcp-session-id"]
        _post(url, token, json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), session_id)

        garbage = _post(url, token, b"{this is not json", session_id)
        assert garbage.status_code == 400
        assert _rpc_payload(garbage)["error"]["code"] == -32700

        not_rpc = _post(url, token, json.dumps({"hello": "world"}), session_id)
        assert not_rpc.status_code in (400, 422)
        assert "error" in _rpc_payload(not_rpc)

        bad_params = _post(
            url,
            token,
            json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"arguments": 5}}),
            session_id,
        )
        assert _rpc_payload(bad_params)["error"]["code"] == -32602

        unknown_method = _post(
            url, token, json.dumps({"jsonrpc": "2.0", "id": 8, "method": "no/such"}), session_id
        )
        assert _rpc_payload(unknown_method)["error"]["code"] == -32601

        listed = _post(
            url, token, json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}), session_id
        )
        assert any(t["name"] == "alpha__echo" for t in _rpc_payload(listed)["result"]["tools"])
        async with mcp_session(url, token) as session:
            assert (await session.call_tool("alpha__echo", {"text": "still fine"})).is_error is False


async def test_http_surface_health_ready_metrics_admin_and_openapi(
    store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = fill(store, toy_stdio)
    with serve_gateway(store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            await session.call_tool("alpha__echo", {"text": "x"})
        with httpx.Client(base_url=gateway.base, timeout=10) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            ready = http.get("/readyz")
            assert ready.status_code == 200
            body = ready.json()
            assert body["store"]["reachable"] is True
            assert body["upstreams"]["alpha"]["state"] == "up"
            assert body["upstreams"]["beta"]["state"] == "up"  # tools/list started it

            metrics = http.get("/metrics")
            assert metrics.headers["content-type"].startswith("text/plain")
            assert 'mcpctl_tool_calls_total{project="demo",server="alpha",outcome="ok"} 1' in metrics.text
            assert 'mcpctl_upstream_up{server="alpha"} 1' in metrics.text

            assert http.get("/api/v1/projects").status_code == 401
            auth = {"Authorization": f"Bearer {token}"}
            projects = http.get("/api/v1/projects", headers=auth).json()
            # A token sees its own project only (tests/gateway/test_policy.py covers the rest).
            assert [p["name"] for p in projects] == ["demo"]
            assert projects[0]["servers"] == ["alpha", "beta"] and projects[0]["prompts"] == ["house-style"]
            servers = http.get("/api/v1/servers", headers=auth).json()
            assert {s["name"]: s["projects"] for s in servers} == {"alpha": ["demo"], "beta": ["demo"]}
            prompts = http.get("/api/v1/resources/prompts", headers=auth, params={"project": "demo"}).json()
            assert prompts[0]["spec"]["content"] == "Write short sentences."
            assert prompts[0]["status"]["managedBy"] == "gitops:test"
            assert http.get("/api/v1/resources/nonsense", headers=auth).status_code == 400
            assert http.get("/api/v1/projects/nope", headers=auth).status_code == 404

            introspected = http.post("/api/v1/tokens/introspect", headers=auth).json()
            assert introspected == {
                "active": True,
                "reason": None,
                "project": "demo",
                "name": "ci",
                "expiresAt": None,
                "revoked": False,
            }
            unknown = http.post("/api/v1/tokens/introspect", headers={"Authorization": "Bearer mcpctl_pat_x"})
            assert unknown.json() == {"active": False, "reason": "unknown"}

            schema = http.get("/schema/openapi.json").json()
            assert "/api/v1/projects" in schema["paths"] and "/readyz" in schema["paths"]


async def test_admin_api_masks_literal_secrets_in_stored_servers(sqlite_store: Store) -> None:
    remote = {
        "transport": "streamable-http",
        "url": "https://admin:hunter2@mcp.example.com/mcp",
        "headers": {"Authorization": "Bearer abc123", "X-Team": "search"},
    }
    put(sqlite_store, server_doc("remote", remote), project_doc("demo", ["remote"]))
    token = create_token(sqlite_store, "demo", "ci")
    with serve_gateway(sqlite_store) as gateway, httpx.Client(base_url=gateway.base, timeout=10) as http:
        auth = {"Authorization": f"Bearer {token}"}
        listed = http.get("/api/v1/resources/servers", headers=auth)
    assert listed.status_code == 200
    assert "abc123" not in listed.text and "hunter2" not in listed.text
    spec = listed.json()[0]["spec"]
    assert spec["headers"] == {"Authorization": "(sensitive)", "X-Team": "search"}
    assert spec["url"] == "(sensitive)"


async def test_endpoint_routing_and_dns_rebinding_protection(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = fill(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store) as gateway:
        auth = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
        with httpx.Client(base_url=gateway.base, timeout=10) as http:
            # A token is checked before the project: this one is not valid for a project that does not exist.
            assert http.post("/projects/nope/mcp", headers=auth, json={}).status_code == 403
            assert http.post("/projects/demo/other", headers=auth, json={}).status_code == 404
            evil = http.post("/projects/demo/mcp", headers={**auth, "Host": "evil.example:80"}, json={})
            assert evil.status_code in (403, 421)
            origin = http.post(
                "/projects/demo/mcp", headers={**auth, "Origin": "http://evil.example"}, json={}
            )
            assert origin.status_code == 403
        allowed = gateway.config.allowed_hosts()
        assert f"localhost:{gateway.config.port}" in allowed and f"127.0.0.1:{gateway.config.port}" in allowed


def test_auth_can_only_be_turned_off_on_loopback(sqlite_store: Store) -> None:
    with pytest.raises(UsageError, match="loopback"):
        create_app(GatewayConfig(host="0.0.0.0", auth=AuthConfig(enabled=False)), store=sqlite_store)
    create_app(GatewayConfig(host="::1", auth=AuthConfig(enabled=False)), store=sqlite_store)


async def test_no_auth_on_loopback_serves_without_a_token(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    fill(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as gateway:
        async with mcp_session(gateway.url("other")) as session:
            assert any(t.name == "alpha__echo" for t in (await session.list_tools()).tools)


async def test_health_probes_feed_readyz_and_metrics(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    healthy = toy_stdio(healthCheck={"tool": "echo", "arguments": {"text": "ok"}, "intervalSeconds": 1})
    failing = toy_stdio(healthCheck={"tool": "fail", "intervalSeconds": 1})
    hung = toy_stdio(healthCheck={"tool": "slow", "arguments": {"seconds": 30}, "timeoutSeconds": 0.5})
    unused = toy_stdio()  # no healthCheck and never started: never probed
    put(
        sqlite_store,
        *(
            server_doc(n, s)
            for n, s in [("healthy", healthy), ("failing", failing), ("hung", hung), ("lazy", unused)]
        ),
        project_doc("demo", ["healthy", "failing", "hung", "lazy"]),
    )
    with serve_gateway(sqlite_store) as gateway:
        deadline = time.monotonic() + 15
        while True:
            upstreams = httpx.get(f"{gateway.base}/readyz").json()["upstreams"]
            probes = {name: u.get("probe") for name, u in upstreams.items()}
            if all(probes.get(n) for n in ("healthy", "failing", "hung")) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert probes["healthy"]["ok"] is True
        assert probes["failing"]["ok"] is False
        assert probes["hung"]["ok"] is False and probes["hung"]["seconds"] < 2
        assert probes["lazy"] is None and upstreams["lazy"]["state"] == "idle"
        metrics = httpx.get(f"{gateway.base}/metrics").text
        assert 'mcpctl_upstream_probe_ok{server="healthy"} 1' in metrics
        assert 'mcpctl_upstream_probe_ok{server="failing"} 0' in metrics
