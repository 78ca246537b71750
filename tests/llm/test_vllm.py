"""The LLM layer against the real vLLM (CPU, SmolLM2-135M): constrained JSON, health, faults, fallback.

One server serves the whole session (tests/conftest.py `vllm`). The model is tiny, so the tests check
the pipeline -- valid constrained JSON, only offered names, fallback -- never the model's judgement.
The tests that stop the server come last in this file.
"""

from __future__ import annotations

import logging
import time

import anyio
import anyio.to_thread
import httpx
import pytest

from mcpctl.errors import ModelNotServed, NoProviderAvailable, ProviderRejected, ProviderUnavailable

from .helpers import TOOLS, ask, providers, selection_schema
from .standin import StandIn, serve_standin
from .vllm_harness import VllmServer

pytestmark = [pytest.mark.vllm, pytest.mark.anyio, pytest.mark.timeout(1200)]

TASKS = [
    "show me the last five commits of the repository",
    "what time is it in Tokyo right now",
    "download the page at https://example.com and read it",
    "write the release notes into NOTES.md",
    "is my working tree clean? then read the README",
]


def real(vllm: VllmServer, name: str = "vllm", **fields: object) -> dict[str, object]:
    return {"name": name, "url": vllm.url, "model": vllm.model, **fields}


async def test_health_says_starting_before_ready_then_ready(vllm: VllmServer) -> None:
    assert vllm.early_health.state == "starting", vllm.early_health
    assert vllm.early_health.detail.startswith("vLLM is loading (")
    assert vllm.early_probe == "ConnectError"  # nothing listened yet: health did not guess
    assert vllm.process.ready_seconds is not None and vllm.process.ready_seconds > 5
    (health,) = await anyio.to_thread.run_sync(lambda: vllm.portal.call(vllm.providers.health))
    assert health.state == "ready" and health.dialect == "vllm"
    print(
        f"\nvLLM ready {vllm.process.ready_seconds:.1f}s after start; "
        f"warm-up answer {vllm.process.warm_seconds:.2f}s (loaded machine)"
    )


async def test_models_lists_the_served_model_and_health_detects_vllm(vllm: VllmServer) -> None:
    async with httpx.AsyncClient() as client:
        listing = (await client.get(f"{vllm.url}/models")).json()
    (entry,) = listing["data"]
    assert (entry["id"], entry["owned_by"], entry["max_model_len"]) == ("smollm2", "vllm", 2048)
    llm = providers(real(vllm))
    try:
        first = await llm.health()
        cached = await llm.health()
    finally:
        await llm.aclose()
    assert first[0].ok and first[0].dialect == "vllm" and first[0].models == ("smollm2",)
    assert cached[0] is first[0]  # reused for 60 s
    assert first[0].seconds is not None and first[0].seconds < 2


@pytest.mark.parametrize("dialect", ["auto", "openai"])
async def test_constrained_json_only_names_offered_tools(vllm: VllmServer, dialect: str) -> None:
    llm = providers(real(vllm, dialect=dialect))
    latencies = []
    try:
        for task in TASKS:
            choice = await llm.choose_json(ask(task), selection_schema(most=3), timeout=30)
            tools = choice.value["tools"]
            assert 1 <= len(tools) <= 3 and set(tools) <= set(TOOLS), tools
            assert (choice.provider, choice.model) == ("vllm", "smollm2")
            latencies.append(choice.seconds)
    finally:
        await llm.aclose()
    latencies.sort()
    print(
        f"\nconstrained answers ({dialect}): median {latencies[len(latencies) // 2]:.2f}s, "
        f"max {latencies[-1]:.2f}s over {len(latencies)} (loaded machine)"
    )


async def test_a_schema_keyword_vllm_does_not_implement_is_a_clear_error(vllm: VllmServer) -> None:
    schema = selection_schema()
    schema["properties"]["tools"]["uniqueItems"] = True
    llm = providers(real(vllm))
    try:
        with pytest.raises(NoProviderAvailable) as raised:
            await llm.choose_json(ask(TASKS[0]), schema, timeout=30)
    finally:
        await llm.aclose()
    (failure,) = raised.value.failures
    assert isinstance(failure, ProviderRejected) and failure.status_code == 400
    assert str(failure) == (
        "vllm: HTTP 400 (BadRequestError): the request was refused: "
        'Grammar error: Unimplemented keys: ["uniqueItems"]'
    )


async def test_a_plain_completion_answers_from_the_fast_tier_when_no_heavy_one_exists(
    vllm: VllmServer,
) -> None:
    llm = providers(real(vllm))
    try:
        completion = await llm.complete(
            [{"role": "user", "content": "Give a title for a page about git commits."}], max_tokens=16
        )
    finally:
        await llm.aclose()
    assert completion.text.strip() and completion.provider == "vllm"
    assert completion.attempts[-1].error is None


