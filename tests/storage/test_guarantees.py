"""What the database promises moderators, each on SQLite and PostgreSQL, with real processes.

- An edit is acknowledged (returns) only after it has committed.
- Concurrent writers in separate processes never lose or duplicate a change.
- ``kill -9`` of a writer at any moment leaves a consistent database: every acknowledged
  change is there, the stored overlay is what the history replays to, and the knowledge
  loads.
- A change made through one process shows in another process's store.

The writer processes are ``tests/storage/store_worker.py`` (forked from one warm
interpreter, so ten of them start in milliseconds).
"""

from __future__ import annotations

import random
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.store import KnowledgeStore
from tests.conftest import Backend
from tests.storage.rows import history_rows, stored_overlay
from tests.storage.store_worker import ENTRY_IDS, CrashServer, spawn

WRITERS = 10
ALIASES_EACH = 3
KILLS = 12  # each engine; benchmarks/bench_storage.py kills 200 times


def test_an_edit_is_acknowledged_only_after_it_commits(
    store: KnowledgeStore, engine: Backend
) -> None:
    """The moment an edit returns, any other connection already reads it as committed."""
    elsewhere = engine.store(store.shipped_path, engine.open())  # connections of its own
    for n in range(8):
        entry = ENTRY_IDS[n % len(ENTRY_IDS)]
        change = store.edit(entry, {"answer": f"Answer number {n}."}, by="m")
        assert elsewhere.history(limit=1) == [change]
        answer = elsewhere.knowledge().get(entry)
        assert answer is not None and answer.answer == f"Answer number {n}."


def test_concurrent_writers_never_lose_or_duplicate_a_change(
    engine: Backend, shipped: Path
) -> None:
    """Ten processes start at once on a database without a schema yet, and all write."""
    writers = spawn(
        "writers",
        engine.url,
        shipped,
        str(WRITERS),
        str(ALIASES_EACH),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = writers.communicate(timeout=90)
    assert writers.returncode == 0, err.decode()
    assert err == b"", err.decode()  # not even a warning (e.g. two first opens colliding)
    acked = [tuple(map(int, line.split()[:2])) for line in out.decode().splitlines()]
    total = WRITERS * ALIASES_EACH
    assert sorted(change for _, change in acked) == list(range(1, total + 1))

    store = engine.store(shipped)
    history = history_rows(engine.database)
    assert [r["number"] for r in history] == list(range(1, total + 1))
    assert [r["op"] for r in history] == ["alias"] * total
    phrases = {f"writer {w} phrasing {n}" for w in range(WRITERS) for n in range(ALIASES_EACH)}
    logged = [r["after"]["entries"][r["entry"]]["patch"]["add_alternates"][-1] for r in history]
    assert sorted(logged) == sorted(phrases)  # each one recorded exactly once
    for writer, change in acked:  # and each acknowledged id is that writer's own change
        assert history[change - 1]["by"] == f"writer {writer}"
    knowledge = store.knowledge()
    served = {p for e in knowledge.entries for p in e.alternates}
    assert phrases <= served
    assert store.replayed() == stored_overlay(engine.database)


def test_a_change_made_by_another_process_shows_in_this_store(
    store: KnowledgeStore, engine: Backend
) -> None:
    ours = store.edit("eln", {"answer": "Changed here first."}, by="m")
    signature = store.signature()
    served = store.knowledge()
    other = spawn(
        "alias",
        engine.url,
        store.shipped_path,
        "eln",
        "asked in another process",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = other.communicate(timeout=60)
    assert other.returncode == 0, err.decode()
    assert int(out) == ours.id + 1  # the other process's transaction saw our change
    assert store.signature() != signature  # what tells a serving bot to reload
    eln = store.knowledge().get("eln")
    assert eln is not None and eln.alternates[-1] == "asked in another process"
    assert eln.answer == "Changed here first."
    before = served.get("eln")
    assert before is not None and "asked in another process" not in before.alternates


# --- kill -9 --------------------------------------------------------------------------


@pytest.fixture
def crash_server(engine: Backend, shipped: Path, tmp_path: Path) -> Iterator[CrashServer]:
    engine.store(shipped).knowledge()  # the schema exists before the first writer starts
    errors = tmp_path / "crash-server.stderr"
    with errors.open("wb") as sink:
        server = CrashServer(engine.url, shipped, sink)
    try:
        yield server
    finally:
        server.close()
        print(errors.read_text()[-3000:])  # shown when the test fails


def check_consistent(store: KnowledgeStore, acked: dict[int, tuple[str, str]]) -> None:
    """Every acknowledged edit is there, the overlay is the history replayed, it all loads."""
    history = history_rows(store.database)
    assert [r["number"] for r in history] == list(range(1, len(history) + 1))
    for change, (entry, token) in acked.items():
        row = history[change - 1]
        assert (row["op"], row["entry"]) == ("edit", entry)
        assert row["after"]["entries"][entry]["patch"]["answer"] == f"answer {token}"
    overlay = stored_overlay(store.database)
    assert overlay == store.replayed()
    assert overlay.last_change == len(history)
    latest = {r["entry"]: r["after"]["entries"][r["entry"]]["patch"]["answer"] for r in history}
    knowledge = store.knowledge()
    for entry, answer in latest.items():
        served = knowledge.get(entry)
        assert served is not None and served.answer == answer


def test_kill_9_of_a_writer_at_any_moment_leaves_a_consistent_database(
    crash_server: CrashServer, engine: Backend, shipped: Path
) -> None:
    """Writers are killed before they connect, mid-transaction and between edits."""
    rng = random.Random(20201207)
    checker = engine.store(shipped, engine.open())
    acked: dict[int, tuple[str, str]] = {}
    for kill in range(KILLS):
        # half the kills land while edits are flowing, half while the writer opens
        code, acks = crash_server.kill_writer(rng.uniform(0.0, 0.03), after_first_ack=kill % 2 == 1)
        assert code == -signal.SIGKILL
        for change, entry, token in acks:
            assert change not in acked  # no two acknowledgements for one change
            acked[change] = (entry, token)
        check_consistent(checker, acked)
    assert len(acked) >= KILLS // 2  # the writers did get edits through between kills
