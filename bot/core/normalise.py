"""Turn what people type into comparable tokens: Discord markup, accents, slang, synonyms, stems.

Pure Python and knowledge-agnostic except for the synonym table it is built with, so the
same Normaliser processes the curated phrasings (once, at index time) and every question.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from functools import lru_cache
from types import MappingProxyType

import snowballstemmer  # type: ignore[import-untyped]
from rapidfuzz import fuzz, process

from bot.core.text import DISCORD_MARKUP, strip_accents

_APOSTROPHE = re.compile(r"(?<=\w)['’‘`´](?=\w)")
_NON_WORD = re.compile(r"[^\w]+")
_UNDERSCORE_RUN = re.compile(r"_+")
_HASH_NUMBER = re.compile(r"#\s*(\d{1,2})\b")
# "I.N.F.", "u.s.a", "e.g." -> "inf", "usa", "eg": a dotted abbreviation is one word.
_DOTTED = re.compile(r"(?<![\w.])((?:[^\W\d_]\.){1,5}[^\W\d_])\.?(?![\w])")
# "1.4", "para 2.3": a numbered paragraph is one token ("1p4"), never "1" and "4".
_DECIMAL = re.compile(r"(?<![\w.])(\d{1,2})\.(\d{1,2})(?![\w.]*\d)")
# Characters no one types: controls, lone surrogates, private use, unassigned.
_UNTYPABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# Chat shorthand any English-speaking community uses; domain terms belong in the YAML.
SLANG: Mapping[str, str] = MappingProxyType(
    {
        "u": "you",
        "ur": "your",
        "r": "are",
        "y": "why",
        "wat": "what",
        "wut": "what",
        "wht": "what",
        "whats": "what is",
        "wats": "what is",
        "whos": "who is",
        "hows": "how is",
        "wheres": "where is",
        "whens": "when is",
        "ppl": "people",
        "ppls": "people",
        "abt": "about",
        "bout": "about",
        "tho": "though",
        "pls": "please",
        "plz": "please",
        "thx": "thanks",
        "ty": "thanks",
        "b4": "before",
        "w": "with",
        "govt": "government",
        "gov": "government",
        "dont": "do not",
        "doesnt": "does not",
        "didnt": "did not",
        "isnt": "is not",
        "wasnt": "was not",
        "cant": "can not",
        "cannot": "can not",
        "wont": "will not",
        "whats'": "what is",
        "im": "i am",
        "rn": "now",
        "gimme": "give me",
        "lemme": "let me",
        "dunno": "do not know",
        "idk": "i do not know",
        "nukes": "nuclear weapons",
        "nuke": "nuclear weapon",
    }
)

# Words so common in any question that they say nothing about the topic.
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with about from into onto over than then
    is are was were be been being am do does did done doing have has had having will would
    shall should can could may might must it its it's this that these those there here
    i me my we our us you your he she they them their his her him what which whom whose
    so such very really just also too any some all as not no yes please thanks thank
    tell know want wanna gonna say says said explain mean means meant give show get got
    hey hi hello lol ok okay pls bot thing things stuff like basically actually anyway
    guys folks quick question q one ones bit little kind sort out up again now though
    let lets info information details detail""".split()
)

_ORDINALS = MappingProxyType(
    {
        "first": 1,
        "1st": 1,
        "second": 2,
        "2nd": 2,
        "third": 3,
        "3rd": 3,
        "fourth": 4,
        "4th": 4,
        "forth": 4,
        "fifth": 5,
        "5th": 5,
        "sixth": 6,
        "6th": 6,
        "seventh": 7,
        "7th": 7,
        "eighth": 8,
        "8th": 8,
        "ninth": 9,
        "9th": 9,
        "tenth": 10,
        "10th": 10,
    }
)
_CARDINALS = MappingProxyType(
    {
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
    }
)
_ITEM_NOUNS = (
    r"(?:urgent\s+)?(?:actions?|recommendations?|recs?|recomendations?|reccomendations?"
    r"|reccommendations?|points?|items?|steps?|measures?|proposals?|proposed\s+actions?)"
)
_NUMBER_WORD = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)"
_ORDINAL_WORD = r"(?:" + "|".join(_ORDINALS) + r"|last|final)"
# "recommendation 4", "action #4", "rec no. 4", "point number four"
_NOUN_THEN_NUMBER = re.compile(
    rf"\b{_ITEM_NOUNS}\s*(?:number\s+|no\s*|nr\s*|n\s*)?#?\s*({_NUMBER_WORD})\b(?!\s*(?:year|%))"
)
# "the fourth action", "4th recommendation", "the last urgent action", "the 4th one"
_ORDINAL_THEN_NOUN = re.compile(
    rf"\b({_ORDINAL_WORD})\s+(?:of\s+(?:the|their|its)\s+)?(?:(?:seven|7|urgent|proposed|main|key)\s+)*"
    rf"(?:{_ITEM_NOUNS}|one)\b"
)
# "number 4 on the list", "#4"
_ONLY_NUMBER = re.compile(rf"^(?:number\s+)?({_NUMBER_WORD})$")  # the whole question: "5", "#5"
_BARE_NUMBER = re.compile(rf"(?:^|\s)(?:number\s+({_NUMBER_WORD})|no\s+(\d{{1,2}}))\b(?!\s+of\b)")


