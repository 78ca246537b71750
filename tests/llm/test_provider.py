"""One OpenAI-compatible provider against the stand-in server: errors, dialects, auth, health caching.

The stand-in is only for what a real vLLM cannot be made to do on demand (garbage, 500s, slow answers);
tests/llm/test_vllm.py runs the same provider against the real vLLM.
"""

from __future__ import annotations

import json
import logging
import time

import anyio
import httpx
import pytest

from mcpctl.errors import (
    InvalidAnswer,
    ModelNotServed,
    NoProviderAvailable,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from mcpctl.llm import HEALTHY_TTL, UNHEALTHY_TTL, OpenAIProvider, ProviderConfig

from .helpers import TOOLS, ask, providers, selection_schema
from .standin import StandIn, serve_standin

pytestmark = pytest.mark.anyio


def doc(standin: StandIn, **fields: object) -> dict[str, object]:
    return {"name": "s", "url": standin.url, "model": standin.model, **fields}


async def only_failure(standin: StandIn, **fields: object) -> Exception:
    llm = providers(doc(standin, **fields))
    try:
        with pytest.raises(NoProviderAvailable) as raised:
            await llm.choose_json(ask("show the git log"), selection_schema(), timeout=5)
    finally:
        await llm.aclose()
    (failure,) = raised.value.failures
    return failure


async def test_a_valid_answer_is_parsed_checked_and_attributed(standin: StandIn) -> None:
    standin.content = json.dumps({"tools": ["git__log"]})
    llm = providers(doc(standin))
    try:
        choice = await llm.choose_json(ask("show the git log"), selection_schema())
    finally:
        await llm.aclose()
    assert choice.value == {"tools": ["git__log"]}
    assert (choice.provider, choice.model) == ("s", standin.model)
    assert 0 < choice.seconds < 5 and [a.error for a in choice.attempts] == [None]
    sent = standin.completions()[0].body
    assert sent is not None and sent["model"] == standin.model and sent["temperature"] == 0.0
    assert sent["messages"][1]["content"].startswith("Task: show the git log")


@pytest.mark.parametrize(
    ("owned_by", "dialect", "key"),
    [
        ("vllm", "auto", "structured_outputs"),
        ("someone", "auto", "response_format"),
        ("someone", "vllm", "structured_outputs"),
        ("vllm", "openai", "response_format"),
    ],
)
async def test_the_constraint_is_sent_in_the_servers_dialect(
    standin: StandIn, owned_by: str, dialect: str, key: str
) -> None:
    standin.owned_by = owned_by
    standin.content = '{"tools": ["time__now"]}'
    llm = providers(doc(standin, dialect=dialect))
    try:
        await llm.choose_json(ask("what time is it"), selection_schema())
    finally:
        await llm.aclose()
    body = standin.completions()[0].body
    assert body is not None
    other = {"structured_outputs", "response_format"} - {key}
    assert key in body and not other & set(body)
    schema = (
        body["structured_outputs"]["json"]
        if key == "structured_outputs"
        else body[key]["json_schema"]["schema"]
    )
    assert schema["properties"]["tools"]["items"]["enum"] == TOOLS
    models_asked = [r for r in standin.requests if r.path == "/v1/models"]
    assert len(models_asked) == (1 if dialect == "auto" else 0)  # detection only when not told


@pytest.mark.parametrize(
    ("setup", "error", "message"),
    [
        ({"body": b"<html>oops</html>"}, InvalidAnswer, "s: the answer is not an OpenAI chat completion"),
        ({"content": "I think git__log"}, InvalidAnswer, "s: the answer is not valid JSON"),
        (
            {"content": '{"tools": ["git__lo', "finish_reason": "length"},
            InvalidAnswer,
            "s: the answer is not valid JSON (cut off at max_tokens)",
        ),
        (
            {"content": '{"tools": ["rm_rf"]}'},
            InvalidAnswer,
            "s: the answer does not match the schema at $.tools[0] (enum)",
        ),
        (
            {"content": '{"tools": []}'},
            InvalidAnswer,
            "s: the answer does not match the schema at $.tools (minItems)",
        ),
        ({"status": 500, "body": b'{"error": {"message": "boom"}}'}, ProviderUnavailable, "s: HTTP 500"),
        ({"status": 503, "body": b"busy"}, ProviderUnavailable, "s: HTTP 503: server error or overloaded"),
        (
            {"status": 401, "body": b"{}"},
            ProviderRejected,
            "s: HTTP 401: the API key was refused or is missing",
        ),
        (
            {
                "status": 404,
                "body": b'{"error": {"message": "The model `x` does not exist.", "type": "NotFoundError"}}',
            },
            ModelNotServed,
            "s: does not serve model 'standin-model' (HTTP 404)",
        ),
        (
            {
                "status": 400,
                "body": b'{"error": {"message": "input: Task: show the git log", "type": "BadRequestError"}}',
            },
            ProviderRejected,
            "s: HTTP 400 (BadRequestError): the request was refused",  # it echoes the prompt: not repeated
        ),
        (
            {
                "status": 400,
                "body": b'{"error": {"message": "max_tokens is too large", "type": "BadRequestError"}}',
            },
            ProviderRejected,
            "s: HTTP 400 (BadRequestError): the request was refused: max_tokens is too large",
        ),
        ({"body": b"x" * (1024 * 1024 + 10)}, InvalidAnswer, "s: answer is larger than 1024 KiB"),
    ],
)
async def test_bad_answers_are_typed_errors(
    standin: StandIn, setup: dict[str, object], error: type[Exception], message: str
) -> None:
    for field, value in setup.items():
        setattr(standin, field, value)
    failure = await only_failure(standin, dialect="vllm")
    assert type(failure) is error
    assert str(failure).startswith(message), str(failure)
    assert "show the git log" not in str(failure)


async def test_a_slow_answer_times_out_within_the_budget(standin: StandIn) -> None:
    standin.delay = 5.0
    llm = providers(doc(standin, dialect="vllm"))
    started = time.monotonic()
    try:
        with pytest.raises(NoProviderAvailable) as raised:
            await llm.choose_json(ask("slow"), selection_schema(), timeout=0.5)
    finally:
        await llm.aclose()
    assert time.monotonic() - started < 1.5
    (failure,) = raised.value.failures
    assert isinstance(failure, ProviderTimeout) and str(failure) == "s: no answer within 0.5s"


async def test_the_providers_own_timeout_caps_each_call(standin: StandIn) -> None:
    standin.delay = 5.0
    llm = providers(doc(standin, dialect="vllm", timeoutSeconds=0.3))
    started = time.monotonic()
    try:
        with pytest.raises(NoProviderAvailable):
            await llm.complete(ask("slow"), timeout=30)
    finally:
        await llm.aclose()
    assert time.monotonic() - started < 1.3


async def test_an_unreachable_server_is_unavailable() -> None:
    with serve_standin() as gone:
        url = gone.url
    llm = providers({"name": "s", "url": url, "model": "m", "dialect": "vllm"})
    try:
        with pytest.raises(NoProviderAvailable) as raised:
            await llm.complete(ask("anything"))
        health = (await llm.health(refresh=True))[0]
    finally:
        await llm.aclose()
    (failure,) = raised.value.failures
    assert isinstance(failure, ProviderUnavailable) and f"cannot reach {url}: ConnectError" in str(failure)
    assert health.state == "down" and health.detail.startswith(f"cannot reach {url}")


async def test_the_api_key_comes_from_its_env_var_and_is_never_logged(
    standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    standin.content = '{"tools": ["git__status"]}'
    llm = providers(doc(standin, apiKey={"fromEnv": "STANDIN_KEY"}), environ={"STANDIN_KEY": "sk-test-7f3a"})
    secret_task = "PROMPT-SENTINEL-91 deploy the thing"
    try:
        await llm.choose_json(ask(secret_task), selection_schema())
        standin.status, standin.body = 500, b'{"error": {"message": "PROMPT-SENTINEL-91"}}'
        with pytest.raises(NoProviderAvailable) as raised:
            await llm.choose_json(ask(secret_task), selection_schema())
    finally:
        await llm.aclose()
    assert {r.headers.get("Authorization") for r in standin.requests} == {"Bearer sk-test-7f3a"}
    logged = caplog.text + str(raised.value)
    assert "sk-test-7f3a" not in logged and "PROMPT-SENTINEL-91" not in logged
    assert "llm provider s failed: s: HTTP 500" in caplog.text


async def test_health_is_cached_60s_when_ready_and_10s_when_down(standin: StandIn) -> None:
    now = [1000.0]
    async with httpx.AsyncClient() as client:
        provider = OpenAIProvider(
            ProviderConfig(name="s", url=standin.url, model=standin.model), client, clock=lambda: now[0]
        )
        first = await provider.health()
        assert first.ok and first.dialect == "openai" and first.models == (standin.model,)
        assert first.seconds is not None and first.seconds < 1
        now[0] += HEALTHY_TTL - 1
        assert await provider.health() is first
        now[0] += 2
        standin.models_status = 500
        down = await provider.health()
        assert down.state == "down" and down.detail.startswith("HTTP 500")
        standin.models_status = 200
        now[0] += UNHEALTHY_TTL - 1
        assert await provider.health() is down
        now[0] += 2
        assert (await provider.health()).ok
    assert len([r for r in standin.requests if r.path == "/v1/models"]) == 3


async def test_health_says_when_the_model_is_not_served(standin: StandIn) -> None:
    llm = providers({"name": "s", "url": standin.url, "model": "other-model"})
    try:
        (health,) = await llm.health()
    finally:
        await llm.aclose()
    assert health.state == "down"
    assert health.detail == f"does not serve model 'other-model' (serves: {standin.model})"


async def test_concurrent_calls_share_one_client(standin: StandIn) -> None:
    standin.content, standin.delay = '{"tools": ["time__now"]}', 0.5
    llm = providers(doc(standin, dialect="vllm"))
    results: list[object] = []

    async def one() -> None:
        results.append((await llm.choose_json(ask("time"), selection_schema(), timeout=5)).value)

    started = time.monotonic()
    try:
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one)
    finally:
        await llm.aclose()
    assert results == [{"tools": ["time__now"]}] * 8
    assert time.monotonic() - started < 3.0  # in parallel, not 8 x 0.5 s in a row
