"""Normalisation: what people type becomes comparable tokens; list positions are understood."""

from __future__ import annotations

import pytest

from bot.core.normalise import Normaliser, clean, item_number, looks_like_question, requested_item


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("What is the ELN?", "what is the eln"),
        ("<@123456789012345678> what's New-START??", "whats new start"),
        ("**bold** _it_ ~~gone~~ `code` > quote", "bold it gone code quote"),
        ("Qu’est-ce que l’Élysée", "quest ce que lelysee"),
        ("<:blob:123456789012345678> hi <#123456789012345678> <@&123456789012345678>", "hi"),
        ("@everyone @here read https://example.org/x?y=1 now", "read now"),
        ("  many\n\n  spaces\t", "many spaces"),
        ("NATO–Russia “dialogue”", "nato russia dialogue"),
        ("", ""),
    ],
)
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_synonyms_fold_to_one_token_and_typos_survive_stemming() -> None:
    norm = Normaliser({"new start": ("newstart", "new-start"), "bmd": ("missile defence",)})
    assert norm.tokens("Whats NEWSTART") == ["what", "is", "new_start", "new", "start"]
    assert norm.tokens("new-start extension") == ["new_start", "new", "start", "extens"]
    assert norm.tokens("missile defence plans") == ["bmd", "plan"]
    assert norm.tokens("nukes") == ["nuclear", "weapon"]


def test_a_misspelt_multiword_synonym_folds_only_when_asked() -> None:
    norm = Normaliser({"eln": ("european leadership network",)})
    assert norm.terms("european leadrship network")[0] == ("european", "european")
    folded = norm.terms("european leadrship network info", known={"european", "network"})
    assert [token for _, token in folded] == ["eln", "info"]
    assert norm.terms("gimme the recs")[:2] == [("give", "give"), ("me", "me")]
    assert norm.tokens("how many ppl signed") == ["how", "mani", "peopl", "sign"]


@pytest.mark.parametrize(
    ("question", "number"),
    [
        ("recommendation 4", 4),
        ("what's rec #2 about", 2),
        ("the fourth action", 4),
        ("the 4th one?", 4),
        ("tell me the last urgent action", 7),
        ("what was the final recommendation", 7),
        ("point six", 6),
        ("number four?", 4),
        ("#5", 5),
        ("5", 5),
        ("rec #2 pls", 2),
        ("number of signatories", None),
        ("what's the first of the urgent actions about", 1),
        ("the last of the seven recommendations", 7),
        ("action no. 3", 3),
        ("what are the seven actions", None),
        ("extend new start for five years", None),
        ("the 1997 founding act", None),
        ("145 people from 20 countries", None),
        ("recommendation 9", None),
    ],
)
def test_item_number(question: str, number: int | None) -> None:
    assert item_number(clean(question), last=7) == number


@pytest.mark.parametrize(
    ("text", "is_question"),
    [
        ("what is new start", True),
        ("new start?", True),
        ("who signed the recommendations", True),
        ("so how many people signed", True),
        ("lol", False),
        ("good morning everyone", False),
        ("I agree with that", False),
        ("?", False),
        ("<@123456789012345678>", False),
    ],
)
def test_looks_like_question(text: str, is_question: bool) -> None:
    assert looks_like_question(text) is is_question


@pytest.mark.parametrize(
    "text",
    ["no one has read it, right?", "one of my friends says hi", "only one of them matters"],
)
def test_number_words_in_ordinary_phrases_are_not_positions(text: str) -> None:
    assert item_number(clean(text), 7) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("rec no 4", 4), ("recommendation #6", 6), ("number four", 4), ("the fourth action", 4)],
)
def test_list_contexts_still_name_positions(text: str, expected: int) -> None:
    assert item_number(clean(text), 7) == expected


def test_a_position_past_the_end_is_still_read_as_one() -> None:
    cleaned = clean("what does recommendation 9 say?")
    assert item_number(cleaned, 7) is None
    assert requested_item(cleaned, 7) == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "what did the U.S. say about the I.N.F. treaty?",
            "what did the us say about the inf treaty",
        ),
        ("u.s.a", "usa"),
        ("paragraph 1.4 of the text", "paragraph 1p4 of the text"),
    ],
)
def test_dotted_abbreviations_and_numbered_paragraphs_are_one_word(
    text: str, expected: str
) -> None:
    assert clean(text) == expected


@pytest.mark.parametrize("text", ["\ud800 lone surrogate", "nul\x00 and bell\x07", "\udfff\ufffe"])
def test_untypable_characters_never_raise(text: str) -> None:
    assert "\x00" not in clean(text) and "\ud800" not in clean(text)
