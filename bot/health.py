"""The heartbeat a running bot keeps, and the check Docker's HEALTHCHECK runs against it."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Heartbeat:
    at: float  # time.time() of the last sign of life from the gateway
    state: str  # "connected", "reconnecting", "stopping"
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
        beat = Heartbeat(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return False, f"unhealthy: no heartbeat at {path} (is the bot running?)"
    except (OSError, ValueError, TypeError):
        return False, f"unhealthy: the heartbeat at {path} is unreadable"
    age = (time.time() if now is None else now) - beat.at
    if beat.state != "connected":
        return False, f"unhealthy: gateway {beat.state} (last seen {age:.0f}s ago)"
    if age > max_age:
        return False, f"unhealthy: gateway last seen {age:.0f}s ago (limit {max_age:.0f}s)"
    return True, f"healthy: gateway connected, last seen {age:.0f}s ago, {beat.guilds} guild(s)"
