"""Moderator edits on top of the shipped knowledge file: an overlay plus an append-only log.

The shipped file (``knowledge/faq.yaml``) is never written: an upgrade of the bot replaces
it. Everything a moderator changes lives in ``data_dir`` so it survives that upgrade:

``changes.jsonl`` -- the source of truth. One JSON object per line, append-only::

    {"id": 7, "at": "2025-01-31T12:00:00.123Z", "by": "alice", "op": "alias",
     "entry": "new-start", "before": FRAGMENT, "after": FRAGMENT, "undoes": null,
     "summary": "added phrasing 'is new start dead' to 'new-start'"}

  ``op`` is add, edit, alias, remove, undo or import; ids are 1, 2, 3, ... A FRAGMENT is the
  overlay state of every entry the change touched, so a record can be replayed or undone
  without knowing anything else::

    {"entries": {"new-start": {"patch": {...} | null, "added": {...} | null,
                               "removed": false}},
     "document": {"title": ... | null, "synonyms": ... | null}}   # only when touched

``overlay.yaml`` -- the log folded into one human-readable file (a cache of the log)::

    version: 1
    last_change: 7          # the last log record folded in
    title: ...              # optional; only an import that changed the title sets it
    synonyms: {...}         # optional; ditto, replaces the shipped synonyms as a whole
    entries:                # patches to shipped entries, by id
      new-start:
        answer: ...         # a field given here replaces the shipped value; null clears it
        add_alternates:     # phrasings added with `alias`: appended to whatever the
        - is new start dead #   shipped file lists, so they survive new shipped alternates
    added:                  # whole entries added by moderators (or re-added), by id
      my-entry: {id: my-entry, question: ..., alternates: [...], answer: ..., sources: [...]}
    removed: [old-entry]    # hidden ids, shipped or added (added bodies stay, for undo)

Merging (``merged_document``): shipped entries in shipped order, minus ``removed``, each with
its patch applied; then added entries in the order they were added. Only the fields a
moderator set are pinned, so a new shipped answer shows through on entries whose answer
nobody edited, and a moderator's answer wins where they did. An added id that a later shipped
file also defines keeps the moderator's version. A moderator alias that an upgraded shipped
file already lists (or gave to another entry) is skipped, and ``related`` links that the
shipped file makes to an entry a moderator removed are dropped, so an upgrade never turns
moderator edits into a file the bot refuses to load.

Writing: under ``filelock.FileLock(data_dir / ".lock")`` a change re-reads the files (another
process may have written), applies the edit, validates the merged document with
``parse_document`` (nothing is written when that fails), appends the log record (write +
fsync), then replaces the overlay atomically (temp file in the same directory, fsync,
``os.replace``, fsync of the directory). A crash between the two steps leaves the overlay
behind the log; every read replays the missing records and the next open or write persists
the repair. A crash mid-append leaves a torn last line: it was never acknowledged, so it is
ignored with a warning and cut off before the next append.

Text is stored verbatim: markdown, mentions, ``@everyone``, zero-width and right-to-left
characters are data. The helpers for locked, durable JSONL files are shared with
``bot.insights``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout

from bot.errors import NotFoundError, StoreError
from bot.knowledge import (
    ID_PATTERN,
    KNOWN_FIELDS,
    Knowledge,
    KnowledgeError,
    Problem,
    fold,
    parse_document,
    read_document,
)

log = logging.getLogger(__name__)

OVERLAY_NAME = "overlay.yaml"
LOG_NAME = "changes.jsonl"
LOCK_NAME = ".lock"
FORMAT_VERSION = 1
_ORDER = ("id", "question", "alternates", "answer", "passage", "sources", "tags", "related")
FIELD_ORDER = (*_ORDER, *sorted(KNOWN_FIELDS - set(_ORDER)))
EDITABLE_FIELDS = frozenset(FIELD_ORDER) - {"id"}
PATCH_KEYS = EDITABLE_FIELDS | {"add_alternates"}
OPS = frozenset({"add", "edit", "alias", "remove", "undo", "import"})
SLOT_KEYS = frozenset({"patch", "added", "removed"})
DOCUMENT_KEYS = ("title", "synonyms")
OVERLAY_KEYS = frozenset({"version", "last_change", "entries", "added", "removed", *DOCUMENT_KEYS})
MAX_BY = 100
MAX_SUMMARY = 200
OVERLAY_HEADER = (
    "# Moderator edits to the shipped knowledge, rebuilt from changes.jsonl when missing.\n"
    "# Written by the bot: change it with `eln-bot kb ...` or the moderator commands.\n"
)


# --- durable files, shared with bot.insights -------------------------------------------


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


def append_line(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line and fsync it: once this returns the record survives a crash."""
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    data = memoryview(line.encode("utf-8"))
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return JsonLines([], 0, False)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the file ({exc.strerror}).") from None
    records: list[dict[str, Any]] = []
    pos = 0
    number = 0
    while (newline := raw.find(b"\n", pos)) >= 0:
        number += 1
        chunk = raw[pos:newline]
        pos = newline + 1
        if not chunk.strip():
            continue
        record = _json_object(chunk)
        if record is not None:
            records.append(record)
        elif strict:
            raise StoreError(f"{path}: line {number} is not a JSON object; the file is damaged.")
        else:
            log.warning("%s: skipping line %d, which is not a JSON object", path, number)
    torn = pos < len(raw)
    if torn:
        log.warning(
            "%s: ignoring an incomplete last line of %d bytes (an interrupted write)",
            path,
            len(raw) - pos,
        )
    return JsonLines(records, pos, torn)


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


