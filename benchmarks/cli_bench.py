"""Whole-process speed of the command line: medians of several runs of the real `mcpctl` executable.

Prints, for each case, the median wall time and the median CPU time (user + system of the child; the
robust figure on a busy machine) next to the issue's goal:
  mcpctl --help, the --help of twelve subcommands and two TAB completions (goal 0.15 s each),
  plan -f of N documents, no changes, against a store holding them (goal 1.2 s at 10,000),
  validate of N documents (goal 15,000 docs/s at 10,000).

Usage: python benchmarks/cli_bench.py [--resources 10000] [--runs 5] [--skip-plan]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from validate_bench import generate_repo

MCPCTL = str(Path(sys.executable).with_name("mcpctl"))
STARTUP_GOAL_S = 0.15
PLAN_GOAL_S = 1.2
VALIDATE_GOAL_DOCS_S = 15_000
HELP_COMMANDS = (
    "get", "describe", "apply", "plan", "validate", "serve",
    "create", "edit", "rotate", "auth", "history", "backup",
)  # fmt: skip
"""Subcommands whose `--help` is timed."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    args: list[str], runs: int, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """Median (wall seconds, CPU seconds) of `runs` runs of `mcpctl ARGS`, after one unmeasured run.

    Runs as an installed command runs: with bytecode caches. PYTHONDONTWRITEBYTECODE (set on some
    machines) is dropped, or every run would compile the package's sources again (~0.3 s)."""
    child_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | (env or {})
    subprocess.run([MCPCTL, *args], env=child_env, capture_output=True, check=False)
    walls, cpus = [], []
    for _ in range(runs):
        cpu, started = _children_cpu(), time.perf_counter()
        done = subprocess.run(
            [MCPCTL, *args],
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
        if done.returncode not in ok:
            raise SystemExit(
                f"mcpctl {' '.join(args)} exited {done.returncode}: {done.stderr.decode()[-500:]}"
            )
    return statistics.median(walls), statistics.median(cpus)


def _row(label: str, wall: float, cpu: float, goal: str) -> None:
    print(f"{label:<34} {wall:8.3f} s {cpu:8.3f} s   {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-plan", action="store_true", help="skip the plan case (its setup applies N)")
    args = parser.parse_args()
    runs = max(5, args.runs)
    print(f"{'case (median of ' + str(runs) + ' runs)':<34} {'wall':>10} {'CPU':>10}   goal")
    helps = [("mcpctl --help", ["--help"])]
    helps += [(f"mcpctl {name} --help", [name, "--help"]) for name in HELP_COMMANDS]
    for label, argv in helps:
        wall, cpu = measure(argv, runs)
        _row(label, wall, cpu, f"<= {STARTUP_GOAL_S} s")
    for label, words in (("TAB: mcpctl ge<TAB>", "mcpctl ge"), ("TAB: mcpctl get se<TAB>", "mcpctl get se")):
        env = {
            "_MCPCTL_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        wall, cpu = measure([], runs, env)
        _row(label, wall, cpu, f"<= {STARTUP_GOAL_S} s")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        count = generate_repo(repo, args.resources, max(1, args.resources // 20))
        wall, cpu = measure(["validate", str(repo)], runs)
        _row(f"validate {count:,} docs", wall, cpu, f">= {VALIDATE_GOAL_DOCS_S:,} docs/s")
        print(f"{'':<34} {count / wall:8,.0f}/s {count / cpu:8,.0f}/s")
        if not args.skip_plan:
            url = f"sqlite:///{tmp}/store.db"
            tokens = str(Path(tmp) / "tokens")
            setup = [
                MCPCTL,
                "apply",
                "-f",
                str(repo),
                "--yes",
                "--database-url",
                url,
                "--token-output",
                tokens,
            ]
            subprocess.run(setup, check=True, stdout=subprocess.DEVNULL)
            plan = ["plan", "-f", str(repo), "--database-url", url, "--detailed-exitcode"]
            wall, cpu = measure(plan, runs)  # exit 0: no changes (2 would mean the store differs)
            _row(f"plan -f {count:,} docs, no changes", wall, cpu, f"<= {PLAN_GOAL_S} s at 10,000")


if __name__ == "__main__":
    main()
