"""KnowledgeStore: effects, undo, upgrades, import/export, bad input, concurrency, crashes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.knowledge import KnowledgeError, parse_text
from bot.errors import NotFoundError, StoreError
from bot.storage import LOG_NAME, OVERLAY_NAME, KnowledgeStore, Overlay, dump_yaml
from tests.storage.store_worker import ENTRY_IDS, fixture_document, write_fixture

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parents[1]
WORKER = TESTS / "store_worker.py"


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    return write_fixture(tmp_path / "faq.yaml")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(shipped: Path, data_dir: Path) -> KnowledgeStore:
    return KnowledgeStore(shipped, data_dir)


def entry(doc: dict[str, Any], eid: str) -> dict[str, Any]:
    return next(e for e in doc["entries"] if e["id"] == eid)


def ids(doc: dict[str, Any]) -> list[str]:
    return [e["id"] for e in doc["entries"]]


def new_entry(eid: str = "hotlines-2", **extra: Any) -> dict[str, Any]:
    body = {
        "id": eid,
        "question": f"What is {eid}?",
        "alternates": [f"{eid} phrasing {n}" for n in range(6)],
        "answer": f"The answer about {eid}.",
        "sources": [{"title": "Source", "url": "https://example.org/source"}],
    }
    body.update(extra)
    return body


def disk(data_dir: Path) -> dict[str, bytes | None]:
    """The bytes of the moderator files, to prove a refused change wrote nothing."""
    out: dict[str, bytes | None] = {}
    for name in (OVERLAY_NAME, LOG_NAME):
        path = data_dir / name
        out[name] = path.read_bytes() if path.exists() else None
    return out


def log_records(data_dir: Path) -> list[dict[str, Any]]:
    """The change log's records; none before the first change is written."""
    path = data_dir / LOG_NAME
    raw = path.read_bytes() if path.exists() else b""
    return [json.loads(line) for line in raw.split(b"\n") if line.strip()]


# --- effects ----------------------------------------------------------------------------


def test_fresh_store_serves_the_shipped_file(store: KnowledgeStore, data_dir: Path) -> None:
    assert store.merged_document() == fixture_document()
    assert [e.id for e in store.knowledge().entries] == list(ENTRY_IDS)
    assert disk(data_dir) == {OVERLAY_NAME: None, LOG_NAME: None}
    assert store.history() == []


def test_add_puts_the_entry_last(store: KnowledgeStore) -> None:
    change = store.add(new_entry(), by="alice")
    doc = store.merged_document()
    assert ids(doc) == [*ENTRY_IDS, "hotlines-2"]
    assert entry(doc, "hotlines-2") == new_entry()
    assert (change.id, change.op, change.entry, change.by) == (1, "add", "hotlines-2", "alice")
    assert store.knowledge().get("hotlines-2") is not None


def test_edit_changes_only_the_fields_given(store: KnowledgeStore) -> None:
    before = entry(store.merged_document(), "eln")
    store.edit("eln", {"answer": "A *new* answer."}, by="bob")
    after = entry(store.merged_document(), "eln")
    assert after == {**before, "answer": "A *new* answer."}


def test_edit_none_clears_an_optional_field(store: KnowledgeStore) -> None:
    store.edit("new-start", {"tags": None, "related": None}, by="bob")
    edited = entry(store.merged_document(), "new-start")
    assert "tags" not in edited
    assert "related" not in edited


def test_edit_of_an_added_entry_changes_its_body(store: KnowledgeStore) -> None:
    store.add(new_entry(), by="a")
    store.edit("hotlines-2", {"answer": "Changed.", "tags": ["x"]}, by="a")
    assert entry(store.merged_document(), "hotlines-2") == {
        **new_entry(),
        "answer": "Changed.",
        "tags": ["x"],
    }


