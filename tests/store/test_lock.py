"""The apply lock across real processes on both databases: waiting, timing out, surviving kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from _samples import server
from mcpctl.errors import LockTimeout
from mcpctl.schemas import Identity
from mcpctl.store import Store

# A second process that takes the lock, writes (flushed to the database, not committed) and then
# holds the transaction open until it reads a line on stdin.
HOLDER = """
import sys
from mcpctl.schemas import Identity, parse_resource
from mcpctl.store import Store

def server(name):
    return parse_resource({"apiVersion": "mcpctl.dev/v1", "kind": "Server", "metadata": {"name": name},
                           "spec": {"transport": "stdio", "command": "holder"}})

store = Store.open(sys.argv[1])
with store.transaction(actor="holder") as tx:
    for i in range(200):
        tx.put(server(f"child-{i}"), managed_by="cli")
    tx.put(server("keep").model_copy(update={"spec": server("x").spec}), managed_by="gitops:other")
    tx.delete(Identity("Server", None, "gone"))
    tx._flush()
    print("holding", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""

# A process that performs `count` separate small transactions, for serialization checks.
WRITER = """
import sys
from mcpctl.schemas import parse_resource
from mcpctl.store import Store

store = Store.open(sys.argv[1])
for i in range(int(sys.argv[3])):
    with store.transaction(lock_timeout=60) as tx:
        tx.put(parse_resource({"apiVersion": "mcpctl.dev/v1", "kind": "Server",
                               "metadata": {"name": f"{sys.argv[2]}-{i}"},
                               "spec": {"transport": "stdio", "command": "w"}}), managed_by="cli")
"""


@contextmanager
def holder(url: str) -> Iterator[subprocess.Popen[str]]:
    """A child process inside a locked, written, uncommitted transaction."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "holding\n"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def seed(store: Store) -> None:
    with store.transaction() as tx:
        tx.put(server("keep"), managed_by="cli")
        tx.put(server("gone"), managed_by="cli")


def test_second_writer_times_out_with_a_clear_error(store: Store, database_url: str) -> None:
    seed(store)
    with holder(database_url):
        started = time.monotonic()
        message = r"another apply holds the store lock \(waited 0.5s\)"
        with pytest.raises(LockTimeout, match=message), store.transaction(lock_timeout=0.5):
            pytest.fail("the lock was not held")
        waited = time.monotonic() - started
        assert 0.45 <= waited < 5
        # Readers are not blocked by a writer, and see only committed data.
        assert [item.identity.name for item in store.list_resources("Server")] == ["gone", "keep"]


def test_second_writer_waits_for_the_first_to_commit(store: Store, database_url: str) -> None:
    seed(store)
    with holder(database_url) as process:
        assert process.stdin is not None
        stdin = process.stdin
        release = threading.Timer(1.0, lambda: (stdin.write("go\n"), stdin.flush()))
        release.start()
        started = time.monotonic()
        with store.transaction(lock_timeout=30) as tx:
            waited = time.monotonic() - started
            assert tx.generation == 2  # the holder's commit is visible under the lock
            tx.put(server("after"), managed_by="cli")
        release.join()
        assert process.stdout is not None and process.stdout.readline() == "committed\n"
    assert waited >= 0.9
    assert store.generation() == 3
    names = {item.identity.name for item in store.list_resources("Server")}
    assert len(names) == 202 and "gone" not in names and "after" in names


def test_kill_9_mid_transaction_leaves_the_store_as_before(store: Store, database_url: str) -> None:
    seed(store)
    before = store.list_resources()
    with holder(database_url) as process:
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    assert store.list_resources() == before
    assert store.generation() == 1
    # The dead process's lock went with it.
    with store.transaction(lock_timeout=5) as tx:
        tx.delete(Identity("Server", None, "gone"))
    assert store.generation() == 2


def test_concurrent_writers_are_serialized_and_lose_nothing(store: Store, database_url: str) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, database_url, name, "10"]) for name in ("a", "b")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    assert len(store.list_resources("Server")) == 20
    assert store.generation() == 20
