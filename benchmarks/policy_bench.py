"""Policy speed: one decision with 1,000 role bindings and 100 groups, access changes of 10,000 documents,
and the gateway's tools/call throughput with enforcement on against the same gateway with it bypassed.

The index is built once and asked many times, as the gateway does. Goals: a decision's median ≤ 20 µs;
tools/call throughput with enforcement ≥ 95% of that without, measured in the same run (two gateway
processes over one store and an in-memory upstream, so the gateway's own work is all that is weighed;
rounds alternate between them so both see the same machine).
Usage: python benchmarks/policy_bench.py [--bindings 1000] [--groups 100] [--decisions 200000]
       [--documents 10000] [--runs 3] [--sessions 16] [--seconds 3] [--rounds 4] [--skip-gateway]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _net import free_port, wait_listening

from mcpctl.policy import PolicySet, SubjectRef, access_changes
from mcpctl.schemas import ResourceModel, parse_resource

HERE = Path(__file__).resolve().parent
DECISION_GOAL_US = 20.0
THROUGHPUT_GOAL = 0.95
"""tools/call per second with enforcement, as a share of the same gateway's without."""
TOOLS = ["git_log", "git_diff", "git_diff_staged", "git_commit", "git_show", "get_current_time", "fetch"]


def doc(kind: str, name: str, spec: dict[str, Any], project: str | None = None) -> ResourceModel:
    metadata: dict[str, Any] = {"name": name}
    if project is not None:
        metadata["project"] = project
    return parse_resource({"apiVersion": "mcpctl.dev/v1", "kind": kind, "metadata": metadata, "spec": spec})


def random_rule(rng: random.Random, servers: int) -> dict[str, Any]:
    role = rng.choice(["run", "run", "run", "view", "edit", "create", "delete"])
    resource = "servers" if role == "run" else rng.choice(["servers", "prompts", "projects", "*"])
    found: dict[str, Any] = {"role": role, "resource": resource}
    if rng.random() < 0.7:
        found["names"] = [f"srv-{rng.randrange(servers)}" for _ in range(rng.randint(1, 3))]
    if role == "run" and rng.random() < 0.4:
        found["tools"] = rng.sample(["git_log", "git_diff*", "get_*", "*_time", "fetch"], rng.randint(1, 2))
    return found


