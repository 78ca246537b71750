"""The result cache's admin API over real HTTP: a token's own project only, `edit` to clear, no content."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from gateway.gateway_harness import (
    FAST,
    create_token,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
)
from mcpctl.gateway import LlmSettings
from mcpctl.llm import LlmProviders
from mcpctl.store import Store

pytestmark = pytest.mark.anyio
BULKY = Path(__file__).parent / "servers" / "bulky.py"
RUN = {"role": "run", "resource": "servers"}


async def test_tokens_see_and_clear_their_own_projects_results_only(sqlite_store: Store) -> None:
    put(
        sqlite_store,
        server_doc("bulky", {"transport": "stdio", "command": sys.executable, "args": [str(BULKY)]}),
        project_doc("docs", ["bulky"]),
        project_doc("other", ["bulky"]),
    )
    user = create_token(sqlite_store, "docs", "user")
    admin = create_token(
        sqlite_store, "docs", "admin", bindings=[RUN, {"role": "edit", "resource": "projects"}]
    )
    blind = create_token(sqlite_store, "docs", "blind", bindings=[RUN])
    outsider = create_token(sqlite_store, "other", "user")
    config = replace(FAST, llm=LlmSettings(providers=LlmProviders.from_config(None)))
    with serve_gateway(sqlite_store, config) as gateway:
        api = f"{gateway.base}/api/v1/cache"

        def get(path: str, token: str, **params: str) -> httpx.Response:
            return httpx.get(api + path, params=params, headers={"Authorization": f"Bearer {token}"})

        async with (
            mcp_session(gateway.url("docs"), user) as docs,
            mcp_session(gateway.url("other"), outsider) as other,
        ):
            marker = "the-secret-content"
            made = await docs.call_tool("bulky__bulky", {"chars": 100_000, "seed": 1})
            assert made.structured_content is not None
            result_id = made.structured_content["_resultId"]
            await other.call_tool("bulky__bulky", {"chars": 100_000, "seed": 2})

            listed = get("/", user)
            assert listed.status_code == 200
            (entry,) = listed.json()["entries"]
            assert entry["id"] == result_id and entry["project"] == "docs"
            assert entry["chars"] == 100_000 and entry["unit"] == "page" and len(entry["session"]) == 8
            assert set(entry) == {
                "id",
                "project",
                "session",
                "kind",
                "unit",
                "parts",
                "chars",
                "bytes",
                "age_seconds",
                "where",
            }
            assert (
                marker not in listed.text and "bulky__bulky" not in listed.text and "alpha" not in listed.text
            )
            assert get("/", user, project="other").status_code == 404
            assert get("/", blind).status_code == 403
            assert get("/", "not-a-token").status_code == 401

            stats = get("/stats", user).json()
            assert stats["project"] == "docs" and stats["entries"] == 1 and stats["bytes"] > 200_000

            headers = {"Authorization": f"Bearer {user}"}
            assert httpx.delete(api + "/", headers=headers).status_code == 403
            cleared = httpx.delete(api + "/", headers={"Authorization": f"Bearer {admin}"})
            assert cleared.status_code == 200 and cleared.json() == {"project": "docs", "cleared": 1}
            assert get("/", user).json()["entries"] == []
            # The other project's result is untouched, and its page still comes.
            assert [e["project"] for e in get("/", outsider).json()["entries"]] == ["other"]
            gone = await docs.call_tool("bulky__bulky", {"_resultId": result_id, "_page": 1})
            assert gone.is_error
