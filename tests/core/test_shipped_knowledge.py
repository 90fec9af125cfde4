"""The shipped knowledge file: loads cleanly, covers every required topic, quotes its sources
faithfully and matches its own schema. The one test file that owns ``knowledge/faq.yaml``."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from bot.core.knowledge import Entry, Knowledge, load
from bot.core.matching import Matcher
from tests.conftest import COVERAGE, REPO_ROOT, SHIPPED_KNOWLEDGE, SOURCE_DIR

SCHEMA = SHIPPED_KNOWLEDGE.parent / "schema.json"
EXCERPTS = REPO_ROOT / "tests" / "data" / "excerpts"
MIN_ALTERNATES = 6
MIN_QUOTE = 30  # shorter quotes are phrases ("exploring possible"), not claims about wording
# Straight and curly double quotes, each matched with its own kind so nesting works.
QUOTES = (re.compile(r'"([^"]+)"'), re.compile(r"“([^”]+)”"))
# A quote in a sentence naming one of these comes from that source, not from the brief.
OTHER_SOURCES = re.compile(
    r"ELN statement|the report says|Stoltenberg said|declared that|heading", re.IGNORECASE
)
# Document titles are quoted as names, not as the brief's wording.
TITLES = frozenset({"NATO 2030: United for a New Era"})


@cache
def shipped() -> tuple[Knowledge, tuple[str, ...]]:
    knowledge, problems = load(SHIPPED_KNOWLEDGE)
    return knowledge, tuple(str(p) for p in problems)


def entries() -> tuple[Entry, ...]:
    return shipped()[0].entries


def entry_ids() -> list[str]:
    return [e.id for e in entries()]


def squash(text: str) -> str:
    return " ".join(text.split())


@cache
def brief_text() -> str:
    files = sorted(SOURCE_DIR.glob("*.txt"))
    assert files, f"no source texts in {SOURCE_DIR}: the vendored brief is missing"
    return squash(" ".join(f.read_text(encoding="utf-8") for f in files))


@dataclass(frozen=True)
class Excerpt:
    """What was read of one page: its header (url, title, read date) and the text."""

    url: str
    title: str
    read: date
    text: str


@cache
def excerpts() -> dict[str, Excerpt]:
    """Saved excerpts by URL; each passage naming a source is checked against its excerpt."""
    found: dict[str, Excerpt] = {}
    for path in sorted(EXCERPTS.glob("*.txt")):
        head, _, body = path.read_text(encoding="utf-8").partition("\n---\n")
        fields = dict(line.split(": ", 1) for line in head.splitlines())
        excerpt = Excerpt(fields["url"], fields["title"], date.fromisoformat(fields["read"]), body)
        assert excerpt.url not in found, f"{path.name}: a second excerpt of {excerpt.url}"
        found[excerpt.url] = excerpt
    return found


def source_text(source: str | None) -> str:
    """The brief for a plain passage, else the saved excerpt of the page it names."""
    if source is None:
        return brief_text()
    assert source in excerpts(), f"no excerpt saved in tests/data/excerpts for {source}"
    return squash(excerpts()[source].text)


@cache
def schema_validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def raw_document() -> dict[str, Any]:
    return yaml.safe_load(SHIPPED_KNOWLEDGE.read_text(encoding="utf-8"))


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", squash(text))


def brief_quotes(answer: str) -> list[str]:
    """Quotations longer than MIN_QUOTE in sentences that do not name another source."""
    found = []
    for sentence in sentences(answer):
        if OTHER_SOURCES.search(sentence):
            continue
        for pattern in QUOTES:
            found.extend(
                q for q in pattern.findall(sentence) if len(q) > MIN_QUOTE and q not in TITLES
            )
    return found


# --- the file as a whole ---------------------------------------------------------------


def test_loads_without_warnings() -> None:
    knowledge, problems = shipped()
    assert problems == ()
    assert len(knowledge.entries) >= 30


def test_first_line_points_editors_at_the_schema() -> None:
    first = SHIPPED_KNOWLEDGE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=schema.json"


def test_every_required_topic_has_its_entry() -> None:
    coverage = yaml.safe_load(COVERAGE.read_text(encoding="utf-8"))
    required = {topic for section in coverage.values() for topic in section}
    assert required - set(entry_ids()) == set()


def test_the_seven_urgent_actions_carry_their_numbers() -> None:
    knowledge, _ = shipped()
    numbered = {e.action: e.id for e in knowledge.entries if e.action is not None}
    assert numbered == {
        1: "action-dialogue",
        2: "action-incident-rules",
        3: "action-transparency",
        4: "action-founding-act",
        5: "action-conventional-forces",
        6: "action-missiles",
        7: "action-open-skies",
    }


def test_check_cli_passes_strict_on_the_shipped_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--strict", str(SHIPPED_KNOWLEDGE)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- each entry ------------------------------------------------------------------------


@pytest.mark.parametrize("entry_id", entry_ids())
def test_entry_has_enough_alternates_and_an_https_source(entry_id: str) -> None:
    entry = shipped()[0].by_id[entry_id]
    assert len(entry.alternates) >= MIN_ALTERNATES
    assert any(s.url.startswith("https://") for s in entry.sources)


@pytest.mark.parametrize("entry_id", [e.id for e in entries() if e.passage])
def test_passages_are_verbatim_from_their_source(entry_id: str) -> None:
    for passage in shipped()[0].by_id[entry_id].passage:
        assert squash(passage.text) in source_text(passage.source), passage


@pytest.mark.parametrize("entry_id", [e.id for e in entries() if e.passage])
def test_quotes_are_verbatim_from_the_brief_or_a_page_the_entry_quotes(entry_id: str) -> None:
    """A quote must be found in the brief or in the excerpt of a page the entry's passages
    name; quotes in sentences naming a source that has no saved excerpt are skipped."""
    entry = shipped()[0].by_id[entry_id]
    pages = [p.source for p in entry.passage if p.source]
    titles = [squash(excerpts()[url].title) for url in pages if url in excerpts()]
    texts = [brief_text(), *(source_text(url) for url in pages), *titles]
    for quote in brief_quotes(entry.answer):
        assert any(squash(quote) in text for text in texts), quote


def test_every_excerpt_is_dated_and_quoted_by_some_entry() -> None:
    quoted = {p.source for e in entries() for p in e.passage if p.source}
    for url, excerpt in excerpts().items():
        assert excerpt.title.strip() and excerpt.read <= date(2026, 12, 31), url
        assert url in quoted, f"excerpt of {url} is quoted by no entry"


def test_passage_check_catches_a_misquote() -> None:
    url, excerpt = next(iter(excerpts().items()))
    words = excerpt.text.split()[:12]
    altered = " ".join([*words[:6], "never", *words[6:]])
    assert squash(" ".join(words)) in source_text(url)
    assert squash(altered) not in source_text(url)


def test_quote_check_catches_a_misquote() -> None:
    answer = 'The brief says "signed by 154 people from 20 countries, with the caveat that".'
    assert brief_quotes(answer) == ["signed by 154 people from 20 countries, with the caveat that"]
    assert squash(brief_quotes(answer)[0]) not in brief_text()


# --- the schema ------------------------------------------------------------------------


def test_schema_accepts_the_shipped_file() -> None:
    errors = [e.message for e in schema_validator().iter_errors(raw_document())]
    assert errors == []


def _without_answer(doc: dict[str, Any]) -> None:
    del doc["entries"][0]["answer"]


def _long_answer(doc: dict[str, Any]) -> None:
    doc["entries"][0]["answer"] = "x" * 1201


def _bad_id(doc: dict[str, Any]) -> None:
    doc["entries"][0]["id"] = "Bad ID!"


def _unknown_field(doc: dict[str, Any]) -> None:
    doc["entries"][0]["anwser"] = "typo"


def _ftp_source(doc: dict[str, Any]) -> None:
    doc["entries"][0]["sources"][0]["url"] = "ftp://example.org/file"


def _source_breaking_its_link(doc: dict[str, Any]) -> None:
    url = "https://nato.int/)[Official_NATO_page](https://evil.example/login"
    doc["entries"][0]["sources"][0]["url"] = url


def _source_with_user_before_host(doc: dict[str, Any]) -> None:
    doc["entries"][0]["sources"][0]["url"] = "https://nato.int@evil.example/"


def _long_source_url(doc: dict[str, Any]) -> None:
    doc["entries"][0]["sources"][0]["url"] = "https://example.org/" + "a" * 500


def _action_zero(doc: dict[str, Any]) -> None:
    doc["entries"][0]["action"] = 0


def _long_alternate(doc: dict[str, Any]) -> None:
    doc["entries"][0]["alternates"].append("y" * 301)


@pytest.mark.parametrize(
    "breakage",
    [
        _without_answer,
        _long_answer,
        _bad_id,
        _unknown_field,
        _ftp_source,
        _source_breaking_its_link,
        _source_with_user_before_host,
        _long_source_url,
        _action_zero,
        _long_alternate,
    ],
)
def test_schema_rejects_broken_variants(breakage: Any) -> None:
    doc = copy.deepcopy(raw_document())
    breakage(doc)
    assert not schema_validator().is_valid(doc)


# --- a few questions that must keep landing right --------------------------------------


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(shipped()[0])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did the experts recommend?", "urgent-actions"),
        ("When was the NATO 2030 report published?", "nato-2030-report"),
        ("who wrote the nato 2030 report", "reflection-group"),
        ("what is the open skies treaty", "open-skies-treaty"),
        ("what do the recommendations say about open skies", "action-open-skies"),
        ("what is the founding act", "founding-act"),
        ("what do the recommendations say about the founding act", "action-founding-act"),
        ("recommendation 5", "action-conventional-forces"),
        ("what is the weather in brussels", None),
        ("what is article 5", None),
        ("who is vladimir putin", None),
    ],
)
def test_landmark_questions(matcher: Matcher, question: str, expected: str | None) -> None:
    result = matcher.match(question)
    assert (result.entry.id if result.entry else None) == expected
