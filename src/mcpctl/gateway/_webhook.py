"""The git webhook: `POST /api/v1/reconcile`, signed like GitHub's (HMAC-SHA256), triggers a reconcile now.

GitLab's `X-Gitlab-Token` (the shared secret itself) is accepted too; anything else answers 401.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Router, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from mcpctl.errors import UsageError

WEBHOOK_PATH = "/api/v1/reconcile"
SIGNATURE_HEADER = "X-Hub-Signature-256"
GITLAB_TOKEN_HEADER = "X-Gitlab-Token"
_log = logging.getLogger("mcpctl.webhook")


@dataclass(frozen=True)
class WebhookConfig:
    """The shared secret and what a valid delivery does."""

    secret: str = field(repr=False)
    """The webhook secret configured in the git host (never logged, never shown)."""
    trigger: Callable[[], object]
    """Called once per valid delivery; must return at once (it wakes the reconcile loop)."""

    def __post_init__(self) -> None:
        if not self.secret:
            raise UsageError("the reconcile webhook needs a secret (MCPCTL_WEBHOOK_SECRET)")


def webhook_signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value for `body`: `sha256=` and the hex HMAC-SHA256 under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, signature: str | None) -> bool:
    """True when `signature` is the right `X-Hub-Signature-256` for `body` (constant-time comparison)."""
    if not signature or not signature.startswith("sha256="):
        return False
    return hmac.compare_digest(webhook_signature(secret, body).encode(), signature.strip().encode())


def _authorized(config: WebhookConfig, request: Request[Any, Any, Any], body: bytes) -> bool:
    signature = request.headers.get(SIGNATURE_HEADER)
    if signature is not None:
        return verify_signature(config.secret, body, signature)
    token = request.headers.get(GITLAB_TOKEN_HEADER)
    return token is not None and hmac.compare_digest(token.encode(), config.secret.encode())


def webhook_router(config: WebhookConfig) -> Router:
    """A Litestar router serving `POST /api/v1/reconcile` (mount it with `create_app`'s extra routers)."""

    @post("/", status_code=HTTP_202_ACCEPTED, summary="Trigger a reconcile (git webhook)")
    async def reconcile_webhook(request: Request[Any, Any, Any]) -> dict[str, Any]:
        body = await request.body()
        if not _authorized(config, request, body):
            _log.warning("webhook delivery refused: bad or missing signature")
            raise NotAuthorizedException("bad or missing webhook signature")
        event = request.headers.get("X-GitHub-Event") or request.headers.get("X-Gitlab-Event") or "push"
        if event == "ping":
            return {"triggered": False, "event": event}
        config.trigger()
        _log.info("webhook delivery accepted (%s): reconcile triggered", event)
        return {"triggered": True, "event": event}

    return Router(path=WEBHOOK_PATH, route_handlers=[reconcile_webhook], tags=["reconcile"])


def webhook_app(config: WebhookConfig) -> Litestar:
    """A Litestar app serving only the webhook and `/healthz`, for `mcpctl reconcile --webhook-listen`."""

    @get("/healthz", status_code=HTTP_200_OK, sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[webhook_router(config), healthz], openapi_config=None)
