"""The data directory of releases before the database: its files, read tolerantly.

Those releases kept moderator data as files in the data directory (``bot.storage.legacy``
imports them once): ``changes.jsonl`` (the change log, one ``Change.to_record()`` a line,
the source of truth), ``overlay.yaml`` (the log folded into the current edits),
``questions.jsonl`` (``{"at", "kind": "answer", "entry", "where"}`` or ``{"at", "kind":
"unanswered", "question", "where", "closest", "score"}``), ``feedback.jsonl`` (``{"at",
"entry", "helpful", "user", "message"}``, the latest vote counting) and ``resolved.jsonl``
(``{"at", "key", "norm"}``), beside two lock files.

Nothing here stops at the first damaged line: every readable record is returned with the
numbers of the lines that were not, so the import can say exactly what it skipped. A last
line without its newline is a write that was interrupted before it was acknowledged.
This module needs no database, so ``eln-bot ask`` can look for these files cheaply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import StoreError
from bot.storage.changes import Change
from bot.storage.overlay import Overlay

LOG_NAME = "changes.jsonl"
OVERLAY_NAME = "overlay.yaml"
QUESTIONS_NAME = "questions.jsonl"
FEEDBACK_NAME = "feedback.jsonl"
RESOLVED_NAME = "resolved.jsonl"
DATA_FILES = (LOG_NAME, OVERLAY_NAME, QUESTIONS_NAME, FEEDBACK_NAME, RESOLVED_NAME)
LOCK_FILES = (".lock", ".insights.lock")


def has_files(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds moderator data in the file format."""
    return any((data_dir / name).is_file() for name in DATA_FILES)


@dataclass
class Lines:
    """A JSONL file's readable records with their line numbers, and what could not be read."""

    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)  # line numbers
    torn: bool = False  # an incomplete last line was ignored


def read_lines(path: Path) -> Lines:
    """Every line of a JSONL file that holds a JSON object; a missing file reads as empty."""
    raw = _read_bytes(path)
    end = raw.rfind(b"\n") + 1
    lines = Lines(torn=end < len(raw))
    for number, chunk in enumerate(raw[:end].split(b"\n")[:-1], 1):
        if not chunk.strip():
            continue
        record = _json_object(chunk)
        if record is None:
            lines.unreadable.append(number)
        else:
            lines.records.append((number, record))
    return lines


@dataclass
class Log:
    """The readable changes of ``changes.jsonl`` in order, and the lines that were skipped."""

    changes: list[Change]
    skipped: list[str]  # one phrase a skipped line: "line 7 (not a JSON object)"
    torn: bool


def read_log(path: Path) -> Log:
    """The change log; a malformed, repeated or misplaced record is skipped and named."""
    lines = read_lines(path)
    skipped = {number: "not a JSON object" for number in lines.unreadable}
    changes: list[Change] = []
    for number, record in lines.records:
        try:
            change = Change.from_record(record)
        except (TypeError, ValueError) as exc:
            skipped[number] = f"not a change record: {exc}"
            continue
        if changes and change.id <= changes[-1].id:
            skipped[number] = f"change #{change.id} out of order, after #{changes[-1].id}"
            continue
        changes.append(change)
    notes = [f"line {number} ({skipped[number]})" for number in sorted(skipped)]
    return Log(changes, notes, lines.torn)


def read_overlay(path: Path) -> Overlay | None:
    """The overlay file; None when there is none. StoreError says why it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path.name} cannot be read ({exc})") from None
    try:
        return Overlay.from_document(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise StoreError(f"{path.name} is not valid YAML{where}") from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise StoreError(f"{path.name} is not an overlay ({exc})") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the file ({exc.strerror}).") from None


def _json_object(chunk: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(chunk.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
