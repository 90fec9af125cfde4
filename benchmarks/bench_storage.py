"""Storage under load and under kill -9, on SQLite and on PostgreSQL, in one run.

    python benchmarks/bench_storage.py            # full run (a few minutes)
    python benchmarks/bench_storage.py --quick    # 20 kills, 10,000 usage records

Needs the test extra (pgserver starts a PostgreSQL 16 of its own in a temporary folder;
as root it runs it as the user ``pgserver``). Measures, per engine:

- concurrent writers: 100 aliases from 10 processes started at once on a new database;
  what the history holds afterwards (count, duplicates, gaps) and each alias's latency;
- kill -9: writers killed at random moments (half of them while their edits flow);
  after each kill the database is opened and checked: acknowledged changes lost, states
  that could not be read, changes committed but never acknowledged (killed in between);
- usage: record_many throughput, then ``Insights.unanswered`` (what ``/kb unanswered``
  runs) and ``stats`` over a window, at 100,000 declined questions: median and p99.

Both servers use their durable defaults (SQLite synchronous=FULL, PostgreSQL fsync on).
Absolute times on a shared machine are noisy; read the counts, and the times side by side.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from machine import describe  # noqa: E402

from bot.errors import BotError  # noqa: E402
from bot.storage.usage import Asked  # noqa: E402
from tests.conftest import (  # noqa: E402
    Backend,
    PostgresCluster,
    postgresql_backend,
    sqlite_backend,
)
from tests.storage.rows import history_rows, stored_overlay  # noqa: E402
from tests.storage.store_worker import CrashServer, spawn, write_fixture  # noqa: E402

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


@contextmanager
def engines(base: Path) -> Iterator[Callable[[str], Backend]]:
    """A factory of new, empty databases on either engine (one PostgreSQL server)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415

    pg_base = Path(tempfile.mkdtemp(prefix="eln-pg-"))
    cluster = PostgresCluster(pgserver.get_server(pg_base / "data", cleanup_mode="delete"), pg_base)
    opened: list[Backend] = []

    def fresh(name: str) -> Backend:
        folder = Path(tempfile.mkdtemp(dir=base))
        if name == "sqlite":
            backend = sqlite_backend(folder)
        else:
            backend = postgresql_backend(cluster.url(cluster.create_database()), folder)
        opened.append(backend)
        return backend

    try:
        yield fresh
    finally:
        for backend in opened:
            backend.close()
        cluster.close()


def concurrent_writers(backend: Backend, shipped: Path, processes: int, each: int) -> str:
    """N processes start at once on a new database and add ``each`` aliases apiece."""
    began = time.perf_counter()
    writers = spawn(
        "writers", backend.url, shipped, str(processes), str(each), stdout=subprocess.PIPE
    )
    out, _ = writers.communicate(timeout=600)
    wall = time.perf_counter() - began
    lines = [line.split() for line in out.decode().splitlines()]
    acked = [int(change) for _, change, _ in lines]
    latency = [float(ms) for _, _, ms in lines]
    history = history_rows(backend.database)
    numbers = [r["number"] for r in history]
    phrasings = [r["after"]["entries"][r["entry"]]["patch"]["add_alternates"][-1] for r in history]
    duplicates = (len(numbers) - len(set(numbers))) + (len(phrasings) - len(set(phrasings)))
    gaps = len(set(range(1, processes * each + 1)) - set(numbers))
    return (
        f"| {backend.name} | {processes} x {each} | {len(acked)} | {len(history)} | "
        f"{duplicates} | {gaps} | {statistics.median(latency):.1f} | {p99(latency):.1f} | "
        f"{wall:.2f} |"
    )


