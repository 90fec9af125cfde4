"""What machine a benchmark ran on, for the line every result table starts with."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe(extra: str = "") -> str:
    """CPU model, cores, Python and OS (plus ``extra``), e.g. for "Machine: ..."."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [cpu, f"{os.cpu_count()} cores", f"Python {platform.python_version()}"]
    if extra:
        parts.append(extra)
    parts.append(f"{platform.system()} {platform.machine()}")
    return ", ".join(parts)
