"""``eln-bot console`` at a real terminal: a pseudo-terminal, keys as a person types them.

The console must edit lines and recall history (arrow keys do not print ``^[[A``), keep the
history between sessions, answer ``help`` with its own commands rather than the knowledge's
about-bot entry, drop a line on Ctrl-C, leave on Ctrl-D, and still work, plainer, where
readline or the history file is unavailable.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.conftest import clean_env

pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX only")
pytest.importorskip("readline", reason="this Python has no readline")

UP = b"\x1b[A"
CTRL_C = b"\x03"
CTRL_D = b"\x04"
PROMPT = b"ask> "
QUESTION = b"how many people signed the recommendations?"
READ_LIMIT = 60.0  # seconds; a safety net for a hung child, not a speed requirement


class Terminal:
    """The parent's side of a pseudo-terminal with ``eln-bot console`` on the other."""

    def __init__(self, fd: int, pid: int) -> None:
        self.fd, self.pid = fd, pid
        self.seen = b""
        self.status: int | None = None  # set once the child is reaped

    def until(self, marker: bytes) -> bytes:
        """Everything the console writes up to and including ``marker``."""
        while marker not in self.seen:
            ready, _, _ = select.select([self.fd], [], [], READ_LIMIT)
            chunk = os.read(self.fd, 4096) if ready else b""
            if not chunk:
                raise AssertionError(f"console stopped before {marker!r}; it wrote {self.seen!r}")
            self.seen += chunk
        head, _, self.seen = self.seen.partition(marker)
        return head + marker

    def type(self, keys: bytes) -> bytes:
        """Type ``keys`` and return the output up to the next prompt."""
        os.write(self.fd, keys)
        return self.until(PROMPT)

    def wait_until_idle(self) -> None:
        """Until the console sleeps waiting for a key, where a person's Ctrl-C finds it.

        Sent the instant the echo arrives, a Ctrl-C can land while readline is still busy
        with the previous key, which CPython's readline then does not notice until the next
        key. On Linux the child's state in /proc shows when it sleeps; elsewhere, go ahead.
        """
        stat = Path(f"/proc/{self.pid}/stat")
        for _ in range(20_000):  # bounded: at most a few seconds of 0.1 ms naps
            if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "S":
                return
            time.sleep(0.0001)

    def leave(self, keys: bytes = CTRL_D) -> int:
        """Type ``keys`` (Ctrl-D on an empty line by default); the console's exit status."""
        os.write(self.fd, keys)
        with contextlib.suppress(OSError):  # Linux says EIO once the child closed the terminal
            while os.read(self.fd, 4096):
                pass
        self.status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.status


@contextmanager
def console(env: dict[str, str]) -> Iterator[Terminal]:
    """``eln-bot console`` as the session leader of a new pseudo-terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become eln-bot
        os.execve(sys.executable, [sys.executable, "-m", "bot", "console"], env)
    terminal = Terminal(fd, pid)
    try:
        yield terminal
    finally:
        os.close(fd)
        if terminal.status is None:  # the test failed half-way: end the console it started
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A terminal session with its own home and state directory, no personal inputrc."""
    return clean_env(
        HOME=str(tmp_path),
        XDG_STATE_HOME=str(tmp_path / "state"),
        INPUTRC=os.devnull,
        TERM="xterm",
    )


def test_editing_history_help_ctrl_c_and_ctrl_d(env: dict[str, str], tmp_path: Path) -> None:
    with console(env) as term:
        banner = term.until(PROMPT)
        assert b"Type help for commands" in banner and b"Arrow keys" in banner

        answer = term.type(QUESTION + b"\r")
        assert b"Sources:" in answer and b"(entry: " in answer

        again = term.type(UP + b"\r")  # recall the question and ask it again
        assert b"^[[A" not in again
        assert QUESTION in again and b"Sources:" in again

        shown = term.type(b"help\r")
        assert b"quit, exit" in shown and b"?QUESTION" in shown
        assert b"Sources:" not in shown  # not the knowledge's about-bot entry

        os.write(term.fd, b"half a thought")
        term.until(b"half a thought")  # typed and echoed, as a person sees it
        term.wait_until_idle()
        dropped = term.type(CTRL_C)
        assert b"Sources:" not in dropped and b"don't know" not in dropped
        assert term.leave() == 0

    history = tmp_path / "state" / "eln-bot" / "console-history"
    lines = history.read_text(encoding="utf-8").splitlines()
    assert QUESTION.decode() in lines and "help" in lines
    assert "half a thought" not in lines
    assert history.stat().st_mode & 0o077 == 0  # private to the user

    with console(env) as term:  # the next session starts with that history
        term.until(PROMPT)
        assert b"quit, exit" in term.type(UP + b"\r")  # the last line was help
        assert term.leave(b"quit\r") == 0


def test_quit_and_exit_leave(env: dict[str, str]) -> None:
    for word in (b"quit", b"exit"):
        with console(env) as term:
            term.until(PROMPT)
            assert term.leave(word + b"\r") == 0


def test_an_unwritable_history_is_no_obstacle(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    with console({**env, "XDG_STATE_HOME": str(blocker)}) as term:
        term.until(PROMPT)
        assert b"Sources:" in term.type(QUESTION + b"\r")
        assert term.leave() == 0
    assert blocker.read_text(encoding="utf-8") == ""


def test_without_readline_the_console_still_answers(env: dict[str, str], tmp_path: Path) -> None:
    stub = tmp_path / "no-readline"
    stub.mkdir()
    (stub / "readline.py").write_text("raise ImportError('no readline here')\n", encoding="utf-8")
    plain = {**env, "PYTHONPATH": os.pathsep.join([str(stub), env["PYTHONPATH"]])}
    with console(plain) as term:
        assert b"No line editing" in term.until(PROMPT)
        assert b"Sources:" in term.type(QUESTION + b"\r")
        assert b"quit, exit" in term.type(b"help\r")
        assert term.leave() == 0
