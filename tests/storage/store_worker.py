"""Test helper: a tiny knowledge fixture, and writer processes for the multi-process tests.

Imported by the store and kb CLI tests for the fixture; run as a script it starts writers
on the database at URL (``sqlite:///FILE`` or ``postgresql://...``), as another bot process
or ``eln-bot kb`` would::

    python tests/storage/store_worker.py alias URL SHIPPED ENTRY PHRASE
        adds one phrasing and prints the change id.
    python tests/storage/store_worker.py writers URL SHIPPED PROCESSES COUNT
        forks PROCESSES writers; each opens its own store, waits until all are open, then
        adds COUNT phrasings "writer W phrasing N" to entry ENTRY_IDS[W % 4], printing
        "W CHANGE_ID MILLISECONDS" after each alias returns. Exits 1 if any writer failed.
    python tests/storage/store_worker.py crash URL SHIPPED
        a fork server: imports everything, prints "ready", then for each line read on stdin
        forks a writer and prints "child PID"; when that writer has ended (it is meant to be
        killed), prints "ended PID EXIT_CODE". A writer edits answers in a loop, printing
        "ack PID CHANGE_ID ENTRY TOKEN" after each edit returns (= acknowledged).

Writers are forked from a process that has already imported everything, so a test can
start (and kill) many of them in little time; each one opens its own connections after
the fork, as a separate bot process does. A line is written with one write() of well under
PIPE_BUF bytes, so lines of different writers never interleave and a kill never tears one.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import yaml

ENTRY_IDS = ("new-start", "open-skies", "eln", "hotline")
ROOT = Path(__file__).resolve().parents[2]


def _entry(eid: str, question: str, alternates: list[str], answer: str, **extra: Any) -> dict:
    entry = {
        "id": eid,
        "question": question,
        "alternates": alternates,
        "answer": answer,
        "sources": [{"title": "ELN statement", "url": "https://example.org/eln"}],
    }
    entry.update(extra)
    return entry


def fixture_document() -> dict[str, Any]:
    """Four small entries: valid, one related link, one action number, some synonyms."""
    return {
        "version": 1,
        "title": "Test knowledge",
        "synonyms": {"new start": ["newstart"]},
        "entries": [
            _entry(
                "new-start",
                "What is New START?",
                [f"new start question {w}" for w in ("one", "two", "three", "four", "five", "six")],
                "New START limits strategic nuclear weapons.",
                related=["open-skies"],
                tags=["treaties"],
            ),
            _entry(
                "open-skies",
                "What is the Open Skies Treaty?",
                [
                    f"open skies question {w}"
                    for w in ("one", "two", "three", "four", "five", "six")
                ],
                "Open Skies allowed unarmed observation flights.",
                tags=["treaties"],
            ),
            _entry(
                "eln",
                "What is the ELN?",
                [f"eln question {w}" for w in ("one", "two", "three", "four", "five", "six")],
                "The European Leadership Network is a think tank.",
            ),
            _entry(
                "hotline",
                "What is urgent action 1?",
                [f"hotline question {w}" for w in ("one", "two", "three", "four", "five", "six")],
                "Restore military-to-military hotlines.",
                action=1,
            ),
        ],
    }


def write_fixture(path: Path, document: dict[str, Any] | None = None) -> Path:
    """Write the fixture (or ``document``) as YAML and return the path."""
    data = fixture_document() if document is None else document
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _store(url: str, shipped: str) -> Any:
    """The store a bot process configured with ``ELN_DATABASE_URL=url`` opens."""
    from bot.config import Settings  # noqa: PLC0415 - keeps `import store_worker` light
    from bot.storage.loading import open_database, open_store  # noqa: PLC0415

    chosen = Settings(knowledge_path=Path(shipped), database_url=url)
    return open_store(chosen, open_database(chosen))


def _warm_up() -> None:
    """Import everything a writer needs before forking, so a writer starts at once."""
    import psycopg  # noqa: F401, PLC0415
    import sqlalchemy.dialects.postgresql  # noqa: PLC0415
    import sqlalchemy.dialects.sqlite  # noqa: F401, PLC0415

    import bot.storage.loading  # noqa: PLC0415
    import bot.storage.store  # noqa: F401, PLC0415


def _say(*words: object) -> None:
    """One line on stdout in one write(): print() writes each word on its own when
    stdout is unbuffered (PYTHONUNBUFFERED), and the writers' words would interleave."""
    os.write(sys.stdout.fileno(), (" ".join(map(str, words)) + "\n").encode())


