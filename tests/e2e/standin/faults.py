"""REST fault injection: rate limits, server errors, Missing Permissions, delays."""

from __future__ import annotations

import fnmatch
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

# Discord's JSON error bodies for the statuses tests inject most.
_DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (50035, "Invalid Form Body"),
    401: (0, "401: Unauthorized"),
    403: (50013, "Missing Permissions"),
    404: (10003, "Unknown Channel"),
    500: (0, "500: Internal Server Error"),
    502: (0, "502: Bad Gateway"),
    503: (0, "503: Service Unavailable"),
    504: (0, "504: Gateway Timeout"),
}


@dataclass
class Fault:
    """One injected fault. ``times=None`` fires forever; ``status=None`` only delays."""

    pattern: str | re.Pattern[str]
    method: str | None = None
    status: int | None = 429
    retry_after: float = 0.2
    global_: bool = False
    times: int | None = 1
    delay: float = 0.0
    code: int | None = None
    message: str | None = None
    body: Any = None
    hits: int = 0
    hit_times: list[float] = field(default_factory=list)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str, template: str) -> bool:
        return not self.exhausted and route_matches(
            self.pattern, self.method, method, path, template
        )

    def fire(self) -> None:
        self.hits += 1
        self.hit_times.append(time.monotonic())

    def response(self, bucket: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, JSON body and headers Discord would send for this fault."""
        assert self.status is not None
        if self.status == 429:
            body = {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.global_,
            }
            if self.global_:
                body["code"] = 0
            headers = {
                # Without "Via" discord.py takes a 429 for a Cloudflare ban and raises.
                "Via": "1.1 google",
                "Retry-After": str(max(1, math.ceil(self.retry_after))),
                "X-RateLimit-Scope": "global" if self.global_ else "user",
            }
            if self.global_:
                headers["X-RateLimit-Global"] = "true"
            else:
                headers.update(
                    {
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
                        "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                        "X-RateLimit-Bucket": bucket,
                    }
                )
            return 429, self.body or body, headers
        code, message = _DEFAULT_ERRORS.get(self.status, (0, f"{self.status}: Error"))
        body = self.body or {
            "message": self.message or message,
            "code": self.code if self.code is not None else code,
        }
        return self.status, body, {}


def route_matches(
    pattern: str | re.Pattern[str],
    want_method: str | None,
    method: str,
    path: str,
    template: str,
) -> bool:
    """Does a request match a template, a concrete path, a glob or a regex?"""
    if want_method and want_method != method:
        return False
    if isinstance(pattern, re.Pattern):
        return bool(pattern.search(path))
    return pattern in (path, template) or fnmatch.fnmatchcase(path, pattern)


def parse_pattern(route: str | re.Pattern[str]) -> tuple[str | None, str | re.Pattern[str]]:
    """``"POST /channels/*/messages"`` -> ("POST", "/channels/*/messages")."""
    if isinstance(route, re.Pattern):
        return None, route
    method, _, rest = route.partition(" ")
    if rest and method.isupper():
        return method, rest.strip()
    return None, route
