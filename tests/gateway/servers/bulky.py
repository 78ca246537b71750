"""An MCP server of large answers for the content pipeline's tests (stdio).

Tool `bulky(chars, seed, blocks, headings)`: `blocks` text blocks of `chars` characters in all, made
from `seed` by `bulky_texts` (unicode, line breaks, Markdown headings when asked) so a test can make the
same text. Tool `records(count, chars, seed)`: a tool with an `outputSchema` (its records behind a
`$ref`), answering `records_of(...)` as structured content and as JSON text. Prompt `manual`: a long
Markdown document (`manual_text`).
"""

from __future__ import annotations

import json
import random
from typing import Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

WORDS = ["alpha", "βeta", "gamma", "δέλτα", "字符", "emoji😀", "naïve", "line", "x"]


def bulky_texts(chars: int, seed: int, blocks: int = 1, headings: bool = False) -> list[str]:
    """`blocks` texts, `chars` characters together (each at least one), the same for the same arguments."""
    rng = random.Random(seed)
    out: list[str] = []
    sizes = [chars // blocks + (1 if i < chars % blocks else 0) for i in range(blocks)]
    for number, size in enumerate(sizes):
        pieces: list[str] = []
        length = 0
        while length < size:
            if headings and rng.random() < 0.01:
                piece = f"\n{'#' * rng.randint(1, 3)} Heading {number}.{length}\n"
            else:
                piece = rng.choice(WORDS) + ("\n" if rng.random() < 0.1 else " ")
            pieces.append(piece)
            length += len(piece)
        out.append("".join(pieces)[:size])
    return out


def manual_text(sections: int = 12, section_chars: int = 3000) -> str:
    """A Markdown manual: a preamble, then `sections` headed sections of about `section_chars` each."""
    rng = random.Random(7)
    parts = ["The manual of the bulky server.\n\n"]
    for index in range(1, sections + 1):
        body = " ".join(rng.choice(WORDS) for _ in range(section_chars // 6))
        parts.append(f"## Chapter {index}\n\n{body}\n\n")
    return "".join(parts)


def records_of(count: int, chars: int, seed: int) -> dict[str, Any]:
    """The `records` tool's structured answer: `count` records of `chars` characters of text in all."""
    texts = bulky_texts(chars, seed, blocks=count)
    return {"count": count, "records": [{"n": n, "text": t} for n, t in enumerate(texts, 1)]}


RECORDS_OUTPUT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "records": {"type": "array", "items": {"$ref": "#/$defs/record"}},
    },
    "required": ["count", "records"],
    "additionalProperties": False,
    "$defs": {
        "record": {
            "type": "object",
            "properties": {"n": {"type": "integer"}, "text": {"type": "string"}},
            "required": ["n", "text"],
        }
    },
}

TOOLS = [
    types.Tool(
        name="bulky",
        description="Answer with a large text.",
        input_schema={
            "type": "object",
            "properties": {
                "chars": {"type": "integer"},
                "seed": {"type": "integer"},
                "blocks": {"type": "integer"},
                "headings": {"type": "boolean"},
            },
        },
    ),
    types.Tool(name="small", description="Answer with a short text.", input_schema={"type": "object"}),
    types.Tool(
        name="records",
        description="Answer with records, as structured content.",
        input_schema={
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "chars": {"type": "integer"},
                "seed": {"type": "integer"},
            },
            "additionalProperties": False,
        },
        output_schema=RECORDS_OUTPUT,
    ),
]


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    if params.name == "small":
        return types.CallToolResult(content=[types.TextContent(type="text", text="small answer")])
    if params.name == "records":
        records = records_of(int(args.get("count", 3)), int(args.get("chars", 300)), int(args.get("seed", 1)))
        text = json.dumps(records, ensure_ascii=False)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=records
        )
    texts = bulky_texts(
        int(args.get("chars", 200_000)),
        int(args.get("seed", 1)),
        int(args.get("blocks", 1)),
        bool(args.get("headings", False)),
    )
    return types.CallToolResult(content=[types.TextContent(type="text", text=t) for t in texts])


async def list_prompts(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
    return types.ListPromptsResult(prompts=[types.Prompt(name="manual", description="A long manual.")])


async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
    message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=manual_text()))
    return types.GetPromptResult(description="The manual.", messages=[message])


async def main() -> None:
    server = Server(
        "bulky",
        version="1.0",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
