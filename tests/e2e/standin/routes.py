"""Match concrete API paths to path templates like ``/channels/{channel_id}/messages``."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PARAM = re.compile(r"\{([^}]+)\}")


class RouteTable:
    """Templates ordered so literal segments win (``@original`` before ``{message_id}``)."""

    def __init__(self, templates: Iterable[str]) -> None:
        compiled = []
        for template in templates:
            pattern = "".join(
                f"(?P<{part[1:-1]}>[^/]+)" if _PARAM.fullmatch(part) else re.escape(part)
                for part in re.split(r"(\{[^}]+\})", template)
                if part
            )
            literal = sum(1 for seg in template.split("/") if seg and not _PARAM.search(seg))
            compiled.append((literal, template, re.compile(pattern + "$")))
        compiled.sort(key=lambda item: -item[0])
        self._compiled = [(template, regex) for _, template, regex in compiled]

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        for template, regex in self._compiled:
            m = regex.match(path)
            if m:
                return template, m.groupdict()
        return None