def _json_object(chunk: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(chunk.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@contextlib.contextmanager
def hold(lock: FileLock) -> Iterator[None]:
    """Hold a cross-process lock; a timeout becomes a StoreError a moderator can act on."""
    try:
        lock.acquire()
    except Timeout:
        raise StoreError("The data directory is busy with another change; try again.") from None
    try:
        yield
    finally:
        lock.release()


def utc_now() -> str:
    """ISO-8601 UTC with milliseconds, the timestamp format of every record."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        return text
    return yaml.dump(data, Dumper=yaml.SafeDumper, default_style='"', **options)


def _load_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError):
        return None


# --- records ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One line of the change log; ``before``/``after`` are overlay fragments."""

    id: int
    at: str
    by: str
    op: str
    entry: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    undoes: int | None
    summary: str

    @property
    def entries(self) -> tuple[str, ...]:
        """Every entry id the change touched (several for an import)."""
        return tuple(self.after.get("entries", {}))

    def touches(self, entry_id: str) -> bool:
        return entry_id == self.entry or entry_id in self.after.get("entries", {})

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "by": self.by,
            "op": self.op,
            "entry": self.entry,
            "before": self.before,
            "after": self.after,
            "undoes": self.undoes,
            "summary": self.summary,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Change:
        """Rebuild a change from its log line; ValueError says what is malformed."""
        try:
            change = cls(**{f.name: data[f.name] for f in fields(cls)})
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]!r}") from None
        ok = (
            _is_int(change.id)
            and change.op in OPS
            and all(isinstance(v, str) for v in (change.at, change.by, change.summary))
            and (change.entry is None or isinstance(change.entry, str))
            and (change.undoes is None or _is_int(change.undoes))
        )
        if not ok:
            raise ValueError("a field has the wrong type")
        _check_fragment(change.before)
        _check_fragment(change.after)
        return change


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fragment(fragment: Any) -> None:
    if not isinstance(fragment, dict) or not isinstance(fragment.get("entries"), dict):
        raise ValueError("'before'/'after' must hold an 'entries' mapping")
    for eid, slot in fragment["entries"].items():
        _check_slot(eid, slot)
    document = fragment.get("document")
    if document is not None:
        if not isinstance(document, dict) or set(document) != set(DOCUMENT_KEYS):
            raise ValueError("'document' must hold 'title' and 'synonyms'")
        _check_document_fields(document)


def _check_slot(eid: Any, slot: Any) -> None:
    if not isinstance(slot, dict) or set(slot) != SLOT_KEYS:
        raise ValueError(f"entry {eid!r}: expected 'patch', 'added' and 'removed'")
    if not isinstance(slot["removed"], bool):
        raise ValueError(f"entry {eid!r}: 'removed' must be true or false")
    if slot["patch"] is not None:
        _check_patch(eid, slot["patch"])
    if slot["added"] is not None:
        _check_body(eid, slot["added"])


def _check_patch(eid: Any, patch: Any) -> None:
    if not isinstance(eid, str) or not isinstance(patch, dict):
        raise ValueError(f"entry {eid!r}: a patch must be a mapping of fields")
    for key in patch:
        if key not in PATCH_KEYS:
            raise ValueError(f"entry '{eid}': unknown field {key!r}")
    extras = patch.get("add_alternates", [])
    if not isinstance(extras, list) or not all(isinstance(p, str) for p in extras):
        raise ValueError(f"entry '{eid}': 'add_alternates' must be a list of text")


def _check_body(eid: Any, body: Any) -> None:
    if not isinstance(eid, str) or not isinstance(body, dict) or body.get("id") != eid:
        raise ValueError(f"added entry {eid!r} must be a mapping with id: {eid}")


