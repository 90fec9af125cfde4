"""The matcher on a small knowledge: answers, declines, typos, list positions, suggestions."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.knowledge import parse_document
from bot.core.matching import Matcher, Status, Thresholds
from bot.core.normalise import Normaliser


@pytest.fixture
def matcher(tiny_doc) -> Matcher:
    knowledge, _ = parse_document(tiny_doc)
    return Matcher(knowledge)


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("How many people signed the recommendations?", "signatories"),
        ("how many ppl signd it", "signatories"),
        ("signitories??", "signatories"),
        ("whats new start", "new-start"),
        ("NewSTART extension", "new-start"),
        ("<@123456789012345678> keep open skies", "action-open-skies"),
        ("recommendation 7", "action-open-skies"),
        ("the last urgent action?", "action-open-skies"),
    ],
)
def test_answers(matcher: Matcher, question: str, entry_id: str) -> None:
    result = matcher.match(question)
    assert result.status is Status.ANSWER, result
    assert result.entry.id == entry_id
    assert 0 <= result.score <= 100


@pytest.mark.parametrize(
    "question",
    [
        "What is the Kyoto Protocol?",
        "how do I bake bread",
        "",
        "   ",
        "?!?!",
        "@everyone",
        "\u202e\u200b\u0000",
        "x" * 10_000,
        "<@123456789012345678>",
    ],
)
def test_declines(matcher: Matcher, question: str) -> None:
    result = matcher.match(question)
    assert result.status is not Status.ANSWER
    assert result.entry is None


def test_decline_has_no_suggestions_when_nothing_is_close(matcher: Matcher) -> None:
    assert matcher.match("best pizza in brussels").suggestions == ()


def test_unsure_offers_at_most_three_suggestions(tiny_doc) -> None:
    knowledge, _ = parse_document(tiny_doc)
    unsure = Matcher(knowledge, Thresholds(answer=101, suggest=1))
    result = unsure.match("new start signatories open skies")
    assert result.status is Status.UNSURE
    assert 1 <= len(result.suggestions) <= 3
    assert result.entry is None


def test_strict_mode_needs_more_confidence(tiny_doc) -> None:
    knowledge, _ = parse_document(tiny_doc)
    matcher = Matcher(knowledge)
    question = "extension of new start and signatories"
    loose = matcher.match(question)
    strict = matcher.match(question, strict=True)
    assert loose.score == strict.score
    needed = matcher.thresholds.answer + matcher.thresholds.strict_bonus
    assert (strict.status is Status.ANSWER) == (strict.score >= needed and loose.entry is not None)


def test_rank_is_sorted_bounded_and_safe(matcher: Matcher) -> None:
    ranked = matcher.rank("open skies new start signed", limit=2)
    assert len(ranked) == 2
    assert ranked[0].score >= ranked[1].score
    assert matcher.rank("") == []


def test_a_query_never_reprocesses_the_phrasings(matcher: Matcher, monkeypatch) -> None:
    calls: list[str] = []
    original = Normaliser.terms

    def counting(self: Normaliser, cleaned: str, **options: Any) -> list[tuple[str, str]]:
        calls.append(cleaned)
        return original(self, cleaned, **options)

    monkeypatch.setattr(Normaliser, "terms", counting)
    matcher.match("how many signed")
    assert calls == ["how many signed"]


def test_confusable_phrasings_are_found(tiny_doc) -> None:
    tiny_doc["entries"][1]["alternates"].append("how many signatories signed")
    knowledge, _ = parse_document(tiny_doc)
    found = Matcher(knowledge).confusable()
    assert any(c.entry_id == "new-start" and c.landed_on == "signatories" for c in found)
    assert all(c.answered_in_place for c in found)  # with it in place, its entry answers


def test_a_phrasing_its_entry_loses_even_in_place_is_told_apart(tiny_doc) -> None:
    tiny_doc["entries"][1]["alternates"].append("signed it who")  # "who signed it", reordered
    knowledge, _ = parse_document(tiny_doc)
    found = {c.phrasing: c for c in Matcher(knowledge).confusable()}
    lost = found["signed it who"]
    assert lost.in_place == "signatories" and not lost.answered_in_place


def test_the_confusable_pass_reports_its_progress(tiny_doc) -> None:
    knowledge, _ = parse_document(tiny_doc)
    calls: list[tuple[int, int]] = []
    Matcher(knowledge).confusable(lambda done, total: calls.append((done, total)))
    total = sum(len(e.phrasings) for e in knowledge.entries)
    assert [done for done, _ in calls] == [*range(total), total]
    assert {t for _, t in calls} == {total}


def test_explanation_fields(matcher: Matcher) -> None:
    result = matcher.match("how many ppl signd")
    words = {t.word: t for t in result.tokens}
    assert words["signd"].known_as == "sign"
    assert result.normalised == "how many ppl signd"
    assert result.best.phrasing
