"""The LLM layer on a real vLLM: managed start-up, constrained choice and text latency, giving up on stop.

Starts the managed vLLM that `make vllm` prepares (or uses a running server with --url/--model), then prints
the seconds to ready, the warm-up answer, p50/p99 of constrained tool-selection answers over 40 tool names,
p50 of a short text answer, and how long a call takes to give up once the server is stopped.
Usage: python benchmarks/llm_bench.py [--calls 20] [--compile] [--url http://127.0.0.1:8000/v1 --model M]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _net import free_port

from mcpctl.errors import NoProviderAvailable
from mcpctl.llm import LlmConfig, LlmProviders, Message

TOOLS = [
    f"{server}__{tool}"
    for server, tools in {
        "git": ["status", "log", "diff", "commit", "branch", "checkout"],
        "github": ["create_issue", "list_issues", "create_pr", "review_pr", "merge_pr"],
        "files": ["read", "write", "list", "search", "move", "delete"],
        "time": ["now", "convert", "timezones"],
        "fetch": ["get", "post", "head"],
        "postgres": ["query", "describe_table", "list_tables"],
        "slack": ["post_message", "search_messages", "list_channels"],
        "jira": ["create_ticket", "search", "transition"],
        "k8s": ["get_pods", "logs", "describe", "apply", "rollout_status"],
        "docs": ["search", "read_page", "summarize"],
    }.items()
    for tool in tools
]
TASKS = [
    "show me what changed since the last commit",
    "open a pull request for my branch and ask for review",
    "what time is it in Tokyo",
    "find the rows of the orders table created today",
    "tell the team on slack that the deploy is done",
    "why is the api pod restarting",
    "read the onboarding page of the docs",
    "move the old reports into the archive folder",
]


def schema(most: int = 8) -> dict[str, Any]:
    items = {"type": "string", "enum": TOOLS}
    return {
        "type": "object",
        "properties": {"tools": {"type": "array", "items": items, "minItems": 1, "maxItems": most}},
        "required": ["tools"],
        "additionalProperties": False,
    }


def messages(task: str) -> list[Message]:
    return [
        {"role": "system", "content": "Choose the tools the task needs. Answer JSON."},
        {"role": "user", "content": f"Task: {task}\nTools: {', '.join(TOOLS)}"},
    ]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(llm: LlmProviders, calls: int) -> None:
    choices: list[float] = []
    for index in range(calls):
        choice = await llm.choose_json(messages(TASKS[index % len(TASKS)]), schema(), timeout=60)
        assert set(choice.value["tools"]) <= set(TOOLS)
        choices.append(choice.seconds)
    print(
        f"constrained choice ({len(TOOLS)} tools as an enum, {calls} calls): "
        f"p50 {quantile(choices, 0.5):.2f}s  p99 {quantile(choices, 0.99):.2f}s  "
        f"mean {statistics.mean(choices):.2f}s"
    )
    texts = []
    for task in TASKS[:5]:
        completion = await llm.complete(
            [{"role": "user", "content": f"A short title for: {task}"}], max_tokens=16, timeout=60
        )
        texts.append(completion.seconds)
    print(f"text answer (16 tokens, 5 calls): p50 {quantile(texts, 0.5):.2f}s")


async def managed(calls: int, compile_model: bool) -> None:
    with tempfile.TemporaryDirectory() as work:
        config = LlmConfig.model_validate(
            {
                "providers": [
                    {
                        "name": "vllm",
                        "model": "smollm2",
                        "managed": {
                            "port": free_port(),
                            "dtype": "bfloat16",
                            "logFile": str(Path(work) / "vllm.log"),
                            "env": {"VLLM_CPU_KVCACHE_SPACE": "1"},
                            "extraArgs": [] if compile_model else ["--enforce-eager"],
                        },
                    }
                ]
            }
        )
        async with LlmProviders.from_config(config) as llm:
            process = llm.get("vllm").process
            assert process is not None
            await llm.wait_ready(1800)
            if process.state != "ready":
                raise SystemExit(f"vLLM did not start: {process.detail()}")
            print(
                f"managed vLLM ready after {process.ready_seconds:.1f}s; "
                f"warm-up answer {process.warm_seconds:.2f}s"
            )
            await measure(llm, calls)
            await process.stop()
            started = time.monotonic()
            try:
                await llm.choose_json(messages(TASKS[0]), schema(), timeout=2)
            except NoProviderAvailable as error:
                print(f"after stop: gave up in {time.monotonic() - started:.3f}s ({error.detail})")


async def remote(url: str, model: str, calls: int) -> None:
    config = LlmConfig.model_validate({"providers": [{"name": "vllm", "url": url, "model": model}]})
    async with LlmProviders.from_config(config) as llm:
        await measure(llm, calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--url", help="a running OpenAI-compatible server (default: start the managed vLLM)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--compile", action="store_true", help="let vLLM compile the model (default: eager)")
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}; figures from a shared machine are noisy")
    if options.url:
        anyio.run(remote, options.url, options.model, options.calls)
    else:
        anyio.run(managed, options.calls, options.compile)


if __name__ == "__main__":
    main()