def test_alias_appends_a_phrasing(store: KnowledgeStore) -> None:
    store.alias("eln", "who funds the eln", by="carol")
    store.add(new_entry(), by="carol")
    store.alias("hotlines-2", "hotline two", by="carol")
    doc = store.merged_document()
    assert entry(doc, "eln")["alternates"][-1] == "who funds the eln"
    assert entry(doc, "hotlines-2")["alternates"][-1] == "hotline two"
    assert "who funds the eln" in store.knowledge().get("eln").alternates


@pytest.mark.parametrize(
    ("target", "phrase", "owner"),
    [
        ("eln", "WHAT IS THE ELN", "eln"),
        ("eln", "what is new start", "new-start"),
        ("eln", "  Ópen   skies question one!! ", "open-skies"),
    ],
)
def test_alias_refuses_a_phrasing_any_entry_has(
    store: KnowledgeStore, data_dir: Path, target: str, phrase: str, owner: str
) -> None:
    store.alias("hotline", "seed change", by="x")
    saved = disk(data_dir)
    with pytest.raises(StoreError, match=f"already on '{owner}'"):
        store.alias(target, phrase, by="x")
    assert disk(data_dir) == saved


def test_remove_hides_the_entry(store: KnowledgeStore) -> None:
    store.remove("eln", by="dave")
    doc = store.merged_document()
    assert "eln" not in ids(doc)
    with pytest.raises(NotFoundError, match="No entry with id 'eln'"):
        store.edit("eln", {"answer": "x"}, by="dave")


def test_remove_and_re_add_a_shipped_id(store: KnowledgeStore) -> None:
    store.remove("eln", by="d")
    store.add(new_entry("eln"), by="d")
    doc = store.merged_document()
    assert ids(doc) == list(ENTRY_IDS)  # back in its shipped place
    assert entry(doc, "eln") == new_entry("eln")


def test_removing_a_related_target_drops_the_shipped_link(store: KnowledgeStore) -> None:
    store.remove("open-skies", by="d")
    assert "related" not in entry(store.merged_document(), "new-start")
    store.knowledge()  # still valid


def test_history_is_newest_first_and_filters_by_entry(store: KnowledgeStore) -> None:
    store.alias("eln", "eln one", by="a")
    store.edit("hotline", {"answer": "x"}, by="b")
    store.alias("eln", "eln two", by="c")
    assert [c.id for c in store.history()] == [3, 2, 1]
    assert [c.id for c in store.history("eln")] == [3, 1]
    assert [c.id for c in store.history(limit=1)] == [3]
    assert [c.by for c in store.history("hotline")] == ["b"]
    assert store.history("no-such") == []
    records = log_records(store.data_dir)
    assert [r["op"] for r in records] == ["alias", "edit", "alias"]
    assert set(records[0]) == {
        "id",
        "at",
        "by",
        "op",
        "entry",
        "before",
        "after",
        "undoes",
        "summary",
    }
    assert records[1]["at"].endswith("Z")


# --- undo -------------------------------------------------------------------------------


def _import_text(store: KnowledgeStore) -> str:
    doc = store.merged_document()
    doc["entries"] = [e for e in doc["entries"] if e["id"] != "eln"]
    entry(doc, "hotline")["answer"] = "Imported answer."
    doc["entries"].append(new_entry("imported"))
    doc["title"] = "Imported title"
    return yaml.safe_dump(doc, sort_keys=False)


OPERATIONS = {
    "add": lambda s: s.add(new_entry(), by="u"),
    "edit": lambda s: s.edit("new-start", {"answer": "Edited.", "passage": "P"}, by="u"),
    "alias": lambda s: s.alias("eln", "brand new phrasing", by="u"),
    "remove": lambda s: s.remove("open-skies", by="u"),
    "import": lambda s: s.apply_import(s.plan_import(_import_text(s)), by="u"),
}


def _prepare(store: KnowledgeStore) -> None:
    """Earlier edits, so undo must restore a non-trivial state."""
    store.alias("new-start", "earlier alias", by="p")
    store.add(new_entry("earlier"), by="p")
    store.edit("hotline", {"answer": "Earlier answer."}, by="p")


