"""Loading and validating knowledge files: every problem named with file, line, entry and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.knowledge import (
    DEFAULT_LIMITS,
    KnowledgeError,
    Limits,
    Problem,
    load,
    parse_text,
    url_problem,
)


def problems_of(path: Path, limits: Limits | None = None) -> list[Problem]:
    with pytest.raises(KnowledgeError) as info:
        load(path, limits or Limits())
    return info.value.problems


def test_valid_file_loads_with_entries_in_order(tiny_doc, write_knowledge) -> None:
    knowledge, warnings = load(write_knowledge(tiny_doc))
    assert [e.id for e in knowledge.entries] == ["signatories", "new-start", "action-open-skies"]
    assert knowledge.by_action(7).id == "action-open-skies"
    assert (
        knowledge.get("signatories").phrasings[0] == "How many people signed the recommendations?"
    )
    assert knowledge.synonyms["new start"] == ("newstart", "new-start")
    assert warnings == []


def test_round_trip_through_to_document(tiny_doc, write_knowledge) -> None:
    knowledge, _ = load(write_knowledge(tiny_doc))
    again, _ = load(write_knowledge(knowledge.to_document(), "again.yaml"))
    assert again == knowledge


def _mutate(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set doc[entries][i][field] (path "i.field") or delete it when value is ...."""
    index, field = path.split(".")

    def apply(doc: dict[str, Any]) -> None:
        entry = doc["entries"][int(index)]
        if value is ...:
            del entry[field]
        else:
            entry[field] = value

    return apply


@pytest.mark.parametrize(
    ("change", "entry", "field", "words"),
    [
        (_mutate("0.answer", ...), "signatories", "answer", "missing"),
        (_mutate("1.question", ""), "new-start", "question", "non-empty"),
        (_mutate("1.answer", True), "new-start", "answer", "quote it"),
        (_mutate("0.answer", "x" * 1201), "signatories", "answer", "1,201 characters"),
        (_mutate("0.related", ["nowhere"]), "signatories", "related", "'nowhere' does not exist"),
        (
            _mutate("1.alternates", ["new start", "who signed it"]),
            "new-start",
            "alternates",
            "also on entry 'signatories'",
        ),
        (
            _mutate("0.sources", [{"title": "x", "url": "ftp://x"}]),
            "signatories",
            "sources",
            "source 1 url must be an http(s) URL",
        ),
        (_mutate("0.sources", []), "signatories", "sources", "at least one source"),
        (_mutate("0.id", "Bad Id"), "Bad Id", "id", "invalid id"),
        (_mutate("0.action", 7), "action-open-skies", "action", "also on entry"),
        (_mutate("2.action", "seven"), "action-open-skies", "action", "whole number"),
        (_mutate("0.tags", {"a": 1}), "signatories", "tags", "list of text"),
    ],
)
def test_entry_problems_name_entry_field_and_line(  # noqa: PLR0917 - parametrised
    tiny_doc, write_knowledge, change, entry, field, words
) -> None:
    change(tiny_doc)
    path = write_knowledge(tiny_doc)
    problems = problems_of(path)
    hits = [p for p in problems if p.entry == entry and p.field == field and words in p.message]
    assert hits, problems
    assert hits[0].line is not None and hits[0].line > 1
    assert str(hits[0]).startswith(f"{path}:{hits[0].line}, entry '{entry}', field '{field}'")


def test_duplicate_ids_point_at_the_first_definition(tiny_doc, write_knowledge) -> None:
    tiny_doc["entries"][1]["id"] = "signatories"
    tiny_doc["entries"][1]["alternates"] = [f"other phrasing {i}" for i in range(6)]
    tiny_doc["entries"][1]["question"] = "Another question?"
    problems = problems_of(write_knowledge(tiny_doc))
    (dup,) = [p for p in problems if "duplicate id" in p.message]
    first = int(dup.message.rsplit("line ", 1)[1].rstrip(")"))
    assert dup.entry == "signatories" and first < dup.line


