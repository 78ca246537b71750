"""GitOps figures: commit → live via the webhook and via polling, and a no-change pass over 10,000 resources.

Run: .venv/bin/python benchmarks/gitops_bench.py [--database-url URL] [--resources 10000] [--interval 2]
Everything is real: git repositories in a temp dir, `mcpctl reconcile` as a subprocess, a real store.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import git
import httpx
from _net import free_port

from mcpctl.gateway import webhook_signature
from mcpctl.reconciler import GitSource, LoopConfig, ReconcileLoop, plan_against
from mcpctl.schemas import CLI_MANAGER, parse_resource
from mcpctl.store import Store

MCPCTL = str(Path(sys.executable).parent / "mcpctl")
SECRET = "bench-secret"


def user_doc(name: str, email: str) -> str:
    return f"apiVersion: mcpctl.dev/v1\nkind: User\nmetadata:\n  name: {name}\nspec:\n  email: {email}\n"


class Remote:
    """A bare origin plus a working clone that commits and pushes."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"
        git.Repo.init(self.bare, bare=True, initial_branch="main")
        self.work = git.Repo.clone_from(str(self.bare), root / "work")
        with self.work.config_writer() as config:
            config.set_value("user", "name", "Bench")
            config.set_value("user", "email", "bench@example.com")
        self.work.git.checkout("-b", "main")

    def push(self, files: dict[str, str]) -> str:
        for name, text in files.items():
            path = Path(self.work.working_dir) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.work.git.add("-A")
        sha = self.work.index.commit("bench").hexsha
        self.work.git.push("origin", "main")
        return sha


def wait(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until `check()` held (polled every 10 ms); raises after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.01)
    raise TimeoutError("the change did not go live")


def email_of(store: Store, name: str) -> str | None:
    from mcpctl.schemas import Identity

    found = store.get_resource(Identity("User", None, name))
    return None if found is None else str(found.resource.spec.email)  # type: ignore[attr-defined]


def commit_to_live(
    database_url: str, root: Path, *, webhook: bool, interval: float, rounds: int
) -> list[float]:
    """Seconds from `git commit` (then push, then the webhook call when used) to the store showing it."""
    remote = Remote(root / ("hook" if webhook else "poll"))
    remote.push({"users.yaml": user_doc("alice", "v0@example.com")})
    port = free_port()
    args = ["--repo", str(remote.bare), "--database-url", database_url, "--no-watch"]
    args += (
        ["--interval", "1h", "--webhook-listen", f"127.0.0.1:{port}"]
        if webhook
        else ["--interval", f"{interval}s"]
    )
    log = (root / f"reconcile-{'hook' if webhook else 'poll'}.log").open("w")
    process = subprocess.Popen(
        [MCPCTL, "reconcile", *args, "--status-file", str(root / f"status-{port}.json")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MCPCTL_CACHE_DIR": str(root / "cache"), "MCPCTL_WEBHOOK_SECRET": SECRET},
    )
    store = Store.open(database_url)
    times: list[float] = []
    try:
        wait(lambda: email_of(store, "alice") == "v0@example.com", 60)
        if webhook:
            wait(lambda: _healthy(port), 30)
        for n in range(1, rounds + 1):
            email = f"v{n}@example.com"
            started = time.monotonic()
            remote.push({"users.yaml": user_doc("alice", email)})
            if webhook:
                body = b'{"ref": "refs/heads/main"}'
                response = httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/reconcile",
                    content=body,
                    headers={
                        "X-Hub-Signature-256": webhook_signature(SECRET, body),
                        "X-GitHub-Event": "push",
                    },
                )
                response.raise_for_status()
            wait(lambda email=email: email_of(store, "alice") == email, interval + 30)  # type: ignore[misc]
            times.append(time.monotonic() - started)
            if not webhook:
                # Start the next commit at a random point of the polling cycle, as real commits do.
                time.sleep((n * 0.37 % 1.0) * interval)
    finally:
        store.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return times


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def big_repo(remote: Remote, count: int) -> None:
    """`count` resources over ~count/20 files: servers, users, groups, projects with prompts."""
    files: dict[str, str] = {}
    projects = max(1, count // 100)
    prompts_per_project = 50
    servers = (count - projects - projects * prompts_per_project) // 2
    users = count - projects - projects * prompts_per_project - servers
    for start in range(0, servers, 20):
        files[f"servers/s{start:05d}.yaml"] = "---\n".join(
            f"apiVersion: mcpctl.dev/v1\nkind: Server\nmetadata:\n  name: srv-{i}\n"
            f"  labels: {{team: t{i % 7}}}\n"
            f"spec:\n  transport: stdio\n  command: mcp-server-time\n  args: [--local-timezone, UTC]\n"
            f"  env:\n    LEVEL: info\n    TOKEN: {{secretRef: {{name: s{i % 5}, key: token}}}}\n"
            for i in range(start, min(start + 20, servers))
        )
    for start in range(0, users, 20):
        files[f"rbac/users-{start:05d}.yaml"] = "---\n".join(
            user_doc(f"user-{i}", f"user-{i}@example.com") for i in range(start, min(start + 20, users))
        )
    for p in range(projects):
        files[f"projects/p{p}/project.yaml"] = (
            f"apiVersion: mcpctl.dev/v1\nkind: Project\nmetadata:\n  name: proj-{p}\n"
            f"spec:\n  servers: [srv-{p % servers}, srv-{(p + 1) % servers}]\n  instructions: Be brief.\n"
        )
        for start in range(0, prompts_per_project, 25):
            files[f"projects/p{p}/prompts/{start}.yaml"] = "---\n".join(
                f"apiVersion: mcpctl.dev/v1\nkind: Prompt\nmetadata:\n"
                f"  name: prompt-{i}\n  project: proj-{p}\n"
                f"spec:\n  content: |\n    Step one.\n    Step two for {i}.\n  tags: [a, b]\n  priority: 3\n"
                for i in range(start, min(start + 25, prompts_per_project))
            )
    remote.push(files)


def timed(label: str, action: Callable[[], object]) -> float:
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"  {label:<58} {elapsed:7.3f} s   {result}")
    return elapsed


