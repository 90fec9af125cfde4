"""The README's two commands and the CI script that runs the second one.

The README promises, at its top, one command that answers a question offline and one
that runs every test. CI must run that test command exactly, after ruff and mypy, and
fail when any of them fails; these tests keep the three in step and try the script's
failure handling with stand-in tools.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CI = REPO_ROOT / ".ci" / "run"
CHECKS = ("ruff check .", "ruff format --check .", "mypy --strict bot")


def readme_commands() -> list[str]:
    """The ``sh`` blocks above the README's first rule, one command each."""
    top = (REPO_ROOT / "README.md").read_text(encoding="utf-8").split("\n---\n")[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", top, re.DOTALL)]


def test_readme_opens_with_the_offline_question_and_the_test_command() -> None:
    ask, tests = readme_commands()
    assert ask.startswith("python3 -m venv .venv && ") and ".venv/bin/eln-bot ask " in ask
    assert "DISCORD_TOKEN" not in ask
    assert tests.startswith("python3 -m venv .venv && ")
    assert tests.endswith("&& .venv/bin/pytest"), "plain pytest is what the README promises"


def test_ci_runs_the_checks_then_the_readme_test_command_exactly() -> None:
    script = CI.read_text(encoding="utf-8")
    assert os.access(CI, os.X_OK)
    assert "set -euo pipefail" in script
    _, tests = readme_commands()
    positions = [script.index(f".venv/bin/{check}") for check in CHECKS]
    assert positions == sorted(positions)
    assert script.index(tests) > positions[-1], "the README's test command runs last"


def _stub(path: Path, status: int) -> None:
    path.write_text(f'#!/bin/sh\necho "$(basename "$0") $1" >> "$CALLS"\nexit {status}\n')
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("statuses", "failed"),
    [
        ({"ruff": 0, "mypy": 0, "pytest": 0}, []),
        ({"ruff": 0, "mypy": 1, "pytest": 0}, ["mypy"]),
        (
            {"ruff": 1, "mypy": 0, "pytest": 5},
            ["ruff check", "ruff format", "pytest -m index", "pytest"],
        ),
    ],
    ids=["all-pass", "mypy-fails", "ruff-fails-and-no-tests-collected"],
)
def test_ci_fails_when_any_check_fails(
    tmp_path: Path, statuses: dict[str, int], failed: list[str]
) -> None:
    """Every check runs; any non-zero status (pytest's 5 included) fails the run."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    (repo / ".ci" / "run").write_bytes(CI.read_bytes())
    tools = tmp_path / "tools"
    (repo / ".venv" / "bin").mkdir(parents=True)
    tools.mkdir()
    _stub(tools / "python3", 0)  # `python3 -m venv .venv`: the stand-in venv is already there
    _stub(repo / ".venv" / "bin" / "pip", 0)
    for name, status in statuses.items():
        _stub(repo / ".venv" / "bin" / name, status)
    calls = tmp_path / "calls"
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", "CALLS": str(calls)}
    proc = subprocess.run(
        ["bash", str(repo / ".ci" / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    setup = ["python3 -m", "pip install"]
    assert calls.read_text().splitlines() == [
        *setup,
        "ruff check",
        "ruff format",
        "mypy --strict",
        "pytest -m",
        *setup,
        "pytest ",
    ]
    assert (proc.returncode != 0) == bool(failed), proc.stderr
    reported = [line for line in proc.stderr.splitlines() if line.startswith("FAILED: ")]
    assert len(reported) == len(failed) and all(
        name in line for name, line in zip(failed, reported, strict=True)
    ), proc.stderr
