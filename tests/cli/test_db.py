"""``eln-bot db backup|check|info`` through the real command line: output, exit codes, files.

Damage is done to a real SQLite file with ``sqlite3``, as a disk fault or a hand edit would
do it; the commands are run in-process through ``bot.cli.main.run``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage.loading import open_database, open_store
from bot.storage.store import KnowledgeStore
from tests.cli.conftest import Outcome
from tests.conftest import DATA_DIR, open_test_insights
from tests.storage.store_worker import write_fixture

LEGACY = DATA_DIR / "legacy-datadir"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shipped = write_fixture(tmp_path / "faq.yaml")
    monkeypatch.setenv("ELN_KNOWLEDGE", str(shipped))
    monkeypatch.setenv("ELN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[KnowledgeStore]:
    """Three changes, one of them an undo, in a real database file."""
    chosen = Settings.from_env(dotenv=None)
    store = open_store(chosen, open_database(chosen))
    store.alias("eln", "who runs the eln", by="alice")
    store.edit("new-start", {"answer": "New START caps deployed warheads."}, by="bob")
    store.undo("alice", 1)
    yield store
    store.database.close()


@pytest.fixture
def database(store: KnowledgeStore, data_dir: Path) -> Path:
    store.database.close()  # as if the bot had stopped: what follows edits the file
    return data_dir / "eln-bot.sqlite3"


@contextlib.contextmanager
def connected(database: Path) -> Iterator[sqlite3.Connection]:
    """A connection of our own, committed and closed at the end (the bot's are closed)."""
    with contextlib.closing(sqlite3.connect(database)) as conn, conn:
        yield conn


def sql(database: Path, *statements: str) -> None:
    with connected(database) as conn:
        for statement in statements:
            conn.execute(statement)


def changed_body(database: Path, edit: Callable[[dict], None]) -> None:
    """Edit the stored overlay of the global scope as JSON."""
    with connected(database) as conn:
        (body,) = conn.execute("SELECT body FROM overlays WHERE scope = 'global'").fetchone()
        document = json.loads(body)
        edit(document)
        conn.execute("UPDATE overlays SET body = ? WHERE scope = 'global'", (json.dumps(document),))


# --- info -------------------------------------------------------------------------------


def test_info_says_which_database_and_what_it_holds(
    store: KnowledgeStore, data_dir: Path, cli: Callable[..., Outcome]
) -> None:
    insights = open_test_insights(data_dir)
    insights.record_answer("eln", "guild=1 channel=2")
    insights.record_unanswered("what is the weather", "guild=1 channel=2", [], 10.0)
    insights.record_feedback("eln", False, user_id=7)
    result = cli("db", "info")
    assert result.code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == f"data directory: {data_dir}"
    assert lines[1].startswith(f"database: {data_dir / 'eln-bot.sqlite3'} (SQLite 3.")
    assert lines[2:] == [
        "schema: version 0001 (current)",
        "edits: 3 change(s) (global)",
        lines[4],
    ]
    assert lines[4].startswith(
        "usage: 2 question(s) (1 declined), 1 unanswered group(s) (0 resolved), 1 vote(s), "
        "the oldest from "
    )
    assert lines[4].endswith("; kept 365 days")


def test_info_and_check_create_nothing_without_a_database(
    data_dir: Path, cli: Callable[..., Outcome]
) -> None:
    info = cli("db", "info")
    assert (info.code, info.err) == (0, "")
    assert f"database: {data_dir / 'eln-bot.sqlite3'} (not created yet" in info.out
    checked = cli("db", "check")
    assert checked.code == 1
    assert checked.err == (
        f"eln-bot: There is no database at {data_dir / 'eln-bot.sqlite3'}: nothing to check.\n"
    )
    assert not data_dir.exists()


def test_check_looks_at_files_of_an_earlier_release_before_they_are_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Outcome]
) -> None:
    legacy = tmp_path / "data"
    shutil.copytree(LEGACY / "data", legacy)
    monkeypatch.setenv("ELN_KNOWLEDGE", str(LEGACY / "faq.yaml"))
    monkeypatch.setenv("ELN_DATA_DIR", str(legacy))
    info = cli("db", "info")
    assert "files: the data directory holds files of an earlier release" in info.out
    checked = cli("db", "check")
    assert checked.code == 0
    assert checked.out == (
        f"{legacy} (files of an earlier release, not imported yet): OK, integrity ok, "
        "14 change(s) in 1 scope(s) replay to the stored edits, the merged knowledge is valid\n"
    )
    assert sorted(p.name for p in legacy.iterdir()) == sorted(
        p.name for p in (LEGACY / "data").iterdir()
    )


# --- check ------------------------------------------------------------------------------


