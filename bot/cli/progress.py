"""One status line on a terminal while a long command works, and nothing anywhere else.

Progress goes to standard error and only when that is a terminal, so ``eln-bot check >
report.txt``, pipes and tests see exactly the report. The line is redrawn in place (at most
``REDRAW`` times a second) and erased when the work is done or fails, so an error or the
report that follows starts on a clean line.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TextIO

REDRAW = 10  # redraws a second at most: fast enough to look alive, cheap on a slow terminal
_ERASE = "\r\x1b[K"  # back to the start of the line, clear to its end


class Progress:
    """``with Progress(sys.stderr, "eln-bot check") as show: show.stage(...)``."""

    def __init__(self, stream: TextIO, prefix: str) -> None:
        self._stream = stream
        self._prefix = prefix
        self._on = _is_terminal(stream)
        self._shown = False
        self._last = 0.0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.clear()

    def stage(self, text: str) -> None:
        """Say what is being done now (no count): loading, indexing..."""
        self._draw(text)

    def count(self, what: str, done: int, total: int) -> None:
        """``what done/total (pct)``; the first and last calls always draw, others when due."""
        now = time.monotonic()
        if done not in {0, total} and now - self._last < 1 / REDRAW:
            return
        share = done / total if total else 1.0
        self._draw(f"{what} {done}/{total} ({share:.0%})", now)

    def clear(self) -> None:
        if self._shown:
            self._write(_ERASE)
            self._shown = False

    def _draw(self, text: str, now: float | None = None) -> None:
        if not self._on:
            return
        self._last = time.monotonic() if now is None else now
        self._shown = True
        self._write(f"{_ERASE}{self._prefix}: {text}")

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: progress is not worth an error
            self._on = self._shown = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False
