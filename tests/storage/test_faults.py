"""What goes wrong under the database, made to happen for real, on SQLite and PostgreSQL.

- A full disk: a small tmpfs filled with a ballast file. SQLite's file lives on it; for
  PostgreSQL the test database's tables live in a tablespace on it, so the server's own
  write fails with ENOSPC exactly as on a full data disk.
- A read-only database: SQLite through a read-only bind mount of the data folder (as a
  ``:ro`` volume gives a container) and a folder remounted read-only; PostgreSQL through a
  role whose sessions are read-only (``default_transaction_read_only``: the server refuses
  every write, with the error a hot standby gives).
- Damaged rows, written behind the store's back as a bad restore or a hand edit would.

Mounting needs root, which the developers' machines and CI have; without it these tests
fail and say so.
"""

from __future__ import annotations

import contextlib
import errno
import json
import random
import shutil
import string
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from bot.config import DATABASE_FILE
from bot.errors import StoreError
from bot.storage.database import Database, Location
from bot.storage.schema import changes, overlays
from bot.storage.store import KnowledgeStore
from tests.conftest import (
    ENGINES,
    Backend,
    PostgresCluster,
    postgresql_backend,
    sqlite_backend,
)
from tests.storage.rows import history_rows, snapshot, stored_overlay
from tests.storage.store_worker import ENTRY_IDS

# --- real filesystems -------------------------------------------------------------------


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.fail(f"mount {' '.join(args)} failed (these tests need root): {done.stderr}")


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def tmpfs(path: Path) -> Iterator[Path]:
    """A 2 MiB filesystem of its own at ``path``."""
    path.mkdir()
    _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path))
    try:
        yield path
    finally:
        _unmount(path)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk") as disk:
        yield disk


def fill(disk: Path) -> Path:
    """Write a ballast file until the filesystem has no byte left; returns the file."""
    ballast = disk / "ballast"
    with ballast.open("wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return ballast


@pytest.fixture(params=ENGINES)
def on_small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Backend, Path]]:
    """A database whose data lives on a small filesystem of its own, and that filesystem."""
    if request.param == "sqlite":
        with tmpfs(tmp_path / "disk") as disk:
            backend = sqlite_backend(disk)
            yield backend, disk
            backend.close()
        return
    cluster: PostgresCluster = request.getfixturevalue("postgresql_server")
    space = f"eln_small_{uuid.uuid4().hex[:8]}"
    with tmpfs(cluster.base / space) as disk:  # where the server's own user can reach it
        if cluster.system_user is not None:  # as root, the server runs as a user of its own
            shutil.chown(disk, cluster.system_user, cluster.system_user)
        cluster.execute(f"CREATE TABLESPACE {space} LOCATION '{disk}'")
        name = cluster.create_database(f"default_tablespace = {space}")
        backend = postgresql_backend(cluster.url(name), tmp_path / "data")
        yield backend, disk
        backend.close()
        cluster.drop_database(name)
        cluster.execute(f"DROP TABLESPACE {space}")


def _random_answer(rng: random.Random) -> str:
    """Text that compresses badly, so each change takes real space on either engine."""
    return "".join(rng.choice(string.ascii_letters + " ") for _ in range(1_100)) + "."


def test_a_full_disk_refuses_the_edit_names_the_database_and_saves_nothing(
    on_small_disk: tuple[Backend, Path], shipped: Path
) -> None:
    backend, disk = on_small_disk
    store = backend.store(shipped)
    acknowledged = [store.edit("eln", {"answer": "Saved before the disk filled."}, by="m")]
    ballast = fill(disk)
    rng = random.Random(7)
    tried = ""
    with pytest.raises(StoreError) as refused:
        for n in range(500):  # the pages already in hand fill up within a few edits
            tried = _random_answer(rng)
            entry = ENTRY_IDS[n % len(ENTRY_IDS)]
            acknowledged.append(store.edit(entry, {"answer": tried}, by="m"))
    message = str(refused.value)
    assert "is full" in message
    assert backend.database.location.label in message
    assert "\n" not in message

    # every acknowledged change is there, the refused one is not, and it all still loads
    history = history_rows(backend.database)
    assert [r["number"] for r in history] == [c.id for c in acknowledged]
    assert stored_overlay(backend.database) == store.replayed()
    answers = {e.answer for e in store.knowledge().entries}
    assert tried not in answers

    ballast.unlink()  # space again: the next edit is saved, numbered straight after
    after = store.edit("hotline", {"answer": "Saved after space was freed."}, by="m")
    assert after.id == len(acknowledged) + 1
    assert store.history(limit=1) == [after]


# --- read-only --------------------------------------------------------------------------


@pytest.fixture
def read_only_view(engine: Backend, tmp_path: Path) -> Iterator[Backend]:
    """The same database as ``engine``, as a process that may not write to it reaches it."""
    engine.database  # noqa: B018 - the schema exists, and a bot holds the database open
    if engine.name == "sqlite":
        view = tmp_path / "read-only-view"
        view.mkdir()
        _mount("--bind", str(engine.settings.data_dir), str(view))
        _mount("-o", "remount,bind,ro", str(view))
        backend = sqlite_backend(view)
        yield backend
        backend.close()
        _unmount(view)
        return
    reader = f"eln_reader_{uuid.uuid4().hex[:8]}"
    with engine.database.write() as conn:  # every privilege: only the read-only mode stops it
        conn.exec_driver_sql(f"CREATE ROLE {reader} LOGIN")
        conn.exec_driver_sql(f"ALTER ROLE {reader} SET default_transaction_read_only = on")
        conn.exec_driver_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {reader}")
        conn.exec_driver_sql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {reader}")
    url = make_url(engine.url).set(username=reader, password=None)
    backend = postgresql_backend(url.render_as_string(hide_password=False), tmp_path / "reader")
    yield backend
    backend.close()
    with engine.database.write() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {reader}")
        conn.exec_driver_sql(f"DROP ROLE {reader}")


