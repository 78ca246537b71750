"""Audit trail figures: a query by token over the last hour on a store of 1,000,000 events (SQLite and
PostgreSQL), the writer's sustained rate, and tools/call throughput through the gateway with audit on
and off (64 sessions).

Usage: python benchmarks/audit_bench.py [--events 1000000] [--runs 21] [--backend both|sqlite|postgresql]
       [--writer-events 100000] [--skip-throughput | --skip-store] [--duration 5] [--sessions 64]
       [--explain]
PostgreSQL: $MCPCTL_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); the events go
into a schema of their own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mcpctl.store import AuditEvent, AuditQuery, AuditWriter, Store
from mcpctl.store._tables import AUDIT_EVENTS

GOAL_QUERY_MS = 100.0
"""A query by token over the last hour on 1,000,000 events: at most this (both databases)."""
GOAL_THROUGHPUT_RATIO = 0.95
"""tools/call throughput with audit on: at least this share of audit off (64 sessions)."""
POSTGRES_URL = os.environ.get("MCPCTL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DAYS, TOKENS, PROJECTS, USERS = 30, 200, 20, 50
COLUMNS = tuple(column.name for column in AUDIT_EVENTS.columns if column.name != "id")
"""Columns a synthetic row fills, in table order."""
KIND_MIX = ["tool_call"] * 85 + ["session_open"] * 4 + ["session_close"] * 4 + ["prompt_get"] * 3
KIND_MIX += ["resource_read"] * 2 + ["auth_failure", "access_denied"]


# --- the store part: 1,000,000 events and the queries on them -------------------------------------


def synthetic_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """`count` events over the DAYS up to `now`, oldest first, spread over tokens, projects and users."""
    rng = random.Random(7)
    start = now - timedelta(days=DAYS)
    step = timedelta(days=DAYS) / count
    for i in range(count):
        token = rng.randrange(TOKENS)
        kind = rng.choice(KIND_MIX)
        outcome = "error" if rng.random() < 0.02 else "ok"
        if kind == "auth_failure":
            outcome = "unauthorized"
        elif kind == "access_denied":
            outcome = "denied"
        yield (
            start + step * i,
            f"{i:032x}",
            kind,
            f"project-{token % PROJECTS}",
            f"s{token}-{i // 2000}",
            f"token-{token}",
            "mcpctl_pat_x…",
            f"user-{token % USERS}",
            f"server-{i % 7}",
            f"tool-{i % 13}",
            outcome,
            round(rng.uniform(0.5, 80.0), 2),
            "sha256:" + "0" * 64,
            rng.randrange(100, 5000),
            "{}",
        )


@contextmanager
def without_audit_indexes(store: Store) -> Iterator[None]:
    """Drop the audit indexes for a bulk load and build them again after (much faster than keeping them)."""
    indexes = list(AUDIT_EVENTS.indexes)
    with store._engine.begin() as connection:
        for index in indexes:
            index.drop(connection)
    yield
    with store._engine.begin() as connection:
        for index in indexes:
            index.create(connection)


def fill_sqlite(store: Store, path: Path, count: int, now: datetime) -> None:
    import sqlite3

    with without_audit_indexes(store):
        connection = sqlite3.connect(path)
        try:
            rows = (
                (row[0].strftime("%Y-%m-%d %H:%M:%S.%f"), *row[1:])
                for row in synthetic_rows(count, now.replace(tzinfo=None))
            )
            placeholders = ", ".join("?" for _ in COLUMNS)
            with connection:
                connection.executemany(
                    f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows
                )
        finally:
            connection.close()


def fill_postgres(store: Store, url: str, count: int, now: datetime) -> None:
    import psycopg

    with without_audit_indexes(store), psycopg.connect(url) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in synthetic_rows(count, now):
                copy.write_row(row)
        connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        # What autovacuum does after a load of this size; without statistics the planner guesses.
        connection.execute("ANALYZE audit_events")


def timed(call: Callable[[], Any], runs: int) -> dict[str, float]:
    """The first run and the median of `runs` more, in milliseconds."""
    started = time.perf_counter()
    call()
    first = (time.perf_counter() - started) * 1000
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return {"first_ms": round(first, 2), "median_ms": round(statistics.median(samples), 2)}


def queries(now: datetime) -> dict[str, tuple[AuditQuery, bool]]:
    """The queries timed: name -> (query, sessions aggregation?)."""
    hour_ago = now - timedelta(hours=1)
    return {
        "token, last hour": (AuditQuery(token="token-17", since=hour_ago), False),
        "project, last hour": (AuditQuery(project="project-3", since=hour_ago), False),
        "user, newest 100": (AuditQuery(user="user-9"), False),
        "session": (AuditQuery(session_id="s17-499"), False),
        "kind auth_failure, last day": (
            AuditQuery(kind="auth_failure", since=now - timedelta(days=1)),
            False,
        ),
        "errors, last hour": (AuditQuery(outcome="error", since=hour_ago), False),
        "newest 100": (AuditQuery(), False),
        "sessions, last hour": (AuditQuery(since=hour_ago), True),
        "sessions, last day": (AuditQuery(since=now - timedelta(days=1)), True),
    }


def writer_rate(store: Store, events: int) -> float:
    """Events per second an AuditWriter stores when handed `events` at once."""
    batch = [AuditEvent("tool_call", project="bench", token="w", duration_ms=1.0) for _ in range(events)]
    writer = AuditWriter(store, capacity=events)
    started = time.perf_counter()
    for event in batch:
        writer.submit(event)
    writer.flush()
    elapsed = time.perf_counter() - started
    writer.close()
    return events / elapsed


def measure_store(backend: str, url: str, options: argparse.Namespace, path: Path | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    with Store.open(url) as store:
        started = time.perf_counter()
        if backend == "sqlite":
            assert path is not None
            fill_sqlite(store, path, options.events, now)
        else:
            fill_postgres(store, url, options.events, now)
        fill_s = time.perf_counter() - started
        figures: dict[str, Any] = {
            "events": store.latest_audit_id(),
            "fill_s": round(fill_s, 1),
            "queries": {},
        }
        for name, (query, sessions) in queries(now).items():
            read = partial(store.audit_sessions if sessions else store.query_audit, query)
            figures["queries"][name] = {**timed(read, options.runs), "rows": len(read())}
            if options.explain:
                figures["queries"][name]["plan"] = store.explain_audit(query, sessions=sessions)
        figures["writer_events_per_s"] = round(writer_rate(store, options.writer_events))
    return figures


@contextmanager
def postgres_schema() -> Iterator[str]:
    import psycopg

    schema = f"mcpctl_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def store_part(options: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if options.backend in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "audit.db"
            results["sqlite"] = measure_store("sqlite", f"sqlite:///{path}", options, path)
    if options.backend in ("both", "postgresql"):
        with postgres_schema() as url:
            results["postgresql"] = measure_store("postgresql", url, options, None)
    return results


# --- the gateway part: tools/call throughput with audit on and off ---------------------------------

AUDIT_OFF_ARGS: list[str] = ["--no-audit"]
"""Extra `mcpctl serve` arguments with audit off."""
AUDIT_ON_ARGS: list[str] | None = ["--audit"]
"""Extra `mcpctl serve` arguments that make it write audit events (the default)."""


def _tool_call_events(database_url: str) -> int:
    """tool_call events the "on" arms stored (a check that audit really was on)."""
    from sqlalchemy import func, select

    with Store.open(database_url) as store, store._engine.connect() as connection:
        table = AUDIT_EVENTS
        statement = select(func.count()).select_from(table).where(table.c.event_type == "tool_call")
        return int(connection.execute(statement).scalar() or 0)


def gateway_throughput(options: argparse.Namespace) -> dict[str, Any]:
    """tools/call per second through `mcpctl serve` with `options.sessions` sessions, audit off and on,
    interleaved (off, on, off, on) in one run against the toy upstream over Streamable HTTP."""
    sys.path.insert(0, str(Path(__file__).parent))
    import gateway_bench
    from _net import free_port

    arms = {"off": AUDIT_OFF_ARGS, **({"on": AUDIT_ON_ARGS} if AUDIT_ON_ARGS is not None else {})}
    upstream_port = free_port()
    command, env, upstream_url, call = gateway_bench.upstream_command("toy", upstream_port)
    rates: dict[str, list[float]] = {arm: [] for arm in arms}
    errors: dict[str, int] = dict.fromkeys(arms, 0)
    calls: dict[str, int] = dict.fromkeys(arms, 0)
    with tempfile.TemporaryDirectory() as tmp, gateway_bench.running(command, upstream_port, env):
        database_url, token = gateway_bench.prepare_store(
            Path(tmp), {"transport": "streamable-http", "url": upstream_url}
        )
        for _ in range(2):
            for arm, extra in arms.items():
                port = free_port()
                serve = [gateway_bench.MCPCTL, "serve", "--port", str(port), "--log-level", "warning", *extra]
                serve += ["--rate-limit-per-token", "0"]  # the per-token limit would refuse most calls
                with gateway_bench.running(serve, port, {"MCPCTL_DATABASE_URL": database_url}):
                    result = asyncio.run(
                        gateway_bench.load(
                            f"http://127.0.0.1:{port}/projects/bench/mcp",
                            token,
                            f"up__{call['tool']}",
                            call["arguments"],
                            options.sessions,
                            options.duration,
                        )
                    )
                rates[arm].append(result["calls_per_s"])
                errors[arm] += result["errors"]
                calls[arm] += result["calls"] + options.sessions  # each session's warm-up call too
        written = _tool_call_events(database_url) if "on" in arms else None
    figures: dict[str, Any] = {
        "sessions": options.sessions,
        "tool_call_events_written": written,
        "calls": calls,
        "calls_per_s": {arm: round(statistics.mean(values), 1) for arm, values in rates.items()},
        "errors": errors,
    }
    if "on" in rates:
        figures["ratio_on_off"] = round(statistics.mean(rates["on"]) / statistics.mean(rates["off"]), 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="Events in the store (default 1,000,000)."
    )
    parser.add_argument("--runs", type=int, default=21, help="Timed runs per query after a first one.")
    parser.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--writer-events", type=int, default=100_000, help="Events for the writer's rate.")
    parser.add_argument("--explain", action="store_true", help="Print each query's plan too.")
    parser.add_argument("--skip-throughput", action="store_true", help="Measure only the store part.")
    parser.add_argument("--skip-store", action="store_true", help="Measure only the gateway throughput.")
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds of load per throughput arm.")
    parser.add_argument("--sessions", type=int, default=64, help="Concurrent MCP sessions for throughput.")
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    options = parser.parse_args()

    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "store": {} if options.skip_store else store_part(options),
    }
    if not options.skip_throughput:
        report["throughput"] = gateway_throughput(options)
    report["load_average"] = round(os.getloadavg()[0], 2)
    if options.output == "json":
        print(json.dumps(report, indent=2))
        return
    print(
        f"load average at the end: {report['load_average']}; {report['cpus']} CPUs "
        "(other work on the machine skews every figure)"
    )
    for backend, figures in report["store"].items():
        print(f"\n{backend}: {figures['events']:,} events, loaded in {figures['fill_s']} s")
        print(f"  {'query':<30} {'rows':>6} {'first':>10} {'median':>10}")
        for name, row in figures["queries"].items():
            print(f"  {name:<30} {row['rows']:>6} {row['first_ms']:>8.2f}ms {row['median_ms']:>8.2f}ms")
            for line in row.get("plan", "").splitlines():
                print(f"      {line}")
        token_ms = figures["queries"]["token, last hour"]["median_ms"]
        verdict = "meets" if token_ms <= GOAL_QUERY_MS else "MISSES"
        print(
            f"  by token over the last hour: {token_ms:.2f} ms median "
            f"({verdict} the {GOAL_QUERY_MS:.0f} ms goal)"
        )
        print(f"  writer: {figures['writer_events_per_s']:,} events/s sustained")
    throughput = report.get("throughput")
    if throughput is None:
        print("\nthroughput: skipped (--skip-throughput)")
        return
    rates = throughput["calls_per_s"]
    print(
        f"\ntools/call through the gateway, {throughput['sessions']} sessions: audit off {rates['off']:.0f}/s"
    )
    if "ratio_on_off" in throughput:
        ratio = throughput["ratio_on_off"]
        verdict = "meets" if ratio >= GOAL_THROUGHPUT_RATIO else "MISSES"
        print(
            f"  audit on {rates['on']:.0f}/s: ratio {ratio:.3f} ({verdict} the {GOAL_THROUGHPUT_RATIO} goal)"
        )
    else:
        print("  audit on: not measured (mcpctl serve writes no audit events yet; see AUDIT_ON_ARGS)")
    if throughput.get("tool_call_events_written") is not None:
        print(
            f"  tool_call events stored by the audit-on runs: {throughput['tool_call_events_written']:,} "
            f"of {throughput['calls'].get('on', 0):,} calls made with audit on (warm-ups included)"
        )
    print(f"  errors: {throughput['errors']}")


if __name__ == "__main__":
    main()
