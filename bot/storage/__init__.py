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
characters are data.

The modules, one job each: ``files`` (locked, durable files; shared with ``bot.storage.usage``),
``document`` (field order and entry lookups), ``overlay`` (the overlay and its slots),
``merge``, ``changes`` (the log record and undo bookkeeping), ``datadir`` (reading and
writing the two files), ``inputs`` (checking moderator input), ``importing`` and ``store``
(``KnowledgeStore``). This package re-exports the names callers use.
"""

from bot.core.service import KnowledgeService
from bot.storage.changes import OPS, Change
from bot.storage.datadir import LOCK_NAME, LOG_NAME, OVERLAY_HEADER, OVERLAY_NAME
from bot.storage.document import DOCUMENT_KEYS, EDITABLE_FIELDS, FIELD_ORDER, FORMAT_VERSION
from bot.storage.files import (
    JsonLines,
    append_line,
    dump_yaml,
    fsync_dir,
    hold,
    read_jsonl,
    remove_stale_temps,
    repair_tail,
    utc_now,
    write_atomic,
)
from bot.storage.importing import ImportPlan
from bot.storage.inputs import MAX_BY, MAX_SUMMARY
from bot.storage.merge import merge
from bot.storage.overlay import OVERLAY_KEYS, PATCH_KEYS, SLOT_KEYS, Overlay, Slot
from bot.storage.store import KnowledgeStore

#: The knowledge service over the moderators' store: what the bot and the CLI serve.
ServedKnowledge = KnowledgeService[KnowledgeStore]

__all__ = [
    "DOCUMENT_KEYS",
    "EDITABLE_FIELDS",
    "FIELD_ORDER",
    "FORMAT_VERSION",
    "LOCK_NAME",
    "LOG_NAME",
    "MAX_BY",
    "MAX_SUMMARY",
    "OPS",
    "OVERLAY_HEADER",
    "OVERLAY_KEYS",
    "OVERLAY_NAME",
    "PATCH_KEYS",
    "SLOT_KEYS",
    "Change",
    "ImportPlan",
    "JsonLines",
    "KnowledgeStore",
    "Overlay",
    "ServedKnowledge",
    "Slot",
    "append_line",
    "dump_yaml",
    "fsync_dir",
    "hold",
    "merge",
    "read_jsonl",
    "remove_stale_temps",
    "repair_tail",
    "utc_now",
    "write_atomic",
]