def clean(text: str) -> str:
    """Lower-case ASCII-ish words separated by single spaces; markup and accents gone."""
    text = strip_accents(DISCORD_MARKUP.sub(" ", _UNTYPABLE.sub(" ", text)))
    text = _DOTTED.sub(lambda m: m.group(1).replace(".", ""), text)
    text = _DECIMAL.sub(r"\1p\2", text)
    text = _APOSTROPHE.sub("", text)
    text = _HASH_NUMBER.sub(r" number \1", text)  # "rec #2", "#5"
    text = _NON_WORD.sub(" ", text)
    text = _UNDERSCORE_RUN.sub(" ", text)
    return " ".join(text.split())


def item_number(cleaned: str, last: int) -> int | None:
    """The list position a question points at ("the fourth action" -> 4), if any.

    ``last`` is the number of items, so "the last action" resolves; a count such as
    "the seven actions" is not a position and returns None.
    """
    return in_range(requested_item(cleaned, last), last)


def in_range(number: int | None, last: int) -> int | None:
    """``number`` if it is a position in a list of ``last`` items, else None."""
    return number if number is not None and 1 <= number <= max(last, 1) else None


def requested_item(cleaned: str, last: int) -> int | None:
    """The list position asked for, even one past the end ("recommendation 9")."""
    for pattern in (_NOUN_THEN_NUMBER, _ORDINAL_THEN_NOUN, _BARE_NUMBER, _ONLY_NUMBER):
        match = pattern.search(cleaned)
        if match:
            word = next(g for g in match.groups() if g)
            number = _word_number(word, last)
            if number is not None:
                return number
    return None


def _word_number(word: str, last: int) -> int | None:
    if word.isdigit():
        return int(word)
    if word in ("last", "final"):
        return last
    return _ORDINALS.get(word) or _CARDINALS.get(word)


def looks_like_question(text: str) -> bool:
    """Whether a channel message reads as a question, not chatter (for unprompted replies)."""
    stripped = DISCORD_MARKUP.sub(" ", text).strip()
    if "?" in stripped:
        return len(clean(stripped).split()) >= 2
    words = clean(stripped).split()
    if len(words) < 3:
        return False
    starters = {
        "what",
        "whats",
        "who",
        "whos",
        "whom",
        "which",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "has",
        "have",
        "had",
        "wat",
        "wht",
        "explain",
        "tell",
        "define",
        "describe",
        "any",
        "anyone",
        "summarise",
        "summarize",
        "list",
    }
    return words[0] in starters or (
        words[0] in {"so", "ok", "hey", "and", "but"} and words[1] in starters
    )


class Normaliser:
    """Folds synonyms and slang and stems words; built once per knowledge version."""

    __slots__ = ("_pattern", "_phrases", "_stem", "_table")

    def __init__(self, synonyms: Mapping[str, tuple[str, ...]]) -> None:
        table: dict[str, str] = {}
        for canon, variants in synonyms.items():
            token = "_".join(clean(canon).split())
            for phrase in (canon, *variants):
                key = " ".join(SLANG.get(w, w) for w in clean(phrase).split())
                if token and key:
                    table.setdefault(key, token)
        phrases = sorted(table, key=len, reverse=True)
        self._table: Mapping[str, str] = MappingProxyType(table)
        self._phrases = [p for p in table if " " in p]
        self._pattern = (
            re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b")
            if phrases
            else None
        )
        # Bounded, per-instance: index building repeats words a lot; user input must not grow it.
        self._stem = lru_cache(maxsize=65_536)(snowballstemmer.stemmer("english").stemWord)

    def tokens(self, text: str) -> list[str]:
        """Content-bearing tokens of ``text`` in order (duplicates kept)."""
        return [token for _, token in self.terms(clean(text))]

    def terms(self, cleaned: str, *, known: Container[str] | None = None) -> list[tuple[str, str]]:
        """(surface word, token) pairs. A multi-word synonym yields its folded token and
        its parts, so "nukes" still meets a phrasing that only says "nuclear". Given the
        ``known`` tokens, a question with an unknown word is read again with misspelt
        multi-word synonyms folded ("european leadership netwrok")."""
        words = " ".join(SLANG.get(w, w) for w in cleaned.split())
        if self._pattern is not None:
            table = self._table
            words = self._pattern.sub(lambda m: table[m.group(0)], words)
        out = self._split(words)
        if known is not None and self._phrases and any(t not in known for _, t in out):
            out = self._split(self._fold_misspelt(words.split()))
        return out

    def _split(self, words: str) -> list[tuple[str, str]]:
        stem = self._stem
        out: list[tuple[str, str]] = []
        for word in words.split():
            if "_" in word:
                out.append((word, word))
                out.extend((part, stem(part)) for part in word.split("_") if part not in STOPWORDS)
            else:
                out.append((word, stem(word)))
        return out

    def _fold_misspelt(self, words: list[str]) -> str:
        """Replace the longest run of 2-4 words close to a multi-word synonym (ratio >= 90)."""
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in (4, 3, 2):
                window = words[i : i + n]
                if len(window) < n or any("_" in w for w in window):
                    continue
                phrase = " ".join(window)
                hit = process.extractOne(phrase, self._phrases, scorer=fuzz.ratio, score_cutoff=90)
                if hit is not None and len(phrase) >= 8:
                    out.append(self._table[hit[0]])
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)

    @staticmethod
    def is_stopword(token: str) -> bool:
        return token in _STOP_STEMS


_STOP_STEMS = frozenset(snowballstemmer.stemmer("english").stemWords(sorted(STOPWORDS)))
