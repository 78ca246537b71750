"""Per-token rate limits: a token bucket per token, in Redis when several replicas share it, else in process.

The bucket is GCRA (the generic cell rate algorithm): one timestamp per token, the "theoretical arrival
time". A limit of N per minute lets a burst of N through from an idle token, then one request every
60/N s; the refusal says exactly when the next request would pass (`Retry-After`). In Redis the check and
the update are one Lua script using the Redis server's clock, so replicas whose clocks differ still share
one bucket and two replicas can never both take the last request.

Redis down (refused, timing out, or answering an error) never stops the gateway: the limiter falls back
to its in-process buckets, logs that once, and asks Redis again every `retry_seconds`. Failing open to
the per-process limit is deliberate: Redis only holds counters, and an outage of the counters must not
become an outage of every MCP client; each replica still enforces the limit on its own share.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ._config import RateLimitConfig
from ._metrics import GatewayMetrics
from ._principal import Principal

logger = logging.getLogger("mcpctl.gateway.ratelimit")

KEY_PREFIX = "mcpctl:ratelimit:"
"""Redis keys are this plus the token's hash prefix (never its value)."""

_MINUTE_US = 60_000_000
_REDIS_CONNECTIONS = 8
_POOL_WAIT_SECONDS = 5.0

_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat + interval - burst
if now < allow_at then
  return {0, allow_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
"""
"""GCRA in microseconds of the Redis clock: KEYS[1] holds the bucket's theoretical arrival time."""


@dataclass(frozen=True)
class Verdict:
    """The answer for one request."""

    allowed: bool
    retry_after: float = 0.0
    """Seconds until a request of this token would pass (0 when allowed)."""
    shared: bool = False
    """True when Redis decided (the limit holds across replicas), False for the in-process bucket."""

    @property
    def retry_after_header(self) -> str:
        """`Retry-After` in whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


class LocalBuckets:
    """GCRA buckets in this process, at most `max_keys` (the least recently used go first)."""

    def __init__(self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._tat: OrderedDict[str, float] = OrderedDict()
        self._max_keys = max_keys
        self._clock = clock

    def check(self, key: str, per_minute: int) -> Verdict:
        now = self._clock()
        interval = 60.0 / per_minute
        tat = max(self._tat.get(key, now), now)
        allow_at = tat + interval - 60.0
        if now < allow_at:
            return Verdict(False, allow_at - now)
        self._tat[key] = tat + interval
        self._tat.move_to_end(key)
        while len(self._tat) > self._max_keys:
            self._tat.popitem(last=False)
        return Verdict(True)


class RateLimiter:
    """Checks one request of a token against its per-minute limit (Redis when configured and up)."""

    def __init__(self, config: RateLimitConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.local = LocalBuckets(clock=clock)
        self._clock = clock
        self._redis: Any = None
        self._script: Any = None
        self._redis_down_until = 0.0
        self.redis_up: bool | None = None
        """None without Redis; else whether the last Redis check worked."""
        if config.redis_url:
            import redis.asyncio as aioredis

            # A few connections, shared: a burst of requests queues for one instead of opening dozens
            # at once (measured: 50 simultaneous connects timed out on a busy machine). Short socket
            # timeouts: a slow Redis must cost a request a moment, not an outage.
            pool = aioredis.BlockingConnectionPool.from_url(
                config.redis_url,
                max_connections=_REDIS_CONNECTIONS,
                # Waiting for a free connection is this gateway's own queue, not a Redis failure: under
                # load it may take longer than one answer from Redis would.
                timeout=max(config.redis_timeout_seconds, _POOL_WAIT_SECONDS),
                socket_timeout=config.redis_timeout_seconds,
                socket_connect_timeout=config.redis_timeout_seconds,
                retry_on_timeout=False,
                health_check_interval=0,
            )
            self._redis = aioredis.Redis(connection_pool=pool)
            self._script = self._redis.register_script(_GCRA)

    async def start(self) -> None:
        """Connect to Redis now (the first requests then find a connection), saying whether it answers."""
        if self._redis is None:
            return
        try:
            await self._redis.ping()
        except Exception as error:  # not fatal: counted per process until Redis answers
            self._redis_failed(error)
        else:
            self.redis_up = True
            logger.info(
                "rate limits shared through redis (%d per minute per token)", self.config.requests_per_minute
            )

    async def check(self, token_key: str, per_minute: int | None = None) -> Verdict:
        """The verdict for one request of the token whose hash prefix is `token_key`.

        `per_minute` overrides the configured default (a token's own limit); 0 or less means unlimited.
        """
        limit = self.config.requests_per_minute if per_minute is None else per_minute
        if limit <= 0:
            return Verdict(True)
        if self._script is not None and self._clock() >= self._redis_down_until:
            try:
                allowed, wait_us = await self._script(
                    keys=[KEY_PREFIX + token_key], args=[_MINUTE_US / limit, _MINUTE_US]
                )
            except Exception as error:  # any Redis failure: count in process instead (see the module doc)
                self._redis_failed(error)
            else:
                if self.redis_up is False:
                    logger.info("redis is back: rate limits are shared across replicas again")
                self.redis_up = True
                return Verdict(bool(allowed), int(wait_us) / 1_000_000, shared=True)
        return self.local.check(token_key, limit)

    def _redis_failed(self, error: Exception) -> None:
        self._redis_down_until = self._clock() + self.config.redis_retry_seconds
        if self.redis_up is not False:
            reason = str(error).strip().splitlines()
            logger.warning(
                "redis unavailable (%s: %s): rate limits count per process until it answers again "
                "(retried every %s s)",
                type(error).__name__,
                reason[0] if reason else "",
                self.config.redis_retry_seconds,
            )
        self.redis_up = False

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def describe(self) -> dict[str, Any]:
        """State for the readiness probe."""
        return {
            "requestsPerMinute": self.config.requests_per_minute,
            "shared": self._redis is not None,
            "redisUp": self.redis_up,
        }


def rate_check(
    limiter: RateLimiter, metrics: GatewayMetrics
) -> Callable[[str, Principal], Awaitable[tuple[int, str, dict[str, str]] | None]]:
    """The endpoint's per-request check (`mcp_endpoint(limit=...)`): None, or a 429 with `Retry-After`."""

    async def check(project: str, principal: Principal) -> tuple[int, str, dict[str, str]] | None:
        own = principal.requests_per_minute
        limit = limiter.config.requests_per_minute if own is None else own
        verdict = await limiter.check(principal.token_hash_prefix, limit)
        if verdict.allowed:
            return None
        metrics.rate_limited.inc(project=project, counter="shared" if verdict.shared else "local")
        wait = verdict.retry_after_header
        message = (
            f"rate limit exceeded: {principal.label} may make {limit} requests per minute; "
            f"retry after {wait} s"
        )
        return 429, message, {"Retry-After": wait}

    return check
