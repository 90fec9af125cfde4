"""Durable files: atomic replacement, JSON lines (the file format of earlier releases), YAML.

A record that a call has acknowledged must survive a crash or a power cut, and a reader must
never see half a file: appends are fsynced, whole files are replaced atomically, and a torn
last line (a crash mid-append, never acknowledged) is ignored and later cut off.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.errors import StoreError

log = logging.getLogger(__name__)


def fsync_dir(path: Path) -> None:
    """Flush a directory so a rename or a new file inside it survives a power cut."""
    if os.name == "nt":  # Windows cannot open a directory; NTFS journals renames itself
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` so a reader or a crash sees the old or the new bytes, never a mix."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def remove_stale_temps(path: Path) -> None:
    """Delete temp files a killed writer left behind; call only while holding the lock."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def json_line(record: Mapping[str, Any]) -> bytes:
    """One record as a compact UTF-8 JSON line, the form every JSONL file holds."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def append_line(path: Path, record: Mapping[str, Any], *, durable: bool = True) -> None:
    """Append one JSON line; ``durable`` fsyncs it, so once this returns it survives a crash.

    Usage statistics pass ``durable=False``: losing the last few to a power cut is fine,
    and skipping the fsync keeps a busy server's answers from queueing behind the disk.
    """
    data = memoryview(json_line(record))
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            data = data[os.write(fd, data) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    if created and durable:
        fsync_dir(path.parent)


@dataclass(frozen=True, slots=True)
class JsonLines:
    """The records of a JSONL file; ``end`` is the byte offset after the last whole line."""

    records: list[dict[str, Any]]
    end: int
    torn: bool


def read_jsonl(path: Path, *, strict: bool = True) -> JsonLines:
    """Read a JSONL file, ignoring a torn last line (a crash mid-append, never acknowledged).

    A bad line in the middle is corruption, not a crash: ``strict`` raises StoreError naming
    it; otherwise it is skipped with a warning (for statistics that must not stop the bot).
    """
    raw = _read_bytes(path)
    end = raw.rfind(b"\n") + 1
    records: list[dict[str, Any]] = []
    for number, chunk in enumerate(raw[:end].split(b"\n")[:-1], 1):
        if not chunk.strip():
            continue
        record = _json_object(chunk)
        if record is not None:
            records.append(record)
        elif strict:
            raise StoreError(f"{path}: line {number} is not a JSON object; the file is damaged.")
        else:
            log.warning("%s: skipping line %d, which is not a JSON object", path, number)
    torn = end < len(raw)
    if torn:
        log.warning(
            "%s: ignoring an incomplete last line of %d bytes (an interrupted write)",
            path,
            len(raw) - end,
        )
    return JsonLines(records, end, torn)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; a file not written yet reads as empty."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the file ({exc.strerror}).") from None


def _json_object(chunk: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(chunk.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def repair_tail(path: Path) -> bool:
    """Cut a torn last line so the next append starts a line of its own (hold the lock).

    Costs one byte read when the file is whole; returns whether anything was cut.
    """
    try:
        with open(path, "r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return False
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return False
            handle.seek(0)
            keep = handle.read().rfind(b"\n") + 1
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
    except FileNotFoundError:
        return False
    log.warning("%s: removed an incomplete last line of %d bytes", path, size - keep)
    return True


def utc_stamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, the timestamp format of every record."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def utc_now() -> str:
    """The current time as a record stores it."""
    return utc_stamp(datetime.now(UTC))


# --- YAML that round-trips ------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Safe dumper writing multi-line text as ``|`` blocks so answers stay readable."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """YAML for humans that loads back to exactly ``data``.

    PyYAML's plain and block styles mangle a few characters (NEL, some line endings); when
    the readable form does not load back equal, fall back to double quotes, which escape
    everything.
    """
    options: dict[str, Any] = {"allow_unicode": True, "sort_keys": False, "width": 100}
    text = yaml.dump(data, Dumper=_Dumper, **options)
    if _load_yaml(text) == data:
        return str(text)
    return str(yaml.dump(data, Dumper=yaml.SafeDumper, default_style='"', **options))


def _load_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError):
        return None
