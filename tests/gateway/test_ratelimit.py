"""Per-token rate limits: the bucket's arithmetic, shared through the real Redis, the fallback when Redis
is down, and the gateway's 429 answer."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import redis

from gateway.gateway_harness import (
    INITIALIZE,
    create_token,
    free_port,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    token_doc,
)
from mcpctl.gateway import RateLimitConfig
from mcpctl.gateway._ratelimit import KEY_PREFIX, LocalBuckets, RateLimiter
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio
REDIS_URL = "redis://127.0.0.1:6379/0"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_url() -> str:
    """The machine's real Redis; skipped when it does not answer."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis at {REDIS_URL} does not answer: {error}")
    return REDIS_URL


@pytest.fixture
def token_key(redis_url: str) -> Iterator[str]:
    """A bucket key no other test uses, deleted afterwards."""
    key = f"test-{secrets.token_hex(6)}"
    yield key
    redis.Redis.from_url(redis_url).delete(KEY_PREFIX + key)


def test_a_bucket_lets_a_burst_through_then_one_request_per_interval() -> None:
    clock = Clock()
    buckets = LocalBuckets(clock=clock)
    verdicts = [buckets.check("t", 60) for _ in range(61)]
    assert all(v.allowed for v in verdicts[:60]) and not verdicts[60].allowed
    assert verdicts[60].retry_after == pytest.approx(1.0) and verdicts[60].retry_after_header == "1"
    assert buckets.check("other", 60).allowed  # buckets are per key
    clock.now += 0.5
    assert not buckets.check("t", 60).allowed
    clock.now += 0.5
    assert buckets.check("t", 60).allowed and not buckets.check("t", 60).allowed
    clock.now += 60
    assert sum(buckets.check("t", 60).allowed for _ in range(100)) == 60


def test_buckets_are_bounded() -> None:
    buckets = LocalBuckets(max_keys=3, clock=Clock())
    for key in "abcde":
        buckets.check(key, 1)
    assert not buckets.check("e", 1).allowed  # the newest is kept
    assert buckets.check("a", 1).allowed  # the oldest went


async def test_two_limiters_on_one_redis_share_the_bucket(token_key: str, redis_url: str) -> None:
    config = RateLimitConfig(requests_per_minute=60, redis_url=redis_url)
    first, second = RateLimiter(config), RateLimiter(config)
    try:
        verdicts = [await (first if n % 2 else second).check(token_key) for n in range(100)]
    finally:
        await first.aclose()
        await second.aclose()
    assert all(v.shared for v in verdicts)
    allowed = sum(v.allowed for v in verdicts)
    assert 60 <= allowed <= 62  # a burst of 60, plus one per second that the loop took
    refused = [v for v in verdicts if not v.allowed]
    assert 0 < refused[0].retry_after <= 1.0
    ttl = redis.Redis.from_url(redis_url).pttl(KEY_PREFIX + token_key)
    assert 0 < ttl <= 61_000  # the bucket expires once it would be full again


async def test_redis_down_counts_in_process_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mcpctl.gateway.ratelimit")
    clock = Clock()
    config = RateLimitConfig(requests_per_minute=5, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    limiter = RateLimiter(config, clock=clock)
    try:
        verdicts = [await limiter.check("t") for _ in range(8)]
        assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 3
        assert not any(v.shared for v in verdicts) and limiter.redis_up is False
        clock.now += config.redis_retry_seconds  # Redis is asked again, still fails: no second warning
        await limiter.check("t")
    finally:
        await limiter.aclose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "rate limits count per process" in warnings[0].getMessage()


def _post(url: str, token: str, body: dict[str, object] = INITIALIZE) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    return httpx.post(url, headers=headers, json=body, timeout=10)


async def test_the_gateway_answers_429_with_retry_after_per_token(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    busy = create_token(sqlite_store, "demo", "busy")
    calm = create_token(sqlite_store, "demo", "calm")
    with serve_gateway(sqlite_store, rate_limit=RateLimitConfig(requests_per_minute=3)) as gateway:
        url = gateway.url("demo")
        assert [_post(url, busy).status_code for _ in range(3)] == [200, 200, 200]
        refused = _post(url, busy)
        assert refused.status_code == 429
        assert 10 <= int(refused.headers["retry-after"]) <= 20  # 20 s per request, less the time the 3 took
        error = refused.json()["error"]
        assert error["code"] == -32000
        assert error["message"] == (
            "rate limit exceeded: token demo/busy may make 3 requests per minute; "
            f"retry after {refused.headers['retry-after']} s"
        )
        assert busy not in refused.text
        assert _post(url, calm).status_code == 200  # another token has its own bucket
        for path in ("/healthz", "/readyz", "/metrics"):  # exempt
            assert all(httpx.get(gateway.base + path).status_code == 200 for _ in range(5))
        metrics = httpx.get(f"{gateway.base}/metrics").text
        assert 'mcpctl_rate_limited_total{project="demo",counter="local"} 1' in metrics


async def test_a_limit_of_zero_is_no_limit(sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "t")
    with serve_gateway(sqlite_store, rate_limit=RateLimitConfig(requests_per_minute=0)) as gateway:
        assert {_post(gateway.url("demo"), token).status_code for _ in range(10)} == {200}


async def test_a_token_may_carry_its_own_limit(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    strict = create_token(sqlite_store, "demo", "strict", rateLimit={"requestsPerMinute": 2})
    free = create_token(sqlite_store, "demo", "free", rateLimit={"requestsPerMinute": 0})
    plain = create_token(sqlite_store, "demo", "plain")
    with serve_gateway(sqlite_store, rate_limit=RateLimitConfig(requests_per_minute=4)) as gateway:
        url = gateway.url("demo")
        assert [_post(url, strict).status_code for _ in range(3)] == [200, 200, 429]
        assert "may make 2 requests per minute" in _post(url, strict).json()["error"]["message"]
        assert {_post(url, free).status_code for _ in range(8)} == {200}
        assert [_post(url, plain).status_code for _ in range(5)] == [200] * 4 + [429]
        # A changed limit applies at the next request: the reload empties the token cache.
        put(sqlite_store, token_doc("demo", "strict", rateLimit={"requestsPerMinute": 100}))
        deadline = time.monotonic() + 5
        while _post(url, strict).status_code != 200:
            assert time.monotonic() < deadline, "the new limit was not applied"
            time.sleep(0.1)
