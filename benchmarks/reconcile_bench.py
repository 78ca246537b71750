"""Reconciler speed: apply of all creates, no-op plan, plan with 1% changed, and peak memory.

Runs each (size, backend) case in a fresh subprocess (so peak RSS is the case's own) and prints a table.
Usage: python benchmarks/reconcile_bench.py [--sizes 1000,10000,100000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

POSTGRES_URL = os.environ.get("MCPCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
GOALS = {"apply_s": 10.0, "noop_plan_s": 2.0, "changed_plan_s": 2.0, "peak_mb": 300.0}
"""Goals at 10,000 resources (issue: reconciler)."""


def generate(count: int, variant: int = 0) -> list[Any]:
    """`count` resources of a realistic mix; `variant` > 0 changes every 100th resource's spec."""
    from mcpctl.schemas import parse_resource

    def doc(kind: str, name: str, spec: dict[str, Any], project: str | None = None) -> Any:
        metadata: dict[str, Any] = {"name": name, "labels": {"team": f"t{hash(name) % 7}"}}
        if project:
            metadata["project"] = project
        return parse_resource(
            {"apiVersion": "mcpctl.dev/v1", "kind": kind, "metadata": metadata, "spec": spec}
        )

    out = []
    projects = max(1, count // 100)
    for p in range(projects):
        out.append(doc("Project", f"proj-{p}", {"servers": [f"srv-{p}-{i}" for i in range(3)]}))
    index = 0
    while len(out) < count:
        p = index % projects
        changed = variant and index % 100 == 0
        kind = index % 4
        if kind in (0, 1) and index // 4 < projects * 20:
            args = ["mcp-server-time", "--local-timezone", "Europe/Paris" if changed else "UTC"]
            out.append(
                doc(
                    "Server",
                    f"srv-{p}-{index}",
                    {
                        "transport": "stdio",
                        "command": "uvx",
                        "args": args,
                        "env": {"LOG_LEVEL": "info", "API_TOKEN": "x"},
                    },
                )
            )
        elif kind == 2:
            text = f"Prompt {index} for project {p}. " * 5 + ("(edited)" if changed else "")
            out.append(
                doc("Prompt", f"prompt-{index}", {"content": text, "tags": ["a", "b"]}, project=f"proj-{p}")
            )
        else:
            out.append(
                doc(
                    "User",
                    f"user-{index}",
                    {
                        "email": f"user{index}@example.com",
                        "displayName": f"User {index}" + (" (edited)" if changed else ""),
                    },
                )
            )
        index += 1
    return out[:count]


def run_case(count: int, backend: str) -> dict[str, float]:
    """One measured case in this process."""
    from mcpctl.reconciler import DesiredState, apply_plan, plan_against
    from mcpctl.store import Store

    schema = None
    tmp = tempfile.TemporaryDirectory()
    if backend == "sqlite":
        url = f"sqlite:///{tmp.name}/bench.db"
    else:
        import psycopg

        schema = f"mcpctl_bench_{secrets.token_hex(4)}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"
    try:
        desired = DesiredState(tuple(generate(count)), "/bench")
        store = Store.open(url)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            plan = plan_against(store, desired)
            apply_plan(store, plan, lock_timeout=60)
            apply_s, apply_cpu = time.perf_counter() - started, time.process_time() - cpu
            assert plan.counts["add"] == count

            started, cpu = time.perf_counter(), time.process_time()
            noop = plan_against(store, desired)
            noop_s, noop_cpu = time.perf_counter() - started, time.process_time() - cpu
            assert not noop.has_changes

            # Only one desired set in memory at a time, as in a real run.
            del desired, plan, noop
            changed = DesiredState(tuple(generate(count, variant=1)), "/bench")
            started, cpu = time.perf_counter(), time.process_time()
            some = plan_against(store, changed)
            changed_s, changed_cpu = time.perf_counter() - started, time.process_time() - cpu
            n_changed = len(some.changes)
        finally:
            store.close()
    finally:
        if schema is not None:
            import psycopg

            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
        tmp.cleanup()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "apply_s": apply_s,
        "noop_plan_s": noop_s,
        "changed_plan_s": changed_s,
        "apply_cpu": apply_cpu,
        "noop_plan_cpu": noop_cpu,
        "changed_plan_cpu": changed_cpu,
        "changed": float(n_changed),
        "peak_mb": peak_kb / 1024,
    }


def _cell(result: dict[str, float], name: str) -> str:
    return f"{result[name + '_s']:>6.2f}s ({result[name + '_cpu']:>5.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--case", nargs=2, metavar=("SIZE", "BACKEND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(int(args.case[0]), args.case[1])))
        return
    header = (
        f"{'resources':>10} {'backend':<11} {'apply all':>15} {'no-op plan':>15} {'1% plan':>15} "
        f"{'changes':>8} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            done = subprocess.run(
                [sys.executable, __file__, "--case", str(size), backend], capture_output=True, text=True
            )
            if done.returncode != 0:
                print(f"{size:>10} {backend:<11} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(done.stdout)
            print(
                f"{size:>10} {backend:<11} {_cell(r, 'apply')} {_cell(r, 'noop_plan')} "
                f"{_cell(r, 'changed_plan')} {int(r['changed']):>8} {r['peak_mb']:>8.0f}",
                flush=True,
            )
    print(
        f"\nGoals at 10,000: apply ≤ {GOALS['apply_s']:.0f} s, no-op plan ≤ {GOALS['noop_plan_s']:.0f} s, "
        f"1% plan ≤ {GOALS['changed_plan_s']:.0f} s, peak ≤ {GOALS['peak_mb']:.0f} MB "
        "(peak RSS of the whole benchmark process).\nTimes are wall clock (CPU seconds of this process "
        "in brackets; on a busy machine the CPU figure is the steadier one)."
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
