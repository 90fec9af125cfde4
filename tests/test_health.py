"""The heartbeat the bot writes and the check Docker's HEALTHCHECK runs."""

from __future__ import annotations

import time

from bot.health import Heartbeat, check_heartbeat, write_heartbeat


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
