"""`mcpctl completion bash|zsh|fish`, the KIND parameter type, and dynamic completion of resource names.

Name completion reads the store but never creates or migrates one, and answers nothing on any failure.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem, get_completion_class

from ._kinds import KIND_ALIASES, KIND_SCOPES, resolve_kind
from ._main import cli

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_MCPCTL_COMPLETE"
"""Environment variable click's completion scripts set when they ask for completions."""

# Plural words are what people type most (`get servers`); the rest still resolve.
KIND_WORDS = tuple(sorted(alias for alias in KIND_ALIASES if alias.endswith("s")))
PROMPT_REQUEST = "PromptRequest"
"""What `get` and `describe` take `promptrequest(s)` or `preq` for: a store-only record, not a kind."""
REQUEST_WORDS = ("promptrequest", "promptrequests", "preq")


class KindType(click.ParamType):  # type: ignore[type-arg]
    """A KIND argument: singular, plural, short form or the Kind itself, converted to the Kind."""

    name = "kind"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, str) and value in KIND_SCOPES:
            return value
        kind = resolve_kind(str(value))
        if kind is None:
            close = difflib.get_close_matches(str(value).lower(), list(KIND_ALIASES), n=1, cutoff=0.6)
            hint = f'; did you mean "{close[0]}"?' if close else f" (one of: {', '.join(KIND_WORDS)})"
            self.fail(f'unknown kind "{value}"{hint}', param, ctx)
        return kind

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        return [CompletionItem(word) for word in KIND_WORDS if word.startswith(incomplete.lower())]


KIND = KindType()


def _store_names(ctx: click.Context, kind: str, project: str | None) -> list[str]:
    from mcpctl.store import Store, default_database_url

    url = ctx.params.get("database_url") or default_database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    store = Store.open(url, migrate=False)
    try:
        rows = store.list_resources(kind, project if KIND_SCOPES[kind] != "global" else None)
    finally:
        store.close()
    return sorted({live.identity.name for live in rows})


def complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Names of stored resources of the command's KIND (and project when given)."""
    kind = ctx.params.get("kind")
    if not isinstance(kind, str) or kind not in KIND_SCOPES:
        return []
    return _complete(ctx, kind, ctx.params.get("project"), incomplete)


def complete_projects(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Names of stored projects."""
    return _complete(ctx, "Project", None, incomplete)


def _complete(ctx: click.Context, kind: str, project: Any, incomplete: str) -> list[CompletionItem]:
    try:
        names = _store_names(ctx, kind, project if isinstance(project, str) else None)
    except Exception:
        # Completion runs in the user's shell: a missing or broken store gives no answers, not a trace.
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def completion_script(shell: str, prog_name: str = "mcpctl") -> str:
    """The shell's completion script for `mcpctl`, as click generates it."""
    completion_class = get_completion_class(shell)
    if completion_class is None:
        raise click.BadParameter(f"unsupported shell {shell}")
    return completion_class(cli, {}, prog_name, COMPLETE_VAR).source()


@cli.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(mcpctl completion bash)"  (or save it as ~/.local/share/bash-completion/completions/mcpctl)
    zsh:   eval "$(mcpctl completion zsh)"      (after compinit)
    fish:  mcpctl completion fish > ~/.config/fish/completions/mcpctl.fish
    """
    click.echo(completion_script(shell), nl=False)
