"""`mcpctl reconcile`: the continuous reconcile loop (poll, watch, webhook), and `reconcile status`.

The loop runs in the foreground until SIGINT/SIGTERM; its log goes to stderr, its status to a small file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mcpctl.errors import UsageError

from ._logging import configure_logging
from ._main import cli
from ._options import database_option, open_store
from ._source_options import source_from_options, source_options

if TYPE_CHECKING:
    from mcpctl.reconciler import DebouncedWatcher, ReconcileStatus, Source
    from mcpctl.store import Store

# The reconciler's loop, watcher and git load when a command runs, so `reconcile --help` and
# `serve --help` (which shares these options) stay light.

WEBHOOK_SECRET_ENV = "MCPCTL_WEBHOOK_SECRET"
F = TypeVar("F", bound=Callable[..., Any])
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_log = logging.getLogger("mcpctl.reconcile")


def parse_duration(text: str) -> float:
    """Seconds in `500ms`, `30s`, `5m`, `1h` or a plain number of seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"not a duration: {text!r} (use e.g. 30s, 5m, 1h)")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise UsageError(f"the interval must be positive: {text!r}")
    return seconds


def _configure_logging() -> None:
    configure_logging("info")


def _watcher(source: Source, trigger: Callable[[], object]) -> DebouncedWatcher | None:
    """A watcher for a local source: a local repository's refs, or the `-f` files and folders."""
    from mcpctl.reconciler import (
        DebouncedWatcher,
        FileSource,
        GitSource,
        config_file_filter,
        git_ref_filter,
        is_local_path,
    )

    if isinstance(source, GitSource):
        if not is_local_path(source.url):
            return None
        import git

        try:
            git_dir = Path(git.Repo(source.url).git_dir).resolve()
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None
        return DebouncedWatcher([git_dir], trigger, accept=git_ref_filter(git_dir))
    if isinstance(source, FileSource):
        roots = [Path(p).resolve() for p in source.paths if p != "-"]
        folders = [p if p.is_dir() else p.parent for p in roots]
        filters = [config_file_filter(p) if p.is_dir() else _same_file(p) for p in roots]
        return DebouncedWatcher(folders, trigger, accept=lambda path: any(f(path) for f in filters))
    return None


def _same_file(target: Path) -> Callable[[str], bool]:
    return lambda path: Path(path) == target


def _serve_webhook(listen: str, trigger: Callable[[], object]) -> Any:
    import uvicorn

    from mcpctl.gateway import WebhookConfig, webhook_app

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--webhook-listen takes HOST:PORT, got {listen!r}")
    app = webhook_app(WebhookConfig(secret=os.environ.get(WEBHOOK_SECRET_ENV, ""), trigger=trigger))
    _configure_logging()  # again: building the app configured litestar's logging on the root logger
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=int(port), log_level="warning", log_config=None)
    )
    # uvicorn installs signal handlers only in the main thread; here the loop owns them.
    threading.Thread(target=server.run, name="mcpctl-webhook", daemon=True).start()
    _log.info("webhook listening on http://%s:%s/api/v1/reconcile", host, port)
    return server


@cli.group("reconcile", invoke_without_command=True)
@click.option("-f", "--filename", "filenames", multiple=True, metavar="PATH", help="Local files or folders.")
@source_options
@click.option("--interval", default="60s", show_default=True, help="Poll interval (30s, 5m, 1h).")
@click.option("--dry-run", is_flag=True, help="Report what would change (and drift); apply nothing.")
@click.option("--prune-all", is_flag=True, help="Also delete live resources this source does not own.")
@click.option("--lock-timeout", type=float, default=30.0, show_default=True, help="Lock wait, seconds.")
@click.option(
    "--token-output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write new token values to DIR/<project>.<name>.token (mode 0600); they are never logged.",
)
@click.option("--once", is_flag=True, help="Run one pass and exit (1 if it failed).")
@click.option("--no-watch", is_flag=True, help="Do not watch local paths for changes.")
@click.option(
    "--webhook-listen",
    metavar="HOST:PORT",
    default=None,
    help=f"Serve POST /api/v1/reconcile here (secret from ${WEBHOOK_SECRET_ENV}).",
)
@click.option(
    "--status-file", type=click.Path(dir_okay=False, path_type=Path), help="Where to keep the status."
)
@database_option
@click.pass_context
def reconcile_group(
    ctx: click.Context,
    filenames: tuple[str, ...],
    repo: str | None,
    ref: str | None,
    path: str | None,
    interval: str,
    dry_run: bool,
    prune_all: bool,
    lock_timeout: float,
    token_output: Path | None,
    once: bool,
    no_watch: bool,
    webhook_listen: str | None,
    status_file: Path | None,
    database_url: str | None,
) -> None:
    """Keep the live store converged on a git repository (or local files), reverting drift.

    Re-plans and applies when the commit changes or the store drifted (changes made outside git are
    reverted and logged). Polls every --interval; also wakes on local file changes and on the webhook.
    Failures are logged and retried with backoff; an invalid commit keeps the last good state.
    """
    if ctx.invoked_subcommand is not None:
        return
    from mcpctl.reconciler import LoopConfig, ReconcileLoop

    source = source_from_options(filenames, repo, ref, path)
    config = LoopConfig(
        interval=parse_duration(interval),
        dry_run=dry_run,
        prune_all=prune_all,
        lock_timeout=lock_timeout,
        token_output=token_output,
    )

    def opener() -> Store:
        return open_store(database_url)

    loop = ReconcileLoop(source, opener, config, status_file=status_file, ref=ref)
    _configure_logging()
    if once:
        # One pass leaves no process behind: its status must not read as a dead loop.
        loop.status.pid = None
        result = loop.run_once()
        sys.exit(0 if result.ok else 1)
    server = _serve_webhook(webhook_listen, loop.trigger) if webhook_listen else None
    watcher = None if no_watch else _watcher(source, loop.trigger)

    def stop(signum: int, frame: FrameType | None) -> None:
        loop.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if watcher is not None:
        watcher.start()
    try:
        loop.run_forever()
    finally:
        if watcher is not None:
            watcher.stop()
        if server is not None:
            server.should_exit = True


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _row(status: ReconcileStatus) -> dict[str, Any]:
    state = status.state
    if state != "stopped" and status.pid is not None and not _alive(status.pid):
        state = "dead"
    return {**status.__dict__, "state": state}


