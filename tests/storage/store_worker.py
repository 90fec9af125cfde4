"""Test helper: a tiny knowledge fixture, and a writer process for the multi-process tests.

Imported by the store and kb CLI tests for the fixture; run as a script it is a separate
writer process::

    python tests/store_worker.py alias SHIPPED DATA_DIR ENTRY PREFIX COUNT START_AT
        add COUNT phrasings "PREFIX n", starting at the epoch time START_AT so that all
        workers write at once; prints each change id.
    python tests/store_worker.py crash SHIPPED DATA_DIR
        imports everything, prints "ready", waits for a line on stdin, then edits answers in
        a loop, printing "CHANGE_ID ENTRY TOKEN" after each edit returns (= acknowledged)
        until it is killed.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ENTRY_IDS = ("new-start", "open-skies", "eln", "hotline")


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


def _store(shipped: str, data_dir: str) -> Any:
    from tests.conftest import open_test_store  # noqa: PLC0415 - keeps `import store_worker` light

    return open_test_store(Path(shipped), Path(data_dir))


def run_alias(argv: list[str]) -> None:
    shipped, data_dir, entry, prefix, count, at = argv
    store = _store(shipped, data_dir)
    time.sleep(max(0.0, float(at) - time.time()))
    for n in range(int(count)):
        change = store.alias(entry, f"{prefix} {n}", by=f"worker {prefix}")
        print(change.id, flush=True)


def run_crash(argv: list[str]) -> None:
    shipped, data_dir = argv
    store = _store(shipped, data_dir)
    print("ready", flush=True)
    sys.stdin.readline()
    for n in itertools.count():
        entry = ENTRY_IDS[n % len(ENTRY_IDS)]
        token = f"{time.time_ns()}-{n}"
        change = store.edit(entry, {"answer": f"answer {token}"}, by="crash worker")
        print(change.id, entry, token, flush=True)


def main(argv: list[str]) -> None:
    modes = {"alias": run_alias, "crash": run_crash}
    modes[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
