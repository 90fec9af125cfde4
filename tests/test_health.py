"""The heartbeat the bot writes and the check Docker's HEALTHCHECK runs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bot.health import STATES, Heartbeat, check_heartbeat, write_heartbeat
from tests.conftest import REPO_ROOT


def test_fresh_connected_heartbeat_is_healthy(tmp_path) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, Heartbeat(at=time.time(), state="connected", guilds=3))
    ok, message = check_heartbeat(path, max_age=60)
    assert ok and "3 guild(s)" in message


def test_stale_missing_broken_and_disconnected_are_unhealthy(tmp_path) -> None:
    path = tmp_path / "heartbeat.json"
    assert check_heartbeat(path, 60) == (
        False,
        f"unhealthy: no heartbeat at {path} (is the bot running?)",
    )
    write_heartbeat(path, Heartbeat(at=time.time() - 300, state="connected"))
    assert not check_heartbeat(path, 60)[0]
    write_heartbeat(path, Heartbeat(at=time.time(), state="reconnecting"))
    ok, message = check_heartbeat(path, 60)
    assert not ok and "reconnecting" in message
    path.write_text("{not json", encoding="utf-8")
    assert not check_heartbeat(path, 60)[0]


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("starting", "connecting to Discord"),
        ("reconnecting", "connection lost"),
        ("stopping", "shutting down"),
        ("failed", "gave up"),
    ],
)
def test_every_state_but_connected_is_unhealthy_and_named(
    tmp_path: Path, state: str, words: str
) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, Heartbeat(at=1000.0, state=state))
    ok, message = check_heartbeat(path, max_age=60, now=1004.0)
    assert not ok
    assert message.startswith(f"unhealthy: gateway {state}: ") and words in message
    assert message.endswith("(4s ago)")


@pytest.mark.parametrize(
    "content",
    [
        '{"at": 1000, "state": "dancing"}',
        '{"at": "soon", "state": "connected"}',
        '{"at": NaN, "state": "connected"}',
        '{"at": 1000, "state": "connected", "extra": 1}',
        "[]",
    ],
)
def test_a_heartbeat_no_bot_writes_is_unreadable(tmp_path: Path, content: str) -> None:
    path = tmp_path / "heartbeat.json"
    path.write_text(content, encoding="utf-8")
    assert check_heartbeat(path, 60, now=1000.0) == (
        False,
        f"unhealthy: the heartbeat at {path} is unreadable",
    )


def test_the_readme_lists_exactly_the_lines_health_can_print(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path("PATH")
    printed = {check_heartbeat(path, 60)[1]}
    path.write_text("{broken", encoding="utf-8")
    printed.add(check_heartbeat(path, 60)[1])
    for state in STATES:
        write_heartbeat(path, Heartbeat(at=1000.0, state=state, guilds=2))
        printed.add(check_heartbeat(path, 60, now=1001.0)[1])
    write_heartbeat(path, Heartbeat(at=1000.0, state="connected"))
    printed.add(check_heartbeat(path, 60, now=5000.0)[1])  # connected, but stale
    placeholders = {
        r"\d+s ago": "Ns ago",
        r"limit \d+s": "limit Ms",
        r"\d+ guild": "G guild",
    }
    for pattern, placeholder in placeholders.items():
        printed = {re.sub(pattern, placeholder, line) for line in printed}
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Health states", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = {row.split("`")[1] for row in rows}
    assert listed == printed
