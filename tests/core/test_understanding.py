"""What members mean: small talk, long chatty messages, positions past the end, off-topic
treaties. Run against the shipped knowledge and decision model, as the bot answers."""

from __future__ import annotations

import pytest

from bot.core.decision import model_beside
from bot.core.knowledge import load
from bot.core.matching import Matcher, Status
from bot.core.smalltalk import Kind, reply
from tests.conftest import SHIPPED_KNOWLEDGE


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    knowledge, _ = load(SHIPPED_KNOWLEDGE)
    return Matcher(knowledge, model=model_beside(SHIPPED_KNOWLEDGE))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", Kind.GREETING),
        ("thanks!", Kind.THANKS),
        ("how's your day going?", Kind.HOW_ARE_YOU),
        ("who are you?", Kind.WHO_ARE_YOU),
        ("help", Kind.HELP),
        ("tell me a joke", Kind.JOKE),
        ("can you translate that answer into French?", Kind.REQUEST),
        ("write me a poem about NATO", Kind.REQUEST),
    ],
)
def test_small_talk_gets_a_fixed_reply_not_an_entry(
    matcher: Matcher, text: str, kind: Kind
) -> None:
    result = matcher.match(text)
    assert result.status is Status.SMALLTALK and result.smalltalk is kind
    assert result.entry is None and reply(kind)


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("hi! what is New START?", "new-start"),
        ("hey bot, how many people signed it?", "signatories"),
        ("summarise the recommendations", "urgent-actions"),
    ],
)
def test_a_greeting_or_request_word_in_front_of_a_question_is_not_small_talk(
    matcher: Matcher, text: str, entry: str
) -> None:
    result = matcher.match(text)
    assert result.status is not Status.SMALLTALK
    assert result.candidates[0].entry.id == entry


@pytest.mark.parametrize("text", ["What is the Kyoto Protocol?", "What is the Schengen Agreement?"])
def test_off_topic_treaties_still_decline(matcher: Matcher, text: str) -> None:
    assert matcher.match(text).status is Status.DECLINE


def test_a_position_past_the_end_says_how_many_there_are(matcher: Matcher) -> None:
    result = matcher.match("what does recommendation 9 say?")
    assert result.entry is None and result.out_of_range == 9
    assert matcher.knowledge.action_count == 7


def test_number_words_in_a_sentence_are_not_an_action(matcher: Matcher) -> None:
    result = matcher.match("no one has read it, right?")
    assert result.item is None and result.entry is None


def test_the_question_inside_a_long_message_is_found(matcher: Matcher) -> None:
    long = (
        "ok so I was reading about all this yesterday on the train and honestly got a bit lost. "
        "anyway, what did they say about intermediate-range missiles?"
    )
    result = matcher.match(long)
    assert result.candidates[0].entry.id == "action-missiles"


def test_confidence_is_a_probability(matcher: Matcher) -> None:
    sure = matcher.match("What are the seven urgent actions?")
    vague = matcher.match("what about the thing with the stuff")
    assert 0.0 <= vague.confidence < sure.confidence <= 1.0
    assert sure.status is Status.ANSWER


def test_a_close_linked_sibling_is_offered_beside_the_answer(matcher: Matcher) -> None:
    result = matcher.match("what did they say about the open skies treaty?")
    assert result.entry is not None
    pair = {result.entry.id, result.sibling.id if result.sibling else ""}
    assert pair == {"action-open-skies", "open-skies-treaty"}


def test_check_reports_entries_that_take_each_others_phrasings(matcher: Matcher) -> None:
    pairs = {(s.first, s.second) for s in matcher.sibling_pairs()}
    assert ("action-open-skies", "open-skies-treaty") in pairs
