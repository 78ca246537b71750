"""Gated sessions choosing with the real vLLM (CPU, SmolLM2-135M) through the real app and SDK client.

The model is tiny: the tests check the pipeline (a constrained answer naming only real, allowed tools;
fallback to the matcher within the project's timeout when vLLM stops answering), not its judgement.
vLLM is frozen (SIGSTOP) rather than stopped, so the session's shared server needs no restart.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from gateway.gateway_harness import FAST, Recorder, mcp_session, project_doc, put, serve_gateway, wait_until
from gateway.test_gate import gated_store
from mcpctl.gateway import LlmSettings, ToolsSelected
from mcpctl.llm import LlmConfig, LlmProviders
from mcpctl.store import Store

if TYPE_CHECKING:
    from llm.vllm_harness import VllmServer

pytestmark = [pytest.mark.vllm, pytest.mark.anyio, pytest.mark.timeout(1200)]


def ops_project(timeout: float, **spec: Any) -> dict[str, Any]:
    gate = {"maxTools": 4, "timeoutSeconds": timeout}
    return project_doc("ops", ["github", "jira", "slack"], proxyModel="gate", gate=gate, **spec)


def real_llm(vllm: VllmServer) -> LlmProviders:
    # The provider's own budget above the gate's largest timeout: the first constrained answer for a
    # schema includes vLLM compiling its grammar, which takes tens of seconds on a loaded 2-core CPU.
    provider = {
        "name": "vllm",
        "url": vllm.url,
        "model": vllm.model,
        "dialect": "vllm",
        "timeoutSeconds": 120,
    }
    config = {"providers": [provider]}
    return LlmProviders.from_config(LlmConfig.model_validate(config), environ={})


@contextmanager
def frozen(vllm: VllmServer) -> Iterator[None]:
    """vLLM's processes stopped (SIGSTOP): connections are accepted, nothing answers."""
    pids = vllm.process.processes()
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


async def test_begin_session_unlocks_the_llms_constrained_choice_then_falls_back_when_vllm_stops(
    sqlite_store: Store, vllm: VllmServer
) -> None:
    # A generous timeout first: on a 2-core CPU the tiny model's first constrained answer (its grammar
    # compiled for this project's tool names) took over 30 s under load; the gate's largest timeout, then.
    token = gated_store(sqlite_store, timeoutSeconds=60)
    llm = real_llm(vllm)
    recorder = Recorder()
    config = replace(FAST, llm=LlmSettings(providers=llm), event_sinks=[recorder])
    try:
        with serve_gateway(sqlite_store, config) as gateway:
            async with mcp_session(gateway.url("ops"), token, http_timeout=90) as session:
                result = await session.call_tool(
                    "begin_session", {"task": "open a jira ticket for the login bug"}
                )
                chosen: dict[str, Any] = result.structured_content or {}
                (selected,) = recorder.of(ToolsSelected)
                assert chosen["chooser"] == "llm", selected.fallback
                assert selected.provider == "vllm"
                candidates = {t.name for t in (await session.list_tools()).tools} - {
                    "begin_session",
                    "search_tools",
                    "unlock_tools",
                }
                assert candidates == set(chosen["tools"])
                assert 1 <= len(candidates) <= 4
                # Only real tools of the project's servers, never the one its toolFilter hides.
                assert all(name.split("__")[0] in {"github", "jira", "slack"} for name in candidates)
                assert "github__merge_pull_request" not in candidates
                assert set(chosen["prompts"]) <= {"triage", "style"}
                for name in candidates:
                    assert not (await session.call_tool(name, {})).is_error

            # vLLM stops answering mid-use: the next session begins with the matcher within the timeout.
            put(sqlite_store, ops_project(timeout=2))
            await wait_until(
                lambda: gateway.runtime.state.snapshot.projects["ops"].gate.timeout_seconds == 2, 5
            )
            async with mcp_session(gateway.url("ops"), token) as session:
                with frozen(vllm):
                    started = time.monotonic()
                    result = await session.call_tool(
                        "begin_session", {"task": "post a message in the ops slack channel"}
                    )
                    took = time.monotonic() - started
                fallback = result.structured_content or {}
                assert fallback["chooser"] == "matcher" and "slack__post_message" in fallback["tools"]
                assert took < 2 + 1.5, took
                last = recorder.of(ToolsSelected)[-1]
                assert last.chooser == "matcher" and last.fallback and "vllm" in last.fallback
    finally:
        await llm.aclose()


async def test_a_gated_project_naming_an_unserved_model_falls_back_with_a_clear_reason(
    sqlite_store: Store, vllm: VllmServer
) -> None:
    token = gated_store(sqlite_store)
    put(sqlite_store, ops_project(timeout=15, llm={"model": "nope"}))
    llm = real_llm(vllm)
    recorder = Recorder()
    try:
        with serve_gateway(
            sqlite_store, replace(FAST, llm=LlmSettings(providers=llm), event_sinks=[recorder])
        ) as gateway:
            async with mcp_session(gateway.url("ops"), token) as session:
                result = await session.call_tool("begin_session", {"task": "list the open jira tickets"})
                assert (result.structured_content or {})["chooser"] == "matcher"
        await wait_until(lambda: bool(recorder.of(ToolsSelected)), 5)
        fallback = recorder.of(ToolsSelected)[0].fallback or ""
        assert "nope" in fallback, fallback
    finally:
        await llm.aclose()


async def test_a_gateway_started_while_vllm_does_not_answer_uses_it_once_it_does(
    sqlite_store: Store, vllm: VllmServer
) -> None:
    token = gated_store(sqlite_store, timeoutSeconds=2)
    llm = real_llm(vllm)
    recorder = Recorder()
    config = replace(FAST, llm=LlmSettings(providers=llm), event_sinks=[recorder])
    try:
        with frozen(vllm), serve_gateway(sqlite_store, config) as gateway:
            async with mcp_session(gateway.url("ops"), token) as session:
                result = await session.call_tool("begin_session", {"task": "list the open jira tickets"})
            assert (result.structured_content or {})["chooser"] == "matcher"
        # Answering again: once its 10 s "down" mark has passed, the next sessions get the LLM's choice
        # (with time for the tiny model to answer on a loaded machine).
        put(sqlite_store, ops_project(timeout=15))
        with serve_gateway(sqlite_store, config) as gateway:

            async def chosen_by_llm() -> bool:
                async with mcp_session(gateway.url("ops"), token) as session:
                    begun = await session.call_tool("begin_session", {"task": "list the open jira tickets"})
                return (begun.structured_content or {}).get("chooser") == "llm"

            await wait_until(chosen_by_llm, 90)
    finally:
        await llm.aclose()
