"""deploy/compose.yaml: valid against the Compose Specification schema and dclint, consistent with
itself, and its mcpctl commands really run: the reconciler fills PostgreSQL, the gateway serves it.

`docker compose config` checks it too where the docker CLI has the compose plugin (no daemon needed).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url

from gateway.gateway_harness import free_port

from .deploy_harness import (
    DEPLOY,
    ROOT,
    mcpctl_process,
    missing,
    node_tool,
    run_to_end,
    running,
    unknown_flags,
    wait_http_ok,
)

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "mcpctl.env.example"
SCHEMA = ROOT / "node_modules" / "dclint" / "schemas" / "compose.schema.json"
MCPCTL_SERVICES = ("gateway", "reconciler")


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Compose's `${VAR}` and `${VAR:-default}` interpolation (the only forms the file may use)."""
    env = env or {}

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3)
        return env.get(name) or (default if default is not None else "")

    result = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", value, text)
    assert "${" not in result and not re.search(r"\$[A-Za-z_]", result), (
        "an interpolation form this test does not know"
    )
    return result


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    loaded = yaml.safe_load(interpolate(COMPOSE.read_text(), env))
    assert isinstance(loaded, dict)
    return loaded


def command(service: dict[str, Any]) -> list[str]:
    """A service's command as argv: Compose splits a string command like a shell would."""
    value = service["command"]
    return shlex.split(value) if isinstance(value, str) else [str(word) for word in value]


def env_file() -> dict[str, str]:
    lines = (line.strip() for line in ENV_EXAMPLE.read_text().splitlines())
    pairs = (line.partition("=") for line in lines if line and not line.startswith("#"))
    return {key: value for key, _, value in pairs}


def test_valid_against_the_compose_specification_schema() -> None:
    if not SCHEMA.exists():
        missing(f"{SCHEMA.relative_to(ROOT)} is not installed (npm install)")
    schema = json.loads(SCHEMA.read_text())
    assert "draft-07" in schema["$schema"]
    validator = jsonschema.Draft7Validator(schema)
    for document in (
        yaml.safe_load(COMPOSE.read_text()),
        compose(),
        compose({"MCPCTL_SERVE_ARGS": "--log-level debug"}),
    ):
        validator.validate(document)
    broken = compose()
    broken["services"]["gateway"]["healthcheck"]["intervall"] = "5s"
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        validator.validate(broken)


def test_dclint_passes() -> None:
    done = subprocess.run(
        [str(node_tool("dclint")), str(COMPOSE)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_docker_compose_config_accepts_it(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI here: the schema and dclint tests stand in for `docker compose config`")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        message = "the docker CLI here has no compose plugin (scripts/setup-compose.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + ": the schema and dclint tests stand in for it")
    project = tmp_path / "deploy"
    shutil.copytree(DEPLOY, project, ignore=shutil.ignore_patterns("helm"))
    shutil.copy(ENV_EXAMPLE, project / "mcpctl.env")
    (project / "secrets" / "mcpctl").mkdir(parents=True)
    (project / "secrets" / "postgres-password").write_text("CHANGE-ME")
    done = subprocess.run(
        [docker, "compose", "-f", str(project / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)["services"]) == {"gateway", "reconciler", "postgres", "redis"}


def test_names_it_uses_are_declared() -> None:
    spec = compose()
    services = spec["services"]
    assert set(services) == {"gateway", "reconciler", "postgres", "redis"}
    for name, service in services.items():
        for target in service.get("depends_on", {}):
            assert target in services, f"{name} depends on an unknown service {target}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in spec["volumes"], f"{name}: undeclared volume {source}"
        for secret in service.get("secrets", []):
            assert (secret if isinstance(secret, str) else secret["source"]) in spec["secrets"]
    for name, volume in spec["volumes"].items():
        assert volume is None or volume == {}, f"volume {name}: a named volume, local driver"
    for secret in spec["secrets"].values():
        assert Path(secret["file"]).parts[0] == "secrets"
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert {"/mcpctl.env", "/secrets/"} <= set(ignored), "what holds passwords must never be committed"


def test_services_are_health_checked_and_mcpctl_runs_locked_down() -> None:
    services = compose()["services"]
    for name in ("gateway", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    assert services["gateway"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in MCPCTL_SERVICES:
        service = services[name]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert service["env_file"] == "mcpctl.env"
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == (
            DEPLOY / "Dockerfile"
        )
    # Published on the host's loopback only, unless told otherwise.
    (port,) = services["gateway"]["ports"]
    assert port["host_ip"] == "127.0.0.1" and port["target"] == 8080


def test_the_store_url_points_at_the_postgres_service() -> None:
    url = make_url(env_file()["MCPCTL_DATABASE_URL"])
    postgres = compose()["services"]["postgres"]["environment"]
    assert url.get_backend_name() == "postgresql"
    assert (url.host, url.port, url.username, url.database) == (
        "postgres",
        5432,
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_DB"],
    )
    assert postgres["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres-password"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"MCPCTL_RECONCILE_SOURCE": "--repo https://git.example.com/mcp-config.git --ref main --path config"},
        {"MCPCTL_SERVE_ARGS": "--allowed-host mcp.example.com --log-level debug"},
        {
            "MCPCTL_RECONCILE_ARGS": "--webhook-listen 0.0.0.0:9000 --prune-all",
            "MCPCTL_RECONCILE_INTERVAL": "5m",
        },
    ],
)
def test_mcpctl_commands_use_only_flags_that_exist(env: dict[str, str]) -> None:
    services = compose(env)["services"]
    for name in MCPCTL_SERVICES:
        assert unknown_flags(command(services[name])) is None, f"{name}: {command(services[name])}"


def test_the_commands_fill_postgres_and_serve_it(postgres_database_url: str, tmp_path: Path) -> None:
    """The reconciler's and the gateway's commands, as compose runs them, with the host's paths."""
    services = compose()["services"]
    secrets = tmp_path / "run-secrets-mcpctl"
    shutil.copytree(ROOT / "examples" / "secrets", secrets, ignore=shutil.ignore_patterns("*.md"))
    paths = {
        "/config": str(ROOT / "examples" / "config-repo"),
        "/var/lib/mcpctl/tokens": str(tmp_path / "tokens"),
        "/run/secrets/mcpctl": str(secrets),
    }
    env = {
        "MCPCTL_DATABASE_URL": postgres_database_url,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        **{key: paths.get(value, value) for key, value in services["gateway"]["environment"].items()},
    }

    reconcile = [paths.get(word, word) for word in command(services["reconciler"])]
    run_to_end(mcpctl_process([*reconcile, "--once"], env, tmp_path))
    token = (tmp_path / "tokens" / "platform.ci-bot.token").read_text().strip()

    port = free_port()
    serve = [
        {"0.0.0.0": "127.0.0.1", "8080": str(port)}.get(word, word) for word in command(services["gateway"])
    ]
    check = services["gateway"]["healthcheck"]["test"][1:]
    check = [word.replace("127.0.0.1:8080", f"127.0.0.1:{port}") for word in check]
    with running(mcpctl_process(serve, env, tmp_path)) as gateway:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", gateway)
        assert subprocess.run(check, capture_output=True, timeout=30).returncode == 0
        projects = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/projects",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert projects.status_code == 200, projects.text
        # The admin API shows a token its own project at most (admin isolation): never another one.
        assert {project["name"] for project in projects.json()} <= {"platform"}
        me = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert me.status_code == 200 and me.json()["project"] == "platform", me.text
