"""Upgrading from the file format: a data directory the previous release wrote is imported
once, whole, and then behaves as it did.

The fixture (``tests/data/legacy-datadir``) was written by that release's own store and
insights, and ``expected.json`` holds what its ``eln-bot`` printed over it; each test works
on a copy. What is asserted is what an operator sees: the commands' output, the files, the
one line the import logs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.storage.legacy import LOST_BY
from bot.storage.loading import open_database, open_insights, open_store
from bot.storage.store import KnowledgeStore
from tests.cli.conftest import Outcome, clean_env
from tests.conftest import DATA_DIR, REPO_ROOT

FIXTURE = DATA_DIR / "legacy-datadir"
SHIPPED = FIXTURE / "faq.yaml"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
OLD_FILES = sorted(p.name for p in (FIXTURE / "data").iterdir())
BACKUP = re.compile(r"pre-database-backup-\d{8}-\d{6}")
KEY = re.compile(r"\[[0-9a-f]{10}\]")  # group keys are derived differently now


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the previous release's data directory, named by ELN_DATA_DIR."""
    target = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", target)
    monkeypatch.setenv("ELN_DATA_DIR", str(target))
    monkeypatch.setenv("ELN_KNOWLEDGE", str(SHIPPED))
    return target


def eln_bot(data_dir: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``eln-bot ARGS`` as its own process, for what it prints on stderr (its log too)."""
    settings = {"ELN_DATA_DIR": str(data_dir), "ELN_KNOWLEDGE": str(SHIPPED), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        capture_output=True,
        text=True,
        env=clean_env(**settings),
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, knowledge_path=SHIPPED)


def imported(data_dir: Path) -> None:
    """Run the import as every start does, through ``open_database``."""
    open_database(settings(data_dir)).close()


def store_in(data_dir: Path) -> KnowledgeStore:
    chosen = settings(data_dir)
    return open_store(chosen, open_database(chosen))


def old_bytes(folder: Path) -> dict[str, bytes]:
    """The files of the earlier release in ``folder``, by name."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name in OLD_FILES}


def with_undone_marks(listing: str) -> list[str]:
    """The old ``kb history`` lines, marked as this release marks undone changes."""
    undone = {f"#{n}" for n in EXPECTED["undone"]}
    return [f"{x}  (undone)" if x.split()[0] in undone else x for x in listing.splitlines()]


# --- the import -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_first_write_imports_everything_and_says_so_in_one_line(data_dir: Path) -> None:
    before = old_bytes(data_dir)
    result = eln_bot(data_dir, "kb", "undo", "--by", "ops")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "change #15 saved: undid #14: added phrasing 'did russia leave open skies' to "
        f"'open-skies-treaty' (in {data_dir / 'eln-bot.sqlite3'})\n"
    )
    (line,) = result.stderr.splitlines()
    assert f"imported the files of an earlier release from {data_dir}" in line
    assert "14 change(s) (3 undone), current edits to 10 entries" in line
    assert "28 question(s) (12 declined, in 6 unanswered group(s), 1 resolved), 6 vote(s)" in line
    (backup,) = (p for p in data_dir.iterdir() if p.is_dir())
    assert BACKUP.fullmatch(backup.name) and line.endswith(f"the old files are in {backup}/")
    assert sorted(p.name for p in data_dir.iterdir()) == sorted([backup.name, "eln-bot.sqlite3"])
    assert old_bytes(backup) == before  # moved whole, the lock files too