@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_undo_restores_exactly_the_previous_document(store: KnowledgeStore, op: str) -> None:
    _prepare(store)
    before = store.merged_document()
    change = OPERATIONS[op](store)
    after = store.merged_document()
    assert after != before
    undo = store.undo(by="mod")
    assert (undo.op, undo.undoes, undo.entry) == ("undo", change.id, change.entry)
    assert store.merged_document() == before
    store.undo(by="mod", change_id=undo.id)  # undo of the undo = redo
    assert store.merged_document() == after
    assert store.knowledge() is not None


def test_undo_steps_back_through_changes(store: KnowledgeStore) -> None:
    states = [store.merged_document()]
    for op in ("add", "alias", "edit", "remove"):
        OPERATIONS[op](store)
        states.append(store.merged_document())
    for state in reversed(states[:-1]):
        store.undo(by="mod")
        assert store.merged_document() == state
    with pytest.raises(StoreError, match="Nothing to undo"):
        store.undo(by="mod")


def test_undo_of_a_removed_added_entry_keeps_its_place(store: KnowledgeStore) -> None:
    store.add(new_entry("first"), by="a")
    store.add(new_entry("second"), by="a")
    before = store.merged_document()
    store.remove("first", by="a")
    store.undo(by="a")
    assert store.merged_document() == before


def test_undo_refuses_when_a_later_change_touched_the_entry(
    store: KnowledgeStore, data_dir: Path
) -> None:
    first = store.edit("eln", {"answer": "One."}, by="a")
    second = store.alias("eln", "eln again", by="a")
    saved = disk(data_dir)
    with pytest.raises(StoreError, match=f"change #{second.id} changed the same entries"):
        store.undo(by="a", change_id=first.id)
    assert disk(data_dir) == saved
    store.undo(by="a")
    undo = store.undo(by="a")
    assert undo.undoes == first.id
    with pytest.raises(StoreError, match="already undone"):
        store.undo(by="a", change_id=first.id)
    with pytest.raises(NotFoundError, match="No change #99"):
        store.undo(by="a", change_id=99)


def test_undo_of_an_older_change_on_another_entry(store: KnowledgeStore) -> None:
    first = store.alias("eln", "eln extra", by="a")
    store.edit("hotline", {"answer": "Kept."}, by="a")
    store.undo(by="a", change_id=first.id)
    doc = store.merged_document()
    assert "eln extra" not in entry(doc, "eln")["alternates"]
    assert entry(doc, "hotline")["answer"] == "Kept."


# --- shipped upgrades -------------------------------------------------------------------


def test_upgrade_of_the_shipped_file_keeps_every_moderator_edit(
    store: KnowledgeStore, shipped: Path
) -> None:
    store.alias("new-start", "is new start dead", by="m")
    store.edit("eln", {"answer": "Moderator answer."}, by="m")
    store.remove("hotline", by="m")
    store.add(new_entry("moderator-entry"), by="m")
    upgraded = fixture_document()
    entry(upgraded, "open-skies")["answer"] = "Upgraded Open Skies answer."
    entry(upgraded, "new-start")["alternates"] += ["new start upgraded phrasing"]
    entry(upgraded, "eln")["answer"] = "Upgraded ELN answer."
    entry(upgraded, "eln")["alternates"] += ["eln upgraded phrasing"]
    upgraded["entries"].append(new_entry("shipped-later"))
    write_fixture(shipped, upgraded)

    doc = store.merged_document()
    new_start = entry(doc, "new-start")["alternates"]
    assert new_start[-2:] == ["new start upgraded phrasing", "is new start dead"]
    assert entry(doc, "eln")["answer"] == "Moderator answer."
    assert entry(doc, "eln")["alternates"][-1] == "eln upgraded phrasing"
    assert entry(doc, "open-skies")["answer"] == "Upgraded Open Skies answer."
    assert "hotline" not in ids(doc)
    assert ids(doc)[-2:] == ["shipped-later", "moderator-entry"]
    assert store.knowledge().get("moderator-entry") is not None