async def test_an_unserved_model_is_a_clear_error_then_the_next_provider_answers(vllm: VllmServer) -> None:
    llm = providers(real(vllm, "wrong", model="gpt-4o", dialect="vllm"), real(vllm, "right"))
    try:
        choice = await llm.choose_json(ask(TASKS[0]), selection_schema(), timeout=30)
        (wrong_health, _) = await llm.health()
        after_health = await llm.choose_json(ask(TASKS[0]), selection_schema(), timeout=30)
    finally:
        await llm.aclose()
    error = choice.attempts[0].error
    assert isinstance(error, ModelNotServed)
    assert str(error) == "wrong: does not serve model 'gpt-4o' (HTTP 404)"
    assert choice.provider == "right" and set(choice.value["tools"]) <= set(TOOLS)
    assert wrong_health.state == "down"
    assert wrong_health.detail == "does not serve model 'gpt-4o' (serves: smollm2)"
    # Once health has said so, the chain skips it without asking.
    skipped = after_health.attempts[0]
    assert str(skipped.error) == "wrong: skipped: does not serve model 'gpt-4o' (serves: smollm2)"
    assert skipped.seconds == 0.0 and after_health.provider == "right"


async def test_a_projects_model_override_reaches_vllm(vllm: VllmServer) -> None:
    llm = providers(real(vllm))
    try:
        with pytest.raises(NoProviderAvailable) as raised:
            await llm.choose_json(ask(TASKS[1]), selection_schema(), model="no-such-model", timeout=30)
    finally:
        await llm.aclose()
    (failure,) = raised.value.failures
    assert isinstance(failure, ModelNotServed) and "'no-such-model'" in str(failure)


async def test_prompts_reach_neither_our_logs_nor_vllms(
    vllm: VllmServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    llm = providers(real(vllm))
    try:
        await llm.choose_json(ask("PROMPT-SENTINEL-4711 list commits"), selection_schema(), timeout=30)
    finally:
        await llm.aclose()
    assert "PROMPT-SENTINEL-4711" not in caplog.text
    assert "PROMPT-SENTINEL-4711" not in vllm.log_path.read_text(errors="replace")


async def test_vllm_stopped_mid_use_falls_back_within_the_timeout(vllm: VllmServer) -> None:
    with serve_standin(StandIn(content='{"tools": ["time__now"]}')) as standin:
        llm = providers(
            real(vllm, dialect="vllm"), {"name": "spare", "url": standin.url, "model": standin.model}
        )
        assert len(vllm.process.processes()) >= 2  # the API server and the engine processes it forks
        try:
            warm = await llm.choose_json(ask(TASKS[0]), selection_schema(), timeout=30)
            assert warm.provider == "vllm"
            async with anyio.create_task_group() as group:
                # A long text answer is in flight when the server goes away.
                outcome: dict[str, object] = {}

                async def long_answer() -> None:
                    started = time.monotonic()
                    outcome["answer"] = await llm.complete(
                        [{"role": "user", "content": "Write a long story about git."}],
                        max_tokens=1500,
                        timeout=30,
                    )
                    outcome["seconds"] = time.monotonic() - started

                group.start_soon(long_answer)
                await anyio.sleep(1.0)
                await anyio.to_thread.run_sync(lambda: vllm.portal.call(vllm.process.stop))
            answer = outcome["answer"]
            assert answer.provider == "spare"  # type: ignore[attr-defined]
            assert isinstance(answer.attempts[0].error, ProviderUnavailable)  # type: ignore[attr-defined]
            assert outcome["seconds"] < 30  # type: ignore[operator]
            # vLLM is now known down: the next selection goes straight to the spare.
            started = time.monotonic()
            after = await llm.choose_json(ask(TASKS[1]), selection_schema(), timeout=2)
            assert after.provider == "spare" and time.monotonic() - started < 0.5
            assert "skipped" in str(after.attempts[0].error)
        finally:
            await llm.aclose()
    assert vllm.process.processes() == []  # no orphans


async def test_a_stopped_vllm_alone_fails_fast_with_a_clear_error(_vllm_server: VllmServer) -> None:
    vllm = _vllm_server  # as the previous test left it (stopped); stopped here when run alone
    await anyio.to_thread.run_sync(lambda: vllm.portal.call(vllm.process.stop))
    llm = providers(real(vllm, dialect="vllm"))
    started = time.monotonic()
    try:
        with pytest.raises(NoProviderAvailable) as raised:
            await llm.choose_json(ask(TASKS[2]), selection_schema(), timeout=2)
        (health,) = await llm.health()
    finally:
        await llm.aclose()
    assert time.monotonic() - started < 2
    assert "cannot reach" in str(raised.value) and health.state == "down"
