"""The collector pause around big loads, the freeze only one-shot commands may use, and the server's
one-off tuning (each case in a child process: freezing would reach the test process's own objects)."""

from __future__ import annotations

import socket
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


def test_a_server_freezes_its_startup_heap_once_and_collects_less_often() -> None:
    out = run(
        """
        import gc
        from mcpctl._gc import SERVER_THRESHOLDS, tune_for_server
        import mcpctl.gateway
        tune_for_server()
        frozen = gc.get_freeze_count()
        garbage = [[] for _ in range(100)]
        for item in garbage:
            item.append(item)  # cycles made while serving are still collected
        del garbage, item
        print(frozen > 10_000, gc.get_threshold() == SERVER_THRESHOLDS, gc.collect() >= 100)
        print(gc.get_freeze_count() == frozen)
        """
    )
    assert out == "True True True\nTrue"


def test_serve_tunes_the_collector_before_it_serves() -> None:
    with socket.socket() as probe:  # a port free now (serve binds it before it serves)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = run(
        f"""
        import uvicorn
        from click.testing import CliRunner
        import mcpctl.cli._serve as serve_module
        from mcpctl.cli._main import cli
        order = []
        serve_module.tune_for_server = lambda: order.append("tuned")
        uvicorn.Server.run = lambda self, sockets=None: order.append("served")
        result = CliRunner().invoke(cli, ["serve", "--database-url", "sqlite://", "--port", "{port}"])
        print(result.exit_code, order)
        """
    )
    assert out == "0 ['tuned', 'served']"
