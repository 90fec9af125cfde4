"""The `kb` sub-commands: exit codes, output, and one clear line per error.

Run in-process through the real entry point (``bot.cli.main.run``: parser, settings, error
boundary), so what is asserted is what ``eln-bot kb ...`` prints and returns.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli.main import run as cli_run
from bot.config import Settings
from bot.core.knowledge import parse_text
from bot.storage.store import KnowledgeStore
from tests.cli.conftest import clean_env
from tests.conftest import open_test_insights, open_test_store
from tests.storage.store_worker import ENTRY_IDS, fixture_document, write_fixture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def paths(tmp_path: Path) -> list[str]:
    shipped = write_fixture(tmp_path / "faq.yaml")
    return ["--knowledge", str(shipped), "--data-dir", str(tmp_path / "data")]


@pytest.fixture
def store(paths: list[str]) -> KnowledgeStore:
    return open_test_store(Path(paths[1]), Path(paths[3]))


def run(*argv: str) -> int:
    return cli_run(list(argv))


def entry_file(tmp_path: Path, **fields: object) -> Path:
    body = {
        "id": "cli-entry",
        "question": "Is this from the CLI?",
        "alternates": [f"cli phrasing {n}" for n in range(6)],
        "answer": "It is.",
        "sources": [{"title": "Source", "url": "https://example.org/s"}],
        **fields,
    }
    path = tmp_path / "entry.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def test_add_from_a_file(
    tmp_path: Path, paths: list[str], store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("kb", "add", "--file", str(entry_file(tmp_path)), "--by", "ops", *paths) == 0
    out = capsys.readouterr().out
    assert out == f"change #1 saved: added 'cli-entry' (in {store.database.location.label})\n"
    assert store.knowledge().get("cli-entry") is not None
    assert store.history()[0].by == "ops"


def test_add_from_options(
    paths: list[str], store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["--id", "opt", "--question", "Options?", "--answer", "Yes."]
    options += [x for n in range(6) for x in ("--alternate", f"option phrasing {n}")]
    options += ["--source-title", "S", "--source-url", "https://example.org/s", "--tag", "t"]
    assert run("kb", "add", *options, *paths) == 0
    added = store.knowledge().get("opt")
    assert added is not None
    assert (added.answer, added.tags, len(added.alternates)) == ("Yes.", ("t",), 6)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the file"),
        ("id: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping of fields"),
        ("", "found nothing"),
    ],
)
def test_a_bad_entry_file_is_one_clear_line(
    tmp_path: Path,
    paths: list[str],
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert run("kb", "add", "--file", str(path), *paths) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("eln-bot: ") and "bad.yaml" in err and message in err
    assert "Traceback" not in err
    assert not (Path(paths[3]) / "changes.jsonl").exists()


def test_an_invalid_entry_lists_each_problem(
    tmp_path: Path, paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = entry_file(tmp_path, answer="x" * 1300, sources=[{"title": "S", "url": "ftp://x"}])
    assert run("kb", "add", "--file", str(bad), *paths) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    assert lines[-1] == "eln-bot: 2 problem(s) found; nothing was loaded or changed."
    assert any("limit is 1,200" in line for line in lines)
    assert any("url must be an http(s) URL" in line for line in lines)


def test_edit_alias_remove_history_undo(
    tmp_path: Path, paths: list[str], store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    original = store.merged_document()
    assert run("kb", "edit", "eln", "--answer", "New answer.", "--clear", "passage", *paths) == 0
    alternates = tmp_path / "alts.txt"
    alternates.write_text("\n".join(f"hotline alt {n}" for n in range(6)) + "\n\n")
    assert run("kb", "edit", "hotline", "--alternates-file", str(alternates), *paths) == 0
    assert run("kb", "alias", "eln", "who runs the eln", *paths) == 0
    assert run("kb", "remove", "open-skies", *paths) == 0
    out = capsys.readouterr().out.splitlines()
    where = f" (in {store.database.location.label})"
    assert out == [
        "change #1 saved: edited 'eln': answer" + where,
        "change #2 saved: edited 'hotline': alternates" + where,
        "change #3 saved: added phrasing 'who runs the eln' to 'eln'" + where,
        "change #4 saved: removed 'open-skies'" + where,
    ]
    knowledge = store.knowledge()
    assert knowledge.get("eln").answer == "New answer."
    assert knowledge.get("hotline").alternates == tuple(f"hotline alt {n}" for n in range(6))
    assert knowledge.get("open-skies") is None

    assert run("kb", "history", *paths) == 0
    history = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in history] == ["#4", "#3", "#2", "#1"]
    assert run("kb", "history", "eln", "--limit", "1", *paths) == 0
    assert capsys.readouterr().out.startswith("#3  ")
    assert run("kb", "history", "ghost", *paths) == 0
    assert capsys.readouterr().out == "No changes to 'ghost'.\n"

    for _ in range(4):
        assert run("kb", "undo", *paths) == 0
    assert store.merged_document() == original
    assert run("kb", "undo", "5", *paths) == 0  # undo the undo of #4: removed again
    assert "redoing #4" in capsys.readouterr().out
    assert store.knowledge().get("open-skies") is None


def test_store_refusals_exit_1(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run("kb", "alias", "ghost", "x", *paths) == 1
    assert capsys.readouterr().err == "eln-bot: No entry with id 'ghost'.\n"
    assert run("kb", "alias", "eln", "What is New START?", *paths) == 1
    assert "already on 'new-start'" in capsys.readouterr().err
    assert run("kb", "undo", *paths) == 1
    assert capsys.readouterr().err == "eln-bot: Nothing to undo.\n"
    assert run("kb", "edit", "eln", *paths) == 2
    assert "nothing to change" in capsys.readouterr().err
    assert run("kb", "add", "--source-title", "only a title", *paths) == 2
    assert "one --source-url for each --source-title" in capsys.readouterr().err


def test_argument_errors_exit_2(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["kb"], ["kb", "undo", "abc", *paths], ["kb", "frobnicate"]):
        with pytest.raises(SystemExit) as info:
            run(*argv)
        assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_export_to_stdout_parses(
    paths: list[str], store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.alias("eln", "exported alias", by="t")
    assert run("kb", "export", *paths) == 0
    knowledge, _ = parse_text(capsys.readouterr().out, "stdout")
    assert knowledge == store.knowledge()


def test_export_to_a_file(
    tmp_path: Path, paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.yaml"
    assert run("kb", "export", "--output", str(target), *paths) == 0
    assert capsys.readouterr().out == ""
    assert yaml.safe_load(target.read_text(encoding="utf-8")) == fixture_document()


def test_import_shows_the_plan_and_applies_only_with_yes(
    tmp_path: Path, paths: list[str], store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = fixture_document()
    doc["entries"] = [e for e in doc["entries"] if e["id"] != "eln"]
    doc["entries"][0]["answer"] = "Imported."
    target = tmp_path / "import.yaml"
    target.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert run("kb", "import", str(target), *paths) == 0
    out = capsys.readouterr().out
    assert "0 added, 1 changed, 1 removed" in out
    assert "  ~ new-start\n" in out and "  - eln\n" in out and "--yes" in out
    assert store.history() == []
    assert run("kb", "import", str(target), "--yes", *paths) == 0
    assert "change #1 saved: imported" in capsys.readouterr().out
    assert store.knowledge().get("eln") is None
    assert run("kb", "import", str(target), *paths) == 0
    assert "Nothing to import" in capsys.readouterr().out


def test_import_of_an_invalid_file_names_the_problem(
    tmp_path: Path, paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    doc = fixture_document()
    doc["entries"][1]["question"] = doc["entries"][0]["question"]
    target = tmp_path / "bad-import.yaml"
    target.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert run("kb", "import", str(target), "--yes", *paths) == 1
    err = capsys.readouterr().err
    assert "bad-import.yaml" in err and "entry 'open-skies'" in err and "also on entry" in err
    assert not (Path(paths[3]) / "changes.jsonl").exists()


def test_unanswered_resolve_and_stats(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    insights = open_test_insights(Path(paths[3]))
    paths = paths[2:]  # --data-dir only: these read no knowledge
    assert run("kb", "unanswered", *paths) == 0
    assert capsys.readouterr().out == "No unanswered questions.\n"
    for text in ("what is the weather", "What is the weather?", "\x1b[31mred alert\u202e"):
        insights.record_unanswered(text, "#qa", ["eln"], 0.2)
    insights.record_answer("eln", "#qa")
    insights.record_feedback("eln", False, user_id=1)
    assert run("kb", "unanswered", "--days", "1", *paths) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].lstrip().startswith("2x") and "closest: eln" in lines[0]
    assert "\\x1b[31mred alert\\u202e" in lines[1] and "\x1b" not in lines[1]
    key = lines[0].split("[")[1].split("]")[0]
    assert run("kb", "resolve", key, *paths) == 0
    assert f"resolved [{key}]: 2 question(s)" in capsys.readouterr().out
    assert run("kb", "resolve", "nope", *paths) == 1
    assert capsys.readouterr().err == "eln-bot: No unanswered group 'nope'.\n"
    assert run("kb", "stats", "--days", "7", *paths) == 0
    out = capsys.readouterr().out
    assert "4 question(s), 1 answered, 3 declined (75%)" in out
    assert "1 of 1 unhelpful  eln" in out


def test_settings_supply_the_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = write_fixture(tmp_path / "faq.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ELN_KNOWLEDGE", str(shipped))
    monkeypatch.setenv("ELN_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("USER", "envuser")
    assert run("kb", "alias", "eln", "from the environment") == 0
    assert open_test_store(shipped, tmp_path / "env-data").history()[0].by == "envuser"
    monkeypatch.setenv("ELN_LOG_LEVEL", "LOUD")
    assert run("kb", "history") == 2
    assert "ELN_LOG_LEVEL" in capsys.readouterr().err


def test_module_entry_point(paths: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "export", *paths],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    knowledge, _ = parse_text(result.stdout)
    assert [e.id for e in knowledge.entries] == list(ENTRY_IDS)


def test_export_for_the_main_cli(
    tmp_path: Path,
    paths: list[str],
    store: KnowledgeStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store.alias("eln", "exported by the main cli", by="t")
    monkeypatch.setenv("ELN_KNOWLEDGE", paths[1])
    monkeypatch.setenv("ELN_DATA_DIR", paths[3])
    assert run("export") == 0
    assert parse_text(capsys.readouterr().out)[0] == store.knowledge()
    target = tmp_path / "main-export.yaml"
    assert run("export", "--output", str(target)) == 0
    assert parse_text(target.read_text(encoding="utf-8"))[0] == store.knowledge()
    capsys.readouterr()
    assert run("export", "--output", str(tmp_path / "missing-dir" / "x.yaml")) == 2
    err = capsys.readouterr().err
    assert err.startswith("eln-bot: ") and "missing-dir/x.yaml: cannot write" in err


def test_history_marks_undone_changes_and_undo_takes_the_number_it_shows(
    paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("kb", "alias", "eln", "who runs the eln", *paths) == 0
    assert run("kb", "edit", "hotline", "--answer", "Hotlines again.", *paths) == 0
    assert run("kb", "undo", "#1", *paths) == 0
    capsys.readouterr()
    assert run("kb", "history", *paths) == 0
    marks = [
        (line.split()[0], line.endswith("  (undone)"))
        for line in capsys.readouterr().out.splitlines()
    ]
    assert marks == [("#3", False), ("#2", False), ("#1", True)]
    assert run("kb", "undo", "3", *paths) == 0  # undoing the undo redoes #1
    assert capsys.readouterr().out.startswith("change #4 saved: undid #3, redoing #1")
    assert run("kb", "history", "--limit", "2", *paths) == 0
    assert [line.endswith("(undone)") for line in capsys.readouterr().out.splitlines()] == [
        False,
        True,
    ]


@pytest.mark.parametrize("bad", ["#", "#0", "##2", "#x", "-1"])
def test_undo_refuses_what_is_not_a_change_number(
    paths: list[str], capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    with pytest.raises(SystemExit) as info:
        run("kb", "undo", bad, *paths)
    assert info.value.code == 2
    assert "argument change" in capsys.readouterr().err


def test_an_alias_another_entry_has_is_refused_naming_that_entry(
    paths: list[str], store: KnowledgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("kb", "alias", "eln", "Who runs the ELN?", *paths) == 0
    capsys.readouterr()
    for phrase, owner in (
        ("who runs the eln", "eln"),  # a moderator's alias, case and punctuation aside
        ("eln question one", "eln"),  # a shipped alternate
        ("What is New START?", "new-start"),  # a shipped question
    ):
        assert run("kb", "alias", "hotline", phrase, *paths) == 1
        assert (
            capsys.readouterr().err
            == f"eln-bot: The phrasing {phrase!r} is already on '{owner}'.\n"
        )
    assert len(store.history()) == 1


@pytest.mark.parametrize(
    ("command", "writes"),
    [
        ("add", True),
        ("edit", True),
        ("alias", True),
        ("remove", True),
        ("undo", True),
        ("import", True),
        ("history", False),
        ("export", False),
        ("unanswered", False),
        ("resolve", False),  # marks a group handled; nobody's change to credit
        ("stats", False),
    ],
)
def test_by_is_an_option_only_of_commands_that_change_the_knowledge(
    capsys: pytest.CaptureFixture[str], command: str, writes: bool
) -> None:
    with pytest.raises(SystemExit) as info:
        run("kb", command, "--help")
    assert info.value.code == 0
    assert ("--by" in capsys.readouterr().out) is writes


WRITES = [
    ["alias", "eln", "who runs the eln"],
    ["edit", "eln", "--answer", "A think tank."],
    ["remove", "hotline"],
    ["undo"],
    ["undo", "#4"],
]


@pytest.mark.slow
@pytest.mark.parametrize("level", [None, "INFO"])
def test_each_change_prints_one_line_and_nothing_on_stderr(
    paths: list[str], level: str | None
) -> None:
    env = {**clean_env(), **({"ELN_LOG_LEVEL": level} if level else {})}
    for number, argv in enumerate(WRITES, 1):
        result = subprocess.run(
            [sys.executable, "-m", "bot", "kb", *argv, *paths],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout.startswith(f"change #{number} saved: ")
        assert result.stdout.count("\n") == 1


READS = [
    ["kb", "history"],
    ["kb", "history", "eln"],
    ["kb", "export"],
    ["kb", "unanswered"],
    ["kb", "stats"],
    ["kb", "import", "IMPORT"],
    ["export"],
    ["check"],
    ["ask", "What is the ELN?"],
]


def test_commands_that_only_read_create_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No data directory, no database: neither one named nor the platform's default."""
    shipped = write_fixture(tmp_path / "faq.yaml")
    monkeypatch.setenv("ELN_KNOWLEDGE", str(shipped))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    default = Settings.from_env(dotenv=None).data_dir
    assert default == tmp_path / "xdg" / "eln-qa-bot"
    named = tmp_path / "named"
    for read in READS:
        argv = [str(shipped) if a == "IMPORT" else a for a in read]
        assert run(*argv) == 0, argv
        if argv[0] == "kb":
            assert run(*argv, "--data-dir", str(named)) == 0, argv
    capsys.readouterr()
    assert not default.exists() and not named.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faq.yaml"]
