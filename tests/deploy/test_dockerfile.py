"""deploy/Dockerfile: lint-clean, multi-stage, non-root, no compilers in the final image, a health check
that works, and a build context (per its .dockerignore) that really builds the wheel.

No Docker daemon runs here, so the image itself is not built; everything it is made of is checked.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.gateway_harness import free_port

from .deploy_harness import DEPLOY, ROOT, mcpctl_process, running, tool, unknown_flags, wait_http_ok

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake|cargo|rustc|golang|[\w.+-]+-dev)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of each instruction, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(kw.upper(), rest.strip()) for kw, _, rest in (line.strip().partition(" ") for line in logical)]


def stages() -> list[Stage]:
    found: list[Stage] = []
    for keyword, args in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            found.append(Stage(words[0], name))
        elif found:
            found[-1].instructions.append((keyword, args))
    return found


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not the exec form: {args}"
    return [str(item) for item in value]


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = re.escape(pattern.lstrip("!").strip("/"))
        regex = regex.replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]").replace(r"\[", "[").replace(r"\]", "]")
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def ignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_files() -> list[Path]:
    """What `docker build -f deploy/Dockerfile .` sends: the repository files the ignore file lets through."""
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    patterns = ignore_patterns()
    return [ROOT / name for name in tracked if (ROOT / name).is_file() and not ignored(name, patterns)]


def test_hadolint_passes() -> None:
    done = subprocess.run(
        [str(tool("hadolint")), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_multi_stage_with_a_slim_non_root_final_stage() -> None:
    build, final = stages()
    assert build.name == "build"
    assert final.name is None
    assert "slim" in final.base or final.base == "${PYTHON_IMAGE}"
    assert "slim" in next(
        a for k, a in instructions(DOCKERFILE.read_text()) if k == "ARG" and "PYTHON_IMAGE" in a
    )
    users = final.all("USER")
    assert users, "the final stage sets no USER (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the final stage runs as {user}"
    assert user.isdigit(), "a numeric USER lets Kubernetes check runAsNonRoot"


def test_no_build_tools_in_the_final_stage() -> None:
    final = stages()[-1]
    for run in final.all("RUN"):
        for install in re.findall(r"(?:apt-get|apt|apk|dnf|yum)\s+(?:install|add)\s+([^&;|]*)", run):
            packages = [word for word in install.split() if not word.startswith("-")]
            compilers = [p for p in packages if COMPILERS.fullmatch(p)]
            assert not compilers, f"the final stage installs build tools: {compilers}"
        assert "pip wheel" not in run and "setup.py" not in run, "the final stage builds Python packages"
    # Python packages reach the final stage only as the build stage's wheels, installed offline.
    installs = [run for run in final.all("RUN") if "pip install" in run]
    assert installs and all("--no-index" in run and "from=build" in run for run in installs)


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    sent = {path.relative_to(ROOT).as_posix() for path in context_files()}
    copies = [args for stage in stages() for args in stage.all("COPY") + stage.all("ADD")]
    assert copies
    for args in copies:
        words = [word for word in shlex.split(args) if not word.startswith("--")]
        assert not any(word.startswith("--from") for word in shlex.split(args)), (
            "COPY --from is not checked here"
        )
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
            assert any(name == source or name.startswith(source.rstrip("/") + "/") for name in sent), (
                f"COPY {source}: excluded by {DOCKERIGNORE.name}"
            )
    assert not any(name.startswith((".venv/", "node_modules/", "tests/", ".git/")) for name in sent)


def test_the_build_context_builds_the_wheel(tmp_path: Path) -> None:
    """`pip wheel` on exactly the files the build stage receives, as its RUN line does (without deps)."""
    context = tmp_path / "context"
    for path in context_files():
        target = context / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    wheels = tmp_path / "wheels"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(wheels),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = wheels.glob("mcpctl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = archive.read(
            next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        ).decode()
    # Every source file, py.typed and the migrations (env.py, script.py.mako, versions/) included.
    package = ROOT / "src"
    sources = {
        path.relative_to(package).as_posix()
        for path in package.joinpath("mcpctl").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert {"mcpctl/py.typed", "mcpctl/store/migrations/script.py.mako"} <= sources
    assert sources <= names, f"missing from the wheel: {sorted(sources - names)}"
    assert "mcpctl = mcpctl.cli:main" in entry_points
    assert re.search(r"^Requires-Dist: psycopg\[binary\].*extra == \"postgres\"", metadata, re.MULTILINE)


def test_entrypoint_and_default_command() -> None:
    final = stages()[-1]
    (entrypoint,) = final.all("ENTRYPOINT")
    (command,) = final.all("CMD")
    assert exec_form(entrypoint) == ["mcpctl"]
    args = exec_form(command)
    assert args[:3] == ["serve", "--host", "0.0.0.0"]
    assert unknown_flags(args) is None
    assert "8080" in final.all("EXPOSE")


def health_check() -> tuple[list[str], str]:
    """The HEALTHCHECK command (exec form) and the URL it asks by default (from the image's ENV)."""
    final = stages()[-1]
    (check,) = final.all("HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert "--interval" in options and "--timeout" in options
    env = " ".join(final.all("ENV"))
    url = re.search(r"MCPCTL_HEALTH_URL=(\S+)", env)
    assert url is not None
    return exec_form(command), url.group(1)


def test_health_check_asks_healthz_on_the_default_port_with_python() -> None:
    argv, url = health_check()
    assert argv[0] == "python", "the health check must use a program the slim image has (no curl there)"
    assert url == "http://127.0.0.1:8080/healthz"


def test_health_check_command_passes_on_a_running_gateway_and_fails_without(tmp_path: Path) -> None:
    argv, _ = health_check()
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    check = [sys.executable, *argv[1:]]

    def healthy() -> int:
        return subprocess.run(
            check, env={"MCPCTL_HEALTH_URL": url}, capture_output=True, timeout=30
        ).returncode

    assert healthy() != 0, "the health check passed with nothing listening"
    store = f"sqlite:///{tmp_path / 'mcpctl.db'}"
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", store]
    with running(mcpctl_process(serve, {}, tmp_path)) as gateway:
        wait_http_ok(url, gateway)
        assert healthy() == 0


@pytest.mark.parametrize(
    "pattern,path,expected",
    [
        ("*", "src/mcpctl/cli.py", True),
        ("*\n!src", "src/mcpctl/cli.py", False),
        ("*\n!src\n**/__pycache__", "src/mcpctl/__pycache__/x.pyc", True),
        ("*\n!README.md", "README.md", False),
        ("*\n!README.md", "docs/README.md", True),
    ],
)
def test_the_dockerignore_matcher_follows_docker(pattern: str, path: str, expected: bool) -> None:
    assert ignored(path, pattern.splitlines()) is expected
