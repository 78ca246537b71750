"""The provider set: fallback order across providers and tiers, one time budget, skipping known-down ones."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mcpctl.errors import (
    LlmError,
    ModelNotServed,
    NoProviderAvailable,
    ProviderTimeout,
    ProviderUnavailable,
    UnknownProvider,
)
from mcpctl.llm import LlmProviders

from .helpers import ask, providers, selection_schema
from .standin import StandIn, serve_standin

pytestmark = pytest.mark.anyio


@pytest.fixture
def pair() -> Iterator[tuple[StandIn, StandIn]]:
    """Two stand-in servers: `first` and `second`."""
    with serve_standin(StandIn(model="one")) as first, serve_standin(StandIn(model="two")) as second:
        yield first, second


def test_the_chain_is_named_then_tier_in_order_then_other_tier() -> None:
    llm = providers(
        {"name": "f1", "url": "http://f1/v1", "model": "m"},
        {"name": "h1", "url": "http://h1/v1", "model": "m", "tier": "heavy"},
        {"name": "f2", "url": "http://f2/v1", "model": "m"},
        {"name": "h2", "url": "http://h2/v1", "model": "m", "tier": "heavy"},
    )
    names = lambda chain: [p.name for p in chain]  # noqa: E731
    assert names(llm.chain("fast")) == ["f1", "f2", "h1", "h2"]
    assert names(llm.chain("heavy")) == ["h1", "h2", "f1", "f2"]
    assert names(llm.chain("fast", "h2")) == ["h2", "f1", "f2", "h1"]
    assert names(llm.chain("heavy", "f2")) == ["f2", "h1", "h2", "f1"]
    with pytest.raises(UnknownProvider, match=r"no LLM provider named 'nope' \(configured: f1, h1, f2, h2\)"):
        llm.chain("fast", "nope")
    with pytest.raises(ValueError, match="unknown tier"):
        llm.chain("medium")  # type: ignore[arg-type]


async def test_a_failing_provider_falls_back_to_the_next(pair: tuple[StandIn, StandIn]) -> None:
    first, second = pair
    first.status, first.body = 500, b"{}"
    second.content = '{"tools": ["git__log"]}'
    llm = providers(
        {"name": "one", "url": first.url, "model": "one", "dialect": "vllm"},
        {"name": "two", "url": second.url, "model": "two", "dialect": "vllm"},
    )
    try:
        choice = await llm.choose_json(ask("git log"), selection_schema())
        again = await llm.choose_json(ask("git log"), selection_schema())
    finally:
        await llm.aclose()
    assert choice.provider == "two" and choice.value == {"tools": ["git__log"]}
    assert [a.provider for a in choice.attempts] == ["one", "two"]
    failed = choice.attempts[0].error
    assert isinstance(failed, ProviderUnavailable) and str(failed).startswith("one: HTTP 500")
    # The failure is remembered for 10 s: the next call skips `one` without asking it.
    assert len(first.completions()) == 1
    skipped = again.attempts[0].error
    assert again.provider == "two" and skipped is not None and "skipped: HTTP 500" in str(skipped)


async def test_an_unserved_model_is_a_clear_error_then_fallback(pair: tuple[StandIn, StandIn]) -> None:
    first, second = pair
    first.status = 404
    first.body = b'{"error": {"message": "The model `gpt-9` does not exist.", "type": "NotFoundError"}}'
    second.content = "a title"
    llm = providers(
        {"name": "one", "url": first.url, "model": "gpt-9", "dialect": "vllm"},
        {"name": "two", "url": second.url, "model": "two", "dialect": "vllm"},
    )
    try:
        completion = await llm.complete(ask("title this"), tier="fast")
        still_tried = await llm.complete(ask("title this"), tier="fast")
    finally:
        await llm.aclose()
    assert (completion.text, completion.provider, completion.model) == ("a title", "two", "two")
    error = completion.attempts[0].error
    assert isinstance(error, ModelNotServed) and str(error) == "one: does not serve model 'gpt-9' (HTTP 404)"
    # A model the server lacks says nothing about the server: it is not marked down.
    assert len(first.completions()) == 2 and still_tried.provider == "two"


async def test_the_model_override_applies_to_the_first_provider_only(pair: tuple[StandIn, StandIn]) -> None:
    first, second = pair
    first.status, first.body = 500, b"{}"
    second.content = "ok"
    llm = providers(
        {"name": "one", "url": first.url, "model": "one", "dialect": "vllm"},
        {"name": "two", "url": second.url, "model": "two", "dialect": "vllm"},
    )
    try:
        completion = await llm.complete(ask("x"), provider="one", model="project-model")
    finally:
        await llm.aclose()
    assert [r.body["model"] for r in first.completions() if r.body] == ["project-model"]
    assert [r.body["model"] for r in second.completions() if r.body] == ["two"]
    assert completion.model == "two"


async def test_complete_prefers_heavy_and_falls_back_to_fast(pair: tuple[StandIn, StandIn]) -> None:
    fast, heavy = pair
    fast.content, heavy.content = "from fast", "from heavy"
    llm = providers(
        {"name": "fast", "url": fast.url, "model": "one", "dialect": "vllm"},
        {"name": "heavy", "url": heavy.url, "model": "two", "tier": "heavy", "dialect": "vllm"},
    )
    try:
        assert (await llm.complete(ask("summarize"))).text == "from heavy"
        heavy.status, heavy.body = 503, b""
        fallen = await llm.complete(ask("summarize"))
    finally:
        await llm.aclose()
    assert (fallen.text, [a.provider for a in fallen.attempts]) == ("from fast", ["heavy", "fast"])


async def test_one_budget_covers_the_whole_chain(pair: tuple[StandIn, StandIn]) -> None:
    first, second = pair
    first.delay = 3.0
    llm = providers(
        {"name": "one", "url": first.url, "model": "one", "dialect": "vllm"},
        {"name": "two", "url": second.url, "model": "two", "dialect": "vllm"},
    )
    started = time.monotonic()
    try:
        with pytest.raises(NoProviderAvailable) as raised:
            await llm.choose_json(ask("x"), selection_schema(), timeout=0.6)
    finally:
        await llm.aclose()
    assert time.monotonic() - started < 1.5
    timed_out, not_tried = raised.value.failures
    assert isinstance(timed_out, ProviderTimeout) and isinstance(not_tried, ProviderTimeout)
    assert str(not_tried) == "two: not tried: the 0.6s budget is spent"
    assert not second.completions()
    assert str(raised.value).startswith("no LLM provider answered: one: no answer within")


async def test_without_providers_every_call_says_none_is_configured() -> None:
    llm = LlmProviders.from_config(None)
    try:
        with pytest.raises(NoProviderAvailable, match="no LLM provider is configured"):
            await llm.choose_json(ask("x"), selection_schema())
        assert await llm.health() == []
        assert not llm
    finally:
        await llm.aclose()


async def test_an_invalid_schema_is_refused_before_any_call(standin: StandIn) -> None:
    llm = providers({"name": "s", "url": standin.url, "model": standin.model})
    try:
        with pytest.raises(LlmError, match="invalid JSON schema"):
            await llm.choose_json(ask("x"), {"type": "no-such-type"})
    finally:
        await llm.aclose()
    assert not standin.requests


async def test_health_checks_every_provider(pair: tuple[StandIn, StandIn]) -> None:
    first, second = pair
    second.models_status = 500
    llm = providers(
        {"name": "one", "url": first.url, "model": "one"},
        {"name": "two", "url": second.url, "model": "two", "tier": "heavy"},
    )
    try:
        health = await llm.health()
    finally:
        await llm.aclose()
    assert [(h.provider, h.state) for h in health] == [("one", "ready"), ("two", "down")]


async def test_a_model_override_is_asked_even_when_health_found_the_configured_model_missing(
    standin: StandIn,
) -> None:
    standin.content = "ok"
    llm = providers({"name": "s", "url": standin.url, "model": "configured-but-missing", "dialect": "vllm"})
    try:
        (health,) = await llm.health()
        assert health.state == "down"
        completion = await llm.complete(ask("x"), provider="s", model=standin.model)
        with pytest.raises(
            NoProviderAvailable, match="skipped: does not serve model 'configured-but-missing'"
        ):
            await llm.complete(ask("x"))
    finally:
        await llm.aclose()
    assert (completion.provider, completion.model, completion.text) == ("s", standin.model, "ok")
