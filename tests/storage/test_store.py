"""KnowledgeStore on each engine: effects, undo, upgrades, import/export, bad input, text.

Every test runs on SQLite and on PostgreSQL (the ``engine`` fixture). What the database
holds is read back directly (``tests/storage/rows.py``), so "refused and nothing written"
means no row changed, not only that the merged view looks the same.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.knowledge import KnowledgeError, parse_text
from bot.errors import NotFoundError, StoreError
from bot.storage.files import dump_yaml
from bot.storage.store import KnowledgeStore
from tests.conftest import Backend
from tests.storage.rows import history_rows, snapshot, stored_overlay
from tests.storage.store_worker import ENTRY_IDS, fixture_document, write_fixture


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


# --- effects ----------------------------------------------------------------------------


def test_fresh_store_serves_the_shipped_file(store: KnowledgeStore) -> None:
    assert store.merged_document() == fixture_document()
    assert [e.id for e in store.knowledge().entries] == list(ENTRY_IDS)
    assert snapshot(store.database) == {"changes": [], "overlays": []}
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
    store: KnowledgeStore, target: str, phrase: str, owner: str
) -> None:
    store.alias("hotline", "seed change", by="x")
    saved = snapshot(store.database)
    with pytest.raises(StoreError, match=f"already on '{owner}'"):
        store.alias(target, phrase, by="x")
    assert snapshot(store.database) == saved


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
    records = history_rows(store.database)
    assert [(r["number"], r["op"]) for r in records] == [(1, "alias"), (2, "edit"), (3, "alias")]
    assert set(records[0]) == {
        "row",
        "scope",
        "number",
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


def test_undo_refuses_when_a_later_change_touched_the_entry(store: KnowledgeStore) -> None:
    first = store.edit("eln", {"answer": "One."}, by="a")
    second = store.alias("eln", "eln again", by="a")
    saved = snapshot(store.database)
    with pytest.raises(StoreError, match=f"change #{second.id} changed the same entries"):
        store.undo(by="a", change_id=first.id)
    assert snapshot(store.database) == saved
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


def test_import_of_an_invalid_file_is_rejected_and_writes_nothing(store: KnowledgeStore) -> None:
    _prepare(store)
    saved = snapshot(store.database)
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
    assert snapshot(store.database) == saved


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
def test_invalid_changes_raise_and_leave_the_database_unchanged(
    store: KnowledgeStore, call: Any, error: type[Exception], message: str
) -> None:
    store.alias("eln", "an earlier valid change", by="m")
    saved = snapshot(store.database)
    with pytest.raises(error, match=message):
        call(store)
    assert snapshot(store.database) == saved


def test_removing_twice_is_refused(store: KnowledgeStore) -> None:
    store.remove("open-skies", by="m")
    with pytest.raises(NotFoundError, match="No entry with id 'open-skies'"):
        store.remove("open-skies", by="m")


def test_editing_to_the_same_value_is_refused(store: KnowledgeStore) -> None:
    answer = entry(store.merged_document(), "eln")["answer"]
    with pytest.raises(StoreError, match="Nothing to change"):
        store.edit("eln", {"answer": answer}, by="m")
    assert snapshot(store.database) == {"changes": [], "overlays": []}


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


def test_moderator_text_is_stored_verbatim(
    store: KnowledgeStore, shipped: Path, engine: Backend
) -> None:
    for n, text in enumerate(TRICKY):
        store.edit("eln", {"answer": text}, by=text)
        store.alias("hotline", f"{text} {n}", by="m")
    reopened = engine.store(shipped, engine.open())
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
def test_any_answer_text_survives_the_database(store: KnowledgeStore, text: str) -> None:
    if not text.strip() or text == entry(store.merged_document(), "eln")["answer"]:
        return
    store.edit("eln", {"answer": text}, by="h")
    assert stored_overlay(store.database).patches["eln"]["answer"] == text
    assert history_rows(store.database)[-1]["after"]["entries"]["eln"]["patch"]["answer"] == text
    assert yaml.safe_load(dump_yaml({"a": text})) == {"a": text}
    assert entry(store.merged_document(), "eln")["answer"] == text


def test_signature_changes_with_the_file_and_the_edits(
    store: KnowledgeStore, shipped: Path
) -> None:
    first = store.signature()
    assert store.signature() == first
    store.alias("eln", "sig", by="m")
    second = store.signature()
    assert second != first
    write_fixture(shipped, {**fixture_document(), "title": "Changed title"})
    assert store.signature()[0] != second[0]


@pytest.mark.parametrize(
    "phrase",
    [
        "\u200b" * 58 + "ok",  # invisible characters that a summary's repr() spells out
        "nul\x00 inside",  # PostgreSQL text cannot hold NUL; the JSON columns escape it
    ],
    ids=["invisible", "nul"],
)
def test_any_phrasing_fits_every_engine(
    store: KnowledgeStore, engine: Backend, phrase: str
) -> None:
    change = store.alias("eln", phrase, by="m")
    assert len(change.summary) <= 200
    (stored,) = engine.store(store.shipped_path, engine.open()).history(limit=1)
    assert stored == change
    assert entry(store.merged_document(), "eln")["alternates"][-1] == phrase


async def test_aliases_from_many_threads_are_all_kept(store: KnowledgeStore) -> None:
    phrases = [f"thread phrasing {n}" for n in range(40)]
    changes = await asyncio.gather(
        *(
            asyncio.to_thread(store.alias, ENTRY_IDS[n % 4], phrase, f"t{n}")
            for n, phrase in enumerate(phrases)
        )
    )
    assert sorted(c.id for c in changes) == list(range(1, 41))
    records = history_rows(store.database)
    assert [r["number"] for r in records] == list(range(1, 41))
    logged = [
        p
        for r in records
        for slot in r["after"]["entries"].values()
        for p in slot["patch"]["add_alternates"][-1:]
    ]
    assert sorted(logged) == sorted(phrases)  # each phrasing recorded exactly once
    alternates = {p for e in store.merged_document()["entries"] for p in e["alternates"]}
    assert set(phrases) <= alternates
    assert store.replayed() == stored_overlay(store.database)
