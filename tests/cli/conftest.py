"""Every CLI test starts from no settings: the developer's own ELN_* and DISCORD_* variables,
or a .env in the working directory, must not change what a test sees."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli.main import run as cli_run
from tests.conftest import REPO_ROOT


@dataclass(frozen=True)
class Outcome:
    """What a command did: its exit status and what it printed."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run ``eln-bot ARGS`` in-process through its real parser, settings and error boundary."""

    def call(*argv: str) -> Outcome:
        code = cli_run(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return call


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
