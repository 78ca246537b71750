"""The content layer's LLM paths: page titles and summaries through the `mcpctl-system` prompts, the tier
order of a summary (heavy, then fast, then an excerpt) against failing stand-ins, and the real vLLM.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcp_types as types
import pytest

from gateway.gateway_harness import (
    FAST,
    create_token,
    mcp_session,
    project_doc,
    prompt_doc,
    put,
    serve_gateway,
    server_doc,
)
from llm.standin import StandIn, serve_standin
from mcpctl.gateway import ContentConfig, LlmSettings
from mcpctl.llm import LlmConfig, LlmProviders
from mcpctl.store import Store

if TYPE_CHECKING:
    from llm.vllm_harness import VllmServer

pytestmark = pytest.mark.anyio
BULKY = Path(__file__).parent / "servers" / "bulky.py"
TOOL = "bulky__bulky"


def providers(*entries: tuple[str, str, str]) -> LlmProviders:
    config = {
        "providers": [{"name": n, "url": u, "model": "standin-model", "tier": t} for n, u, t in entries]
    }
    return LlmProviders.from_config(LlmConfig.model_validate(config), environ={})


def fill(store: Store, **spec: Any) -> str:
    put(
        store,
        server_doc("bulky", {"transport": "stdio", "command": sys.executable, "args": [str(BULKY)]}),
        project_doc("docs", ["bulky"], **spec),
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "ProxyModel",
            "metadata": {"name": "brief"},
            "spec": {"stages": [{"type": "summarize", "maxChars": 400}]},
        },
        project_doc("mcpctl-system", []),
        prompt_doc("mcpctl-system", "page-titles", content="TITLES-OVERRIDE {{count}}\n{{pages}}"),
        prompt_doc("mcpctl-system", "summarize", content="SUMMARY-OVERRIDE {{maxChars}}\n{{text}}"),
    )
    return create_token(store, "docs", "t")


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_failing_llms_are_asked_in_tier_order_then_numbers_and_an_excerpt_answer(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    with serve_standin(StandIn(status=500)) as fast, serve_standin(StandIn(status=503)) as heavy:
        token = fill(sqlite_store, proxyModel="brief")
        llm = providers(("quick", fast.url, "fast"), ("big", heavy.url, "heavy"))
        config = replace(FAST, llm=LlmSettings(providers=llm), content=ContentConfig(llm_timeout_seconds=10))
        with serve_gateway(sqlite_store, config) as gateway:
            async with mcp_session(gateway.url("docs"), token) as session:
                result = await session.call_tool(TOOL, {"chars": 100_000, "seed": 1})
        structured = result.structured_content
        assert structured is not None and "Summary (excerpt)" in text_of(result)
        assert len(structured["summary"]) <= 400
        assert structured["titles"][:2] == ["Page 1", "Page 2"]
        # The summary went to the heavy tier first, then the fast one, with the stored prompt.
        asked_heavy = [r.body for r in heavy.completions() if r.body]
        asked_fast = [r.body for r in fast.completions() if r.body]
        assert asked_heavy and asked_fast
        failed = [r.getMessage().split()[2] for r in caplog.records if "failed:" in r.getMessage()]
        assert failed[:2] == ["big", "quick"]
        assert "alpha" not in caplog.text and "βeta" not in caplog.text  # no content in the log
        assert asked_heavy[0]["messages"][0]["content"].startswith("SUMMARY-OVERRIDE 400\n")
        # Page titles are not asked for under summarize (the index is the summary's); with paginate they are.
        assert not any("TITLES-OVERRIDE" in b["messages"][0]["content"] for b in asked_fast + asked_heavy)


async def test_page_titles_are_asked_with_the_stored_prompt_and_fall_back_to_numbers(
    sqlite_store: Store,
) -> None:
    with serve_standin(StandIn(content='{"titles": ["Intro", "   ", "x"]}')) as answering:
        token = fill(sqlite_store)
        llm = providers(("quick", answering.url, "fast"))
        config = replace(FAST, llm=LlmSettings(providers=llm), content=ContentConfig(llm_timeout_seconds=10))
        with serve_gateway(sqlite_store, config) as gateway:
            async with mcp_session(gateway.url("docs"), token) as session:
                result = await session.call_tool(TOOL, {"chars": 200_000, "seed": 1})
        structured = result.structured_content
        assert structured is not None
        count = structured["pages"]
        # Padded or cut to the page count: blank titles and missing ones are numbers.
        assert structured["titles"] == ["Intro", "Page 2", "x", *(f"Page {n}" for n in range(4, count + 1))]
        assert "1. Intro (" in text_of(result)
        (asked,) = [r.body for r in answering.completions() if r.body]
        prompt = asked["messages"][0]["content"]
        assert prompt.startswith(f"TITLES-OVERRIDE {count}\n1. ")
        assert len(prompt) < 400 * count  # excerpts of the pages, not the pages


@pytest.mark.vllm
@pytest.mark.timeout(1200)
async def test_the_real_vllm_summarizes_and_titles(sqlite_store: Store, vllm: VllmServer) -> None:
    # The CPU model takes its time over a summary: the provider's own budget, not the default 30 s.
    provider = {
        "name": "vllm",
        "url": vllm.url,
        "model": vllm.model,
        "dialect": "vllm",
        "timeoutSeconds": 300,
    }
    config_doc = {"providers": [provider]}
    llm = LlmProviders.from_config(LlmConfig.model_validate(config_doc), environ={})
    token = fill(sqlite_store, proxyModel="brief")
    config = replace(
        FAST,
        llm=LlmSettings(providers=llm),
        content=ContentConfig(llm_timeout_seconds=120, summary_timeout_seconds=300),
    )
    try:
        with serve_gateway(sqlite_store, config) as gateway:
            async with mcp_session(gateway.url("docs"), token, http_timeout=400) as session:
                result = await session.call_tool(TOOL, {"chars": 6000, "seed": 1})
    finally:
        await llm.aclose()
    structured = result.structured_content
    assert structured is not None
    assert "Summary (vllm)" in text_of(result), text_of(result)[:300]
    assert 0 < len(structured["summary"]) <= 400
