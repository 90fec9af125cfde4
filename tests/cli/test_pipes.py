"""A reader that stops reading (``| head``) ends eln-bot quietly, never with a traceback.

Real processes through real pipes, as a shell builds them: eln-bot's stdout is the write end
of an OS pipe, ``head`` holds the read end and exits after a line or ten. Each pipeline runs
20 times because a broken pipe is a race: the traceback the issue reported came in most runs,
not all.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli.boundary import CLOSED_PIPE
from bot.cli.main import main
from tests.cli.conftest import clean_env
from tests.conftest import REPO_ROOT

RUNS = 20
ELN_BOT = [sys.executable, "-m", "bot"]
QUESTIONS = ["how many signed it", "what about open skies", "What is the Kyoto Protocol?"]

pytestmark = pytest.mark.skipif(shutil.which("head") is None, reason="needs head(1)")


@dataclass(frozen=True)
class Piped:
    status: int  # eln-bot's exit status as a shell reports it (141 for a closed pipe)
    stderr: str
    head: str  # what head printed


def pipeline(argv: list[str], head: list[str], stdin: Path | None = None) -> Piped:
    """``eln-bot ARGV [< stdin] | head ...``, wired exactly as a shell wires it."""
    with open(stdin or os.devnull, "rb") as source:
        bot = subprocess.Popen(
            [*ELN_BOT, *argv],
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=clean_env(),
        )
        assert bot.stdout is not None and bot.stderr is not None
        reader = subprocess.Popen(["head", *head], stdin=bot.stdout, stdout=subprocess.PIPE)
        bot.stdout.close()  # head alone holds the read end, as in a shell
        shown, _ = reader.communicate(timeout=60)
        stderr = bot.stderr.read().decode("utf-8", "replace")
        bot.stderr.close()
        code = bot.wait(timeout=60)
    return Piped(128 - code if code < 0 else code, stderr, shown.decode("utf-8"))


def repeated(argv: list[str], head: list[str], stdin: Path | None = None) -> Iterator[Piped]:
    """The pipeline RUNS times, two at a time (the test machine has two cores)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield from pool.map(lambda _: pipeline(argv, head, stdin), range(RUNS))


@pytest.fixture
def many_questions(tmp_path: Path) -> Path:
    """Enough questions that the answers overflow a pipe's buffer (64 KiB on Linux)."""
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(QUESTIONS * 150) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_ask_json_into_head_exits_quietly_every_time(many_questions: Path) -> None:
    for run in repeated(["ask", "--json"], ["-1"], many_questions):
        assert run.stderr == ""
        assert run.status == CLOSED_PIPE  # far more output than head took: the pipe closed
        assert json.loads(run.head)["question"] == QUESTIONS[0]


@pytest.mark.slow
def test_ask_into_head_exits_quietly_every_time() -> None:
    for run in repeated(["ask", "how many people signed the recommendations?"], ["-1"]):
        assert run.stderr == ""
        assert run.status in (0, CLOSED_PIPE)  # the answer may fit in the pipe before head exits
        assert run.head == "How many people signed the recommendations?\n"


@pytest.fixture
def labelled_set(tmp_path: Path) -> Path:
    """A small labelled set whose report runs past head's ten lines (every question a miss)."""
    path = tmp_path / "set.yaml"
    items = "".join(f"  - {{q: {q!r}, ids: [no-such-entry]}}\n" for q in QUESTIONS * 5)
    path.write_text(f"in_scope:\n{items}out_of_scope: []\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_eval_into_head_exits_quietly_every_time(labelled_set: Path) -> None:
    for run in repeated(["eval", str(labelled_set)], []):
        assert run.stderr == ""
        assert run.status in (0, CLOSED_PIPE)
        assert run.head.startswith("in-scope answered right:") and "(0/15;" in run.head
        assert run.head.count("\n") == 10


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "how many signed it"],
        ["ask", "--json", "how many signed it"],
        ["eval", "tests/data/holdout_set.yaml"],
        ["check"],
        ["export"],
        ["console"],
        ["health"],
    ],
)
def test_a_reader_gone_before_the_first_byte_gives_141(argv: list[str]) -> None:
    """The deterministic worst case: the pipe's read end is closed before eln-bot writes."""
    result = into_closed_pipe(argv)
    assert result.stderr == b""
    assert result.returncode == CLOSED_PIPE


@pytest.mark.parametrize("argv", [["--help"], ["kb", "history", "--help"], ["--version"]])
def test_help_into_a_closed_pipe_is_quiet(argv: list[str]) -> None:
    result = into_closed_pipe(argv)
    assert result.stderr == b""
    assert result.returncode in (0, CLOSED_PIPE)  # argparse swallows the write error itself


def into_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [*ELN_BOT, *argv],
            input=b"how many signed it\n",
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=clean_env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


def test_the_entry_point_itself_returns_141_on_a_closed_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process: ``main`` catches the BrokenPipeError and silences stdout for the exit flush."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with io.TextIOWrapper(io.FileIO(write_end, "w"), write_through=False) as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        assert main(["ask", "--json", "how many signed it"]) == CLOSED_PIPE
        closed.write("flushed at exit")
        closed.flush()  # now goes to /dev/null instead of raising