def _fork(body: Callable[[], None]) -> int:
    """Run ``body`` in a child process; the child ends with it (1 and a traceback on error)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        body()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_alias(argv: list[str]) -> None:
    url, shipped, entry, phrase = argv
    _say(_store(url, shipped).alias(entry, phrase, by="another process").id)


def run_writers(argv: list[str]) -> None:
    url, shipped, processes, count = argv
    _warm_up()
    opened, start = os.pipe(), os.pipe()

    def writer(number: int) -> None:
        os.close(opened[0])
        os.close(start[1])
        store = _store(url, shipped)
        os.close(opened[1])  # "my store is open"
        os.read(start[0], 1)  # returns at EOF: when the parent says go, all at once
        for n in range(int(count)):
            phrase = f"writer {number} phrasing {n}"
            began = time.perf_counter()
            change = store.alias(ENTRY_IDS[number % len(ENTRY_IDS)], phrase, by=f"writer {number}")
            _say(number, change.id, f"{(time.perf_counter() - began) * 1000:.3f}")

    pids = [_fork(lambda number=w: writer(number)) for w in range(int(processes))]
    os.close(opened[1])
    os.read(opened[0], 1)  # EOF once every writer has closed its end
    os.close(start[1])
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    if any(codes):
        sys.exit(f"writers ended with {codes}")


def run_crash(argv: list[str]) -> None:
    url, shipped = argv
    _warm_up()

    def writer() -> None:
        pid = os.getpid()
        store = _store(url, shipped)
        for n in itertools.count():
            entry = ENTRY_IDS[n % len(ENTRY_IDS)]
            token = f"{pid}-{n}"
            change = store.edit(entry, {"answer": f"answer {token}"}, by="crash worker")
            _say("ack", pid, change.id, entry, token)

    _say("ready")
    for _ in sys.stdin:
        pid = _fork(writer)
        _say("child", pid)
        status = os.waitpid(pid, 0)[1]
        _say("ended", pid, os.waitstatus_to_exitcode(status))


# --- driving the writers from a test or a benchmark -------------------------------------


def spawn(*args: str | Path, **options: Any) -> subprocess.Popen[bytes]:
    """This script as a separate process, with the checkout importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(Path(__file__).resolve()), *map(str, args)]
    return subprocess.Popen(command, env=env, cwd=ROOT, **options)


class CrashServer:
    """The ``crash`` mode's client: starts writers and kills them with SIGKILL."""

    def __init__(self, url: str, shipped: Path, errors: IO[bytes]) -> None:
        self.process = spawn(
            "crash", url, shipped, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        )
        self._acks: dict[int, list[tuple[int, str, str]]] = {}
        if self._line() != ["ready"]:
            raise RuntimeError("the crash server did not start")

    def kill_writer(
        self, delay: float, *, after_first_ack: bool = False
    ) -> tuple[int, list[tuple[int, str, str]]]:
        """Start a writer and kill it ``delay`` seconds later (counted from its first
        acknowledged edit, if asked). Returns its exit code and its acknowledgements,
        (change id, entry, token) each, in order."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()
        pid = int(self._until("child")[1])
        if after_first_ack:
            self._until("ack", pid)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        code = int(self._until("ended", pid)[2])
        return code, self._acks.pop(pid, [])

    def close(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            self.process.stdin.close()
        self.process.kill()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def _line(self) -> list[str]:
        assert self.process.stdout is not None
        raw = self.process.stdout.readline()
        if not raw.endswith(b"\n"):
            raise RuntimeError("the crash server ended early (see its stderr)")
        return raw.decode().split()

    def _until(self, kind: str, pid: int | None = None) -> list[str]:
        """Read lines, keeping every acknowledgement, up to the next ``kind`` line."""
        while True:
            line = self._line()
            if line[0] == "ack":
                child, change, entry, token = line[1:]
                self._acks.setdefault(int(child), []).append((int(change), entry, token))
            if line[0] == kind and (pid is None or int(line[1]) == pid):
                return line


def main(argv: list[str]) -> None:
    modes = {"alias": run_alias, "writers": run_writers, "crash": run_crash}
    modes[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
