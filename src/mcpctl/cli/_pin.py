"""`mcpctl pin`: write a server's live tool definitions as ToolPins into the config repo, or check them.

`pin SERVER... -o DIR` connects to the upstreams with the gateway's own pool and writes
`DIR/pins/<server>.yaml`; `pin --check -f DIR` compares the live definitions with the committed pins:
exit 0 when they match, 2 when they drift (with a readable diff), 1 when a server cannot be read.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mcpctl.errors import UsageError, ValidationFailed

from ._main import cli

if TYPE_CHECKING:
    from mcpctl.schemas import ServerSpec, SourcedResource, ToolDrift, ToolPinsSpec

DRIFT_EXIT = 2
"""`pin --check` exit status when live definitions differ from the pins."""


@cli.command("pin")
@click.argument("servers", nargs=-1)
@click.option("-p", "--project", default=None, help="Pin every server of this project.")
@click.option("--all", "all_servers", is_flag=True, help="Pin every server of the desired state.")
@click.option(
    "-o",
    "--output-dir",
    "output_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Config repo directory: pins are written to DIR/pins/<server>.yaml.",
)
@click.option(
    "-f",
    "--filename",
    "filenames",
    multiple=True,
    type=click.Path(exists=True),
    help="Desired state holding the servers (and, with --check, the pins); default: the -o directory.",
)
@click.option("--check", is_flag=True, help="Compare live definitions with the pins: exit 2 on drift.")
@click.pass_context
def pin(
    ctx: click.Context,
    servers: tuple[str, ...],
    project: str | None,
    all_servers: bool,
    output_dir: str | None,
    filenames: tuple[str, ...],
    check: bool,
) -> None:
    """Pin the tools of upstream servers (their approved definitions), or check the pins.

    Each tool's pin is the SHA-256 of its name, description, inputSchema and annotations, kept with the
    description text so a pull request shows the wording a reviewer approves.
    """
    from mcpctl.schemas import load_and_validate

    if check and output_dir is not None:
        raise UsageError("--check reads the pins from -f DIR; it writes nothing (drop -o)")
    if not check and output_dir is None:
        raise UsageError("give -o DIR (the config repo) to write pins to, or --check -f DIR")
    paths = list(filenames) or ([output_dir] if output_dir is not None else [])
    if not paths:
        raise UsageError("give -f DIR: the config repo holding the servers and their pins")
    result = load_and_validate(paths)
    if not result.valid:
        raise ValidationFailed(result.errors)
    specs, pins = _desired(result.resources)
    chosen = _choose(servers, project, all_servers, specs, pins, result.resources, check=check)
    live = _read(specs, chosen)
    if check:
        ctx.exit(_check(live, pins))
    assert output_dir is not None
    ctx.exit(_write(live, Path(output_dir)))


def _desired(resources: Sequence[SourcedResource]) -> tuple[dict[str, ServerSpec], dict[str, ToolPinsSpec]]:
    from mcpctl.gateway import resolve_server_spec
    from mcpctl.schemas import Server, Template, ToolPins, with_builtin_templates

    models = with_builtin_templates([item.resource for item in resources])
    templates = {r.metadata.name: r.spec for r in models if isinstance(r, Template)}
    specs = {r.metadata.name: resolve_server_spec(r.spec, templates) for r in models if isinstance(r, Server)}
    pins = {r.metadata.name: r.spec for r in models if isinstance(r, ToolPins)}
    return specs, pins


def _choose(
    servers: Sequence[str],
    project: str | None,
    all_servers: bool,
    specs: dict[str, ServerSpec],
    pins: dict[str, ToolPinsSpec],
    resources: Sequence[SourcedResource],
    *,
    check: bool,
) -> list[str]:
    from mcpctl.schemas import Project

    chosen = list(servers)
    if project is not None:
        found = next(
            (
                r.resource
                for r in resources
                if isinstance(r.resource, Project) and r.resource.metadata.name == project
            ),
            None,
        )
        if found is None:
            raise UsageError(f"no Project {project!r} in the desired state")
        chosen.extend(found.spec.servers)
    if all_servers:
        chosen.extend(specs)
    if not chosen and check:
        chosen = sorted(pins)  # a check without names checks every pinned server
    if not chosen:
        raise UsageError("name the servers to pin: SERVER..., -p PROJECT or --all")
    unknown = sorted(set(chosen) - set(specs))
    if unknown:
        raise UsageError(f"no Server {', '.join(repr(n) for n in unknown)} in the desired state")
    return sorted(set(chosen))


def _read(specs: dict[str, ServerSpec], chosen: Sequence[str]) -> dict[str, list[dict[str, Any]] | str]:
    import anyio

    from mcpctl.gateway import read_live_tools

    wanted = {name: specs[name] for name in chosen}
    return anyio.run(read_live_tools, wanted)


def _warn_hygiene(server: str, tools: Iterable[dict[str, Any]]) -> None:
    from mcpctl.schemas import description_findings, printable

    for tool in tools:
        for finding in description_findings(tool.get("description")):
            click.echo(printable(f"warning: {server}/{tool['name']}: {finding}"), err=True)


def _write(live: dict[str, list[dict[str, Any]] | str], directory: Path) -> int:
    from mcpctl.reconciler import write_resources
    from mcpctl.schemas import API_VERSION, ToolPin, ToolPins, printable

    failed = False
    for server, tools in live.items():
        if isinstance(tools, str):
            click.echo(printable(f"error: {server}: {tools}"), err=True)
            failed = True
            continue
        _warn_hygiene(server, tools)
        pins = ToolPins.model_validate(
            {
                "apiVersion": API_VERSION,
                "metadata": {"name": server},
                "spec": {"tools": [ToolPin.of(tool) for tool in tools]},
            }
        )
        path = directory / "pins" / f"{server}.yaml"
        changed = write_resources(path, [pins])
        state = "written" if changed else "unchanged"
        click.echo(f"{server}: {len(tools)} tool(s) pinned in {path} ({state})")
    return 1 if failed else 0


def _check(live: dict[str, list[dict[str, Any]] | str], pins: dict[str, ToolPinsSpec]) -> int:
    from mcpctl.schemas import compare_pins, printable

    drifted = failed = False
    for server, tools in live.items():
        if isinstance(tools, str):
            click.echo(printable(f"error: {server}: {tools}"), err=True)
            failed = True
            continue
        _warn_hygiene(server, tools)
        drift = compare_pins(server, pins.get(server), tools)
        if not drift:
            click.echo(f"{server}: {len(tools)} tool(s) match their pins")
            continue
        drifted = True
        click.echo(f"{server}: {len(drift)} tool(s) drifted from their pins")
        for item in drift:
            for line in render_drift(item):
                click.echo(printable(line))
    if drifted:
        return DRIFT_EXIT
    return 1 if failed else 0


def render_drift(drift: ToolDrift) -> list[str]:
    """Lines describing one drifted tool: what happened, then a description diff and a schema diff."""
    if drift.kind == "new":
        return [f"  + {drift.tool}: new tool, not pinned", *_indented(_description(drift.live))]
    if drift.kind == "gone":
        return [f"  - {drift.tool}: pinned, no longer listed by the server"]
    assert drift.pinned is not None and drift.live is not None
    lines = [f"  ~ {drift.tool}: definition changed"]
    before, after = _description(drift.pinned), _description(drift.live)
    if before != after:
        lines.append("    description:")
        diff = difflib.unified_diff(before, after, "pinned", "live", lineterm="", n=2)
        lines.extend(f"      {line}" for line in diff)
    for key in ("inputSchema", "annotations"):
        changes = _structure_diff(drift.pinned.get(key), drift.live.get(key))
        if changes:
            lines.append(f"    {key}:")
            lines.extend(f"      {line}" for line in changes)
    return lines


def _description(definition: dict[str, Any] | None) -> list[str]:
    text = (definition or {}).get("description") or ""
    return str(text).split("\n") if text else []


def _indented(lines: list[str]) -> list[str]:
    return [f"      {line}" for line in lines]


def _structure_diff(before: Any, after: Any) -> list[str]:
    from deepdiff import DeepDiff

    if before == after:
        return []
    if before is None or after is None:
        return [f"was {json.dumps(before)}, now {json.dumps(after)}"]
    found = DeepDiff(before, after, verbose_level=2)
    return [line for line in found.pretty().splitlines() if line.strip()]