def test_upgrade_conflicts_do_not_break_loading(
    store: KnowledgeStore, shipped: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store.alias("new-start", "is new start dead", by="m")
    store.alias("eln", "who funds the eln", by="m")
    store.remove("hotline", by="m")
    store.add(new_entry("collide"), by="m")
    upgraded = fixture_document()
    entry(upgraded, "open-skies")["alternates"].append("Is New START dead?")  # moved elsewhere
    entry(upgraded, "eln")["alternates"].append("who funds the eln")  # now shipped too
    entry(upgraded, "open-skies")["related"] = ["hotline"]  # points at a removed entry
    upgraded["entries"].append(new_entry("collide", answer="Shipped version."))
    write_fixture(shipped, upgraded)

    with caplog.at_level(logging.WARNING, logger="bot.storage"):
        knowledge = store.knowledge()
    assert "is new start dead" not in knowledge.get("new-start").alternates
    assert knowledge.get("eln").alternates.count("who funds the eln") == 1
    assert knowledge.get("open-skies").related == ()
    assert knowledge.get("collide").answer == new_entry("collide")["answer"]
    assert "now on entry 'open-skies'" in caplog.text


# --- export / import --------------------------------------------------------------------


def test_export_round_trips(store: KnowledgeStore) -> None:
    _prepare(store)
    store.edit("eln", {"answer": "Line one\nline two\n\n- a *list*"}, by="m")
    text = store.export_yaml()
    knowledge, _ = parse_text(text, "export")
    assert knowledge == store.knowledge()
    assert yaml.safe_load(text) == store.merged_document()
    assert store.plan_import(text).empty
    assert "|" in text  # multi-line answers stay readable


def test_import_of_an_invalid_file_is_rejected_and_writes_nothing(
    store: KnowledgeStore, data_dir: Path
) -> None:
    _prepare(store)
    saved = disk(data_dir)
    doc = store.merged_document()
    entry(doc, "eln")["answer"] = "x" * 1300
    entry(doc, "hotline")["related"] = ["missing-id"]
    with pytest.raises(KnowledgeError) as info:
        store.plan_import(yaml.safe_dump(doc), "new.yaml")
    messages = [str(p) for p in info.value.problems]
    assert any("entry 'eln', field 'answer'" in m and "1,200" in m for m in messages)
    assert any("related id 'missing-id' does not exist" in m for m in messages)
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        store.plan_import("entries: [\n", "broken.yaml")
    assert disk(data_dir) == saved


def test_valid_import_applies_and_can_be_undone(store: KnowledgeStore) -> None:
    _prepare(store)
    before = store.merged_document()
    text = _import_text(store)
    plan = store.plan_import(text)
    assert (plan.added, plan.changed, plan.removed) == (("imported",), ("hotline",), ("eln",))
    assert plan.document_changed == ("title",)
    change = store.apply_import(plan, by="importer")
    assert change.op == "import"
    merged = store.merged_document()
    wanted = yaml.safe_load(text)
    assert merged["title"] == "Imported title"
    assert {e["id"]: e for e in merged["entries"]} == {e["id"]: e for e in wanted["entries"]}
    assert store.plan_import(text).empty
    store.undo(by="importer")
    assert store.merged_document() == before


def test_import_keeps_added_shipped_alternates_as_aliases(
    store: KnowledgeStore, shipped: Path
) -> None:
    doc = store.merged_document()
    entry(doc, "eln")["alternates"].append("imported eln phrasing")
    store.apply_import(store.plan_import(yaml.safe_dump(doc)), by="i")
    upgraded = fixture_document()
    entry(upgraded, "eln")["alternates"].append("shipped later")
    write_fixture(shipped, upgraded)
    assert entry(store.merged_document(), "eln")["alternates"][-2:] == [
        "shipped later",
        "imported eln phrasing",
    ]


def test_a_stale_import_plan_is_refused(store: KnowledgeStore) -> None:
    plan = store.plan_import(_import_text(store))
    store.alias("eln", "meanwhile", by="other")
    with pytest.raises(StoreError, match="plan it again"):
        store.apply_import(plan, by="i")
    with pytest.raises(StoreError, match="changes nothing"):
        store.apply_import(store.plan_import(store.export_yaml()), by="i")


# --- invalid edits leave the disk alone -------------------------------------------------


INVALID = [
    (lambda s: s.edit("eln", {"answer": "x" * 1201}, by="m"), KnowledgeError, "limit is 1,200"),
    (lambda s: s.alias("eln", "What is New START?", by="m"), StoreError, "already on"),
    (
        lambda s: s.edit("eln", {"alternates": ["what is the open skies treaty"]}, by="m"),
        KnowledgeError,
        "is also on entry 'open-skies'",
    ),
    (lambda s: s.edit("ghost", {"answer": "x"}, by="m"), NotFoundError, "No entry with id 'ghost'"),
    (lambda s: s.alias("ghost", "p", by="m"), NotFoundError, "No entry with id 'ghost'"),
    (lambda s: s.remove("ghost", by="m"), NotFoundError, "No entry with id 'ghost'"),
    (
        lambda s: s.edit("eln", {"related": ["nowhere"]}, by="m"),
        KnowledgeError,
        "related id 'nowhere' does not exist",
    ),
    (lambda s: s.edit("eln", {"anwser": "typo"}, by="m"), StoreError, "Unknown field 'anwser'"),
    (lambda s: s.edit("eln", {"id": "renamed"}, by="m"), StoreError, "id cannot be changed"),
    (lambda s: s.edit("eln", {"answer": "\ud800"}, by="m"), StoreError, "cannot be stored"),
    (lambda s: s.edit("eln", {}, by="m"), StoreError, "which fields"),
    (lambda s: s.add(new_entry("eln"), by="m"), StoreError, "already exists"),
    (lambda s: s.add(new_entry("Bad Id"), by="m"), StoreError, "lowercase letters"),
    (lambda s: s.add(new_entry(question=""), by="m"), KnowledgeError, "field 'question'"),
    (lambda s: s.add(new_entry(action=1), by="m"), KnowledgeError, "action 1 is also on"),
    (lambda s: s.alias("eln", "?!", by="m"), StoreError, "letter or digit"),
    (lambda s: s.alias("eln", "x" * 301, by="m"), KnowledgeError, "limit is 300"),
    (lambda s: s.edit("eln", {"answer": "x"}, by=" "), StoreError, "who makes the change"),
]


@pytest.mark.parametrize(("call", "error", "message"), INVALID)
def test_invalid_changes_raise_and_leave_disk_unchanged(
    store: KnowledgeStore, data_dir: Path, call: Any, error: type[Exception], message: str
) -> None:
    store.alias("eln", "an earlier valid change", by="m")
    saved = disk(data_dir)
    with pytest.raises(error, match=message):
        call(store)
    assert disk(data_dir) == saved


def test_removing_twice_is_refused(store: KnowledgeStore) -> None:
    store.remove("open-skies", by="m")
    with pytest.raises(NotFoundError, match="No entry with id 'open-skies'"):
        store.remove("open-skies", by="m")


def test_editing_to_the_same_value_is_refused(store: KnowledgeStore, data_dir: Path) -> None:
    answer = entry(store.merged_document(), "eln")["answer"]
    with pytest.raises(StoreError, match="Nothing to change"):
        store.edit("eln", {"answer": answer}, by="m")
    assert disk(data_dir) == {OVERLAY_NAME: None, LOG_NAME: None}


# --- damaged files ----------------------------------------------------------------------


def test_a_bad_overlay_raises_a_store_error_naming_the_problem(
    store: KnowledgeStore, data_dir: Path
) -> None:
    store.alias("eln", "something", by="m")
    overlay = data_dir / OVERLAY_NAME
    overlay.write_text("version: 1\nentries: [unclosed\n", encoding="utf-8")
    with pytest.raises(StoreError, match=r"overlay\.yaml:\d+: not valid YAML"):
        store.merged_document()
    overlay.write_text("version: 1\nentries:\n  eln:\n    answr: x\n", encoding="utf-8")
    with pytest.raises(StoreError, match="entry 'eln': unknown field 'answr'"):
        store.knowledge()
    overlay.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(StoreError, match="expected a mapping"):
        KnowledgeStore(store.shipped_path, data_dir)
    overlay.unlink()  # deleting it rebuilds it from the log
    reopened = KnowledgeStore(store.shipped_path, data_dir)
    assert "something" in entry(reopened.merged_document(), "eln")["alternates"]
    assert yaml.safe_load(overlay.read_text(encoding="utf-8"))["last_change"] == 1


def test_a_damaged_log_line_in_the_middle_is_an_error(
    store: KnowledgeStore, data_dir: Path
) -> None:
    store.alias("eln", "one", by="m")
    store.alias("eln", "two", by="m")
    log = data_dir / LOG_NAME
    lines = log.read_bytes().split(b"\n")
    log.write_bytes(b"\n".join([lines[0], b"{not json", *lines[1:]]))
    with pytest.raises(StoreError, match="line 2 is not a JSON object"):
        store.history()


def test_an_overlay_behind_the_log_is_repaired_on_open(
    store: KnowledgeStore, data_dir: Path, shipped: Path
) -> None:
    store.alias("eln", "first", by="m")
    stale = (data_dir / OVERLAY_NAME).read_bytes()
    store.alias("eln", "second", by="m")
    store.edit("hotline", {"answer": "Third."}, by="m")
    expected = store.merged_document()
    (data_dir / OVERLAY_NAME).write_bytes(stale)  # as if the process died after the log append
    assert store.merged_document() == expected  # readers replay in memory
    reopened = KnowledgeStore(shipped, data_dir)
    assert reopened.merged_document() == expected
    assert yaml.safe_load((data_dir / OVERLAY_NAME).read_bytes())["last_change"] == 3
    assert reopened.repair() == 0


def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(
    store: KnowledgeStore, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store.alias("eln", "kept", by="m")
    expected = store.merged_document()
    log = data_dir / LOG_NAME
    with log.open("ab") as handle:
        handle.write(b'{"id": 2, "at": "2025-01-01T00:0')
    with caplog.at_level(logging.WARNING, logger="bot.storage"):
        assert store.merged_document() == expected
    assert "incomplete last line" in caplog.text
    change = store.alias("eln", "after the crash", by="m")
    assert change.id == 2
    assert [r["id"] for r in log_records(data_dir)] == [1, 2]


def test_stale_temp_files_are_removed_on_open(
    store: KnowledgeStore, data_dir: Path, shipped: Path
) -> None:
    leftover = data_dir / f".{OVERLAY_NAME}.abc123.tmp"
    leftover.write_text("half written", encoding="utf-8")
    KnowledgeStore(shipped, data_dir)
    assert not leftover.exists()


# --- verbatim text, signature -----------------------------------------------------------


TRICKY = [
    "**bold** _it_ `code` ```block```",
    "@everyone @here <@123456789> <#42> <@&7>",
    "zero\u200bwidth\u200d and \u202eright-to-left\u202c \u2066isolate\u2069",
    "NEL\x85 and LS\u2028 and PS\u2029 and tab\t",
    "line one\nline two\r\nthree  ",
    "  leading spaces, '\"quotes\"' and: colons # not a comment",
    "yes",
    "123",
    "- not a list",
    "\ufeffbom",
]


def test_moderator_text_is_stored_verbatim(store: KnowledgeStore, shipped: Path) -> None:
    for n, text in enumerate(TRICKY):
        store.edit("eln", {"answer": text}, by=text)
        store.alias("hotline", f"{text} {n}", by="m")
    reopened = KnowledgeStore(shipped, store.data_dir)
    doc = reopened.merged_document()
    assert entry(doc, "eln")["answer"] == TRICKY[-1]
    assert entry(doc, "hotline")["alternates"][-len(TRICKY) :] == [
        f"{t} {n}" for n, t in enumerate(TRICKY)
    ]
    assert [c.by for c in reopened.history(limit=100) if c.op == "edit"][::-1] == [
        t.strip() for t in TRICKY
    ]
    assert yaml.safe_load(reopened.export_yaml()) == doc


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80))
def test_any_answer_text_survives_disk(store: KnowledgeStore, text: str) -> None:
    if not text.strip() or text == entry(store.merged_document(), "eln")["answer"]:
        return
    store.edit("eln", {"answer": text}, by="h")
    overlay = Overlay.from_document(yaml.safe_load((store.data_dir / OVERLAY_NAME).read_bytes()))
    assert overlay.patches["eln"]["answer"] == text
    assert yaml.safe_load(dump_yaml({"a": text})) == {"a": text}
    assert entry(store.merged_document(), "eln")["answer"] == text


