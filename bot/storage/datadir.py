"""The moderator files in the data directory: their names, and reading and writing them.

A damaged file is a StoreError naming the file and the fix, never a traceback: the log is
the source of truth, so the overlay can always be deleted and rebuilt from it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.errors import StoreError
from bot.storage.changes import Change
from bot.storage.files import dump_yaml, read_jsonl, write_atomic
from bot.storage.overlay import Overlay

OVERLAY_NAME = "overlay.yaml"
LOG_NAME = "changes.jsonl"
LOCK_NAME = ".lock"
OVERLAY_HEADER = (
    "# Moderator edits to the shipped knowledge, rebuilt from changes.jsonl when missing.\n"
    "# Written by the bot: change it with `eln-bot kb ...` or the moderator commands.\n"
)
_HINT = f"fix it, or delete it to rebuild it from {LOG_NAME}"


def read_overlay(path: Path) -> Overlay:
    """The overlay file, or an empty overlay when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Overlay()
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: cannot read the file ({exc}); {_HINT}.") from None
    try:
        return Overlay.from_document(_parse_yaml(text, path))
    except ValueError as exc:
        raise StoreError(f"{path}: {exc}; {_HINT}.") from None


def _parse_yaml(text: str, path: Path) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        reason = getattr(exc, "problem", None) or "syntax error"
        raise StoreError(f"{where}: not valid YAML ({reason}); {_HINT}.") from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise StoreError(f"{path}: not valid YAML ({exc}); {_HINT}.") from None


def write_overlay(path: Path, overlay: Overlay) -> None:
    text = OVERLAY_HEADER + dump_yaml(overlay.to_document())
    write_atomic(path, text.encode("utf-8"))


def read_log(path: Path) -> list[Change]:
    """Every change in the log, in order; a malformed or misordered record is a StoreError."""
    changes: list[Change] = []
    for number, record in enumerate(read_jsonl(path).records, 1):
        try:
            change = Change.from_record(record)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{path}: record {number} is malformed ({exc}).") from None
        if changes and change.id <= changes[-1].id:
            raise StoreError(f"{path}: record {number} has id {change.id}, out of order.")
        changes.append(change)
    return changes
