"""`mcpctl test mcp URL`: connect to an MCP endpoint as a client and check it works (exit 0/1/2).

Exit 1: the endpoint was unreachable or refused the token; exit 2: it answered but broke the contract.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import anyio
import click

from mcpctl.errors import UsageError

from ._main import cli
from ._options import token_option

EXIT_TRANSPORT = 1
EXIT_CONTRACT = 2
T = TypeVar("T")


@dataclass
class Step:
    """One check and how it went."""

    name: str
    ok: bool
    ms: float
    detail: str


@dataclass
class Report:
    """Every step of a check run and the exit code it adds up to."""

    url: str
    steps: list[Step] = field(default_factory=list)
    exit_code: int = 0
    tools: list[dict[str, str]] = field(default_factory=list)
    """Name and description of every tool `tools/list` returned."""

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.exit_code == 0,
            "exitCode": self.exit_code,
            "steps": [asdict(step) for step in self.steps],
            "tools": self.tools,
        }


class _Failed(Exception):
    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


HTTP_REASONS = {
    401: "unauthorized (missing, unknown, revoked or expired token)",
    403: "forbidden (the token is not valid for this project)",
    404: "not found (no such endpoint or project)",
    405: "method not allowed (a legacy SSE endpoint? this check speaks Streamable HTTP, as at .../mcp)",
}


def _http_reason(status: int, token: str | None = None) -> str:
    reason = f"HTTP {status}: {HTTP_REASONS.get(status, 'HTTP error')}"
    if status == 401 and not token:
        reason += "; no token was given: set MCPCTL_TOKEN (or pass --token)"
    return reason


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _describe(error: BaseException, token: str | None = None) -> tuple[str, int]:
    """A one-line reason for a failure and whether it is a transport (1) or contract (2) failure."""
    from mcp.shared.exceptions import MCPError

    leaves = _leaves(error)
    for leaf in leaves:
        response = getattr(leaf, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return _http_reason(status, token), EXIT_TRANSPORT
        if isinstance(leaf, MCPError):
            return f"JSON-RPC error {leaf.code}: {leaf.message}", EXIT_CONTRACT
        if isinstance(leaf, TimeoutError):
            return "timed out", EXIT_TRANSPORT
    leaf = leaves[0]
    text = str(leaf).splitlines()[0] if str(leaf) else ""
    return f"{type(leaf).__name__}: {text}".rstrip(": "), EXIT_TRANSPORT


async def check_endpoint(
    url: str,
    *,
    token: str | None,
    tool: str | None,
    arguments: dict[str, Any] | None,
    expect_tools: list[str],
    timeout: float,
) -> Report:
    """Initialize a session at `url`, list tools, check expected ones, optionally call one tool."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    report = Report(url)
    http_failures: list[int] = []

    async def record_status(response: httpx2.Response) -> None:
        # The SDK turns an HTTP error into a JSON-RPC error; the status tells auth failures apart.
        # Only requests (POST): a server may refuse the optional GET stream with 405, which is fine.
        if response.status_code >= 400 and response.request.method == "POST":
            http_failures.append(response.status_code)

    async def step(name: str, action: Callable[[], Awaitable[T]], describe: Callable[[T], str]) -> T:
        started = time.perf_counter()
        http_failures.clear()
        try:
            with anyio.fail_after(timeout):
                value = await action()
        except Exception as error:
            detail, code = _describe(error)
            if http_failures:
                # Whatever JSON-RPC error the SDK made of it, an HTTP error status is a transport failure.
                detail, code = _http_reason(http_failures[-1], token), EXIT_TRANSPORT
            report.steps.append(Step(name, False, _ms(started), detail))
            raise _Failed(code) from None
        report.steps.append(Step(name, True, _ms(started), describe(value)))
        return value

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with (
            httpx2.AsyncClient(
                headers=headers, timeout=timeout, event_hooks={"response": [record_status]}
            ) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await step(
                "initialize",
                session.initialize,
                lambda r: (
                    f"server {r.server_info.name} {r.server_info.version or ''}".rstrip()
                    + f", protocol {r.protocol_version}"
                ),
            )
            listed = await step("tools/list", session.list_tools, lambda r: f"{len(r.tools)} tool(s)")
            report.tools = [{"name": t.name, "description": t.description or ""} for t in listed.tools]
            names = {t.name for t in listed.tools}
            if expect_tools:
                missing = [name for name in expect_tools if name not in names]
                report.steps.append(
                    Step(
                        "expect-tools",
                        not missing,
                        0.0,
                        f"missing: {', '.join(missing)}" if missing else "all present",
                    )
                )
                if missing:
                    raise _Failed(EXIT_CONTRACT)
            if tool is not None:
                result = await step(
                    f"tools/call {tool}", lambda: session.call_tool(tool, arguments or {}), _result_text
                )
                if result.is_error:
                    report.steps[-1].ok = False
                    raise _Failed(EXIT_CONTRACT)
    except Exception as error:
        failed = [leaf for leaf in _leaves(error) if isinstance(leaf, _Failed)]
        if failed:
            report.exit_code = failed[0].exit_code
        elif all(s.ok for s in report.steps):  # the transport failed outside a step (connect)
            detail, code = _describe(error, token)
            report.steps.append(Step("connect", False, 0.0, detail))
            report.exit_code = code
    return report


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _result_text(result: Any) -> str:
    texts = [getattr(c, "text", f"<{getattr(c, 'type', 'content')}>") for c in result.content]
    text = " ".join(texts).replace("\n", " ")
    prefix = "tool error: " if result.is_error else ""
    return prefix + (text[:200] + "..." if len(text) > 200 else text)


@cli.group("test")
def test_group() -> None:
    """Check that things work from the outside."""


@test_group.command("mcp")
@click.argument("url")
@token_option
@click.option("--tool", default=None, help="Call this tool after listing tools.")
@click.option("--args", "args_json", default=None, metavar="JSON", help="Arguments of --tool, a JSON object.")
@click.option(
    "--expect-tools", default=None, metavar="A,B", help="Fail (exit 2) unless these tools are listed."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds allowed per step.",
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def test_mcp(
    url: str,
    token: str | None,
    tool: str | None,
    args_json: str | None,
    expect_tools: str | None,
    timeout: float,
    output: str,
) -> None:
    """Connect to the MCP endpoint URL, initialize, list tools and optionally call one.

    Exit 0 when every check passes, 1 on a transport or auth failure, 2 on a contract failure.
    """
    arguments: dict[str, Any] | None = None
    if args_json is not None:
        if tool is None:
            raise UsageError("--args needs --tool")
        try:
            arguments = json.loads(args_json)
        except json.JSONDecodeError as error:
            raise UsageError(f"--args is not valid JSON: {error}") from None
        if not isinstance(arguments, dict):
            raise UsageError("--args must be a JSON object")
    expected = [name.strip() for name in (expect_tools or "").split(",") if name.strip()]
    report = anyio.run(
        lambda: check_endpoint(
            url, token=token, tool=tool, arguments=arguments, expect_tools=expected, timeout=timeout
        )
    )
    if output == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        width = max([24, *(len(s.name) for s in report.steps)])
        for s in report.steps:
            click.echo(f"{'PASS' if s.ok else 'FAIL'}  {s.name:<{width}} {s.ms:>8.1f} ms  {s.detail}")
        click.echo(("OK" if report.exit_code == 0 else f"FAILED (exit {report.exit_code})") + f": {url}")
    if report.exit_code:
        raise SystemExit(report.exit_code)
