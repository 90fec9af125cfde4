"""Every CLI test starts from no settings: the developer's own ELN_* and DISCORD_* variables,
or a .env in the working directory, must not change what a test sees."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for an eln-bot subprocess, without the developer's own bot settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "ELN_"))}
    return {**base, "PYTHONPATH": str(REPO_ROOT), **extra}


@pytest.fixture(autouse=True)
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in os.environ:
        if name.startswith(("ELN_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A real PostgreSQL server for this test process (pgserver's bundled binaries).

    Its folder is not under pytest's: run as root, pgserver runs the server as another
    user, and pytest resets its own folders to owner-only while other workers start.
    """
    folder = Path(tempfile.mkdtemp(prefix="eln-test-pg-"))
    with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR in CI, it copes
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pgserver  # noqa: PLC0415 - only the tests that use PostgreSQL start one

        server = pgserver.get_server(folder, cleanup_mode="stop")
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    """``ELN_DATABASE_URL`` of a new, empty database on that server."""
    name = f"eln_{uuid.uuid4().hex[:12]}"
    postgres_server.psql(f"CREATE DATABASE {name};")
    return str(postgres_server.get_uri()).replace("/postgres?", f"/{name}?")