def test_a_read_only_database_refuses_the_edit_and_loses_nothing(
    engine: Backend, read_only_view: Backend, shipped: Path
) -> None:
    store = engine.store(shipped)
    saved = store.edit("eln", {"answer": "Saved while it was writable."}, by="m")
    before = snapshot(engine.database)
    reader = read_only_view.store(shipped)
    assert reader.history() == [saved]  # reading still works
    eln = reader.knowledge().get("eln")
    assert eln is not None and eln.answer == "Saved while it was writable."
    with pytest.raises(StoreError, match="is read-only") as refused:
        reader.edit("eln", {"answer": "Never saved."}, by="m")
    assert read_only_view.database.location.label in str(refused.value)
    assert snapshot(engine.database) == before
    assert store.edit("eln", {"answer": "The writable side carries on."}, by="m").id == 2


def test_a_closed_sqlite_file_on_a_read_only_filesystem_is_refused_by_name(
    small_disk: Path, shipped: Path
) -> None:
    """SQLite only: with no -wal/-shm beside it, a WAL database cannot even be opened
    read-only, so the bot must say so rather than blame the folder."""
    writable = sqlite_backend(small_disk)
    saved = writable.store(shipped).edit("eln", {"answer": "Saved."}, by="m")
    writable.close()  # the last connection out removes the -wal and -shm files
    assert sorted(p.name for p in small_disk.iterdir()) == [DATABASE_FILE]
    _mount("-o", "remount,ro", str(small_disk))
    try:
        with pytest.raises(StoreError) as refused:
            Database(Location.sqlite(small_disk / DATABASE_FILE))
        assert str(refused.value) == (
            f"The database {small_disk / DATABASE_FILE} is read-only "
            "(it is on a read-only file system)."
        )
    finally:
        _mount("-o", "remount,rw", str(small_disk))
    again = sqlite_backend(small_disk)
    assert again.store(shipped).history() == [saved]
    again.close()


# --- damaged rows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    ['{"entries": {"eln": ', "null", '{"entries": 5}', '{"entries": {"eln": {"patch": 1}}}'],
    ids=["cut-json", "null", "not-a-mapping", "bad-slot"],
)
def test_a_damaged_change_is_a_store_error_naming_db_check(
    store: KnowledgeStore, damage: str
) -> None:
    store.alias("eln", "one", by="m")
    store.alias("eln", "two", by="m")
    with store.database.write() as conn:
        conn.execute(update(changes).where(changes.c.number == 2).values(after=damage))
    saved = snapshot(store.database)
    for action in (
        store.history,
        store.replayed,
        lambda: store.undo(by="m"),
        lambda: store.edit("hotline", {"answer": "Refused."}, by="m"),
    ):
        with pytest.raises(StoreError, match=r"Change #2 is damaged .*`eln-bot db check`"):
            action()
    assert snapshot(store.database) == saved


@pytest.mark.parametrize(
    "damage",
    ["{not json", "[1, 2]", json.dumps({"version": 1, "entries": {"eln": {"answr": "x"}}})],
    ids=["not-json", "a-list", "unknown-field"],
)
def test_a_damaged_overlay_is_refused_and_rebuilt_from_the_history(
    store: KnowledgeStore, damage: str
) -> None:
    store.alias("eln", "kept phrasing", by="m")
    store.edit("hotline", {"answer": "Kept answer."}, by="m")
    expected = store.merged_document()
    with store.database.write() as conn:
        conn.execute(update(overlays).values(body=damage))
    with pytest.raises(StoreError, match=r"edits of global are damaged .*`eln-bot db check`"):
        store.merged_document()
    with pytest.raises(StoreError, match="damaged"):
        store.alias("eln", "refused phrasing", by="m")
    assert store.rebuild() is True
    assert store.merged_document() == expected
    assert stored_overlay(store.database) == store.replayed()
    assert store.rebuild() is False  # nothing left to repair
    assert store.alias("eln", "accepted phrasing", by="m").id == 3


@pytest.mark.parametrize("loss", ["deleted", "stale"])
def test_a_lost_or_stale_overlay_never_hides_or_drops_an_edit(
    store: KnowledgeStore, engine: Backend, loss: str
) -> None:
    """The history is the truth: an overlay that is missing, or behind it, is replayed."""
    store.alias("eln", "first phrasing", by="m")
    stale = stored_overlay(store.database)
    store.edit("hotline", {"answer": "Second change."}, by="m")
    expected = store.merged_document()
    with store.database.write() as conn:
        if loss == "deleted":
            conn.execute(overlays.delete())
        else:  # as a restore of an older backup of that one row would leave it
            body = json.dumps(stale.to_document())
            conn.execute(update(overlays).values(body=body, last_change=1))
    reader = engine.store(store.shipped_path, engine.open())
    assert reader.merged_document() == expected
    third = reader.edit("new-start", {"answer": "Third change."}, by="m")
    assert third.id == 3
    assert stored_overlay(store.database) == store.replayed()
    doc = store.merged_document()
    eln = next(e for e in doc["entries"] if e["id"] == "eln")
    hotline = next(e for e in doc["entries"] if e["id"] == "hotline")
    assert eln["alternates"][-1] == "first phrasing"
    assert hotline["answer"] == "Second change."