def test_every_problem_is_reported_at_once(tiny_doc, write_knowledge) -> None:
    del tiny_doc["entries"][0]["answer"]
    tiny_doc["entries"][1]["related"] = ["ghost"]
    tiny_doc["entries"][2]["sources"] = "not a list"
    problems = problems_of(write_knowledge(tiny_doc))
    assert {p.entry for p in problems} >= {"signatories", "new-start", "action-open-skies"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("- a\n- b\n", "mapping at the top level"),
        ("just text\n", "mapping at the top level"),
        ("entries: []\n", "non-empty list"),
        ("entries: {a: 1}\n", "non-empty list"),
        ("entries:\n  - id: x\n    question: [unclosed\n", "not valid YAML"),
        ("version: 2\nentries: [{}]\n", "unsupported version"),
        ("entries:\n  - just a string\n", "must be a mapping"),
    ],
)
def test_malformed_documents_give_one_clear_message(write_knowledge, text, words) -> None:
    problems = problems_of(write_knowledge(text))
    assert any(words in p.message for p in problems), problems


def test_yaml_syntax_error_has_a_line_number(write_knowledge) -> None:
    path = write_knowledge("version: 1\nentries:\n  - id: a\n    question: 'unterminated\n")
    (problem,) = problems_of(path)
    assert problem.line is not None and problem.line >= 4
    assert str(problem).startswith(f"{path}:")


def test_alias_bomb_is_refused_without_expanding(write_knowledge) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    lines.append("entries: *i")
    problems = problems_of(write_knowledge("\n".join(lines) + "\n"))
    assert "alias bomb" in problems[0].message


def test_recursive_alias_is_refused(write_knowledge) -> None:
    problems = problems_of(write_knowledge("entries: &e [*e]\n"))
    assert "alias" in problems[0].message


def test_file_over_the_size_limit_is_refused_unread(tiny_doc, write_knowledge) -> None:
    path = write_knowledge(tiny_doc)
    (problem,) = problems_of(path, Limits(max_bytes=100))
    assert "limit is 100" in problem.message


def test_too_many_entries(tiny_doc, write_knowledge) -> None:
    (problem,) = problems_of(write_knowledge(tiny_doc), Limits(max_entries=2))
    assert "3 entries; the limit is 2" in problem.message


def test_binary_file_is_refused(tmp_path) -> None:
    path = tmp_path / "faq.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    (problem,) = problems_of(path)
    assert "not UTF-8" in problem.message


def test_missing_file(tmp_path) -> None:
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "cannot read" in problem.message


def test_python_tags_are_not_executed(write_knowledge) -> None:
    path = write_knowledge("entries: !!python/object/apply:os.system ['echo pwned']\n")
    (problem,) = problems_of(path)
    assert "not valid YAML" in problem.message


def test_warnings_do_not_block_loading(tiny_doc, write_knowledge) -> None:
    tiny_doc["entries"][0]["anwser"] = "typo field"
    tiny_doc["entries"][1]["alternates"] = tiny_doc["entries"][1]["alternates"][:2]
    knowledge, warnings = load(write_knowledge(tiny_doc))
    assert len(knowledge.entries) == 3
    messages = {(w.entry, w.field): w.message for w in warnings}
    assert "typo" in messages[("signatories", "anwser")]
    assert "only 2 alternates" in messages[("new-start", "alternates")]


def test_parse_text_accepts_unicode_and_keeps_it_verbatim(tiny_doc) -> None:
    tiny_doc["entries"][0]["answer"] = "Signed by 145 people \u200b\u202e @everyone **bold**"
    knowledge, _ = parse_text(yaml.safe_dump(tiny_doc, allow_unicode=True))
    assert knowledge.get("signatories").answer.endswith("@everyone **bold**")