def test_check_passes_on_a_sound_database(database: Path, cli: Callable[..., Outcome]) -> None:
    result = cli("db", "check")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"{database}: OK, integrity ok, 3 change(s) in 1 scope(s) replay to the stored edits, "
        "the merged knowledge is valid\n"
    )


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            lambda db: changed_body(db, lambda d: d["removed"].append("hotline")),
            "global: the stored edits differ from the replay of the history about 'hotline'",
        ),
        (
            lambda db: sql(db, 'UPDATE overlays SET body = \'{"version": 1, "entries": [\' '),
            "global: the stored edits are damaged (",
        ),
        (
            lambda db: sql(db, "DELETE FROM overlays"),
            "global: the stored edits differ from the replay of the history about 'new-start'",
        ),
    ],
    ids=["differ", "damaged", "missing"],
)
def test_stored_edits_that_are_not_the_history_are_found_and_repaired(
    database: Path,
    cli: Callable[..., Outcome],
    damage: Callable[[Path], None],
    problem: str,
) -> None:
    damage(database)
    found = cli("db", "check")
    assert found.code == 1
    (line, verdict) = found.out.splitlines()
    assert line.startswith(problem)
    assert verdict == (
        f"{database}: FAILED, 1 problem(s); "
        "`eln-bot db check --repair` rebuilds the stored edits from the history"
    )
    repaired = cli("db", "check", "--repair")
    assert repaired.code == 0
    assert repaired.out.splitlines()[0] == "global: rebuilt the stored edits from the history"
    assert repaired.out.splitlines()[1].startswith(f"{database}: OK")
    assert cli("db", "check").code == 0
    assert "New START caps deployed warheads." in cli("kb", "export").out


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            lambda db: sql(db, "UPDATE changes SET after = 'not json' WHERE number = 2"),
            "global: Change #2 is damaged (Expecting value: line 1 column 1 (char 0)).",
        ),
        (
            lambda db: sql(db, "DELETE FROM changes WHERE number = 2"),
            "global: change #2 is missing (the history jumps to #3)",
        ),
        (
            lambda db: sql(db, "UPDATE changes SET undoes = 2 WHERE number = 3"),
            "global: change #3 undoes #2 but does not put back its state",
        ),
        (
            lambda db: sql(db, "UPDATE changes SET undoes = 3 WHERE number = 3"),
            "global: change #3 undoes #3, which is not before it",
        ),
        (
            lambda db: sql(db, "UPDATE changes SET undoes = NULL WHERE number = 3"),
            "global: change #3 is an undo that does not say what it undoes",
        ),
    ],
    ids=["undecodable", "gap", "wrong-undo", "undoes-itself", "undo-of-nothing"],
)
def test_a_damaged_history_is_named_change_by_change(
    database: Path,
    cli: Callable[..., Outcome],
    damage: Callable[[Path], None],
    problem: str,
) -> None:
    damage(database)
    found = cli("db", "check")
    assert found.code == 1 and found.err == ""
    assert problem in found.out.splitlines()
    assert found.out.splitlines()[-1].startswith(f"{database}: FAILED, ")


def test_a_damaged_row_cannot_be_repaired_and_says_what_will(
    database: Path, cli: Callable[..., Outcome]
) -> None:
    sql(database, "UPDATE changes SET before = '[' WHERE number = 1")
    result = cli("db", "check", "--repair")
    assert result.code == 1
    assert result.out.splitlines() == [
        "global: Change #1 is damaged (Expecting value: line 1 column 2 (char 1)).",
        f"{database}: FAILED, 1 problem(s); what is damaged comes back only from a backup "
        "(see README, Backup and restore)",
    ]


def test_merged_knowledge_that_would_not_load_is_a_problem(
    database: Path, cli: Callable[..., Outcome]
) -> None:
    """The history and the stored edits agree, but together they break the knowledge."""

    def overlong(fragment: dict) -> None:
        fragment["entries"]["new-start"] = {"answer": "x" * 1300}

    with connected(database) as conn:
        (after,) = conn.execute("SELECT after FROM changes WHERE number = 2").fetchone()
        fragment = json.loads(after)
        fragment["entries"]["new-start"]["patch"] = {"answer": "x" * 1300}
        conn.execute("UPDATE changes SET after = ? WHERE number = 2", (json.dumps(fragment),))
    changed_body(database, lambda d: d["entries"].update({"new-start": {"answer": "x" * 1300}}))
    result = cli("db", "check")
    assert result.code == 1
    (problem, verdict) = result.out.splitlines()
    assert problem.startswith("global: the merged knowledge: ") and "1,200" in problem
    assert verdict == f"{database}: FAILED, 1 problem(s)"


def test_a_servers_edits_are_checked_on_top_of_the_global_ones(
    store: KnowledgeStore, data_dir: Path, cli: Callable[..., Outcome]
) -> None:
    """A server's edit may name an entry only the global edits have."""
    store.add(
        {
            "id": "bot-feedback",
            "question": "How do I report a wrong answer?",
            "alternates": [f"report a wrong answer {n}" for n in range(6)],
            "answer": "Press the thumbs-down under it.",
            "sources": [{"title": "Rules", "url": "https://example.org/rules"}],
        },
        by="alice",
    )
    store.layer("700000000000000001").edit("eln", {"related": ["bot-feedback"]}, by="mod")
    store.database.close()
    result = cli("db", "check")
    assert (result.code, result.err) == (0, "")
    assert "5 change(s) in 2 scope(s) replay to the stored edits" in result.out
    info = cli("db", "info").out.splitlines()
    assert "edits: 4 change(s) (global), 1 change(s) (server 700000000000000001)" in info