def kill_nine(backend: Backend, shipped: Path, kills: int, errors: Path) -> str:
    """Kill writers at random moments; check the database after every kill."""
    rng = random.Random(20201207)
    checker = backend.store(shipped)
    checker.knowledge()  # the schema exists before the first writer
    acked: dict[int, tuple[str, str]] = {}
    lost = unreadable = 0
    began = time.perf_counter()
    with errors.open("wb") as sink:
        server = CrashServer(backend.url, shipped, sink)
    try:
        for kill in range(kills):
            _, acks = server.kill_writer(rng.uniform(0.0, 0.05), after_first_ack=kill % 2 == 1)
            acked.update((change, (entry, token)) for change, entry, token in acks)
            try:
                history = history_rows(backend.database)
                answers = {
                    r["number"]: r["after"]["entries"][r["entry"]]["patch"]["answer"]
                    for r in history
                }
                lost += sum(answers.get(c) != f"answer {t}" for c, (_, t) in acked.items())
                consistent = stored_overlay(backend.database) == checker.replayed()
                checker.knowledge()
                unreadable += not consistent
            except (BotError, ValueError, KeyError):
                unreadable += 1
    finally:
        server.close()
    wall = time.perf_counter() - began
    unacknowledged = len(history_rows(backend.database)) - len(acked)
    return (
        f"| {backend.name} | {kills} | {len(acked)} | {unacknowledged} | {lost} | "
        f"{unreadable} | {wall:.1f} |"
    )


def declined(records: int, seed: int = 7) -> list[Asked]:
    """Declined questions: 200 topics in five forms each, and a tenth asked only once."""
    rng = random.Random(seed)
    syllables = ("bdfgklmnprstvz", "aeiou")

    def word() -> str:
        return "".join(rng.choice(s) for s in syllables * 4)

    topics = [(word(), word()) for _ in range(200)]
    forms = ("what is {} {}", "whats {} {}??", "<@1> tell me about {} {}", "WHAT IS THE {} {}")
    out: list[Asked] = []
    for n in range(records):
        if n % 10 == 0:
            text = f"what is {word()} {word()}"
        else:
            a, b = rng.choice(topics)
            text = rng.choice(forms).format(a, b)
        out.append(Asked(T0 + timedelta(seconds=n), "#qa", question=text, closest=("eln",)))
    return out


def usage(backend: Backend, records: int, batch: int, rounds: int) -> list[str]:
    insights = backend.insights()
    asked = declined(records)
    began = time.perf_counter()
    for start in range(0, records, batch):
        insights.record_many(asked[start : start + batch])
    rate = records / (time.perf_counter() - began)
    week = T0 + timedelta(seconds=records) - timedelta(days=7)

    def timed(call: Callable[[], object]) -> tuple[float, float]:
        samples = []
        for _ in range(rounds):
            start = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - start) / 1e6)
        return statistics.median(samples), p99(samples)

    rows = [f"| {backend.name} | record_many, batches of {batch:,} | {rate:,.0f} records/s | | |"]
    for label, call in (
        ("unanswered(limit=10)", lambda: insights.unanswered(limit=10)),
        ("unanswered(limit=10, since=last 7 days)", lambda: insights.unanswered(10, week)),
        ("stats(since=last 7 days)", lambda: insights.stats(week)),
        ("stats() (all time)", insights.stats),
    ):
        median, tail = timed(call)
        rows.append(f"| {backend.name} | {label} | | {median:.1f} | {tail:.1f} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer kills and records")
    parser.add_argument("--kills", type=int, default=None)
    parser.add_argument("--records", type=int, default=None)
    args = parser.parse_args()
    kills = args.kills or (20 if args.quick else 200)
    records = args.records or (10_000 if args.quick else 100_000)
    base = Path(tempfile.mkdtemp(prefix="eln-bench-"))
    shipped = write_fixture(base / "faq.yaml")
    print(f"Machine: {describe()}\n")
    with engines(base) as fresh:
        print("Concurrent writers, all started at once on a new database:\n")
        print(
            "| engine | processes x aliases | acknowledged | in history | duplicates | "
            "missing | median ms / alias | p99 ms / alias | wall s |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for name in ("sqlite", "postgresql"):
            print(concurrent_writers(fresh(name), shipped, 10, 10), flush=True)

        print(f"\nkill -9 of a writer at random moments, {kills} times:\n")
        print(
            "| engine | kills | acknowledged | committed, not acknowledged | "
            "acknowledged lost | unreadable or inconsistent states | wall s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in ("sqlite", "postgresql"):
            print(kill_nine(fresh(name), shipped, kills, base / f"{name}.stderr"), flush=True)

        print(f"\nUsage at {records:,} declined questions:\n")
        print("| engine | operation | throughput | median ms | p99 ms |")
        print("|---|---|---:|---:|---:|")
        for name in ("sqlite", "postgresql"):
            for row in usage(fresh(name), records, batch=500, rounds=50):
                print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
