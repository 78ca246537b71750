"""`mcpctl create KIND NAME --flags`: make one resource from flags, checked like a YAML one, managed by `cli`.

Each subcommand builds a document, validates it with the schemas, checks its references against the
store, then writes it in one store transaction (or only prints it with `--dry-run`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mcpctl.errors import AlreadyExists, McpctlError, ResourceNotFound, UsageError

from ._completion import complete_projects
from ._kinds import kind_word, resolve_kind
from ._main import cli
from ._options import DOCUMENT_FORMATS, current_actor, database_option, open_store, record_cli_revision

# The models, the store and the renderers load inside the functions, so `create --help`, `rotate
# --help` (which uses the helpers here) and TAB stay light.
if TYPE_CHECKING:
    from mcpctl.inventory import Inventory
    from mcpctl.schemas import Identity, ResourceModel

F = TypeVar("F", bound=Callable[..., Any])


class KindAliasGroup(click.Group):
    """A group whose subcommands are kinds, reachable by any of the kind's CLI words (`srv`, `token`)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        kind = resolve_kind(cmd_name)
        return super().get_command(ctx, kind_word(kind) if kind else cmd_name)


@cli.group("create", cls=KindAliasGroup)
def create() -> None:
    """Create one resource from flags (managed by `cli`; `apply` leaves it alone unless --prune-all)."""


def common_options(command: F) -> F:
    """Flags every `create` subcommand takes: metadata, --dry-run, -o and the store URL."""
    decorators = [
        click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Label (repeatable)."),
        click.option(
            "--annotation", "annotations", multiple=True, metavar="KEY=VALUE", help="Annotation (repeatable)."
        ),
        click.option("--description", default="", help="Human description."),
        click.option("--dry-run", is_flag=True, help="Validate and check references, but write nothing."),
        click.option(
            "-o",
            "--output",
            "fmt",
            type=click.Choice(DOCUMENT_FORMATS),
            default=None,
            help="Print the resource document instead of `kind/name created`.",
        ),
        database_option,
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    """`K=V` flag values as a mapping; a value without `=` is a usage error."""
    found = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} takes KEY=VALUE, got {value!r}")
        found[key] = item
    return found


def secret_refs(values: Sequence[str], flag: str) -> dict[str, Any]:
    """`K=SECRET/KEY` flag values as `{secretRef: {name, key}}` references."""
    refs: dict[str, Any] = {}
    for key, ref in pairs(values, flag).items():
        name, sep, secret_key = ref.partition("/")
        if not sep or not name or not secret_key:
            raise UsageError(f"{flag} takes KEY=SECRET/KEY, got {key}={ref!r}")
        refs[key] = {"secretRef": {"name": name, "key": secret_key}}
    return refs


def given(**values: Any) -> dict[str, Any]:
    """The optional spec fields whose flags were given (not None)."""
    return {key: value for key, value in values.items() if value is not None}


def project_option(help_text: str, *, required: bool = True) -> Callable[[F], F]:
    """`-p/--project` with completion of stored project names."""
    return click.option(
        "-p", "--project", required=required, default=None, shell_complete=complete_projects, help=help_text
    )


