"""Prometheus metrics: the text format of our tiny registry, and what a scrape shows after real traffic."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from gateway.gateway_harness import (
    INITIALIZE,
    create_token,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
)
from mcpctl.gateway._metrics import Counter, GatewayMetrics, Gauge, Histogram
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio


def test_counter_renders_labels_escaped_and_sorted() -> None:
    counter = Counter("x_total", "Things.", ("a", "b"))
    counter.inc(a="2", b='q"uote')
    counter.inc(2, a="1", b="back\\slash\nnewline")
    assert list(counter.render()) == [
        "# HELP x_total Things.",
        "# TYPE x_total counter",
        'x_total{a="1",b="back\\\\slash\\nnewline"} 2',
        'x_total{a="2",b="q\\"uote"} 1',
    ]
    with pytest.raises(ValueError):
        counter.inc(a="1")


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    histogram = Histogram("lat_seconds", "Latency.", ("p",), buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value, p="x")
    assert list(histogram.render())[2:] == [
        'lat_seconds_bucket{p="x",le="0.1"} 2',
        'lat_seconds_bucket{p="x",le="1"} 3',
        'lat_seconds_bucket{p="x",le="+Inf"} 4',
        'lat_seconds_sum{p="x"} 3.65',
        'lat_seconds_count{p="x"} 4',
    ]
    assert histogram.count(p="x") == 4
    with pytest.raises(ValueError):
        histogram.observe(1.0, p="x", typo="y")


def test_gauges_are_collected_at_scrape_time() -> None:
    metrics = GatewayMetrics()
    value = [1.0]
    metrics.add_gauge(Gauge("g", "A gauge.", lambda: [({"k": "v"}, value[0])]))
    assert 'g{k="v"} 1\n' in metrics.render()
    value[0] = 0.5
    assert 'g{k="v"} 0.5\n' in metrics.render()


async def test_scrape_after_traffic(sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "t")
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            await session.call_tool("toy__echo", {"text": "a"})
            await session.call_tool("toy__echo", {"text": "b"})
            await session.call_tool("toy__fail", {})
            await session.list_tools()
        httpx.post(gateway.url("demo"), json={})  # no token: 401
        text = httpx.get(f"{gateway.base}/metrics").text
    lines = set(text.splitlines())
    assert 'mcpctl_tool_calls_total{project="demo",server="toy",outcome="ok"} 2' in lines
    assert 'mcpctl_tool_calls_total{project="demo",server="toy",outcome="error"} 1' in lines
    assert 'mcpctl_tool_call_duration_seconds_count{project="demo",server="toy"} 3' in lines
    assert 'mcpctl_mcp_requests_total{project="demo",method="tools/call"} 3' in lines
    assert 'mcpctl_mcp_requests_total{project="demo",method="initialize"} 1' in lines
    assert 'mcpctl_http_requests_total{route="mcp",status="401"} 1' in lines
    assert 'mcpctl_auth_failures_total{status="401",reason="missing"} 1' in lines
    assert 'mcpctl_upstream_up{server="toy"} 1' in lines
    assert any(line.startswith("mcpctl_store_generation ") for line in lines)
    for line in text.splitlines():
        assert line.startswith("#") or " " in line, line


def test_a_family_past_its_series_limit_counts_new_label_sets_as_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mcpctl.gateway import _metrics

    monkeypatch.setattr(_metrics, "MAX_SERIES", 3)
    counter = Counter("c_total", "C.", ("a", "b"))
    histogram = Histogram("h_seconds", "H.", ("a",), buckets=(1.0,))
    for i in range(10):
        counter.inc(a=str(i), b="x")
        histogram.observe(0.5, a=str(i))
    counter.inc(a="0", b="x")  # a kept series still counts as itself
    assert counter.value(a="0", b="x") == 2
    assert counter.value(a="other", b="other") == 7
    assert histogram.count(a="other") == 7
    assert len(list(counter.render())) == 2 + 4


async def test_invented_method_names_do_not_grow_metrics(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "t")
    with serve_gateway(sqlite_store) as gateway, httpx.Client(timeout=10) as http:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
        opened = http.post(gateway.url("demo"), headers=headers, json=INITIALIZE)
        headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        http.post(
            gateway.url("demo"),
            headers=headers,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        )
        before = len(http.get(f"{gateway.base}/metrics").text)
        for i in range(300):
            invented = {"jsonrpc": "2.0", "id": i + 2, "method": f"invented/m-{i}-" + "x" * 200}
            answer = http.post(gateway.url("demo"), headers=headers, json=invented)
            assert answer.json()["error"]["code"] == -32601  # method not found
        text = http.get(f"{gateway.base}/metrics").text
    assert "invented" not in text
    assert 'mcpctl_mcp_requests_total{project="demo",method="other"} 300' in text
    assert 'mcpctl_mcp_requests_total{project="demo",method="initialize"} 1' in text
    assert len(text) < before + 500
