"""Durable files and YAML: atomic replacement, record timestamps, YAML that round-trips.

A reader or a crash must never see half a file: whole files (an export, a fitted model) are
replaced atomically. Reading the JSON-lines files of earlier releases is
``bot.storage.datadir``'s job.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml


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
