"""The heartbeat a running bot keeps, and the check Docker's HEALTHCHECK runs against it."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

#: Every gateway state a heartbeat can carry, and what ``eln-bot health`` says about it.
#: Only "connected" (and fresh) is healthy. The README's health table lists these lines.
STATES = {
    "starting": "connecting to Discord for the first time",
    "connected": "connected",
    "reconnecting": "connection lost; resuming",
    "stopping": "shutting down (SIGTERM or Ctrl-C)",
    "failed": "the bot gave up and exited; its log says why",
}


@dataclass(frozen=True, slots=True)
class Heartbeat:
    at: float  # time.time() of the last sign of life from the gateway
    state: str  # one of STATES
    latency_ms: float | None = None
    guilds: int = 0


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Atomically replace the heartbeat file so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".heartbeat-", dir=path.parent)  # one per writer
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(asdict(beat)))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_heartbeat(path: Path, max_age: float, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one-line reason) for the heartbeat at ``path``."""
    try:
        beat = read_heartbeat(path)
    except FileNotFoundError:
        return False, f"unhealthy: no heartbeat at {path} (is the bot running?)"
    except (OSError, ValueError, TypeError):
        return False, f"unhealthy: the heartbeat at {path} is unreadable"
    age = (time.time() if now is None else now) - beat.at
    if beat.state != "connected":
        return False, f"unhealthy: gateway {beat.state}: {STATES[beat.state]} ({age:.0f}s ago)"
    if age > max_age:
        return False, f"unhealthy: gateway last seen {age:.0f}s ago (limit {max_age:.0f}s)"
    return True, f"healthy: gateway connected, last seen {age:.0f}s ago, {beat.guilds} guild(s)"


def read_heartbeat(path: Path) -> Heartbeat:
    """The heartbeat at ``path``; ValueError or TypeError when it is not one a bot writes."""
    beat = Heartbeat(**json.loads(path.read_text(encoding="utf-8")))
    if not isinstance(beat.at, int | float) or not math.isfinite(beat.at):
        raise ValueError("heartbeat time is not a number")
    if beat.state not in STATES:
        raise ValueError(f"unknown gateway state {beat.state!r}")
    return beat