def _check_document_fields(data: Mapping[str, Any]) -> None:
    title, synonyms = data.get("title"), data.get("synonyms")
    if title is not None and not isinstance(title, str):
        raise ValueError("'title' must be text")
    if synonyms is not None and not isinstance(synonyms, dict):
        raise ValueError("'synonyms' must be a mapping")


# --- the overlay ------------------------------------------------------------------------

Slot = dict[str, Any]


@dataclass
class Overlay:
    """The folded log: per-entry patches, added bodies, removed ids, document overrides."""

    last_change: int = 0
    title: str | None = None
    synonyms: dict[str, Any] | None = None
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)
    added: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def copy(self) -> Overlay:
        return copy.deepcopy(self)

    def slot(self, entry_id: str) -> Slot:
        return {
            "patch": copy.deepcopy(self.patches.get(entry_id)),
            "added": copy.deepcopy(self.added.get(entry_id)),
            "removed": entry_id in self.removed,
        }

    def set_slot(self, entry_id: str, slot: Slot) -> None:
        """Set one entry's state; an added body keeps its place when it is replaced."""
        _put(self.patches, entry_id, slot["patch"])
        _put(self.added, entry_id, slot["added"])
        if slot["removed"] and entry_id not in self.removed:
            self.removed.append(entry_id)
        elif not slot["removed"] and entry_id in self.removed:
            self.removed.remove(entry_id)

    def fragment(self, ids: tuple[str, ...], document: bool) -> dict[str, Any]:
        """The state of ``ids`` (and the document fields) as a log record stores it."""
        result: dict[str, Any] = {"entries": {eid: self.slot(eid) for eid in ids}}
        if document:
            result["document"] = copy.deepcopy({"title": self.title, "synonyms": self.synonyms})
        return result

    def apply(self, fragment: Mapping[str, Any]) -> None:
        """Put the state a fragment records back (replaying a change or undoing one)."""
        for eid, slot in fragment["entries"].items():
            self.set_slot(eid, copy.deepcopy(slot))
        document = fragment.get("document")
        if document is not None:
            self.title = document["title"]
            self.synonyms = copy.deepcopy(document["synonyms"])

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"version": FORMAT_VERSION, "last_change": self.last_change}
        if self.title is not None:
            doc["title"] = self.title
        if self.synonyms is not None:
            doc["synonyms"] = self.synonyms
        doc["entries"] = self.patches
        doc["added"] = self.added
        doc["removed"] = self.removed
        return copy.deepcopy(doc)

    @classmethod
    def from_document(cls, data: Any) -> Overlay:
        """Check the shape of a loaded overlay file; ValueError names the problem."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError("expected a mapping at the top level")
        unknown = [str(k) for k in data if k not in OVERLAY_KEYS]
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise ValueError(f"unsupported version {data.get('version')!r}")
        last = data.get("last_change", 0)
        if not _is_int(last) or last < 0:
            raise ValueError("'last_change' must be a whole number")
        _check_document_fields(data)
        patches = _mapping(data, "entries")
        for eid, patch in patches.items():
            _check_patch(eid, patch)
        added = _mapping(data, "added")
        for eid, body in added.items():
            _check_body(eid, body)
        removed = data.get("removed") or []
        if not isinstance(removed, list) or not all(isinstance(r, str) for r in removed):
            raise ValueError("'removed' must be a list of ids")
        return cls(last, data.get("title"), data.get("synonyms"), patches, added, removed)


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"'{key}' must be a mapping from entry id")
    return value


# --- merging ----------------------------------------------------------------------------


def merge(shipped: Mapping[str, Any], overlay: Overlay) -> dict[str, Any]:
    """The knowledge document the bot serves: the shipped file with the overlay applied."""
    removed = set(overlay.removed)
    entries: list[Any] = []
    patched: set[str] = set()
    raw_entries = shipped.get("entries")
    for raw in raw_entries if isinstance(raw_entries, list) else []:
        eid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(eid, str):
            entries.append(copy.deepcopy(raw))  # left for validation to report
        elif eid in overlay.added and eid not in removed:
            entries.append(_ordered(overlay.added[eid]))
        elif eid not in removed:
            entries.append(_patched(raw, overlay.patches.get(eid), removed))
            patched.add(eid)
    shipped_ids = {e.get("id") for e in entries if isinstance(e, dict)}
    entries += [
        _ordered(body)
        for eid, body in overlay.added.items()
        if eid not in removed and eid not in shipped_ids
    ]
    _add_aliases(entries, overlay, patched)
    doc: dict[str, Any] = {"version": shipped.get("version", FORMAT_VERSION)}
    for key in DOCUMENT_KEYS:
        value = getattr(overlay, key)
        value = shipped.get(key) if value is None else value
        if value not in (None, "", {}):  # "" and {} mean none (an import can clear them)
            doc[key] = copy.deepcopy(value)
    doc["entries"] = entries
    return doc


def _ordered(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Known fields only, in the canonical order, copied."""
    return {k: copy.deepcopy(entry[k]) for k in FIELD_ORDER if k in entry}


