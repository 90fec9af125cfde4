"""The eln-bot command as a user runs it: answers, JSON lines, checks, evaluation, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "ELN_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
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
    assert [set(x) for x in lines] == [{"question", "id", "score", "suggestions", "answer"}] * 2
    assert lines[0]["id"] == "signatories" and lines[0]["answer"]
    assert lines[1]["id"] is None and lines[1]["answer"] is None
    assert isinstance(lines[1]["suggestions"], list)


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


def test_check_can_make_confusable_phrasings_an_error(tiny_doc, write_knowledge) -> None:
    tiny_doc["entries"][1]["alternates"].append("how many signatories signed")
    path = str(write_knowledge(tiny_doc))
    assert run("check", path).returncode == 0
    strict = run("check", path, "--confusable-error")
    assert strict.returncode == 1
    assert "confusable" in strict.stdout and "lands on 'signatories'" in strict.stdout


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
    assert "50.0%  (1/2)" in result.stdout
    assert "100.0%  (1/1)" in result.stdout
    assert "what is the weather" in result.stdout


def test_console_answers_until_end_of_input() -> None:
    result = run("console", stdin="how many signed it\n?open skies\n")
    assert result.returncode == 0
    assert "145" in result.stdout
    assert "normalised:" in result.stdout


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    result = run("ask", "hi", env={"ELN_LOG_LEVEL": "LOUD"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("eln-bot: ELN_LOG_LEVEL must be one of")
