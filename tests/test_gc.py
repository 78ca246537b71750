"""The collector pause around big loads, and the freeze only one-shot commands may use
(each case in a child process: freezing would reach the test process's own objects)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_pause_restores_the_collector_and_freezes_nothing_by_default() -> None:
    out = run(
        """
        import gc
        from mcpctl._gc import paused_gc
        with paused_gc():
            inside = gc.isenabled()
            data = [{"n": i} for i in range(1000)]
        print(inside, gc.isenabled(), gc.get_freeze_count())
        """
    )
    assert out == "False True 0"


def test_a_one_shot_process_freezes_what_a_pause_built() -> None:
    out = run(
        """
        import gc
        from mcpctl._gc import one_shot_process, paused_gc
        one_shot_process()
        with paused_gc():
            data = [{"n": i} for i in range(1000)]
        print(gc.isenabled(), gc.get_freeze_count() >= 1000)
        """
    )
    assert out == "True True"


@pytest.mark.parametrize(
    ("command", "one_shot"), [("validate", True), ("get", True), ("serve", False), ("audit", False)]
)
def test_only_commands_that_end_with_their_work_are_one_shot(command: str, one_shot: bool) -> None:
    out = run(
        f"""
        import click, mcpctl._gc as state
        from mcpctl.cli._main import cli
        context = cli.make_context("mcpctl", ["{command}", "--help"])
        context.invoked_subcommand = "{command}"
        with context:
            cli.callback(debug=False)
        print(state._freeze_after_pause)
        """
    )
    assert out == str(one_shot)