def test_a_broken_shipped_file_is_a_problem(
    database: Path, tmp_path: Path, cli: Callable[..., Outcome]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("entries: [unclosed\n", encoding="utf-8")
    result = cli("db", "check", "--knowledge", str(broken))
    assert result.code == 1
    assert result.out.splitlines()[0].startswith("shipped knowledge: ")


def test_a_corrupt_file_fails_in_lines_not_a_traceback(
    database: Path, cli: Callable[..., Outcome]
) -> None:
    raw = bytearray(database.read_bytes())
    raw[4096 : 4096 * 3] = b"\xff" * (4096 * 2)  # pages after the header
    database.write_bytes(bytes(raw))
    result = cli("db", "check")
    assert (result.code, result.err) == (1, "")
    *problems, verdict = result.out.splitlines()
    assert problems == [f"The database {database} failed (database disk image is malformed)."]
    assert verdict == (
        f"{database}: FAILED, 1 problem(s); what is damaged comes back only from a backup "
        "(see README, Backup and restore)"
    )


# --- backup -----------------------------------------------------------------------------


def test_backup_is_one_consistent_file_that_restores(
    store: KnowledgeStore, data_dir: Path, tmp_path: Path, cli: Callable[..., Outcome]
) -> None:
    database = data_dir / "eln-bot.sqlite3"
    copy = tmp_path / "backup.sqlite3"
    # a writer holds a transaction open, as a busy bot would: the backup neither waits
    # for it nor contains it
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO meta (key, value) VALUES ('uncommitted', 'x')")
        result = cli("db", "backup", str(copy))
        writer.execute("ROLLBACK")
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith(f"backed up {database} to {copy} (")
    assert result.out.endswith(" KB, checked)\n")
    with connected(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'uncommitted'").fetchone() == (
            0,
        )
    store.alias("hotline", "red phone", by="carol")  # after the backup
    store.database.close()  # restore: stop the bot, copy the backup over the database
    assert not database.with_name("eln-bot.sqlite3-wal").exists()  # a clean stop leaves none
    shutil.copyfile(copy, database)
    history = cli("kb", "history").out.splitlines()
    assert [line.split()[0] for line in history] == ["#3", "#2", "#1"]
    assert cli("db", "check").code == 0


def test_backup_into_a_folder_gets_a_dated_name(
    database: Path, tmp_path: Path, cli: Callable[..., Outcome]
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    assert cli("db", "backup", str(folder)).code == 0
    (written,) = folder.iterdir()
    assert written.name.startswith("eln-bot-") and written.suffix == ".sqlite3"


def test_backup_refuses_what_it_cannot_do(
    database: Path, tmp_path: Path, data_dir: Path, cli: Callable[..., Outcome]
) -> None:
    itself = cli("db", "backup", str(database))
    assert (itself.code, itself.err) == (
        2,
        f"eln-bot: {database} is the database itself; name another file\n",
    )
    nowhere = cli("db", "backup", str(tmp_path / "missing" / "b.sqlite3"))
    assert nowhere.code == 2 and "the folder" in nowhere.err and "does not exist" in nowhere.err
    none = cli("db", "backup", str(tmp_path / "b.sqlite3"), "--data-dir", str(tmp_path / "empty"))
    assert none.code == 1
    empty = tmp_path / "empty" / "eln-bot.sqlite3"
    assert none.err == f"eln-bot: There is no database at {empty} to back up.\n"


def test_backup_of_postgresql_says_how_with_pg_dump_and_hides_the_password(
    monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Outcome]
) -> None:
    monkeypatch.setenv("ELN_DATABASE_URL", "postgresql://eln:s3cret@db.example.org:5433/elnbot")
    result = cli("db", "backup", "/backups/eln.dump")
    assert result.code == 1
    assert result.out == (
        "pg_dump --format=custom --file=/backups/eln.dump --host=db.example.org --port=5433 "
        "--username=eln --dbname=elnbot\n"
    )
    assert result.err.count("\n") == 1
    assert (
        "PostgreSQL database elnbot on db.example.org" in result.err and "pg_restore" in result.err
    )
    assert "s3cret" not in result.out + result.err


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.mark.slow
def test_info_and_check_on_postgresql(
    data_dir: Path,
    postgresql_url: str,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Outcome],
) -> None:
    monkeypatch.setenv("ELN_DATABASE_URL", postgresql_url)
    assert cli("kb", "alias", "eln", "who runs the eln").code == 0
    info = cli("db", "info").out.splitlines()
    assert info[1].startswith("database: postgresql") and "(PostgreSQL 16" in info[1]
    assert info[3] == "edits: 1 change(s) (global)"
    checked = cli("db", "check")
    assert checked.code == 0
    assert checked.out.endswith(
        ": OK, 1 change(s) in 1 scope(s) replay to the stored edits, "
        "the merged knowledge is valid\n"
    )
