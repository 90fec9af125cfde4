"""The database layer itself: shared values written by several processes at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import Backend

RACERS = 8


def test_processes_setting_the_same_new_value_at_once_all_succeed(engine: Backend) -> None:
    """As bot processes do at their first start (the last good shipped copy, command sync)."""
    databases = [engine.open() for _ in range(RACERS)]  # each with its own connections
    for database in databases:
        assert database.get_meta("race") is None  # connected before the start line
    start = threading.Barrier(RACERS)

    def racer(n: int) -> None:
        start.wait()
        databases[n].set_meta("race", f"value {n}")

    with ThreadPoolExecutor(RACERS) as pool:
        list(pool.map(racer, range(RACERS)))  # re-raises the first failure
    assert engine.database.get_meta("race") in {f"value {n}" for n in range(RACERS)}
    engine.database.set_meta("race", "later")
    assert [d.get_meta("race") for d in databases] == ["later"] * RACERS