def test_a_passage_may_name_the_page_it_was_read_on(tiny_doc, write_knowledge) -> None:
    tiny_doc["entries"][0]["passage"] = [
        "The recommendations are signed by 145 people from 20 countries",
        {"text": "Re-establishing practical dialogue", "source": "https://example.org/page"},
    ]
    knowledge, _ = load(write_knowledge(tiny_doc))
    brief, page = knowledge.get("signatories").passage
    assert (brief.source, page.source) == (None, "https://example.org/page")
    again, _ = load(write_knowledge(knowledge.to_document(), "again.yaml"))
    assert again == knowledge


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"text": "words", "source": "javascript:alert(1)"}, "'source' must be an http(s) URL"),
        ({"text": "words", "source": "https://x.org/a>b"}, "'source' contains '>'"),
        ({"text": "words", "source": "https://x.org", "by": "me"}, "only 'text' and 'source'"),
        ({"source": "https://x.org"}, "must be non-empty text"),
    ],
)
def test_a_bad_passage_source_is_named(tiny_doc, write_knowledge, item, message) -> None:
    tiny_doc["entries"][0]["passage"] = [item]
    (problem,) = problems_of(write_knowledge(tiny_doc))
    assert (problem.entry, problem.field) == ("signatories", "passage")
    assert message in problem.message


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("Use `/recommendation` for one action.", "names the command '/recommendation'"),
        ('Run eln-bot ask "x" to try it.', "names the command 'eln-bot a'"),
        ("Use {recomendation} for one action.", "unknown placeholder {recomendation}"),
    ],
)
def test_answers_name_commands_only_through_placeholders(
    tiny_doc, write_knowledge, answer: str, message: str
) -> None:
    tiny_doc["entries"][0]["answer"] = answer
    (problem,) = problems_of(write_knowledge(tiny_doc))
    assert problem.field == "answer" and message in problem.message


def test_a_url_path_is_not_a_command(tiny_doc, write_knowledge) -> None:
    tiny_doc["entries"][0]["answer"] = "Read https://example.org/sources and use {sources}."
    knowledge, _ = load(write_knowledge(tiny_doc))
    assert "{sources}" in knowledge.get("signatories").answer


# --- source URLs: plain http(s) links that show as one link, going where they say ----------

HOSTILE = "https://nato.int/)[Official NATO page](https://evil.example/login"


@pytest.mark.parametrize(
    "url",
    [
        "https://natowatch.org/",
        "http://example.org",
        "HTTPS://Example.ORG./a/b.html?x=1&y=%28two%29#part-3",
        "https://www.example.org:8443/path;params?q=a+b,c*d~e!f$g'h",
        "https://sub_domain.example.org/@someone",  # '@' in the path is only a path
        "https://example.org/" + "a" * (DEFAULT_LIMITS.max_url - 20),
    ],
)
def test_plain_http_urls_are_accepted(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (HOSTILE, "contains ')', which would end the link early"),
        (HOSTILE.replace(" ", "_"), "write it as %29"),
        ("https://example.org/wiki/Treaty_(1990)", "write it as %28"),
        ("https://example.org/[x]", "contains '['"),
        ("https://example.org/<x>", "contains '<'"),
        ("https://nato.int@evil.example/login", "'@' before the host"),
        ("https://nato.int/\u202egnp.exe", "invisible right-to-left override (U+202E)"),
        ("https://example.org/a b", "a space or line break (U+0020); write it as %20"),
        ("https://example.org/a\tb", "a space or line break (U+0009)"),
        ("https://n\u0430to.int/", "not plain ASCII; write it as %D0%B0"),
        ('https://example.org/"x"', "percent-encoded, as %22"),
        ("https://example.org/a\\b", "percent-encoded, as %5C"),
        ("javascript:alert(1)", "must be an http(s) URL"),
        ("ftp://example.org/", "must be an http(s) URL"),
        ("https://", "no valid host name"),
        ("https:///path", "no valid host name"),
        ("https://-bad-.org/", "no valid host name"),
        ("https://example.org:99999/", "port"),
        ("https://example.org/" + "a" * DEFAULT_LIMITS.max_url, "the limit is 512"),
        ("", "is missing"),
        (None, "is missing"),
    ],
)
def test_urls_that_could_break_or_disguise_a_link_are_refused(url: Any, words: str) -> None:
    problem = url_problem(url)
    assert problem is not None and words in problem, problem


def test_a_hostile_source_url_is_refused_with_the_fix(tiny_doc, write_knowledge) -> None:
    tiny_doc["entries"][0]["sources"] = [
        {"title": "NATO Watch", "url": "https://natowatch.org/"},
        {"title": "NATO", "url": HOSTILE.replace(" ", "_")},
    ]
    (problem,) = problems_of(write_knowledge(tiny_doc))
    assert (problem.entry, problem.field) == ("signatories", "sources")
    assert problem.message.startswith("source 2 url contains ')'")
    assert "%29" in problem.message