def no_change_pass(database_url: str, root: Path, count: int) -> dict[str, float]:
    """Apply a `count`-resource repo, then time passes that find nothing to change."""
    os.environ["MCPCTL_CACHE_DIR"] = str(root / "cache")
    remote = Remote(root / "big")
    big_repo(remote, count)
    store = Store.open(database_url)
    source = GitSource(str(remote.bare), ref="main")

    def loop() -> ReconcileLoop:
        return ReconcileLoop(
            source, lambda: store, LoopConfig(interval=60), status_file=root / "big-status.json"
        )

    first = loop()
    figures = {}
    try:
        figures["apply"] = timed(f"first pass: apply {count} creates", lambda: first.run_once())
        assert len(store.list_resources()) == count, "not everything was applied"
        figures["warm"] = timed(
            "next pass, nothing moved (fetch + generation check)", lambda: first.run_once()
        )
        figures["restart"] = timed(
            "pass of a restarted loop (fetch + history row check)", lambda: loop().run_once()
        )
        with store.transaction() as tx:
            tx.put(parse_resource(_user("outsider")), managed_by=CLI_MANAGER)
        figures["drift_check"] = timed(
            "pass after an unrelated CLI change (re-plan, no apply)", lambda: first.run_once()
        )

        def full() -> str:
            # What a pass costs when it must read everything (a new commit, or the store moved after
            # a restart): fetch, check out, load and validate the commit, plan against the store.
            plan = plan_against(store, source.load())
            return f"{len(plan.changes)} change(s)"

        figures["cold"] = timed("full pass (fetch, load, validate, plan)", full)
    finally:
        store.close()
    return figures


def _user(name: str) -> dict[str, object]:
    return {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "User",
        "metadata": {"name": name},
        "spec": {"email": f"{name}@example.com"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="run on PostgreSQL: a server URL (e.g. postgresql://postgres@127.0.0.1:5432/test); the bench "
        "creates and drops databases of its own there (default: SQLite files in a temp dir)",
    )
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=2.0, help="polling interval for the polling figure")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcpctl-gitops-bench-") as temp:
        root = Path(temp)

        made: list[str] = []

        def url(name: str) -> str:
            if options.postgres is None:
                return f"sqlite:///{root / name}"
            database = f"mcpctl_bench_{name.split('.')[0]}_{os.getpid()}"
            with psycopg.connect(options.postgres, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {database}")
            made.append(database)
            return f"{options.postgres.rpartition('/')[0]}/{database}"

        if options.postgres is not None:
            import psycopg
        print(f"store: {'postgresql' if options.postgres else 'sqlite'}; {os.cpu_count()} CPUs")
        hook = commit_to_live(url("hook.db"), root, webhook=True, interval=0, rounds=options.rounds)
        print(
            f"commit → live via webhook: median {statistics.median(hook):.3f} s, max {max(hook):.3f} s "
            f"over {len(hook)} commits (goal ≤ 1 s)"
        )
        poll = commit_to_live(
            url("poll.db"), root, webhook=False, interval=options.interval, rounds=options.rounds
        )
        print(
            f"commit → live via polling every {options.interval:g} s: "
            f"median {statistics.median(poll):.3f} s, "
            f"max {max(poll):.3f} s (goal ≤ interval + 1 = {options.interval + 1:g} s)"
        )
        print(f"reconcile passes over a {options.resources}-resource repo:")
        figures = no_change_pass(url("big.db"), root, options.resources)
        print(
            f"one reconcile pass over {options.resources} resources with no changes: {figures['cold']:.3f} s "
            f"(full), {figures['restart']:.3f} s (restarted loop), {figures['warm']:.3f} s (nothing moved) "
            "(goal ≤ 3 s)"
        )
        for database in made:
            with psycopg.connect(options.postgres, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