@reconcile_group.command("status")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def status_command(ctx: click.Context, output: str) -> None:
    """Last commit applied, last error and drift count of every reconciler (or the one --repo names)."""
    from mcpctl.reconciler import ReconcileStatus, read_statuses, status_path

    params = ctx.parent.params if ctx.parent is not None else {}
    status_file: Path | None = params.get("status_file")
    if status_file is None and (params.get("repo") or params.get("filenames")):
        source = source_from_options(
            params.get("filenames") or (), params.get("repo"), params.get("ref"), params.get("path")
        )
        status_file = status_path(source.name)
    if status_file is not None:
        statuses = [ReconcileStatus.from_json(status_file.read_text())] if status_file.exists() else []
    else:
        statuses = read_statuses()
    rows = [_row(status) for status in statuses]
    if output == "json":
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    if not rows:
        click.echo("No reconciler has run yet.")
        return
    for row in rows:
        click.echo(_describe(row))


def _describe(row: dict[str, Any]) -> str:
    dry = " (dry run)" if row["dry_run"] else ""
    lines = [
        row["source"],
        f"  state:        {row['state']}{dry}, ref {row['ref'] or '(default branch)'}",
        f"  last commit:  {row['last_revision'] or '-'} (applied {row['last_applied_at'] or 'never'})",
        f"  last pass:    {row['last_pass_at'] or '-'} ({row['passes']} passes, {row['applies']} applies)",
        f"  drift count:  {row['drift_count']}",
    ]
    if row["last_error"]:
        failures = f"{row['consecutive_failures']} failing pass(es) in a row"
        lines.append(f"  last error:   {row['last_error']} ({row['last_error_at']}, {failures})")
    else:
        lines.append("  last error:   -")
    return "\n".join(lines)


def serve_reconcile_options(command: F) -> F:
    """`mcpctl serve --reconcile-repo URL [--reconcile-ref] [--reconcile-path] [--reconcile-interval]`."""
    for option in reversed(
        [
            click.option(
                "--reconcile-repo",
                metavar="URL|PATH",
                default=None,
                help="Also reconcile the store from this repository in the gateway process; "
                f"POST /api/v1/reconcile (secret in ${WEBHOOK_SECRET_ENV}) then triggers a pass at once.",
            ),
            click.option("--reconcile-ref", metavar="REF", help="Branch, tag or commit to follow."),
            click.option("--reconcile-path", metavar="SUBDIR", help="Folder of the repository."),
            click.option("--reconcile-interval", default="60s", show_default=True, help="Poll interval."),
        ]
    ):
        command = option(command)
    return command


class GatewayReconciler:
    """A reconcile loop in a thread of the gateway process, and the webhook router that wakes it."""

    def __init__(self, repo: str, ref: str | None, path: str | None, interval: str, database_url: str | None):
        from mcpctl.gateway import WebhookConfig, webhook_router
        from mcpctl.reconciler import LoopConfig, ReconcileLoop

        source = source_from_options((), repo, ref, path)
        self.loop = ReconcileLoop(
            source, lambda: open_store(database_url), LoopConfig(interval=parse_duration(interval)), ref=ref
        )
        secret = os.environ.get(WEBHOOK_SECRET_ENV, "")
        # Without a secret there is no webhook at all: an unsigned trigger endpoint would be an open door.
        hook = WebhookConfig(secret=secret, trigger=self.loop.trigger) if secret else None
        self.routers = [webhook_router(hook)] if hook is not None else []
        self._thread = threading.Thread(target=self.loop.run_forever, name="mcpctl-reconcile", daemon=True)

    def start(self) -> None:
        """Start the loop thread."""
        _configure_logging()
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop after its current pass."""
        self.loop.stop()
        self._thread.join(timeout=30)