def parse_rule(text: str) -> dict[str, Any]:
    """`role:resource[:name,name]` as a rule document."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise UsageError(f"--rule takes ROLE:RESOURCE[:NAME,NAME], got {text!r}")
    rule: dict[str, Any] = {"role": parts[0], "resource": parts[1]}
    if len(parts) == 3:
        rule["names"] = [name for name in parts[2].split(",") if name]
    return rule


def build(
    kind: str, name: str, spec: dict[str, Any], options: dict[str, Any], project: str | None = None
) -> Any:
    """Validate a document assembled from flags; schema problems become one usage error line."""
    from pydantic import ValidationError

    from mcpctl.schemas import API_VERSION, parse_resource, pydantic_messages

    metadata: dict[str, Any] = {"name": name}
    if project:
        metadata["project"] = project
    if options["labels"]:
        metadata["labels"] = pairs(options["labels"], "--label")
    if options["annotations"]:
        metadata["annotations"] = pairs(options["annotations"], "--annotation")
    if options["description"]:
        metadata["description"] = options["description"]
    document = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
    try:
        return parse_resource(document)
    except ValidationError as error:
        # The first part of each path is the kind's tag in the union of kinds.
        raise UsageError(f"invalid {kind} {name!r}: {'; '.join(pydantic_messages(error, skip=1))}") from None


def finish(
    resource: ResourceModel,
    options: dict[str, Any],
    check: Callable[[Inventory], None] | None = None,
    *,
    replace: bool = False,
    also: Sequence[ResourceModel] = (),
) -> None:
    """Check `resource` against the store and write it (unless --dry-run), then report.

    `replace` (create mcptoken --force) lets it take the place of a stored one of the same identity.
    `also` are written first, in the same transaction (a catalog template the checks found needed).
    """
    from mcpctl.inventory import Inventory, missing_references
    from mcpctl.plan import describe_identity
    from mcpctl.schemas import CLI_MANAGER, McpToken, kind_info

    from ._output import slug

    fmt, dry_run = options["fmt"], options["dry_run"]
    mints_value = kind_info(resource.kind_name()).mints_value
    if mints_value and fmt and not dry_run:
        raise UsageError("-o prints an mcptoken document only with --dry-run; creating one prints its value")
    store = open_store(options["database_url"])
    token_value = None
    token_path: Path | None = None
    replaced = False

    def checks() -> None:
        nonlocal replaced
        inventory = Inventory(store)
        if check is not None:
            check(inventory)
        replaced = replace and inventory.lookup(resource.identity) is not None
        if not replaced and inventory.lookup(resource.identity) is not None:
            raise AlreadyExists(f"{describe_identity(resource.identity)} already exists")
        # What `also` provides is found: a server from a catalog template refers to nothing else.
        missing = [] if also else missing_references(inventory, resource)
        if missing:
            raise McpctlError(f"cannot create {describe_identity(resource.identity)}: {'; '.join(missing)}")

    try:
        if dry_run:
            checks()
            _report(resource, fmt, dry_run, None)
            return
        with (
            token_file_written(resource.identity, options.get("token_output")) as write_token,
            store.transaction(actor=current_actor()) as tx,
        ):
            # Checked under the store lock, so no other writer can create it or drop a reference meanwhile.
            checks()
            for needed in also:
                tx.put(needed, managed_by=CLI_MANAGER)
                click.echo(f"{slug(needed.identity)} created from the built-in catalog", err=True)
            if mints_value:
                assert isinstance(resource, McpToken)
                token_value = tx.create_token(resource, managed_by=CLI_MANAGER)
                token_path = write_token(token_value)
            else:
                tx.put(resource, managed_by=CLI_MANAGER)
            added = len(also) + (0 if replaced else 1)
            record_cli_revision(tx, resource.to_document(), add=added, change=int(replaced))
    finally:
        store.close()
    _report(resource, fmt, dry_run, token_value, token_path, replaced)


def _report(
    resource: ResourceModel,
    fmt: str | None,
    dry_run: bool,
    token_value: str | None,
    token_path: Path | None = None,
    replaced: bool = False,
) -> None:
    from ._output import render_documents, slug

    name = slug(resource.identity)
    if token_value is not None:
        show_token(resource.identity, token_value, token_path, "replaced" if replaced else "created")
    elif fmt:
        click.echo(render_documents([resource], fmt, single=True))
    else:
        click.echo(f"{name} created" + (" (dry run)" if dry_run else ""))


@contextmanager
def token_file_written(
    identity: Identity, token_output: Path | None
) -> Iterator[Callable[[str], Path | None]]:
    """Inside a store transaction: a writer of the new value to DIR/<project>.<name>.token (0600), whose
    file is removed again if the transaction then fails (the value would name no token)."""
    written: list[Path] = []

    def write(value: str) -> Path | None:
        if token_output is None:
            return None
        from mcpctl.plan import write_private
        from mcpctl.reconciler import token_file

        path = token_file(token_output, identity)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private(path, value + "\n")
        except OSError as error:
            raise UsageError(f"cannot write the token value to {path}: {error.strerror}") from None
        written.append(path)
        return path

    try:
        yield write
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def show_token(identity: Identity, value: str, path: Path | None, done: str) -> None:
    """Tell of a new token value once: where it was written, or the value itself on stdout."""
    from ._output import slug

    name = slug(identity)
    if path is None:
        click.echo(f"{name} {done}; its token value is shown only once:", err=True)
        click.echo(value)
    else:
        click.echo(f"{name} {done}; token value written to {path} (mode 0600)")


def token_output_option(command: F) -> F:
    """`--token-output DIR`: write a new token value to a file instead of printing it."""
    return click.option(
        "--token-output",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Write the token value to DIR/<project>.<name>.token (mode 0600) instead of printing it.",
    )(command)


@create.command("server")
@click.argument("name")
@click.option(
    "--transport",
    type=click.Choice(["stdio", "sse", "streamable-http"]),
    help="Default: stdio with --command, streamable-http with --url.",
)
@click.option("--command", "command_", metavar="EXECUTABLE", help="stdio: the executable (no shell).")
@click.option("--arg", "args", multiple=True, help="stdio: one argument (repeatable, in order).")
@click.option("--cwd", help="stdio: working directory.")
@click.option("--env", multiple=True, metavar="KEY=VALUE", help="stdio: environment variable (repeatable).")
@click.option(
    "--env-secret", multiple=True, metavar="KEY=SECRET/KEY", help="Environment variable from a secret."
)
@click.option("--url", help="sse/streamable-http: the server URL.")
@click.option("--header", "headers", multiple=True, metavar="KEY=VALUE", help="HTTP header (repeatable).")
@click.option("--header-secret", multiple=True, metavar="KEY=SECRET/KEY", help="HTTP header from a secret.")
@click.option("--from-template", "template", metavar="TEMPLATE", help="Build the server from this Template.")
@click.option("--set", "values", multiple=True, metavar="PARAM=VALUE", help="Template parameter value.")
@click.option("--set-secret", multiple=True, metavar="PARAM=SECRET/KEY", help="Secret template parameter.")
@common_options
def create_server(
    name: str,
    transport: str | None,
    command_: str | None,
    args: tuple[str, ...],
    cwd: str | None,
    env: tuple[str, ...],
    env_secret: tuple[str, ...],
    url: str | None,
    headers: tuple[str, ...],
    header_secret: tuple[str, ...],
    template: str | None,
    values: tuple[str, ...],
    set_secret: tuple[str, ...],
    **options: Any,
) -> None:
    """Create a Server NAME: stdio (--command/--arg/--env), HTTP (--url/--header) or --from-template."""
    from mcpctl.schemas import Server, Template, builtin_templates, template_problem

    spec: dict[str, Any] = {}
    env_values: dict[str, Any] = {**pairs(env, "--env"), **secret_refs(env_secret, "--env-secret")}
    header_values: dict[str, Any] = {
        **pairs(headers, "--header"),
        **secret_refs(header_secret, "--header-secret"),
    }
    if env_values:
        spec["env"] = env_values
    if header_values:
        spec["headers"] = header_values
    if template is not None:
        if transport or command_ or args or cwd or url:
            raise UsageError(
                "--from-template cannot be combined with --transport/--command/--arg/--cwd/--url"
            )
        spec["fromTemplate"] = {
            "name": template,
            "values": {**pairs(values, "--set"), **secret_refs(set_secret, "--set-secret")},
        }
    else:
        if values or set_secret:
            raise UsageError("--set and --set-secret need --from-template")
        spec["transport"] = transport or ("stdio" if command_ else "streamable-http" if url else None)
        spec.update(given(command=command_, cwd=cwd, url=url))
        if args:
            spec["args"] = list(args)
    server = build("Server", name, spec, options)
    catalog: list[ResourceModel] = []

    def check_template(inventory: Inventory) -> None:
        assert isinstance(server, Server)
        ref = server.spec.from_template
        if ref is None:
            return
        found = inventory.get("Template", ref.name)
        # A catalog template the store does not hold yet is stored along with the server.
        template = found.resource if found is not None else builtin_templates().get(ref.name)
        if template is None:
            raise ResourceNotFound(f'Template "{ref.name}" not found')
        assert isinstance(template, Template)
        catalog[:] = [template] if found is None else []
        problem = template_problem(template.spec, ref, server.spec)
        if problem is not None:
            raise UsageError(f'server {name!r} from template "{ref.name}": {problem}')

    finish(server, options, check_template, also=catalog)


@create.command("project")
@click.argument("name")
@click.option(
    "--server", "servers", multiple=True, metavar="SERVER", help="A server of the project (repeatable)."
)
@click.option("--proxy-model", default=None, help="default, gate, content-pipeline or a ProxyModel name.")
@click.option("--instructions", default=None, help="Sent to clients in the MCP initialize result.")
@common_options
def create_project(
    name: str, servers: tuple[str, ...], proxy_model: str | None, instructions: str | None, **options: Any
) -> None:
    """Create a Project NAME serving the given servers."""
    spec = {"servers": list(servers), **given(proxyModel=proxy_model, instructions=instructions)}
    finish(build("Project", name, spec, options), options)


@create.command("prompt")
@click.argument("name")
@project_option("Project of the prompt.")
@click.option("--content", default=None, help="Prompt text.")
@click.option(
    "--from-file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Read the prompt text from a file (- for stdin).",
)
@click.option("--link-target", default=None, metavar="PROJECT/SERVER:URI", help="Serve an upstream resource.")
@click.option("--priority", type=click.IntRange(1, 10), default=None, help="1 (low) to 10 (high); default 5.")
@click.option("--tag", "tags", multiple=True, help="Tag (repeatable).")
@click.option("--summary", default=None, help="One-line summary for the prompt index.")
@common_options
def create_prompt(
    name: str,
    project: str,
    content: str | None,
    from_file: Path | None,
    link_target: str | None,
    priority: int | None,
    tags: tuple[str, ...],
    summary: str | None,
    **options: Any,
) -> None:
    """Create a Prompt NAME in a project, from --content, --from-file or --link-target."""
    if sum(x is not None for x in (content, from_file, link_target)) != 1:
        raise UsageError("give exactly one of --content, --from-file or --link-target")
    if from_file is not None:
        content = sys.stdin.read() if str(from_file) == "-" else _read(from_file)
    spec = {
        "tags": list(tags),
        **given(content=content, linkTarget=link_target, priority=priority, summary=summary),
    }
    finish(build("Prompt", name, spec, options, project), options)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


@create.command("user")
@click.argument("name")
@click.option("--email", required=True, help="Email address.")
@click.option("--display-name", default=None, help="Name shown in listings.")
@common_options
def create_user(name: str, email: str, display_name: str | None, **options: Any) -> None:
    """Create a User NAME."""
    spec = {"email": email, **given(displayName=display_name)}
    finish(build("User", name, spec, options), options)


@create.command("group")
@click.argument("name")
@click.option("--member", "members", multiple=True, metavar="USER", help="A member (repeatable).")
@common_options
def create_group(name: str, members: tuple[str, ...], **options: Any) -> None:
    """Create a Group NAME of existing users."""
    finish(build("Group", name, {"members": list(members)}, options), options)


@create.command("mcptoken")
@click.argument("name")
@project_option("Project of the token.")
@click.option("--expires", default=None, help="never (default), a duration (12h, 30d, 4w) or an ISO date.")
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="ROLE:RESOURCE[:NAME,NAME]",
    help="A binding of the token (repeatable), e.g. run:servers:time,git.",
)
@click.option(
    "--rbac",
    type=click.Choice(["empty", "clone"]),
    default=None,
    help="empty (only --rule) or clone (the owner's rules narrowed by --rule).",
)
@click.option("--owner", default=None, metavar="USER", help="User whose rules `--rbac clone` copies.")
@click.option(
    "--force", is_flag=True, help="Replace a token of this name: the old value stops working at once."
)
@token_output_option
@common_options
def create_mcptoken(
    name: str,
    project: str,
    expires: str | None,
    rules: tuple[str, ...],
    rbac: str | None,
    owner: str | None,
    force: bool,
    **options: Any,
) -> None:
    """Create an McpToken NAME in a project and print its value once (only its hash is stored)."""
    spec: dict[str, Any] = {"bindings": [parse_rule(rule) for rule in rules]}
    if options["description"]:
        spec["description"] = options["description"]
    spec.update(given(expires=expires, rbac=rbac, owner=owner))
    # A token's description belongs in its spec (shown with its bindings), not twice.
    token = build("McpToken", name, spec, {**options, "description": ""}, project)
    if token.spec.expired_at_creation():
        click.echo(f"warning: --expires {token.spec.expires} is in the past: it never works", err=True)
    finish(token, options, replace=force)


@create.command("rolebinding")
@click.argument("name")
@project_option("Bind within this project only (default: global).", required=False)
@click.option("--user", "users", multiple=True, help="A User subject (repeatable).")
@click.option("--group", "groups", multiple=True, help="A Group subject (repeatable).")
@click.option(
    "--token", "tokens", multiple=True, help="An McpToken subject of the binding's project (repeatable)."
)
@click.option(
    "--rule", "rules", multiple=True, metavar="ROLE:RESOURCE[:NAME,NAME]", help="A rule (repeatable)."
)
@click.option(
    "--operation",
    "operations",
    multiple=True,
    type=click.Choice(["backup", "logs", "impersonate", "audit"]),
    help="An operation (repeatable).",
)
@common_options
def create_rolebinding(
    name: str,
    project: str | None,
    users: tuple[str, ...],
    groups: tuple[str, ...],
    tokens: tuple[str, ...],
    rules: tuple[str, ...],
    operations: tuple[str, ...],
    **options: Any,
) -> None:
    """Create a RoleBinding NAME granting --rule/--operation to --user/--group/--token subjects."""
    if tokens and not project:
        raise UsageError("--token subjects need -p/--project (tokens live in a project)")
    subjects = [
        *({"kind": "User", "name": user} for user in users),
        *({"kind": "Group", "name": group} for group in groups),
        *({"kind": "McpToken", "name": token} for token in tokens),
    ]
    spec = {
        "subjects": subjects,
        "rules": [parse_rule(rule) for rule in rules],
        "operations": [{"action": action} for action in operations],
    }
    finish(build("RoleBinding", name, spec, options, project), options)
