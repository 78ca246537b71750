"""The gate's selector: the LLM's constrained choice, and the matcher whenever the LLM cannot decide.

A stand-in OpenAI server (real HTTP) plays an LLM that is slow, answers garbage or names a tool it was
not offered -- faults a real vLLM cannot be made to produce on demand. The real vLLM path is in
test_gate_vllm.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from gateway.test_matcher import catalog
from llm.standin import StandIn, serve_standin
from mcpctl.gateway import PromptCandidate, Selection, Selector
from mcpctl.gateway._matcher import Ranked, with_neighbours
from mcpctl.gateway._select import selection_schema
from mcpctl.llm import LlmConfig, LlmProviders

pytestmark = pytest.mark.anyio
PROMPTS = [
    PromptCandidate("triage", 8, ("jira",), "How we triage bugs"),
    PromptCandidate("style", 3, (), "House style for messages"),
    PromptCandidate("oncall", 9, ("incident",), "Who to page"),
]


@asynccontextmanager
async def llm_of(standin: StandIn) -> AsyncIterator[LlmProviders]:
    config = {
        "providers": [{"name": "standin", "url": standin.url, "model": standin.model, "dialect": "vllm"}]
    }
    llm = LlmProviders.from_config(LlmConfig.model_validate(config), environ={})
    try:
        yield llm
    finally:
        await llm.aclose()


async def select(selector: Selector, task: str, timeout: float = 2.0, **options: str | None) -> Selection:
    return await selector.select(task, [], catalog(), PROMPTS, max_tools=4, timeout=timeout, **options)


async def test_without_an_llm_the_matcher_decides_and_says_why() -> None:
    selection = await select(Selector(None), "open a jira ticket for the login bug")
    assert selection.chooser == "matcher" and selection.fallback == "no LLM is configured"
    assert selection.tools[0] == "jira__create_ticket" and len(selection.tools) == 4
    assert all(name.startswith("jira__") for name in selection.tools)  # topped up from the same server
    assert selection.prompts == ("triage",)


async def test_the_llms_answer_is_used_deduplicated_with_prompts_by_priority() -> None:
    answer = {
        "tools": ["slack__post_message", "slack__post_message", "slack__read_channel_history"],
        "prompts": ["style", "oncall"],
    }
    with serve_standin(StandIn(content=json.dumps(answer))) as standin:
        async with llm_of(standin) as llm:
            selection = await select(Selector(llm), "tell the channel about the incident")
        (request,) = standin.completions()
    assert selection.chooser == "llm" and selection.provider == "standin"
    assert selection.tools == ("slack__post_message", "slack__read_channel_history")
    assert selection.prompts == ("oncall", "style")  # priority 9 before 3
    body = request.body or {}
    schema = body["structured_outputs"]["json"]
    assert "uniqueItems" not in json.dumps(schema)  # vLLM's grammar refuses it
    offered = schema["properties"]["tools"]["items"]["enum"]
    assert offered == sorted(c.name for c in catalog())  # every candidate, not just those shown
    assert schema["properties"]["tools"]["maxItems"] == 4
    text = body["messages"][0]["content"]
    shown = [line[2:].split(":")[0] for line in text.splitlines() if line.startswith("- ") and "__" in line]
    assert len(shown) == 30 and shown == sorted(shown) and "slack__post_message" in shown
    assert text.endswith("Task: tell the channel about the incident")


async def test_every_task_of_a_project_asks_with_one_schema_and_one_prefix() -> None:
    # vLLM compiles a grammar per distinct schema and caches prompt prefixes: both must not follow the task.
    answer = json.dumps({"tools": ["files__read_file"], "prompts": []})
    few = [c for c in catalog() if c.name.startswith(("files__", "jira__"))]
    with serve_standin(StandIn(content=answer)) as standin:
        async with llm_of(standin) as llm:
            for task in ("read the config file", "open a jira ticket"):
                await Selector(llm).select(task, [], few, PROMPTS, max_tools=4, timeout=2.0)
        first, second = standin.completions()
    bodies = [request.body or {} for request in (first, second)]
    assert bodies[0]["structured_outputs"] == bodies[1]["structured_outputs"]
    texts = [body["messages"][0]["content"] for body in bodies]
    assert texts[0].rsplit("Task: ", 1)[0] == texts[1].rsplit("Task: ", 1)[0]
    assert texts[0] != texts[1]


async def test_a_stored_template_is_what_the_llm_gets() -> None:
    with serve_standin(StandIn(content='{"tools": ["files__read_file"], "prompts": []}')) as standin:
        async with llm_of(standin) as llm:
            await select(Selector(llm), "read it", template="T={{task}} N={{maxTools}} L={{tools}}")
        (request,) = standin.completions()
    text = (request.body or {})["messages"][0]["content"]
    assert text.startswith("T=read it N=4 L=- ") and "files__read_file: " in text


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (StandIn(delay=5.0), "did not answer within 1s"),
        (StandIn(content="not json"), "not valid JSON"),
        (StandIn(content='{"tools": ["evil__rm_rf"], "prompts": []}'), "does not match the schema"),
        (StandIn(content='{"tools": [], "prompts": []}'), "does not match the schema"),
        (StandIn(status=500), "HTTP 500"),
    ],
    ids=["slow", "garbage", "unknown-name", "empty", "server-error"],
)
async def test_the_matcher_decides_within_the_timeout_when_the_llm_fails(fault: StandIn, reason: str) -> None:
    with serve_standin(fault) as standin:
        async with llm_of(standin) as llm:
            started = time.monotonic()
            selection = await select(Selector(llm), "post a message in the ops slack channel", timeout=1.0)
            took = time.monotonic() - started
    assert selection.chooser == "matcher" and reason in (selection.fallback or ""), selection.fallback
    assert "slack__post_message" in selection.tools and "evil__rm_rf" not in selection.tools
    assert took < 1.0 + 0.5


async def test_an_unknown_provider_named_by_the_project_falls_back() -> None:
    with serve_standin(StandIn(content='{"tools": ["files__read_file"]}')) as standin:
        async with llm_of(standin) as llm:
            selection = await select(Selector(llm), "read the file", provider="gpu")
    assert selection.chooser == "matcher" and "no LLM provider named 'gpu'" in (selection.fallback or "")


async def test_no_candidates_selects_nothing_and_nothing_matching_still_unlocks_some() -> None:
    empty = await Selector(None).select("anything", [], [], [], max_tools=4, timeout=1)
    assert empty.tools == () and empty.fallback == "no tools to choose from"
    odd = await select(Selector(None), "zzqx wvvy")
    assert len(odd.tools) == 4 and list(odd.tools) == sorted(odd.tools)


def test_neighbours_top_up_from_the_best_servers_tools_only() -> None:
    tools = catalog()
    ranked = [Ranked("calendar__create_event", 3.0), Ranked("jira__log_work", 1.0)]
    topped = with_neighbours(["calendar__create_event"], ranked, tools, 5)
    assert topped[0] == "calendar__create_event" and len(topped) == 5
    assert all(name.startswith("calendar__") for name in topped)
    assert with_neighbours([], ranked, tools, 5) == []
    assert with_neighbours(["calendar__create_event"], ranked, tools, 1) == ["calendar__create_event"]


def test_the_schema_only_offers_prompts_when_there_are_some() -> None:
    schema = selection_schema(["a__b"], [], 3)
    assert set(schema["properties"]) == {"tools"} and schema["required"] == ["tools"]
    assert selection_schema(["a__b"], ["p"], 3)["required"] == ["tools", "prompts"]