def test_the_knowledge_served_is_what_the_previous_release_served(data_dir: Path) -> None:
    merged = store_in(data_dir).merged_document()
    entries = {e["id"]: e for e in merged["entries"]}
    assert [e["id"] for e in merged["entries"]] == EXPECTED["merged_entry_ids"]
    assert {e: entries.get(e) for e in EXPECTED["touched_entries"]} == EXPECTED["touched_entries"]
    canonical = json.dumps(merged, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == EXPECTED["merged_sha256"]


@pytest.mark.parametrize("asked", EXPECTED["ask"], ids=lambda a: a["question"][:30])
def test_questions_get_the_answers_they_got_before(
    data_dir: Path, cli: Callable[..., Outcome], asked: dict[str, Any]
) -> None:
    imported(data_dir)
    now = json.loads(cli("ask", "--json", asked["question"]).out)
    assert (now["id"], now["status"], now["answer"]) == (
        asked["id"],
        asked["status"],
        asked["answer"],
    )


def test_history_is_the_same_with_the_undone_changes_marked(
    data_dir: Path, cli: Callable[..., Outcome]
) -> None:
    imported(data_dir)
    listing = cli("kb", "history", "--limit", "100")
    assert listing.code == 0
    assert listing.out.splitlines() == with_undone_marks(EXPECTED["kb_history"])
    changes = reversed(store_in(data_dir).history(limit=100))
    ops = [(c.id, c.at, c.by, c.op, c.summary) for c in changes]
    assert ops == [(h["id"], h["at"], h["by"], h["op"], h["summary"]) for h in EXPECTED["history"]]


def test_undo_works_on_the_imported_changes(data_dir: Path, cli: Callable[..., Outcome]) -> None:
    imported(data_dir)
    signatories = EXPECTED["touched_entries"]["signatories"]
    assert cli("kb", "undo", "#10").code == 0  # the second edit of 'signatories'
    earlier = json.loads(cli("ask", "--json", signatories["question"]).out)["answer"]
    assert earlier.startswith("145 former ministers")  # the answer change #2 gave
    assert cli("kb", "undo", "7").out.startswith("change #16 saved: undid #7, redoing #6")
    assert "news-brief" in cli("kb", "export").out  # the removed entry is back
    refused = cli("kb", "undo", "5")
    assert (refused.code, refused.err) == (1, "eln-bot: Change #5 is already undone.\n")


@pytest.mark.slow
def test_usage_reports_are_the_ones_the_previous_release_printed(data_dir: Path) -> None:
    imported(data_dir)
    unanswered = eln_bot(data_dir, "kb", "unanswered", "--limit", "50")
    assert KEY.sub("[key]", unanswered.stdout) == KEY.sub("[key]", EXPECTED["kb_unanswered"])
    stats = eln_bot(data_dir, "kb", "stats", "--top", "10")
    assert stats.stdout == EXPECTED["kb_stats"]
    assert unanswered.stderr == stats.stderr == ""


def test_commands_that_only_read_show_the_files_and_move_nothing(
    data_dir: Path, cli: Callable[..., Outcome]
) -> None:
    before = old_bytes(data_dir)
    listing = cli("kb", "history", "--limit", "100")
    assert listing.out.splitlines() == with_undone_marks(EXPECTED["kb_history"])
    assert KEY.sub("", cli("kb", "unanswered", "--limit", "50").out) == KEY.sub(
        "", EXPECTED["kb_unanswered"]
    )
    assert cli("kb", "stats", "--top", "10").out == EXPECTED["kb_stats"]
    assert "did russia leave open skies" in cli("export").out
    assert old_bytes(data_dir) == before
    assert sorted(p.name for p in data_dir.iterdir()) == OLD_FILES


def test_a_vote_after_the_import_replaces_the_imported_one(
    data_dir: Path, cli: Callable[..., Outcome]
) -> None:
    """Votes count once per person per answer: 1002's old 👎 on new-start, cast on another
    message, is replaced by their 👍 now, not counted beside it."""
    imported(data_dir)
    chosen = settings(data_dir)
    insights = open_insights(chosen, open_database(chosen))
    insights.record_feedback("new-start", True, user_id=1002, message_id=900777, guild_id=1)
    stats = cli("kb", "stats", "--top", "10").out
    assert "     1 of 2 unhelpful  new-start\n" in stats


def test_votes_count_in_the_one_server_the_questions_came_from(data_dir: Path) -> None:
    """The earlier release kept no server with a vote; every question of the fixture came
    from one server (or a DM), so that server's /kb stats shows the votes."""
    imported(data_dir)
    chosen = settings(data_dir)
    insights = open_insights(chosen, open_database(chosen))
    server = insights.stats(where=700000000000000001, top=10)
    assert [(v.entry, v.unhelpful, v.total) for v in server.least_helpful] == [
        ("new-start", 2, 2),
        ("eln", 1, 2),
        ("signatories", 1, 2),
    ]
    assert insights.stats(where=None).least_helpful == ()  # direct messages: none


# --- once, and all or nothing ---------------------------------------------------------------


def test_running_it_again_changes_nothing(data_dir: Path, cli: Callable[..., Outcome]) -> None:
    imported(data_dir)
    (backup,) = (p for p in data_dir.iterdir() if p.is_dir())
    imported(data_dir)
    assert [p.name for p in data_dir.iterdir() if p.is_dir()] == [backup.name]
    # files found again (a crash after the commit, or a copy put back) are moved, not imported
    for path in backup.iterdir():
        shutil.copy2(path, data_dir / path.name)
    imported(data_dir)
    assert sorted(p.name for p in data_dir.iterdir() if p.is_file()) == ["eln-bot.sqlite3"]
    assert len([p for p in data_dir.iterdir() if p.is_dir()]) == 2
    history = cli("kb", "history", "--limit", "100").out.splitlines()
    assert history == with_undone_marks(EXPECTED["kb_history"])
    assert cli("kb", "stats", "--top", "10").out == EXPECTED["kb_stats"]


def _fail_on_votes(database_file: Path) -> None:
    """A database that fails half-way through the import, as a full disk would."""
    with sqlite3.connect(database_file) as conn:
        conn.execute(
            "CREATE TRIGGER full BEFORE INSERT ON feedback "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )


def test_a_failure_half_way_leaves_the_files_and_imports_nothing(
    data_dir: Path, tmp_path: Path, cli: Callable[..., Outcome]
) -> None:
    empty = tmp_path / "empty"
    open_database(Settings(data_dir=empty)).close()  # a database of the new schema
    shutil.move(empty / "eln-bot.sqlite3", data_dir / "eln-bot.sqlite3")
    _fail_on_votes(data_dir / "eln-bot.sqlite3")
    before = old_bytes(data_dir)
    failed = cli("kb", "alias", "eln", "who runs the eln")
    assert failed.code == 1
    database = data_dir / "eln-bot.sqlite3"
    assert failed.err == f"eln-bot: The database {database} is full (no space left).\n"
    assert old_bytes(data_dir) == before
    with sqlite3.connect(database) as conn:
        tables = ("changes", "overlays", "questions", "unanswered_groups", "feedback")
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]
        assert counts == [0, 0, 0, 0, 0]
        imports = conn.execute("SELECT count(*) FROM meta WHERE key = 'legacy-import'")
        assert imports.fetchone() == (0,)
        conn.execute("DROP TRIGGER full")
    assert cli("kb", "alias", "eln", "who runs the eln").out.startswith("change #15 saved")
    assert cli("kb", "stats", "--top", "10").out == EXPECTED["kb_stats"]


