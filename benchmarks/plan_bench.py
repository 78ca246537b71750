"""Where the CPU of `mcpctl plan -f` goes: N documents, no changes, against a store holding them.

cli_bench.py prints the whole-process figure the issue names; this splits it by phase, in process:
imports (a fresh interpreter importing what `plan -f` loads), YAML parse, validation (schemas and
cross-references), store read (hashing the desired resources, reading the rows), diff and rendering.
Each phase is the best of `--runs` (CPU seconds: user + system of this process).

Usage: python benchmarks/plan_bench.py [--resources 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from validate_bench import generate_repo

from mcpctl.plan import diff, render_text
from mcpctl.reconciler import FileSource, apply_plan, plan_against
from mcpctl.reconciler._planning import by_content_hash
from mcpctl.schemas import load_documents, validate_documents, with_builtin_templates
from mcpctl.store import Store

IMPORTS = "import mcpctl.cli._main, mcpctl.cli._plan, mcpctl.store, mcpctl.plan._diff"


def _best(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.process_time()
        result = work()
        best = min(best, time.process_time() - started)
    return best, result


def _imports(runs: int) -> float:
    code = f"import time\n{IMPORTS}\nprint(time.process_time())"
    return min(
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout)
        for _ in range(runs)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        count = generate_repo(repo, args.resources, max(1, args.resources // 20))
        source = FileSource((str(repo),))
        state = source.load()
        store = Store.open(f"sqlite:///{tmp}/store.db")
        try:
            apply_plan(store, plan_against(store, state))
            phases: dict[str, float] = {"imports (fresh interpreter)": _imports(args.runs)}
            phases["YAML parse"], loaded = _best(args.runs, lambda: load_documents([str(repo)]))
            phases["validation"], result = _best(
                args.runs, lambda: validate_documents(loaded.documents, loaded.problems)
            )
            desired = with_builtin_templates([item.resource for item in result.resources])
            phases["store read (hash + rows)"], live = _best(
                args.runs, lambda: store.list_resources(reuse=by_content_hash(desired))
            )
            phases["diff"], plan = _best(args.runs, lambda: diff(desired, live, manager=state.manager))
            phases["render"], _ = _best(args.runs, lambda: render_text(plan))
        finally:
            store.close()
    assert not plan.has_changes, "the store should match the files"
    print(f"plan -f of {count:,} documents, no changes: CPU seconds by phase (best of {args.runs})")
    for label, seconds in phases.items():
        print(f"  {label:<30} {seconds:7.3f} s")
    print(f"  {'total':<30} {sum(phases.values()):7.3f} s   (goal: whole process <= 1.2 s)")


if __name__ == "__main__":
    main()
