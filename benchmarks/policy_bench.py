"""Policy speed: one decision with 1,000 role bindings and 100 groups, and access changes of 10,000 documents.

The index is built once and asked many times, as the gateway does. Goal: a decision's median ≤ 20 µs.
Usage: python benchmarks/policy_bench.py [--bindings 1000] [--groups 100] [--decisions 200000]
       [--documents 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from mcpctl.policy import PolicySet, SubjectRef, access_changes
from mcpctl.schemas import ResourceModel, parse_resource

DECISION_GOAL_US = 20.0
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bindings", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    met = decisions(args)
    changes(args)
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