def test_a_database_with_a_history_of_its_own_is_not_mixed_with_the_files(
    data_dir: Path, tmp_path: Path, cli: Callable[..., Outcome]
) -> None:
    elsewhere = tmp_path / "new"
    store = store_in(elsewhere)
    store.alias("eln", "made after the upgrade", by="ops")
    store.database.close()
    shutil.move(elsewhere / "eln-bot.sqlite3", data_dir / "eln-bot.sqlite3")
    refused = cli("kb", "alias", "eln", "who runs the eln")
    assert refused.code == 1
    assert "already holds 1 change(s)" in refused.err and "Nothing was changed." in refused.err
    assert refused.err.count("\n") == 1 and "Traceback" not in refused.err
    assert sorted(p.name for p in data_dir.iterdir()) == sorted([*OLD_FILES, "eln-bot.sqlite3"])


# --- damaged files ------------------------------------------------------------------------


def damage_line(path: Path, number: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = lines[number - 1][: len(lines[number - 1]) // 2] + "\n"
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda t: t[: len(t) // 2], "overlay.yaml"),  # cut short
        (lambda t: "entries: [unclosed\n", "overlay.yaml is not valid YAML"),
        (lambda t: t.replace("news-brief", "since-2020"), "disagreed with changes.jsonl"),
    ],
    ids=["truncated", "not-yaml", "disagrees"],
)
@pytest.mark.slow
def test_a_damaged_overlay_is_rebuilt_from_the_history(
    data_dir: Path, damage: Callable[[str], str], said: str
) -> None:
    overlay = data_dir / "overlay.yaml"
    overlay.write_text(damage(overlay.read_text(encoding="utf-8")), encoding="utf-8")
    result = eln_bot(data_dir, "kb", "history", "--limit", "100")
    assert result.stdout.splitlines() == with_undone_marks(EXPECTED["kb_history"])
    written = eln_bot(data_dir, "kb", "alias", "eln", "who runs the eln")
    (line,) = written.stderr.splitlines()
    assert said in line and "rebuilt from" in line
    exported = eln_bot(data_dir, "kb", "export").stdout
    assert "did russia leave open skies" in exported and "- id: news-brief" not in exported


def cut_lines(path: Path, count: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-count]), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "said", "lost", "kept"),
    [
        (
            lambda log: damage_line(log, 9),  # the import
            "changes.jsonl line 9 (not a JSON object); change #9 kept as lost",
            ["#9"],
            "NATO Watch is an independent UK think tank",  # what #9 did
        ),
        (
            lambda log: cut_lines(log, 2),  # the log lost its end
            "changes #13-#14 kept as lost",
            ["#14", "#13"],
            "did russia leave open skies",  # what #14 did
        ),
    ],
    ids=["damaged-line", "lost-end"],
)
@pytest.mark.slow
def test_lost_changes_are_kept_as_such_when_the_overlay_is_intact(
    data_dir: Path, damage: Callable[[Path], None], said: str, lost: list[str], kept: str
) -> None:
    damage(data_dir / "changes.jsonl")
    written = eln_bot(data_dir, "kb", "alias", "eln", "who runs the eln")
    assert written.stdout.startswith("change #15 saved"), written.stderr
    (line,) = written.stderr.splitlines()
    assert said in line and "the current edits are overlay.yaml's" in line
    history = eln_bot(data_dir, "kb", "history", "--limit", "100").stdout.splitlines()
    assert [x.split()[0] for x in history] == [f"#{n}" for n in range(15, 0, -1)]
    marked = [x.split()[0] for x in history if LOST_BY in x and "lost when the files moved" in x]
    assert marked == lost
    exported = eln_bot(data_dir, "kb", "export").stdout
    assert kept in exported and "- id: participants-op-ed" not in exported
    checked = eln_bot(data_dir, "db", "check")  # contiguous, and replays to the current edits
    assert checked.returncode == 0, checked.stdout
    assert eln_bot(data_dir, "kb", "undo").stdout.startswith("change #16 saved: undid #15")