def _patched(
    raw: Mapping[str, Any], patch: Mapping[str, Any] | None, removed: set[str]
) -> dict[str, Any]:
    """A shipped entry with a moderator patch (``add_alternates`` is applied later)."""
    entry = _ordered(raw)
    for key, value in (patch or {}).items():
        if key != "add_alternates":
            _put(entry, key, copy.deepcopy(value))
    related = entry.get("related")
    if "related" not in (patch or {}) and isinstance(related, list):
        kept = [r for r in related if not (isinstance(r, str) and r in removed)]
        if kept != related:
            _put(entry, "related", kept or None)
    return _ordered(entry)


def _add_aliases(entries: list[Any], overlay: Overlay, patched: set[str]) -> None:
    """Append each shipped entry's ``add_alternates`` unless an entry already has the phrasing.

    The shipped file may since have listed the phrasing itself (skip quietly) or given it to
    another entry (skip with a warning): either way the merged file stays loadable.
    """
    owner: dict[str, str] = {}
    for eid, key in _phrasing_keys(entries):
        owner.setdefault(key, eid)
    for entry in entries:
        eid = entry.get("id") if isinstance(entry, dict) else None
        patch = overlay.patches.get(eid, {}) if eid in patched else {}
        extras = patch.get("add_alternates", [])
        if not extras or not isinstance(entry.get("alternates"), list):
            continue
        for phrase in extras:
            key = fold(phrase)
            other = owner.get(key)
            if other is None:
                owner[key] = eid
                entry["alternates"].append(phrase)
            elif other != eid:
                log.warning("alias %r of '%s' is now on entry '%s'; skipped", phrase, eid, other)


def _phrasings(entry: Mapping[str, Any]) -> list[str]:
    question = entry.get("question")
    alternates = entry.get("alternates")
    items = [question] + (alternates if isinstance(alternates, list) else [])
    return [p for p in items if isinstance(p, str)]


def _phrasing_keys(entries: list[Any]) -> Iterator[tuple[str, str]]:
    """(entry id, folded phrasing) for every phrasing, first owner first."""
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            for phrase in _phrasings(entry):
                yield entry["id"], fold(phrase)


def _entry_map(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["id"]: e
        for e in doc.get("entries", [])
        if isinstance(e, dict) and isinstance(e.get("id"), str)
    }


# --- moderator input --------------------------------------------------------------------


