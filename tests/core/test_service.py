"""The served knowledge changes only by a validated swap; a bad file never replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.service import KnowledgeService
from tests.conftest import open_test_store


@pytest.fixture
def service(tiny_doc, write_knowledge, tmp_path: Path) -> KnowledgeService:
    svc = KnowledgeService(open_test_store(write_knowledge(tiny_doc), tmp_path / "data"))
    svc.load()
    return svc


def test_unchanged_files_do_not_rebuild(service: KnowledgeService) -> None:
    before = service.snapshot
    assert not service.reload().swapped
    assert service.snapshot is before


def test_a_valid_change_on_disk_is_swapped_in(service, tiny_doc, write_knowledge) -> None:
    tiny_doc["entries"][0]["answer"] = "A new answer."
    write_knowledge(tiny_doc)
    assert service.reload().swapped
    assert service.match("how many people signed it").entry.answer == "A new answer."


def test_an_invalid_file_is_reported_and_the_last_good_knowledge_kept(
    service, write_knowledge
) -> None:
    write_knowledge("entries: [\n")
    outcome = service.reload()
    assert outcome.rejected and not outcome.swapped
    assert "not valid YAML" in outcome.problems[0].message
    assert service.match("how many people signed it").entry.id == "signatories"
    assert not service.reload().rejected  # reported once per bad version, not every poll


def test_a_moderator_change_is_live_when_it_returns(service: KnowledgeService) -> None:
    store = service.store
    service.change(store.alias, "signatories", "who put their names to it", "mod")
    assert service.match("who put their names to it").entry.id == "signatories"
    assert not service.reload().swapped  # the watcher sees nothing new afterwards


def test_a_broken_overlay_keeps_serving(service: KnowledgeService, tmp_path: Path) -> None:
    service.change(service.store.alias, "signatories", "who put their names to it", "mod")
    with service.store.database.write() as conn:  # damage the stored edits behind its back
        conn.exec_driver_sql("UPDATE overlays SET body = '[1, 2]'")
        conn.exec_driver_sql(
            "INSERT INTO changes (scope, number, at, by, op, before, after, summary)"
            " VALUES ('global', 2, 'x', 'x', 'edit', '{', '{', 'x')"
        )
    outcome = service.reload()
    assert outcome.rejected
    assert service.match("who put their names to it").entry.id == "signatories"