def estate(
    rng: random.Random, *, users: int, groups: int, bindings: int, tokens: int, projects: int, servers: int
) -> list[ResourceModel]:
    """Users, groups (each user in a few), role bindings (global and per project) and tokens."""
    out = [doc("User", f"user-{i}", {"email": f"user-{i}@example.com"}) for i in range(users)]
    for g in range(groups):
        members = sorted({f"user-{rng.randrange(users)}" for _ in range(users * 3 // groups)})
        out.append(doc("Group", f"group-{g}", {"members": members}))
    for b in range(bindings):
        subjects = [
            {"kind": "Group", "name": f"group-{rng.randrange(groups)}"} for _ in range(rng.randint(1, 2))
        ]
        if rng.random() < 0.3:
            subjects.append({"kind": "User", "name": f"user-{rng.randrange(users)}"})
        project = f"proj-{rng.randrange(projects)}" if rng.random() < 0.6 else None
        spec: dict[str, Any] = {
            "subjects": subjects,
            "rules": [random_rule(rng, servers) for _ in range(rng.randint(1, 3))],
        }
        if rng.random() < 0.1:
            spec["operations"] = [{"action": rng.choice(["audit", "logs", "backup"])}]
        out.append(doc("RoleBinding", f"rb-{b}", spec, project))
    for t in range(tokens):
        project = f"proj-{rng.randrange(projects)}"
        if rng.random() < 0.5:
            token_spec: dict[str, Any] = {"rbac": "clone", "owner": f"user-{rng.randrange(users)}"}
            if rng.random() < 0.5:
                token_spec["bindings"] = [random_rule(rng, servers)]
        else:
            token_spec = {"bindings": [random_rule(rng, servers) for _ in range(rng.randint(1, 3))]}
        out.append(doc("McpToken", f"tok-{t}", token_spec, project))
    return out


def timed(calls: list[Callable[[], object]]) -> list[float]:
    """Microseconds per call, one measurement per call."""
    clock = time.perf_counter_ns
    found = []
    for call in calls:
        started = clock()
        call()
        found.append((clock() - started) / 1000)
    return found


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99)]


def decisions(args: argparse.Namespace) -> bool:
    rng = random.Random(8)
    resources = estate(
        rng, users=2000, groups=args.groups, bindings=args.bindings, tokens=500, projects=40, servers=300
    )
    started = time.perf_counter()
    policy = PolicySet.from_resources(resources)
    built = time.perf_counter() - started
    # Questions as the gateway asks them: a token (or user) running a tool of a server, in a project.
    subjects = [SubjectRef("User", f"user-{i}") for i in range(0, 2000, 7)]
    subjects += [SubjectRef("McpToken", name, project) for project, name in list(policy.tokens)[:200]]
    cold = timed([lambda s=s: policy.permissions_of(s) for s in subjects])
    grants = [len(policy.permissions_of(s)) for s in subjects]
    questions = []
    for _ in range(args.decisions):
        subject = rng.choice(subjects)
        project = subject.project or f"proj-{rng.randrange(40)}"
        questions.append((subject, f"srv-{rng.randrange(300)}", rng.choice(TOOLS), project))
    by_subject = timed(
        [lambda q=q: policy.decide(q[0], "run", "servers", q[1], q[2], q[3]) for q in questions]
    )
    perms = {s: policy.permissions_of(s) for s in subjects}
    by_set = timed([lambda q=q: perms[q[0]].decide("run", "servers", q[1], q[2], q[3]) for q in questions])
    bare = timed([lambda q=q: perms[q[0]].allows("run", "servers", q[1], q[2], q[3]) for q in questions])
    allowed = sum(policy.decide(q[0], "run", "servers", q[1], q[2], q[3]).allowed for q in questions)
    print(
        f"estate: {args.bindings} role bindings, {args.groups} groups, 2000 users, 500 tokens "
        f"({len(resources)} documents); index built in {built * 1000:.1f} ms"
    )
    print(
        f"subjects asked: {len(subjects)}, "
        f"grants each: median {statistics.median(grants):.0f}, max {max(grants)}"
    )
    print(f"decisions: {len(questions)}, {allowed} allowed")
    median, p99 = percentiles(cold)
    print(f"permissions_of, first call per subject: median {median:.1f} µs, p99 {p99:.1f} µs")
    ok = True
    for label, samples in (
        ("PolicySet.decide(subject, ...)", by_subject),
        ("PermissionSet.decide(...)", by_set),
        ("PermissionSet.allows(...)", bare),
    ):
        median, p99 = percentiles(samples)
        print(f"{label:<32} median {median:6.2f} µs   p99 {p99:6.2f} µs")
        if label.startswith("PolicySet"):
            ok = median <= DECISION_GOAL_US
    print(f"goal: decision median ≤ {DECISION_GOAL_US:.0f} µs: {'met' if ok else 'NOT met'}")
    return ok


def mutate(rng: random.Random, before: list[ResourceModel], share: float) -> list[ResourceModel]:
    """`before` with about `share` of its RBAC documents changed: rules, members, token bindings."""
    after = []
    for resource in before:
        kind = resource.kind_name()
        if kind in ("RoleBinding", "Group", "McpToken") and rng.random() < share:
            document = resource.to_document()
            spec = document["spec"]
            if kind == "RoleBinding":
                spec["rules"] = [random_rule(rng, 300)]
            elif kind == "Group":
                spec["members"] = [*spec.get("members", [])[1:], f"user-{rng.randrange(2000)}"]
            elif spec.get("rbac") != "clone":
                spec["bindings"] = [random_rule(rng, 300)]
            resource = parse_resource(document)
        after.append(resource)
    return after


def changes(args: argparse.Namespace) -> None:
    rng = random.Random(10)
    rbac = estate(rng, users=2000, groups=100, bindings=800, tokens=1000, projects=100, servers=2000)
    filler = [
        doc("Server", f"srv-{i}", {"transport": "stdio", "command": "mcp-server-time"})
        for i in range(args.documents - len(rbac))
    ]
    before = rbac + filler
    after = mutate(rng, before, 0.02)
    seconds, cpu = [], []
    for _ in range(args.runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        found = access_changes(before, after)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    subjects = len({c.subject for c in found})
    print(
        f"access changes: {len(before)} documents before and after ({len(rbac)} of them RBAC, 2% changed): "
        f"{len(found)} changes for {subjects} subjects"
    )
    print(
        f"access_changes: median {statistics.median(seconds) * 1000:.0f} ms, "
        f"best {min(seconds) * 1000:.0f} ms "
        f"(CPU: median {statistics.median(cpu) * 1000:.0f} ms)"
    )
    unchanged = access_changes(before, before)
    print(f"access_changes of a state with itself: {len(unchanged)} changes")


def prepare_gateway_store(directory: Path, args: argparse.Namespace) -> tuple[str, str, str]:
    """A SQLite store: the RBAC estate of the decision arm, server `up` in project `bench`, and two tokens:
    one that may run `up`'s echo (by a tool-scoped binding) and one with no bindings. (URL, run, none)."""
    from mcpctl.schemas import McpToken
    from mcpctl.store import Store

    rng = random.Random(12)
    resources = estate(
        rng, users=2000, groups=args.groups, bindings=args.bindings, tokens=0, projects=40, servers=300
    )
    resources += [
        doc("Server", "up", {"transport": "stdio", "command": "unused-the-upstream-is-in-memory"}),
        doc("Project", "bench", {"servers": ["up"]}),
    ]
    url = f"sqlite:///{directory / 'policy-bench.db'}"
    with Store.open(url) as store, store.transaction(actor="bench") as tx:
        for resource in resources:
            tx.put(resource, managed_by="bench")
        values = []
        for name, bindings in (
            ("runner", [{"role": "run", "resource": "servers", "names": ["up"], "tools": ["ec*"]}]),
            ("none", []),
        ):
            token = doc("McpToken", name, {"bindings": bindings}, "bench")
            assert isinstance(token, McpToken)
            values.append(tx.create_token(token, managed_by="bench"))
    return url, values[0], values[1]


@contextmanager
def memory_gateway(database_url: str, enforce: bool) -> Iterator[str]:
    """A gateway process over an in-memory upstream (gateway_bench.py's), with or without the policy layer."""
    port = free_port()
    command = [
        sys.executable,
        str(HERE / "gateway_bench.py"),
        "--serve-memory-gateway",
        database_url,
        str(port),
    ]
    process = subprocess.Popen(
        [*command, *([] if enforce else ["--no-policy"])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port, process)
        yield f"http://127.0.0.1:{port}/projects/bench/mcp"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def listed(url: str, token: str) -> list[str]:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return [tool.name for tool in (await session.list_tools()).tools]


def layer_check_us(database_url: str, calls: int = 100_000) -> float:
    """Median µs of what the policy layer does per tools/call, on the gateway's own snapshot of the store:
    the token's permissions from the snapshot's PolicySet, then one `allows`. Independent of machine load,
    unlike the throughput figures."""
    from mcpctl.gateway import load_snapshot
    from mcpctl.store import Store

    with Store.open(database_url) as store:
        snapshot = load_snapshot(store)
    token = SubjectRef("McpToken", "runner", "bench")

    def check() -> bool:
        permissions = snapshot.policy.permissions_of(token, strict=False)
        return permissions.allows("run", "servers", "up", "echo")

    assert check()
    samples = timed([check] * calls)
    return statistics.median(samples)


def gateway(args: argparse.Namespace) -> bool:
    from gateway_bench import load

    with tempfile.TemporaryDirectory() as tmp:
        url, runner, none = prepare_gateway_store(Path(tmp), args)
        with memory_gateway(url, True) as enforced, memory_gateway(url, False) as bypassed:
            # The two arms really differ: a token without bindings sees nothing only where policy holds.
            seen = {
                arm: asyncio.run(listed(address, none))
                for arm, address in (("on", enforced), ("off", bypassed))
            }
            assert seen == {"on": [], "off": ["up__echo"]}, seen
            rates: dict[str, list[float]] = {"on": [], "off": []}
            errors = 0
            for round_ in range(args.rounds):
                arms = [("on", enforced), ("off", bypassed)]
                for arm, address in arms if round_ % 2 == 0 else arms[::-1]:
                    found = asyncio.run(
                        load(address, runner, "up__echo", {"text": "x"}, args.sessions, args.seconds)
                    )
                    rates[arm].append(found["calls_per_s"])
                    errors += found["errors"]
        per_call = layer_check_us(url)
    on, off = sum(rates["on"]), sum(rates["off"])
    ratio = on / off if off else 0.0
    print(
        f"gateway tools/call, {args.sessions} sessions, "
        f"{args.rounds} alternating rounds of {args.seconds:g} s "
        f"(estate of {args.bindings} role bindings, {args.groups} groups; token scoped by tool glob):"
    )
    for arm, label in (("on", "enforcement on"), ("off", "enforcement bypassed")):
        shown = ", ".join(f"{r:.0f}" for r in rates[arm])
        print(f"  {label:<21} {statistics.mean(rates[arm]):8.0f} calls/s (rounds: {shown})")
    print(f"  the layer's check per tools/call (permissions from the snapshot + allows): {per_call:.2f} µs")
    ok = ratio >= THROUGHPUT_GOAL and errors == 0
    print(f"  on / bypassed: {ratio * 100:.1f}%, errors: {errors}")
    print(
        f"goal: throughput with enforcement ≥ {THROUGHPUT_GOAL * 100:.0f}% of bypassed: "
        f"{'met' if ok else 'NOT met'}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bindings", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=16, help="Concurrent MCP sessions (gateway arm).")
    parser.add_argument("--seconds", type=float, default=3.0, help="Seconds of load per round and arm.")
    parser.add_argument("--rounds", type=int, default=4, help="Alternating rounds of the two gateways.")
    parser.add_argument("--skip-gateway", action="store_true", help="Only the decision and plan arms.")
    args = parser.parse_args()
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    met = decisions(args)
    changes(args)
    if not args.skip_gateway:
        met = gateway(args) and met
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