def _storable(value: Any, name: str) -> Any:
    """A deep copy of ``value`` if JSON and YAML can both hold it exactly; else StoreError."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise StoreError(f"'{name}' contains characters that cannot be stored.") from None
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_storable(v, name) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _storable(v, name) for k, v in value.items()}
    raise StoreError(f"'{name}' holds {type(value).__name__} data; use text, numbers or lists.")


def _fields_input(fields: Any, *, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(fields, Mapping):
        raise StoreError("Fields must be given as a mapping of field name to value.")
    for name in fields:
        if name == "id" and "id" not in allowed:
            raise StoreError("The id cannot be changed; add a new entry and remove this one.")
        if name not in allowed:
            names = ", ".join(k for k in FIELD_ORDER if k in allowed)
            raise StoreError(f"Unknown field {name!r}; the fields are: {names}.")
    return {name: _storable(value, name) for name, value in fields.items()}


def _entry_input(entry: Any) -> dict[str, Any]:
    body = _fields_input(entry, allowed=frozenset(FIELD_ORDER))
    eid = body.get("id")
    if not isinstance(eid, str) or not ID_PATTERN.match(eid):
        raise StoreError(
            "An entry needs an id of up to 64 lowercase letters, digits and hyphens "
            "(e.g. 'new-start')."
        )
    return _ordered({k: v for k, v in body.items() if v is not None})


def _by_input(by: Any) -> str:
    if not isinstance(by, str) or not by.strip():
        raise StoreError("Say who makes the change.")
    return _storable(by.strip()[:MAX_BY], "by")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the store --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportPlan:
    """What importing a file would change; ``apply_import`` refuses it if anything moved."""

    document: dict[str, Any]
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    document_changed: tuple[str, ...]
    warnings: tuple[Problem, ...]
    base_change: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.document_changed)

    def summary(self) -> str:
        text = f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"
        if self.document_changed:
            text += f"; {' and '.join(self.document_changed)} changed"
        return text


@dataclass
class _State:
    overlay: Overlay
    changes: list[Change]
    replayed: int

    @property
    def last_id(self) -> int:
        return max(self.changes[-1].id if self.changes else 0, self.overlay.last_change)


@dataclass
class _Plan:
    overlay: Overlay
    ids: tuple[str, ...]
    document: bool
    entry: str | None
    summary: str
    undoes: int | None = None


class KnowledgeStore:
    """The shipped knowledge plus moderator edits, shared safely by threads and processes.

    Every method is synchronous and may block on the lock or on fsync: call it from a
    worker thread (``asyncio.to_thread``) in async code.
    """

    def __init__(self, shipped_path: Path, data_dir: Path, *, lock_timeout: float = 30.0) -> None:
        self.shipped_path = Path(shipped_path)
        self.data_dir = Path(data_dir)
        self.overlay_path = self.data_dir / OVERLAY_NAME
        self.log_path = self.data_dir / LOG_NAME
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(self.data_dir / LOCK_NAME, timeout=lock_timeout)
        self._shipped_cache: tuple[tuple[int, int], dict[str, Any]] | None = None
        self.repair()

    # reading ----------------------------------------------------------------------------

    def signature(self) -> tuple[tuple[int, int] | None, ...]:
        """A cheap fingerprint of the three files: reload when it changes."""
        return tuple(_stat(p) for p in (self.shipped_path, self.overlay_path, self.log_path))

    def merged_document(self) -> dict[str, Any]:
        """The knowledge document with moderator edits applied, not yet validated."""
        with hold(self._lock):
            state = self._load()
        return merge(self._shipped(), state.overlay)

    def knowledge(self) -> Knowledge:
        """The merged knowledge, validated; KnowledgeError lists every problem."""
        knowledge, warnings = parse_document(self.merged_document(), "knowledge")
        for problem in warnings:
            log.debug("%s", problem)
        return knowledge

    def history(self, entry_id: str | None = None, limit: int = 20) -> list[Change]:
        """The latest changes first, optionally only those touching one entry."""
        with hold(self._lock):
            changes = self._load().changes
        picked = [c for c in reversed(changes) if entry_id is None or c.touches(entry_id)]
        return picked[: max(limit, 0)]

    def export_yaml(self) -> str:
        """The merged knowledge as a YAML file that ``parse_text`` (and import) accepts."""
        return dump_yaml(self.merged_document())

    def repair(self) -> int:
        """Fold log records the overlay misses into it and tidy crash leftovers.

        Returns the number of records replayed. Called on open; harmless at any time.
        """
        with hold(self._lock):
            state = self._load(repair=True)
            if state.replayed:
                self._write_overlay(state.overlay)
                log.warning("replayed %d change(s) missing from %s", state.replayed, OVERLAY_NAME)
            remove_stale_temps(self.overlay_path)
        return state.replayed

    # changing ---------------------------------------------------------------------------

    def add(self, entry: Mapping[str, Any], by: str) -> Change:
        """Add a new entry (or bring back a removed id with new content)."""
        body = _entry_input(entry)
        eid = body["id"]

        def plan(state: _State) -> _Plan:
            if eid in _entry_map(self._merge(state)):
                raise StoreError(f"An entry with id '{eid}' already exists; edit it instead.")
            overlay = state.overlay.copy()
            overlay.set_slot(eid, {"patch": None, "added": body, "removed": False})
            return _Plan(overlay, (eid,), False, eid, f"added '{eid}'")

        return self._commit("add", by, plan)

    def edit(self, entry_id: str, fields: Mapping[str, Any], by: str) -> Change:
        """Replace the given fields (a value of None clears an optional field)."""
        wanted = _fields_input(fields, allowed=EDITABLE_FIELDS)
        if not wanted:
            raise StoreError("Say which fields to change.")

        def plan(state: _State) -> _Plan:
            current = self._entry(state, entry_id)
            diff = {k: v for k, v in wanted.items() if current.get(k) != v}
            if not diff:
                raise StoreError(f"Nothing to change: '{entry_id}' already has those values.")
            overlay = state.overlay.copy()
            overlay.set_slot(entry_id, _edited(overlay.slot(entry_id), diff))
            return _Plan(overlay, (entry_id,), False, entry_id, _edit_summary(entry_id, diff))

        return self._commit("edit", by, plan)

    def alias(self, entry_id: str, phrase: str, by: str) -> Change:
        """Add a phrasing to an entry; refused when any entry already has it."""
        if not isinstance(phrase, str):
            raise StoreError("The phrasing must be text.")
        phrase = _storable(phrase, "phrasing")
        key = fold(phrase)
        if not key:
            raise StoreError("The phrasing needs at least one letter or digit.")

        def plan(state: _State) -> _Plan:
            doc = self._merge(state)
            self._entry(state, entry_id, doc)
            owner = next((eid for eid, k in _phrasing_keys(doc["entries"]) if k == key), None)
            if owner is not None:
                raise StoreError(f"The phrasing {_short(phrase)!r} is already on '{owner}'.")
            overlay = state.overlay.copy()
            overlay.set_slot(entry_id, _aliased(overlay.slot(entry_id), phrase))
            summary = f"added phrasing {_short(phrase)!r} to '{entry_id}'"
            return _Plan(overlay, (entry_id,), False, entry_id, summary)

        return self._commit("alias", by, plan)

    def remove(self, entry_id: str, by: str) -> Change:
        """Hide an entry; its content stays in the overlay so undo brings it back."""

        def plan(state: _State) -> _Plan:
            self._entry(state, entry_id)
            overlay = state.overlay.copy()
            slot = overlay.slot(entry_id)
            slot["removed"] = True
            overlay.set_slot(entry_id, slot)
            return _Plan(overlay, (entry_id,), False, entry_id, f"removed '{entry_id}'")

        return self._commit("remove", by, plan)

    def undo(self, by: str, change_id: int | None = None) -> Change:
        """Restore the state before a change (default: the latest one still in effect).

        Undoing an undo redoes. A change whose entries were changed again later is refused
        until those later changes are undone, so an undo never discards other edits.
        """

        def plan(state: _State) -> _Plan:
            target = _undo_target(state.changes, change_id)
            ids = tuple(target.after["entries"])
            document = "document" in target.after
            if state.overlay.fragment(ids, document) != target.after:
                later = _later(state.changes, target)
                raise StoreError(
                    f"Change #{target.id} cannot be undone: change #{later} changed the same "
                    "entries since; undo that first."
                )
            overlay = state.overlay.copy()
            overlay.apply(target.before)
            summary = _short(f"undid #{target.id}: {target.summary}", MAX_SUMMARY)
            if target.op == "undo":
                summary = f"undid #{target.id}, redoing #{target.undoes}"
            return _Plan(overlay, ids, document, target.entry, summary, undoes=target.id)

        return self._commit("undo", by, plan)

    def plan_import(self, yaml_text: str, file: str = "import") -> ImportPlan:
        """Check a whole knowledge file like ``eln-bot check`` and say what it would change.

        Writes nothing; KnowledgeError lists every problem of an invalid file.
        """
        data, lines = read_document(yaml_text, file)
        _, warnings = parse_document(data, file, lines=lines)
        wanted = _normalised(data)
        with hold(self._lock):
            state = self._load()
        current = merge(self._shipped(), state.overlay)
        old, new = _entry_map(current), _entry_map(wanted)
        return ImportPlan(
            document=wanted,
            added=tuple(i for i in new if i not in old),
            changed=tuple(i for i in new if i in old and new[i] != old[i]),
            removed=tuple(i for i in old if i not in new),
            document_changed=tuple(k for k in DOCUMENT_KEYS if wanted.get(k) != current.get(k)),
            warnings=tuple(warnings),
            base_change=state.last_id,
        )

    def apply_import(self, plan: ImportPlan, by: str) -> Change:
        """Make the merged knowledge equal the planned file (entry order aside)."""
        if plan.empty:
            raise StoreError("The import changes nothing.")

        def build(state: _State) -> _Plan:
            if state.last_id != plan.base_change:
                raise StoreError(
                    f"The knowledge changed (change #{state.last_id}) since this import was "
                    "planned; plan it again."
                )
            overlay = _imported(self._shipped(), state.overlay, plan.document)
            ids = _touched(state.overlay, overlay)
            return _Plan(overlay, ids, True, None, f"imported: {plan.summary()}")

        return self._commit("import", by, build)

    # internals --------------------------------------------------------------------------

    def _commit(self, op: str, by: str, plan: Callable[[_State], _Plan]) -> Change:
        """Apply one change under the lock: validate, log, then fold into the overlay."""
        who = _by_input(by)
        with hold(self._lock):
            state = self._load(repair=True)
            result = plan(state)
            before = state.overlay.fragment(result.ids, result.document)
            after = result.overlay.fragment(result.ids, result.document)
            if before == after:
                raise StoreError("Nothing to change.")
            _validate(merge(self._shipped(), result.overlay))
            change = Change(
                state.last_id + 1,
                utc_now(),
                who,
                op,
                result.entry,
                before,
                after,
                result.undoes,
                result.summary,
            )
            append_line(self.log_path, change.to_record())
            result.overlay.last_change = change.id
            self._write_overlay(result.overlay)
        log.info("change #%d by %s: %s", change.id, who, change.summary)
        return change

    def _load(self, *, repair: bool = False) -> _State:
        """Read overlay and log (lock held); replay records the overlay has not folded in."""
        overlay = self._read_overlay()
        if repair:
            repair_tail(self.log_path)
        changes = _changes(read_jsonl(self.log_path).records, self.log_path)
        missing = [c for c in changes if c.id > overlay.last_change]
        for change in missing:
            overlay.apply(change.after)
            overlay.last_change = change.id
        if changes and overlay.last_change > changes[-1].id:
            log.warning("%s is ahead of %s; was the log truncated?", OVERLAY_NAME, LOG_NAME)
        return _State(overlay, changes, len(missing))

    def _read_overlay(self) -> Overlay:
        path = self.overlay_path
        hint = f"fix it, or delete it to rebuild it from {LOG_NAME}"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Overlay()
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"{path}: cannot read the file ({exc}); {hint}.") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            reason = getattr(exc, "problem", None) or "syntax error"
            raise StoreError(f"{where}: not valid YAML ({reason}); {hint}.") from None
        except (RecursionError, ValueError, TypeError, OverflowError) as exc:
            raise StoreError(f"{path}: not valid YAML ({exc}); {hint}.") from None
        try:
            return Overlay.from_document(data)
        except ValueError as exc:
            raise StoreError(f"{path}: {exc}; {hint}.") from None

    def _write_overlay(self, overlay: Overlay) -> None:
        text = OVERLAY_HEADER + dump_yaml(overlay.to_document())
        write_atomic(self.overlay_path, text.encode("utf-8"))

    def _shipped(self) -> dict[str, Any]:
        """The shipped document, parsed once per version of the file (callers must not mutate)."""
        name = str(self.shipped_path)
        try:
            stat = self.shipped_path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            cached = self._shipped_cache
            if cached is not None and cached[0] == key:
                return cached[1]
            text = self.shipped_path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise KnowledgeError([Problem(f"cannot read the file: {exc.strerror}", name)]) from None
        except UnicodeDecodeError as exc:
            raise KnowledgeError([Problem(f"not UTF-8 text (byte {exc.start})", name)]) from None
        data, _ = read_document(text, name)
        if not isinstance(data, dict):
            raise KnowledgeError([Problem("expected a mapping at the top level", name)])
        self._shipped_cache = (key, data)
        return data

    def _merge(self, state: _State) -> dict[str, Any]:
        return merge(self._shipped(), state.overlay)

    def _entry(
        self, state: _State, entry_id: str, doc: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        entry = _entry_map(doc if doc is not None else self._merge(state)).get(entry_id)
        if entry is None:
            raise NotFoundError(f"No entry with id '{entry_id}'.")
        return entry


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _validate(doc: dict[str, Any]) -> None:
    """Raise KnowledgeError when the merged result could not be served."""
    parse_document(doc, "knowledge")


def _changes(records: list[dict[str, Any]], path: Path) -> list[Change]:
    changes: list[Change] = []
    for number, record in enumerate(records, 1):
        try:
            change = Change.from_record(record)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{path}: record {number} is malformed ({exc}).") from None
        if changes and change.id <= changes[-1].id:
            raise StoreError(f"{path}: record {number} has id {change.id}, out of order.")
        changes.append(change)
    return changes


def _edited(slot: Slot, diff: Mapping[str, Any]) -> Slot:
    """An entry state with fields replaced: in the added body, or pinned in the patch."""
    if slot["added"] is not None:
        body = dict(slot["added"])
        for key, value in diff.items():
            _put(body, key, value)
        slot["added"] = _ordered(body)
        return slot
    patch = dict(slot["patch"] or {})
    patch.update(diff)
    if "alternates" in diff:
        patch.pop("add_alternates", None)  # the full list given replaces earlier aliases
    slot["patch"] = patch
    return slot


def _aliased(slot: Slot, phrase: str) -> Slot:
    if slot["added"] is not None:
        alternates = slot["added"].get("alternates")
        base = alternates if isinstance(alternates, list) else []
        slot["added"] = {**slot["added"], "alternates": [*base, phrase]}
        slot["added"] = _ordered(slot["added"])
    else:
        patch = dict(slot["patch"] or {})
        patch["add_alternates"] = [*patch.get("add_alternates", []), phrase]
        slot["patch"] = patch
    return slot


def _edit_summary(entry_id: str, diff: Mapping[str, Any]) -> str:
    names = ", ".join(f"cleared {k}" if v is None else k for k, v in diff.items())
    return _short(f"edited '{entry_id}': {names}", MAX_SUMMARY)


def _activity(changes: list[Change]) -> dict[int, bool]:
    """Which changes are in effect: an undo switches its target off, undoing it back on."""
    active: dict[int, bool] = {}
    by_id: dict[int, Change] = {}
    for change in changes:
        by_id[change.id] = change
        active[change.id] = True
        target, value = change.undoes, False
        while target is not None and target in by_id:
            active[target] = value
            target, value = by_id[target].undoes, not value
    return active


def _undo_target(changes: list[Change], change_id: int | None) -> Change:
    active = _activity(changes)
    if change_id is None:
        latest = next((c for c in reversed(changes) if c.op != "undo" and active[c.id]), None)
        if latest is None:
            raise StoreError("Nothing to undo.")
        return latest
    target = next((c for c in changes if c.id == change_id), None)
    if target is None:
        raise NotFoundError(f"No change #{change_id}.")
    if not active[target.id]:
        raise StoreError(f"Change #{change_id} is already undone.")
    return target


def _later(changes: list[Change], target: Change) -> int:
    """The latest change after ``target`` that touched one of its entries."""
    ids = set(target.after["entries"])
    document = "document" in target.after
    for change in reversed(changes):
        touched = ids & set(change.after["entries"]) or (document and "document" in change.after)
        if change.id > target.id and touched:
            return change.id
    return changes[-1].id


def _normalised(data: Mapping[str, Any]) -> dict[str, Any]:
    """An imported document reduced to what the bot serves: known fields, canonical order."""
    doc: dict[str, Any] = {"version": data.get("version", FORMAT_VERSION)}
    for key in DOCUMENT_KEYS:
        if data.get(key):
            doc[key] = copy.deepcopy(data[key])
    doc["entries"] = [_ordered(e) for e in data["entries"]]
    return doc


def _imported(shipped: Mapping[str, Any], current: Overlay, wanted: dict[str, Any]) -> Overlay:
    """An overlay under which the merged knowledge equals ``wanted``.

    Entries the shipped file has become patches of only the fields that differ, so a later
    shipped upgrade still shows through everywhere else.
    """
    overlay = current.copy()
    shipped_map = _entry_map(shipped)
    new = _entry_map(wanted)
    for eid, entry in new.items():
        base = shipped_map.get(eid)
        slot: Slot = {"patch": None, "added": entry, "removed": False}
        if base is not None:
            slot = {"patch": _patch_for(base, entry), "added": None, "removed": False}
        overlay.set_slot(eid, copy.deepcopy(slot))
    for eid in _entry_map(merge(shipped, current)):
        if eid not in new:
            slot = overlay.slot(eid)
            slot["removed"] = True
            overlay.set_slot(eid, slot)
    for key, empty in (("title", ""), ("synonyms", {})):
        value = wanted.get(key) or empty
        same = value == (shipped.get(key) or empty)
        setattr(overlay, key, None if same else copy.deepcopy(value))
    result = _entry_map(merge(shipped, overlay))
    wrong = [eid for eid in new if result.get(eid) != new[eid]]
    if wrong:  # a guard on the invariant above; it would be a bug in this module
        raise StoreError(f"The import cannot be represented for: {', '.join(wrong)}.")
    return overlay


def _touched(old: Overlay, new: Overlay) -> tuple[str, ...]:
    """Ids whose state differs between two overlays."""
    ids = dict.fromkeys([*old.patches, *old.added, *old.removed])
    ids.update(dict.fromkeys([*new.patches, *new.added, *new.removed]))
    return tuple(eid for eid in ids if old.slot(eid) != new.slot(eid))


def _patch_for(shipped: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields of ``wanted`` that differ from the shipped entry (None clears a field)."""
    base = _ordered(shipped)
    patch: dict[str, Any] = {}
    for key in FIELD_ORDER:
        if key == "id" or base.get(key) == wanted.get(key):
            continue
        extras = _extra_alternates(base, wanted) if key == "alternates" else None
        if extras:
            patch["add_alternates"] = extras
        else:
            patch[key] = copy.deepcopy(wanted.get(key))
    return patch or None


def _extra_alternates(base: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str] | None:
    """Alternates appended after the shipped ones, kept as aliases so upgrades still merge."""
    old, new = base.get("alternates"), wanted.get("alternates")
    if not (isinstance(old, list) and isinstance(new, list) and len(new) > len(old)):
        return None
    keys = [fold(p) for p in _phrasings(wanted)]
    if new[: len(old)] != old or len(set(keys)) != len(keys):
        return None
    return copy.deepcopy(new[len(old) :])
