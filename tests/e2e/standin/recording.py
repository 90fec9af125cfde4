"""What the stand-in records about each REST request."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .faults import Fault
from .validate import Violation


@dataclass
class RecordedFile:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """One REST request as it reached the stand-in, and how it was answered."""

    method: str
    path: str
    route: str  # template, e.g. "/channels/{channel_id}/messages" ("" if unknown)
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    headers: dict[str, str]  # without Authorization
    received_at: float = field(default_factory=time.monotonic)
    status: int | None = None
    response: Any = None
    violations: list[Violation] = field(default_factory=list)
    fault: Fault | None = None
    completed_at: float | None = None

    @property
    def done(self) -> bool:
        return self.completed_at is not None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"
