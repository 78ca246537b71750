#!/usr/bin/env python3
"""Run the example estate for `make run`: the two npm HTTP upstreams and the gateway, as one unit.

Each child runs in the foreground of this supervisor; when this process gets SIGINT or SIGTERM, when
its parent (make) goes away, or when any child exits, it stops every child (SIGTERM, then SIGKILL
after a grace period) and exits. Children also get SIGTERM from the kernel if this process is killed
outright (Linux). The npm servers bind HOST, as the gateway does, through a preload (their own code
listens on every interface).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVERYTHING = ROOT / "node_modules" / ".bin" / "mcp-server-everything"
LISTEN_HOST = Path(__file__).resolve().with_name("listen_host.cjs")
GRACE_SECONDS = 5.0


class Stop(Exception):
    """A signal asked the supervisor to stop."""


def _say(text: str) -> None:
    print(f"run-example: {text}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child when the supervisor dies, even by SIGKILL.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(name: str, argv: list[str], env: dict[str, str], quiet: bool) -> subprocess.Popen[bytes]:
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=output, stderr=output, preexec_fn=_die_with_parent
    )
    _say(f"started {name} (pid {process.pid})")
    return process


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in children.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, process in children.items():
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{name} did not stop within {GRACE_SECONDS:.0f}s; killing it")
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcpctl", default=str(Path(sys.executable).with_name("mcpctl")))
    parser.add_argument("--host", default="127.0.0.1", help="Address the gateway and the npm servers bind.")
    parser.add_argument("--port", type=int, default=8080, help="Gateway port.")
    parser.add_argument("--sse-port", type=int, default=3001)
    parser.add_argument("--http-port", type=int, default=3002)
    parser.add_argument("serve_args", nargs="*", help="More arguments for `mcpctl serve` (after --).")
    args = parser.parse_args()

    def on_signal(signum: int, _frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    parent = os.getppid()
    children: dict[str, subprocess.Popen[bytes]] = {}
    code = 0
    try:
        if EVERYTHING.exists():
            node = {"HOST": args.host, "NODE_OPTIONS": f"--require {LISTEN_HOST}"}
            servers = (("sse", "sse", args.sse_port), ("http", "streamableHttp", args.http_port))
            for name, mode, port in servers:
                children[f"everything-{name}"] = _start(
                    f"mcp-server-everything {mode} on {args.host}:{port}",
                    [str(EVERYTHING), mode],
                    {**node, "PORT": str(port)},
                    quiet=True,
                )
        else:
            _say(f"{EVERYTHING} is missing (npm install): the example's two HTTP servers will be down")
        serve = [args.mcpctl, "serve", "--host", args.host, "--port", str(args.port), *args.serve_args]
        children["gateway"] = _start("gateway", serve, {}, quiet=False)
        while True:
            ended = [name for name, process in children.items() if process.poll() is not None]
            if ended:
                code = children[ended[0]].returncode or 1
                _say(f"{ended[0]} exited (code {children[ended[0]].returncode}); stopping the others")
                break
            if os.getppid() != parent:
                _say("the parent process is gone; stopping")
                break
            time.sleep(0.2)
    except Stop as stop:
        _say(f"{stop}: stopping")
    finally:
        # Signals that arrive while stopping must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(children)
    return code


if __name__ == "__main__":
    sys.exit(main())
