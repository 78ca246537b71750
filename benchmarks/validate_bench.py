"""Benchmark of `load_and_validate`: documents validated per second on a generated config repo.

Usage: python benchmarks/validate_bench.py [--resources 10000] [--files 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcpctl.schemas import load_and_validate

HEADER = "apiVersion: mcpctl.dev/v1\n"


def _documents(total: int) -> dict[str, list[str]]:
    """YAML documents by folder: a realistic mix of every kind, every reference resolvable."""
    share = {
        "templates": 0.002,
        "proxymodels": 0.001,
        "servers": 0.2,
        "projects": 0.02,
        "users": 0.2,
        "groups": 0.02,
        "prompts": 0.4,
        "rolebindings": 0.08,
    }
    counts = {folder: max(1, int(total * fraction)) for folder, fraction in share.items()}
    counts["tokens"] = max(0, total - sum(counts.values()))
    docs: dict[str, list[str]] = {folder: [] for folder in counts}
    for i in range(counts["templates"]):
        docs["templates"].append(
            f"{HEADER}kind: Template\nmetadata:\n  name: tpl-{i}\n  description: template {i}\n"
            "spec:\n  version: '2'\n  parameters:\n  - name: url\n    required: true\n"
            "  - name: token\n    secret: true\n    required: true\n  server:\n"
            "    transport: streamable-http\n    url: '{{ url }}'\n"
            "    headers:\n      Authorization: '{{ token }}'\n"
        )
    for i in range(counts["proxymodels"]):
        docs["proxymodels"].append(
            f"{HEADER}kind: ProxyModel\nmetadata:\n  name: pipeline-{i}\nspec:\n  stages:\n"
            "  - type: paginate\n    maxResponseChars: 50000\n  - type: split-sections\n"
        )
    servers = counts["servers"]
    for i in range(servers):
        if i % 4 == 0:
            body = (
                f"spec:\n  fromTemplate:\n    name: tpl-{i % counts['templates']}\n    values:\n"
                f"      url: https://mcp-{i}.example.com/mcp\n"
                "      token:\n        secretRef: {name: api-tokens, key: token}\n"
            )
        else:
            body = (
                "spec:\n  transport: stdio\n  command: mcp-server-time\n"
                "  args: [--local-timezone, UTC]\n  env:\n    LOG_LEVEL: info\n"
                f"    API_KEY:\n      secretRef:\n        name: srv-{i}\n        key: api-key\n"
                "  timeouts:\n    connectSeconds: 20\n  toolFilter:\n    exclude: ['debug_*']\n"
            )
        docs["servers"].append(
            f"{HEADER}kind: Server\nmetadata:\n  name: srv-{i}\n  labels:\n    team: t{i % 7}\n{body}"
        )
    projects = counts["projects"]
    for i in range(projects):
        members = "\n".join(f"  - srv-{(i * 5 + k) % servers}" for k in range(5))
        proxy = "gate" if i % 3 == 0 else f"pipeline-{i % counts['proxymodels']}"
        docs["projects"].append(
            f"{HEADER}kind: Project\nmetadata:\n  name: proj-{i}\nspec:\n  servers:\n{members}\n"
            f"  proxyModel: {proxy}\n  instructions: |\n    Use the tools of project {i}.\n"
            "  llm:\n    provider: vllm\n    model: qwen\n"
        )
    users = counts["users"]
    for i in range(users):
        docs["users"].append(
            f"{HEADER}kind: User\nmetadata:\n  name: user-{i}\nspec:\n  email: user{i}@example.com\n"
            f"  displayName: User {i}\n"
        )
    for i in range(counts["groups"]):
        members = ", ".join(f"user-{(i * 10 + k) % users}" for k in range(10))
        docs["groups"].append(
            f"{HEADER}kind: Group\nmetadata:\n  name: group-{i}\nspec:\n  members: [{members}]\n"
        )
    for i in range(counts["prompts"]):
        project = i % projects
        if i % 5 == 0:
            source = f"  linkTarget: proj-{project}/srv-{(project * 5) % servers}:file:///docs/{i}.md\n"
        else:
            source = f"  content: |\n    Step-by-step guide number {i}.\n    Ask before deleting anything.\n"
        docs["prompts"].append(
            f"{HEADER}kind: Prompt\nmetadata:\n  name: prompt-{i}\n  project: proj-{project}\n"
            f"spec:\n{source}  priority: {1 + i % 10}\n  tags: [guide, t{i % 13}]\n  summary: Guide {i}\n"
        )
    for i in range(counts["rolebindings"]):
        docs["rolebindings"].append(
            f"{HEADER}kind: RoleBinding\nmetadata:\n  name: rb-{i}\nspec:\n  subjects:\n"
            f"  - kind: Group\n    name: group-{i % counts['groups']}\n"
            f"  - kind: User\n    name: user-{i % users}\n  rules:\n"
            f"  - role: run\n    resource: servers\n    names: [srv-{i % servers}]\n"
            "  - role: view\n    resource: projects\n"
        )
    for i in range(counts["tokens"]):
        docs["tokens"].append(
            f"{HEADER}kind: McpToken\nmetadata:\n  name: token-{i}\n  project: proj-{i % projects}\n"
            f"spec:\n  description: CI token {i}\n  expires: 90d\n  owner: user-{i % users}\n"
            "  rbac: clone\n  bindings:\n  - role: run\n    resource: servers\n"
        )
    return docs


def generate_repo(root: Path, resources: int = 10_000, files: int = 500) -> int:
    """Write a config repo of `resources` documents spread over about `files` files; returns the count."""
    docs = _documents(resources)
    per_file = max(1, resources // files)
    written = 0
    for folder, items in docs.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for start in range(0, len(items), per_file):
            chunk = items[start : start + per_file]
            (root / folder / f"{folder}-{start // per_file:04d}.yaml").write_text("---\n".join(chunk))
            written += len(chunk)
    return written


def run(resources: int, files: int, runs: int) -> dict[str, Any]:
    """Generate a repo, validate it `runs` times, and return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        count = generate_repo(root, resources, files)
        file_count = sum(1 for _ in root.rglob("*.yaml"))
        rates: list[float] = []
        cpu_rates: list[float] = []
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = load_and_validate([str(root)])
            elapsed = time.perf_counter() - started
            cpu_rates.append(count / (time.process_time() - cpu_started))
            if not result.valid or result.documents != count:
                for problem in result.problems[:10]:
                    print(problem, file=sys.stderr)
                raise SystemExit("the generated repository did not validate clean")
            rates.append(count / elapsed)
    return {
        "documents": count,
        "files": file_count,
        "best": max(rates),
        "median": statistics.median(rates),
        "cpu_best": max(cpu_rates),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures = run(args.resources, args.files, args.runs)
    print(f"validated {figures['documents']} documents in {figures['files']} files, {args.runs} runs")
    print(f"best:   {figures['best']:,.0f} docs/s")
    print(f"median: {figures['median']:,.0f} docs/s")
    # Per CPU-second: what one core does, whatever else the machine is busy with.
    print(f"best per CPU-second: {figures['cpu_best']:,.0f} docs/s")


if __name__ == "__main__":
    main()