@pytest.mark.slow
def test_unreadable_usage_lines_are_skipped_and_named(data_dir: Path) -> None:
    damage_line(data_dir / "questions.jsonl", 5)  # an answer
    written = eln_bot(data_dir, "kb", "alias", "eln", "who runs the eln")
    (line,) = written.stderr.splitlines()
    assert "27 question(s) (12 declined" in line
    assert "skipped or rebuilt: questions.jsonl: 1 unreadable line(s) (5)" in line
    stats = eln_bot(data_dir, "kb", "stats").stdout
    assert "27 question(s), 15 answered, 12 declined" in stats


@pytest.mark.parametrize(
    "overlay",
    ["entries: [unclosed\n", None],
    ids=["overlay-damaged-too", "no-overlay"],
)
def test_a_damaged_log_without_a_usable_overlay_imports_nothing(
    data_dir: Path, cli: Callable[..., Outcome], overlay: str | None
) -> None:
    damage_line(data_dir / "changes.jsonl", 7)
    if overlay is None:
        (data_dir / "overlay.yaml").unlink()
    else:
        (data_dir / "overlay.yaml").write_text(overlay, encoding="utf-8")
    before = old_bytes(data_dir)
    for argv in (["kb", "alias", "eln", "who runs the eln"], ["kb", "history"]):
        refused = cli(*argv)
        assert refused.code == 1 and refused.err.count("\n") == 1
        assert refused.err.startswith("eln-bot: Cannot import the files of an earlier release")
        assert "changes.jsonl line 7 (not a JSON object) cannot be read" in refused.err
        assert "lacks change #7" in refused.err and "Nothing was changed." in refused.err
    assert old_bytes(data_dir) == before  # and no database: the refused import made none
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(before)


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_files_import_into_postgresql_too(data_dir: Path, postgresql_url: str) -> None:
    written = eln_bot(
        data_dir, "kb", "alias", "eln", "who runs it", ELN_DATABASE_URL=postgresql_url
    )
    assert written.returncode == 0, written.stderr
    assert "14 change(s) (3 undone)" in written.stderr
    listing = eln_bot(data_dir, "kb", "history", "--limit", "100", ELN_DATABASE_URL=postgresql_url)
    assert listing.stdout.splitlines()[1:] == with_undone_marks(EXPECTED["kb_history"])
    stats = eln_bot(data_dir, "kb", "stats", "--top", "10", ELN_DATABASE_URL=postgresql_url)
    assert stats.stdout == EXPECTED["kb_stats"]
    assert [p.name for p in data_dir.iterdir() if p.is_file()] == []