def test_signature_changes_with_any_file(store: KnowledgeStore, shipped: Path) -> None:
    first = store.signature()
    assert store.signature() == first
    store.alias("eln", "sig", by="m")
    second = store.signature()
    assert second != first
    write_fixture(shipped, {**fixture_document(), "title": "Changed title"})
    assert store.signature()[0] != second[0]


# --- concurrency ------------------------------------------------------------------------


def _check_aliases(store: KnowledgeStore, phrases: set[str]) -> None:
    doc = store.merged_document()
    present = {p for e in doc["entries"] for p in e["alternates"]}
    assert phrases <= present
    records = log_records(store.data_dir)
    assert len(phrases) == 100
    assert [r["op"] for r in records] == ["alias"] * 100
    assert [r["id"] for r in records] == list(range(1, 101))
    logged = [
        p
        for r in records
        for s in r["after"]["entries"].values()
        for p in s["patch"]["add_alternates"][-1:]
    ]
    assert sorted(logged) == sorted(phrases)  # each phrasing logged exactly once
    store.knowledge()


@pytest.mark.slow
async def test_100_aliases_from_threads(store: KnowledgeStore) -> None:
    phrases = [f"thread phrasing {n}" for n in range(100)]
    targets = [ENTRY_IDS[n % 4] for n in range(100)]
    changes = await asyncio.gather(
        *(
            asyncio.to_thread(store.alias, t, p, f"t{n}")
            for n, (t, p) in enumerate(zip(targets, phrases, strict=True))
        )
    )
    assert sorted(c.id for c in changes) == list(range(1, 101))
    _check_aliases(store, set(phrases))


