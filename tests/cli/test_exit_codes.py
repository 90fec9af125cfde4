"""One exit-code table for every command, and the README documents exactly that table."""

from __future__ import annotations

from bot.cli.boundary import CLOSED_PIPE
from bot.errors import ExitCode
from tests.conftest import REPO_ROOT


def readme_table() -> dict[int, str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n###", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    cells = [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]
    return {int(status): name for status, name, *_ in cells}


def test_the_readme_lists_every_exit_code_by_name() -> None:
    table = readme_table()
    assert {status: table[status] for status in ExitCode} == {c.value: c.name for c in ExitCode}
    assert set(table) == {*ExitCode, CLOSED_PIPE}
