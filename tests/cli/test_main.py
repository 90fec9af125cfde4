"""The eln-bot command as a user runs it: answers, JSON lines, checks, evaluation, no tracebacks."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.decision import DecisionModel
from bot.core.evaluation import load_labelled
from tests.cli.conftest import Outcome, clean_env
from tests.conftest import REPO_ROOT


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=clean_env(**(env or {})),
        cwd=cwd or REPO_ROOT,
        timeout=60,
        check=False,
    )


def test_ask_prints_answer_sources_and_confidence() -> None:
    result = run("ask", "how many people signed the recommendations?")
    assert result.returncode == 0, result.stderr
    assert "145" in result.stdout
    assert "Sources:" in result.stdout and "https://" in result.stdout
    assert "Confidence:" in result.stdout


def test_ask_declines_honestly() -> None:
    result = run("ask", "What is the Kyoto Protocol?")
    assert result.returncode == 1
    assert "don't know" in result.stdout
    assert "Traceback" not in result.stderr


def test_ask_json_reads_stdin_and_writes_exact_keys() -> None:
    result = run("ask", "--json", stdin="how many signed it\n\nWhat is the Schengen Agreement?\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    keys = {"question", "id", "score", "suggestions", "answer", "status", "confidence"}
    assert [set(x) for x in lines] == [keys] * 2
    assert lines[0]["id"] == "signatories" and lines[0]["answer"]
    assert lines[0]["status"] == "answer" and 0.5 < lines[0]["confidence"] <= 1
    assert lines[1]["id"] is None and lines[1]["answer"] is None
    assert lines[1]["status"] == "decline"
    assert isinstance(lines[1]["suggestions"], list)


@pytest.mark.parametrize(
    ("line", "status"),
    [("hi there", "smalltalk"), ("thanks!", "smalltalk"), ("x" * 1001, "too_long")],
)
def test_ask_json_status_names_small_talk_and_over_long_questions(line: str, status: str) -> None:
    result = run("ask", "--json", stdin=line + "\n")
    (answer,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert answer["status"] == status and answer["id"] is None


def test_offline_answers_name_offline_commands() -> None:
    result = run("ask", "what is this bot and how do I ask it something?")
    assert 'eln-bot ask "your question"' in result.stdout
    assert "`/" not in result.stdout and "{" not in result.stdout


def test_ask_explain_shows_the_reasoning() -> None:
    result = run("ask", "--explain", "how many ppl sigined the recomendations")
    assert "normalised:" in result.stdout
    assert "best:" in result.stdout and "signatories" in result.stdout
    assert "sigin->sign" in result.stdout  # the typo read as a known word


def test_no_arguments_and_no_token_explains_what_to_do() -> None:
    result = run()
    assert result.returncode == 0
    assert "DISCORD_TOKEN" in result.stdout and "eln-bot ask" in result.stdout


def test_run_without_token_is_a_clear_error() -> None:
    result = run("run")
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_passes_on_the_shipped_file() -> None:
    result = run("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK," in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("entries: [\n", "not valid YAML"),
        ("entries:\n  - id: a\n    question: q\n", "field 'answer': is missing"),
        ("a: &a [*a, *a]\nentries: *a\n", "alias"),
    ],
)
def test_check_lists_problems_and_fails_without_traceback(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = run("check", str(path))
    assert result.returncode == 1
    assert expected in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_check_reports_every_problem_at_once(tmp_path: Path, tiny_doc, write_knowledge) -> None:
    del tiny_doc["entries"][0]["answer"]
    tiny_doc["entries"][1]["related"] = ["ghost"]
    result = run("check", str(write_knowledge(tiny_doc)))
    assert result.returncode == 1
    assert "'answer': is missing" in result.stderr
    assert "'ghost' does not exist" in result.stderr


def test_check_refuses_a_source_url_that_would_disguise_a_link(tiny_doc, write_knowledge) -> None:
    hostile = "https://nato.int/)[Official_NATO_page](https://evil.example/login"
    tiny_doc["entries"][0]["sources"] = [{"title": "NATO", "url": hostile}]
    result = run("check", str(write_knowledge(tiny_doc)))
    assert result.returncode == 1
    assert "entry 'signatories', field 'sources': source 1 url contains ')'" in result.stderr
    assert "write it as %29" in result.stderr


def test_check_can_make_confusable_phrasings_an_error(tiny_doc, write_knowledge) -> None:
    tiny_doc["entries"][1]["alternates"].append("how many signatories signed")
    path = str(write_knowledge(tiny_doc))
    assert run("check", path).returncode == 0
    strict = run("check", path, "--confusable-error")
    assert strict.returncode == 1
    assert "confusable" in strict.stdout and "lands on 'signatories'" in strict.stdout


def test_the_confusable_report_says_what_it_tested(tiny_doc, write_knowledge) -> None:
    """A confusable phrasing is a finding about wording, not a broken answer: the report says
    how it was found and that its own entry still answers it; only one that its entry loses
    even with the phrasing in place is marked as what a member would see."""
    tiny_doc["entries"][1]["alternates"].append("how many signatories signed")
    result = run("check", str(write_knowledge(tiny_doc)))
    assert result.returncode == 0
    header, *rest = result.stdout.splitlines()
    assert "each phrasing was left out of its own entry and matched against the rest" in header
    assert "each is still answered by its own entry: the answers work" in header
    assert not any("even in place" in line for line in rest)

    # Same words, another order: the exact match goes to 'signatories' even in place.
    tiny_doc["entries"][1]["alternates"].append("signed it who")
    result = run("check", str(write_knowledge(tiny_doc)))
    header, *rest = result.stdout.splitlines()
    assert "2 of 3 are still answered by their own entry and 1 is not" in header
    lost = [line for line in rest if "even in place" in line]
    assert len(lost) == 1 and "'signed it who'" in lost[0]
    assert lost[0].endswith("; even in place it is answered by 'signatories'")


def _verdicts(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if re.search(r"\b(OK|FAILED)\b", line)]


@pytest.mark.parametrize(
    ("options", "failed_by"),
    [
        (["--confusable-error"], "(--confusable-error)"),
        (["--strict"], "(--strict)"),
        (["--strict", "--confusable-error"], "(--strict, --confusable-error)"),
    ],
)
def test_check_prints_one_verdict_line(
    tiny_doc, write_knowledge, options: list[str], failed_by: str
) -> None:
    tiny_doc["entries"][1]["alternates"].append("how many signatories signed")  # confusable
    tiny_doc["colour"] = "blue"  # an unknown top-level key: a warning
    path = str(write_knowledge(tiny_doc))

    passed = run("check", path)
    assert passed.returncode == 0
    assert _verdicts(passed.stdout) == [passed.stdout.splitlines()[-1]]
    assert passed.stdout.splitlines()[-1].startswith(f"{path}: OK, 3 entries")

    failed = run("check", path, *options)
    assert failed.returncode == 1
    assert _verdicts(failed.stdout) == [failed.stdout.splitlines()[-1]]
    assert failed.stdout.splitlines()[-1].startswith(f"{path}: FAILED {failed_by}, 3 entries")


def test_check_shows_progress_only_on_a_terminal() -> None:
    """At a terminal, standard error shows how far the check is and is left blank after;
    piped, it stays empty, and the report on standard output is the same either way."""
    pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX only")
    piped = run("check")
    assert piped.returncode == 0 and piped.stderr == ""
    phrasings = re.search(r"(\d+) phrasings", piped.stdout.splitlines()[-1])
    assert phrasings is not None
    total = int(phrasings.group(1))

    terminal, child_end = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "check"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=child_end,
        env=clean_env(),
        cwd=REPO_ROOT,
    )
    os.close(child_end)
    shown = b""
    try:
        while select.select([terminal], [], [], 60)[0]:  # bounds a hang, times nothing
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # Linux: EIO once the child has closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(terminal)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert out.decode() == piped.stdout
    text = shown.decode()
    assert "eln-bot check: indexing" in text
    assert f"eln-bot check: leaving out each phrasing in turn {total}/{total} (100%)" in text
    assert text.endswith("\r\x1b[K"), "the progress line is erased when the check is done"


def test_eval_prints_accuracy_decline_rate_and_misses(tmp_path: Path) -> None:
    labelled = tmp_path / "set.yaml"
    labelled.write_text(
        "in_scope:\n  - {q: how many ppl signed, ids: [signatories]}\n"
        "  - {q: what is the weather, ids: [signatories]}\n"
        "out_of_scope:\n  - What is the Kyoto Protocol?\n",
        encoding="utf-8",
    )
    result = run("eval", str(labelled))
    assert result.returncode == 0
    assert "50.0%  (1/2;" in result.stdout
    assert "100.0%  (1/1;" in result.stdout
    assert "what is the weather" in result.stdout


def test_console_answers_until_end_of_input() -> None:
    result = run("console", stdin="how many signed it\n?open skies\n")
    assert result.returncode == 0
    assert "145" in result.stdout
    assert "normalised:" in result.stdout


def test_console_handles_its_own_words_and_hints_at_them() -> None:
    result = run("console", stdin="What is the Kyoto Protocol?\n\nhelp\nquit\nhow many signed it\n")
    assert result.returncode == 0, result.stderr
    assert 'Try asking "What are the seven urgent actions?", or type help.' in result.stdout
    assert "quit, exit" in result.stdout and "?QUESTION" in result.stdout
    assert "eln-bot" not in result.stdout  # hints name console commands, not the CLI
    assert "145" not in result.stdout  # nothing is answered after quit


def test_bad_setting_is_one_line() -> None:
    result = run("ask", "hi", env={"ELN_LOG_LEVEL": "LOUD"})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "eln-bot: ELN_LOG_LEVEL='LOUD' (set in the environment): "
        "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("ELN_RELOAD_INTERVAL", "nan"), ("ELN_SHARD_COUNT", "0"), ("ELN_MAX_QUESTION", "0")],
)
def test_settings_that_used_to_slip_through_stop_every_command(
    cli: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    for command in (["ask", "hi"], ["check"], ["kb", "history"], ["health"]):
        result = cli(*command)
        assert result.code == 2, command
        assert result.err.startswith(f"eln-bot: {name}={value!r} (set in the environment): ")
        assert result.err.count("\n") == 1


def test_a_bad_setting_in_dotenv_names_the_file(
    cli: Callable[..., Outcome], tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("ELN_RELOAD_INTERVAL=inf\n", encoding="utf-8")  # in the cwd
    result = cli("ask", "hi")
    assert result.code == 2
    assert result.err.startswith(
        f"eln-bot: ELN_RELOAD_INTERVAL='inf' (set in the .env file at {tmp_path / '.env'}): "
    )


# --- eval: only a labelled set is scored -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in_scope: [\n", ":2:1: not valid YAML ("),
        ("{q: 1\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping with in_scope"),
        ("", "expected a mapping with in_scope (questions and the ids"),
        ("questions:\n  - hello\n", "missing in_scope and out_of_scope"),
        ("in_scope: []\n", "missing out_of_scope;"),
        ("in_scope: []\nout_of_scope: []\n", "no questions in in_scope or out_of_scope"),
        ("in_scope: {}\nout_of_scope: []\n", "in_scope must be a list, found dict"),
        ("in_scope:\nout_of_scope: [x]\n", "in_scope must be a list, found nothing"),
        ("in_scope: [{q: hi}]\nout_of_scope: []\n", "in_scope item 1 needs q"),
        ("in_scope: [{q: hi, ids: []}]\nout_of_scope: []\n", "in_scope item 1 needs q"),
        ("in_scope: []\nout_of_scope: [x, {a: 1}]\n", "out_of_scope item 2 must be a question"),
        ("in_scope: []\nout_of_scope: [x]\nin-scope: []\n", "unknown key(s) in-scope;"),
    ],
)
def test_eval_refuses_a_file_that_is_not_a_labelled_set_in_one_line(
    cli: Callable[..., Outcome], tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("eval", str(path))
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"eln-bot: {path}") and expected in result.err
    assert result.err.count("\n") == 1, result.err


def test_eval_of_a_missing_file_is_one_line(cli: Callable[..., Outcome], tmp_path: Path) -> None:
    result = cli("eval", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert result.err == f"eln-bot: {tmp_path / 'nope.yaml'}: cannot read the file " + (
        "(No such file or directory)\n"
    )


def test_eval_refusal_from_the_command_line(tmp_path: Path) -> None:
    """The same through a real process: one line, exit 2, nothing on stdout."""
    path = tmp_path / "set.yaml"
    path.write_text("entries: [\n  - a: b\n  c\n", encoding="utf-8")
    result = run("eval", str(path))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"eln-bot: {path}:") and result.stderr.count("\n") == 1


def test_eval_accepts_a_smalltalk_list(tmp_path: Path) -> None:
    labelled = tmp_path / "set.yaml"
    labelled.write_text(
        "in_scope:\n  - {q: how many ppl signed, ids: signatories}\n"
        "out_of_scope: []\nsmalltalk: [hello there, thanks bot]\n",
        encoding="utf-8",
    )
    result = run("eval", str(labelled))
    assert result.returncode == 0, result.stderr
    assert "100.0%  (1/1;" in result.stdout


@pytest.mark.parametrize(
    "path",
    [
        "tests/data/dev_set.yaml",
        "tests/data/train_set.yaml",
        "tests/data/holdout_set.yaml",
        "benchmarks/final_set.yaml",
        "benchmarks/blind_a.yaml",
        "benchmarks/blind_b.yaml",
        "benchmarks/blind_c.yaml",
    ],
)
def test_the_shipped_labelled_sets_pass_the_check(path: str) -> None:
    assert load_labelled(REPO_ROOT / path).in_scope


# --- exit codes and start-up -------------------------------------------------------------


def test_usage_errors_exit_2_for_every_command(
    cli: Callable[..., Outcome], capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["frobnicate"], ["ask", "--nope"], ["kb"], ["health", "--max-age", "nan"]):
        with pytest.raises(SystemExit) as info:
            cli(*argv)
        assert info.value.code == 2, argv
        assert "usage: eln-bot" in capsys.readouterr().err
    assert cli("ask").code == 2  # no question given


@pytest.mark.parametrize(
    "argv",
    [["ask", "how many signed it"], ["ask", "--json"], ["console"], ["check"], ["health"]],
)
def test_offline_commands_load_no_discord_module(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", *argv],
        input="how many signed it\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "bot.config" in imported  # the import log is really there
    assert not [m for m in imported if m.split(".")[0] in ("discord", "aiohttp")]


def test_calibrate_refits_the_model_that_ask_then_uses(tmp_path: Path) -> None:
    out = tmp_path / "decision.json"
    result = run("calibrate", "tests/data/dev_set.yaml", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "fitted on" in result.stdout and f"wrote {out}" in result.stdout
    model = DecisionModel.load(out)
    assert 0 < model.cutoffs.answer < model.cutoffs.strict < 1


def test_calibrate_refuses_a_file_that_is_not_a_labelled_set(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("questions: []\n", encoding="utf-8")
    result = run("calibrate", str(bad), "--output", str(tmp_path / "m.json"))
    assert result.returncode == 2 and "missing in_scope and out_of_scope" in result.stderr
    assert not (tmp_path / "m.json").exists()


def test_check_names_sibling_entries() -> None:
    result = run("check")
    assert result.returncode == 0
    assert "siblings '" in result.stdout and "left out of its own entry" in result.stdout