def _python(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )


@pytest.mark.slow
def test_100_aliases_from_separate_processes(shipped: Path, data_dir: Path) -> None:
    """4 worker processes x 20 aliases and 20 `kb alias` CLI processes, all at once."""
    KnowledgeStore(shipped, data_dir)
    paths = (str(shipped), str(data_dir))
    start = f"{time.time() + 1.0:.3f}"
    workers = [
        _python(str(WORKER), "alias", *paths, ENTRY_IDS[w], f"worker{w} phrasing", "20", start)
        for w in range(4)
    ]
    options = ("--knowledge", paths[0], "--data-dir", paths[1])
    cli = [
        _python("-m", "bot", "kb", "alias", ENTRY_IDS[n % 4], f"cli phrasing {n}", *options)
        for n in range(20)
    ]
    outputs = [p.communicate(timeout=60) for p in workers + cli]
    assert [p.returncode for p in workers + cli] == [0] * 24, outputs
    acked = [int(x) for out, _ in outputs[:4] for x in out.split()]
    acked += [int(out.split()[1].strip(b"#")) for out, _ in outputs[4:]]
    assert sorted(acked) == list(range(1, 101))
    phrases = {f"worker{w} phrasing {n}" for w in range(4) for n in range(20)}
    phrases |= {f"cli phrasing {n}" for n in range(20)}
    _check_aliases(KnowledgeStore(shipped, data_dir), phrases)


# --- crash safety -----------------------------------------------------------------------


KILLS = 100  # ~40% of kills land mid-write and need a repair: plenty to prove it


def _spawn(shipped: Path, data_dir: Path, errors: Path) -> subprocess.Popen[bytes]:
    """A warm writer: imports done and store open, waiting for a line on stdin."""
    with errors.open("ab") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, str(WORKER), "crash", str(shipped), str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
        )


def _acknowledged(output: bytes) -> list[tuple[int, str, str]]:
    """Lines the worker finished printing: each one is an edit that had returned."""
    lines = output.decode("utf-8").split("\n")[:-1]  # a line cut by the kill has no "\n"
    return [(int(i), e, t) for i, e, t in (line.split() for line in lines)]


def _check_after_kill(shipped: Path, data_dir: Path, acked: dict[int, tuple[str, str]]) -> None:
    overlay_path = data_dir / OVERLAY_NAME
    if overlay_path.exists():  # replaced atomically: always a whole file
        Overlay.from_document(yaml.safe_load(overlay_path.read_bytes()))
    raw = (data_dir / LOG_NAME).read_bytes() if (data_dir / LOG_NAME).exists() else b""
    for line in raw.split(b"\n")[:-1]:  # only a torn last line may fail to parse
        json.loads(line)
    store = KnowledgeStore(shipped, data_dir)  # opening repairs
    records = log_records(data_dir)
    assert [r["id"] for r in records] == list(range(1, len(records) + 1))
    if records:
        assert yaml.safe_load(overlay_path.read_bytes())["last_change"] == len(records)
    answers = {e["id"]: e["answer"] for e in store.knowledge().to_document()["entries"]}
    latest = {next(iter(r["after"]["entries"])): r["id"] for r in records}
    for cid, (eid, token) in acked.items():
        assert records[cid - 1]["after"]["entries"][eid]["patch"]["answer"] == f"answer {token}"
        assert latest[eid] >= cid
    for eid, cid in latest.items():
        assert answers[eid] == records[cid - 1]["after"]["entries"][eid]["patch"]["answer"]


@pytest.mark.slow
def test_sigkilled_writers_never_lose_an_acknowledged_edit(
    shipped: Path, data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Kill writers at random moments; after each kill the files parse and nothing acked is lost."""
    caplog.set_level(logging.WARNING, logger="bot.storage")
    rng = random.Random(20201207)
    KnowledgeStore(shipped, data_dir)
    errors = tmp_path / "workers.stderr"
    pool = [_spawn(shipped, data_dir, errors) for _ in range(3)]
    acked: dict[int, tuple[str, str]] = {}
    kills = 0
    started = time.monotonic()
    try:
        while kills < KILLS:
            worker = pool.pop(0)
            pool.append(_spawn(shipped, data_dir, errors))
            assert worker.stdout is not None and worker.stdin is not None
            assert worker.stdout.readline() == b"ready\n", errors.read_text()[-2000:]
            worker.stdin.write(b"go\n")
            worker.stdin.flush()
            time.sleep(rng.uniform(0.005, 0.060))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            assert worker.returncode == -signal.SIGKILL, errors.read_text()[-2000:]
            for cid, eid, token in _acknowledged(worker.stdout.read()):
                assert cid not in acked
                acked[cid] = (eid, token)
            worker.stdin.close()
            worker.stdout.close()
            _check_after_kill(shipped, data_dir, acked)
    finally:
        for worker in pool:
            worker.kill()
            worker.communicate()
    elapsed = time.monotonic() - started
    replays = caplog.text.count("replayed")
    print(f"{kills} SIGKILLs, {len(acked)} acked edits, {replays} repairs, {elapsed:.1f}s")
    assert kills == KILLS
    assert replays > 0  # some kills landed between the log append and the overlay write
    assert acked  # how many depends on the machine's speed; the repairs above are what count
