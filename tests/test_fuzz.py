"""Bounded property-based fuzzing (hypothesis) of everything that reads untrusted text.

* the normaliser and matcher on arbitrary Unicode and on chat-like text (domain words,
  Discord markup, code fences, zero-width and right-to-left characters, emoji, combining
  marks): never raise, decide sensibly;
* the knowledge loader on arbitrary text and on mutated copies of real knowledge files:
  a ``Knowledge`` or a ``KnowledgeError`` with readable problems, nothing else;
* moderator input stored through ``KnowledgeStore``: kept verbatim through the overlay,
  the change log, a rebuild and an export, and rendered without pinging anyone.

Every property is bounded by its ``max_examples``, never by the clock: ``deadline=None``
and the "too slow" health check off, so a loaded machine runs the same examples more
slowly instead of failing. How fast matching is belongs to ``benchmarks/bench_matching.py``.
``--hypothesis-show-statistics`` shows how many examples each property ran.
"""

from __future__ import annotations

import copy
import datetime
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import discord
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.core.knowledge import (
    KNOWN_FIELDS,
    Knowledge,
    KnowledgeError,
    fold,
    load,
    parse_document,
    parse_text,
)
from bot.core.matching import Match, Matcher, Status
from bot.core.normalise import Normaliser, clean, item_number, looks_like_question
from bot.core.surface import LITERAL_COMMAND, PLACEHOLDER
from bot.discord import render
from tests.conftest import SHIPPED_KNOWLEDGE, TINY_DOC, open_test_store

TEXT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FILES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- shared data ------------------------------------------------------------------------


@cache
def shipped() -> tuple[Knowledge, Matcher]:
    """The shipped knowledge and its matcher, built once: building is the slow part."""
    knowledge, _ = load(SHIPPED_KNOWLEDGE)
    return knowledge, Matcher(knowledge)


def domain_words() -> list[str]:
    knowledge, _ = shipped()
    words = {w for e in knowledge.entries for p in e.phrasings for w in p.split()}
    words |= {w for variants in knowledge.synonyms.values() for v in variants for w in v.split()}
    return sorted(words)


# --- strategies -------------------------------------------------------------------------

MARKUP = [
    "<@123>",
    "<@!123456789012345678>",
    "<@&456>",
    "<@&456789012345678901>",
    "<#789012345678901234>",
    "<:e:1>",
    "<:eln:123456789012345678>",
    "<a:wave:123456789012345678>",
    "</ask:123456789012345678>",
    "<t:1607299200:R>",
    "@everyone",
    "@here",
    "```",
    "```py\nprint('hi')\n```",
    "`code`",
    "**",
    "__",
    "~~",
    "||",
    "> ",
    "# ",
    "-# ",
    "[link](https://example.org/a?b=c)",
    "https://natowatch.org/newsbriefs/2020/x",
    "\\",
]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad", "\u034f"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
BIDI += ["\u200e", "\u200f", "\u061c"]
EMOJI = ["🙂", "👍🏽", "🇪🇺", "👨‍👩‍👧", "❤️", "☢️", "🚀", "🕊️"]
COMBINING = ["\u0301", "\u0308", "\u0327", "\u20dd", "e\u0301", "Z\u0351\u0325\u0353\u0300"]
SPACES = [" ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "\u2028", "\u0085"]
PUNCTUATION = ["?", "??", "!", "...", "'", "’", "#", "#4", "no. 3", "7th", ":", ",", "-", "_"]
TRICKY = ["İ", "ß", "ﬁ", "Ⅶ", "①", "４", "ｎａｔｏ", "НАТО", "Россия", "ناتو", "北约", "ǅ", "ŉ"]


@st.composite
def chat_text(draw: st.DrawFn) -> str:
    """A question as people type it in Discord: mostly domain words, plus noise."""
    words = domain_words()
    piece = st.one_of(
        st.sampled_from(words),
        st.sampled_from(words),
        st.sampled_from(words),
        st.sampled_from(MARKUP),
        st.sampled_from(INVISIBLE),
        st.sampled_from(BIDI),
        st.sampled_from(EMOJI),
        st.sampled_from(COMBINING),
        st.sampled_from(PUNCTUATION),
        st.sampled_from(TRICKY),
        st.text(max_size=8),
    )
    parts = draw(st.lists(st.tuples(piece, st.sampled_from(SPACES + [""] * 4)), max_size=60))
    return "".join(p + s for p, s in parts)


def long_text() -> st.SearchStrategy[str]:
    """Up to 10,000 characters without asking hypothesis for 10,000 separate choices."""
    return st.tuples(
        st.one_of(st.text(min_size=1, max_size=100), chat_text().filter(bool)),
        st.integers(min_value=1, max_value=10_000),
    ).map(lambda pair: (pair[0] * pair[1])[:10_000])


QUESTIONS = st.one_of(st.text(max_size=10_000), chat_text(), long_text())


# --- normaliser and matcher -------------------------------------------------------------


def check_match(matcher: Matcher, question: str, result: Match, *, strict: bool = False) -> None:
    knowledge, th = matcher.knowledge, matcher.thresholds
    assert result.question == question
    assert isinstance(result.status, Status)
    assert 0.0 <= result.score <= 100.0
    assert len(result.candidates) <= 10
    for cand in result.candidates:
        assert 0.0 <= cand.score <= 100.0
        assert knowledge.get(cand.entry.id) is cand.entry
    rest = [c.score for c in result.candidates[1:]]
    assert rest == sorted(rest, reverse=True)
    if result.status is Status.ANSWER:
        assert result.entry is not None and knowledge.get(result.entry.id) is result.entry
        assert result.score >= th.answer + (th.strict_bonus if strict else 0.0)
        assert result.suggestions == ()
    else:
        assert result.entry is None
        assert len(result.suggestions) <= 3
        assert all(knowledge.get(e.id) is e for e in result.suggestions)
    if result.status is Status.UNSURE:
        assert result.score >= th.suggest and result.suggestions
    if result.status is Status.DECLINE:
        assert result.score < th.suggest and result.suggestions == ()
    if result.item is not None:
        assert 1 <= result.item <= knowledge.action_count


@pytest.mark.slow
@TEXT
@given(question=QUESTIONS)
def test_matcher_never_raises_and_decides_sensibly(question: str) -> None:
    _, matcher = shipped()
    check_match(matcher, question, matcher.match(question))
    check_match(matcher, question, matcher.match(question, strict=True), strict=True)


@pytest.mark.slow
@TEXT
@given(question=QUESTIONS)
def test_rank_never_raises(question: str) -> None:
    knowledge, matcher = shipped()
    ranked = matcher.rank(question)
    assert len(ranked) <= 25
    assert all(0.0 <= c.score <= 100.0 and knowledge.get(c.entry.id) for c in ranked)
    if not question.strip():
        assert ranked == []


@pytest.mark.slow
@TEXT
@given(text=QUESTIONS)
def test_normaliser_never_raises(text: str) -> None:
    knowledge, _ = shipped()
    cleaned = clean(text)
    assert cleaned == " ".join(cleaned.split())
    assert re.fullmatch(r"[^\W_]*(?: [^\W_]+)*", cleaned), cleaned
    number = item_number(cleaned, 7)
    assert number is None or 1 <= number <= 7
    assert isinstance(looks_like_question(text), bool)
    tokens = Normaliser(knowledge.synonyms).tokens(text)
    assert all(t and " " not in t for t in tokens)


def test_matcher_examples_of_hostile_input() -> None:
    """Fixed inputs worth keeping whatever hypothesis draws."""
    _, matcher = shipped()
    for question in (
        "",
        " ",
        "\u200b" * 10_000,
        "\u202e?oknats wen si tahw",
        "<@123> <@&456> @everyone @here",
        "```\nWhat is New START?\n```",
        "e\u0301" * 5_000,
        "👍🏽" * 2_500,
        "a" * 10_000,
        "nato " * 2_000,
        "recommendation " * 600 + "4",
    ):
        check_match(matcher, question, matcher.match(question))


# --- the knowledge loader -----------------------------------------------------------------


def _yaml_of(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def _excerpt() -> tuple[str, dict[str, Any]]:
    """A few KB of the shipped file, as written (comments, flow lists) and as data.

    The header, the first synonym groups and the first two entries: PyYAML's pure-Python
    loader takes ~3 ms per KB, and the whole file would leave room for few examples.
    """
    lines = SHIPPED_KNOWLEDGE.read_text(encoding="utf-8").splitlines(keepends=True)
    synonyms = next(i for i, line in enumerate(lines) if line.startswith("synonyms:"))
    entries = next(i for i, line in enumerate(lines) if line.startswith("entries:"))
    starts = [i for i, line in enumerate(lines) if line.startswith("  - id:")]
    raw = "".join(lines[: synonyms + 6] + lines[entries : starts[2]])
    doc = yaml.safe_load(raw)
    for entry in doc["entries"]:
        entry.pop("related", None)
    return raw, doc


EXCERPT_TEXT, EXCERPT_DOC = _excerpt()
BASE_DOCS = [TINY_DOC, EXCERPT_DOC]
BASE_TEXTS = [_yaml_of(TINY_DOC), EXCERPT_TEXT, _yaml_of(EXCERPT_DOC)]
SCALARS = [
    "[1, 2]",
    "[]",
    "{}",
    "{a: b}",
    "42",
    "-1",
    "3.5",
    ".inf",
    ".nan",
    "0x1F",
    "true",
    "no",
    "null",
    "~",
    "''",
    '""',
    "2020-12-07",
    "2020-12-07T10:00:00Z",
    "2020-02-30",
    "!!int twelve",
    "!!binary aGVsbG8=",
    "!!str 7",
    "!!python/object:os.system",
    "*nowhere",
    "&anchor value",
    "|\n  block\n  text",
    ">-\n  folded",
    "'unterminated",
    '"\\x00\\u200b\\U0001F600"',
    "- a\n- b",
    "? complex\n: key",
]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _swap(lines: list[str], i: int, rnd: random.Random, junk: str) -> None:
    j = rnd.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]


def _indent(lines: list[str], i: int, rnd: random.Random, junk: str) -> None:
    stripped = lines[i].lstrip(" ")
    lines[i] = " " * max(0, len(lines[i]) - len(stripped) + rnd.randint(-4, 4)) + stripped


def _insert(lines: list[str], i: int, rnd: random.Random, junk: str) -> None:
    at = rnd.randint(0, len(lines[i]))
    lines[i] = lines[i][:at] + junk + lines[i][at:]


def _scalar(lines: list[str], i: int, rnd: random.Random, junk: str) -> None:
    line = lines[i]
    if ":" in line:
        lines[i] = f"{line.split(':', 1)[0]}: {rnd.choice(SCALARS)}"
    elif line.lstrip().startswith("- "):
        lines[i] = f"{line[: len(line) - len(line.lstrip())]}- {rnd.choice(SCALARS)}"


def _anchor(lines: list[str], i: int, rnd: random.Random, junk: str) -> None:
    key, _, value = lines[i].partition(":")
    j = rnd.randrange(len(lines))
    if value.strip() and ":" in lines[j] and j != i:
        lines[i] = f"{key}: &a{i} {value.strip()}"
        lines[j] = f"{lines[j].split(':', 1)[0]}: *a{i}"


def _nest(lines: list[str], i: int, rnd: random.Random, junk: str) -> None:
    if ":" in lines[i]:
        depth = rnd.choice([1, 2, 10, 100, 1_000])
        lines[i] = f"{lines[i].split(':', 1)[0]}: " + "[" * depth + "x" + "]" * depth


def _delete(lines: list[str], i: int, rnd: random.Random, junk: str) -> None:
    del lines[i]


Mutation = Callable[[list[str], int, random.Random, str], None]
MUTATIONS: dict[str, Mutation] = {
    "delete": _delete,
    "duplicate": lambda lines, i, rnd, junk: lines.insert(i, lines[i]),
    "swap": _swap,
    "indent": _indent,
    "tabs": lambda lines, i, rnd, junk: lines.__setitem__(i, lines[i].replace("  ", "\t", 1)),
    "insert": _insert,
    "scalar": _scalar,
    "anchor": _anchor,
    "nest": _nest,
}
JUNK = st.one_of(
    st.text(min_size=1, max_size=10),
    st.text(alphabet=":-[]{}&*!|>'\"%@`#,?\\ \t\n", min_size=1, max_size=6),
    st.sampled_from(INVISIBLE + BIDI + ["\x00", "\x85", "\ufffe"]),
)


@st.composite
def mutated_yaml(draw: st.DrawFn, bases: list[str] = BASE_TEXTS) -> str:
    """A base document with 1-6 line-level mutations, perhaps truncated.

    Where and what to mutate comes from a seeded ``random.Random`` (hypothesis replays the
    seed): hypothesis's own draws favour small indices, which would mostly hit comments.
    """
    text = draw(st.sampled_from(bases))
    rnd = draw(st.randoms(use_true_random=False))
    for _ in range(rnd.randint(1, 6)):
        lines = _lines(text)
        mutate = MUTATIONS[rnd.choice(sorted(MUTATIONS))]
        mutate(lines, rnd.randrange(len(lines)), rnd, draw(JUNK))
        text = "\n".join(lines)
    if rnd.random() < 0.15:
        text = text[: rnd.randint(0, len(text))]
    return text


ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
)

LOADER_INPUT = st.one_of(
    st.text(max_size=2_000),
    st.text(alphabet=":-[]{}&*!|>'\"%@`#,?\\ \t\nabc0129", max_size=300),
    mutated_yaml(),
    mutated_yaml().map(lambda t: t + "\n" + ALIAS_BOMB),
)


def check_parse(text: str | None, doc: Any = None) -> None:
    """``parse_text(text)`` (or ``parse_document(doc)``) loads or raises KnowledgeError."""
    try:
        if text is not None:
            knowledge, problems = parse_text(text, "fuzz.yaml")
        else:
            knowledge, problems = parse_document(doc, "fuzz.yaml")
    except KnowledgeError as exc:
        assert exc.problems, "KnowledgeError without problems"
        assert any(p.severity == "error" for p in exc.problems)
        lines = text.count("\n") + 2 if text is not None else None
        for problem in exc.problems:
            assert isinstance(problem.message, str) and problem.message.strip()
            assert problem.severity in {"error", "warning"}
            assert str(problem).strip()
            assert problem.line is None or lines is None or 1 <= problem.line <= lines
        assert str(exc).strip()
        return
    assert knowledge.entries
    for problem in problems:
        assert problem.severity == "warning" and problem.message.strip()


ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    8,
    100,
    3.5,
    float("inf"),
    "",
    " ",
    "\u200b",
    "\u202e",
    "x" * 1_300,
    "not a url",
    "https://example.org/ok",
    "new-start",
    "UPPER_case id",
    [],
    {},
    ["a"],
    [None],
    [[]],
    [{}],
    {"a": 1},
    {"title": 1, "url": None},
    {"title": "t", "url": "https://example.org"},
    datetime.date(2020, 12, 7),
    b"bytes",
]
FIELD_NAMES = sorted(KNOWN_FIELDS | {"version", "title", "synonyms", "entries", "zzz", "Answer"})


@st.composite
def mutated_document(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with 1-4 values replaced, deleted or added at random depths."""
    doc: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(BASE_DOCS)))
    rnd = draw(st.randoms(use_true_random=False))
    for _ in range(rnd.randint(1, 4)):
        node: Any = doc
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = rnd.choice(keys)
            child = node[key]
            if isinstance(child, dict | list) and child and rnd.random() < 0.7:
                node = child
                continue
            value = copy.deepcopy(rnd.choice(ODD_VALUES))
            action = rnd.choice(["replace", "delete", "add"])
            if action == "replace":
                node[key] = value
            elif action == "delete":
                del node[key]
            elif isinstance(node, dict):
                node[rnd.choice(FIELD_NAMES)] = value
            else:
                node.insert(rnd.randint(0, len(node)), value)
            break
    return doc


@settings(TEXT, max_examples=300)
@given(doc=mutated_document())
def test_loader_on_mutated_documents(doc: dict[str, Any]) -> None:
    check_parse(None, doc)  # what the store validates: already-parsed data
    check_parse(_yaml_of(doc))  # and the same as a file


@settings(TEXT, max_examples=400)
@given(text=LOADER_INPUT)
def test_loader_returns_knowledge_or_knowledge_error(text: str) -> None:
    check_parse(text)


@settings(FILES, max_examples=25)
@given(text=mutated_yaml([SHIPPED_KNOWLEDGE.read_text(encoding="utf-8")]))
def test_loader_on_the_mutated_shipped_file(text: str) -> None:
    check_parse(text)


def test_unmutated_bases_load() -> None:
    for text in BASE_TEXTS[::2]:  # the tiny file and the re-dumped excerpt are valid
        knowledge, _ = parse_text(text)
        assert knowledge.entries


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\ntitle: 2020-02-30\nentries: []\n",
        "version: 1\nentries:\n  - id: x\n    question: 2021-13-01\n",
        "a: !!int xyz\n",
        "a: !!float abc\n",
        "a: !!timestamp 2020-13-99\n",
    ],
)
def test_loader_rejects_bad_scalars_with_knowledge_error(text: str) -> None:
    with pytest.raises(KnowledgeError):
        parse_text(text)


@pytest.mark.parametrize("text", ["[" * 2_000, "- " * 2_000 + "x", "{a: " * 2_000])
def test_loader_rejects_deep_nesting_with_knowledge_error(text: str) -> None:
    with pytest.raises(KnowledgeError):
        parse_text(text)


# --- moderator input through the store, and how it is rendered -------------------------

MODERATOR_PIECES = [
    "@everyone",
    "@here",
    "<@123>",
    "<@!123>",
    "<@&456>",
    "<#789>",
    "**bold**",
    "__under__",
    "*it*",
    "~~gone~~",
    "||spoiler||",
    "`code`",
    "```py\nprint(1)\n```",
    "> quote",
    "# Heading",
    "[link](https://example.org)",
    "<https://example.org>",
    *INVISIBLE,
    *BIDI,
    *EMOJI,
    *COMBINING,
    "\n",
    "\r\n",
    "\t",
    "\x85",
    "\u2028",
    "\x00",
    "\x1b[31m",
    "'",
    '"',
    ": ",
    "- ",
    "&a",
    "*a",
    "!!str",
    "%",
    "{",
    "}",
    "[",
    "]",
    "|",
    ">",
    "\\",
    "---",
    "...",
]
moderator_text = st.lists(
    st.one_of(st.sampled_from(MODERATOR_PIECES), st.text(min_size=1, max_size=12)),
    min_size=1,
    max_size=25,
).map("".join)


@pytest.fixture(scope="module")
def tiny_shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shipped") / "faq.yaml"
    path.write_text(_yaml_of(TINY_DOC), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Path]]:
    base = tmp_path_factory.mktemp("stores")

    def fresh() -> Path:
        return Path(tempfile.mkdtemp(dir=base))

    yield fresh
    shutil.rmtree(base, ignore_errors=True)


def _entry(doc: dict[str, Any], entry_id: str) -> dict[str, Any]:
    return next(e for e in doc["entries"] if e["id"] == entry_id)


def _same(a: str, b: str) -> bool:
    return a.encode("utf-8") == b.encode("utf-8")


@pytest.mark.slow
@settings(FILES, max_examples=100)
@given(
    phrase=moderator_text.filter(lambda s: len(s) <= 300 and s.strip() and fold(s)),
    answer=moderator_text.filter(lambda s: len(s) <= 1_200 and s.strip()),
    by=moderator_text,
)
def test_moderator_text_is_stored_verbatim_and_rendered_harmlessly(
    tiny_shipped: Path, data_dirs: Callable[[], Path], phrase: str, answer: str, by: str
) -> None:
    taken = {fold(p) for e in TINY_DOC["entries"] for p in [e["question"], *e["alternates"]]}
    assume(fold(phrase) not in taken)
    assume(by.strip())
    # Commands are named through placeholders (checked, and filled per surface): the
    # verbatim promise holds for text that names none.
    assume(not LITERAL_COMMAND.search(answer) and not PLACEHOLDER.search(answer))
    data = data_dirs()
    store = open_test_store(tiny_shipped, data)
    store.alias("signatories", phrase, by=by)
    change = store.edit("new-start", {"answer": answer}, by=by)
    assert change.by == by.strip()[:100]

    def verify(doc: dict[str, Any]) -> None:
        assert _same(_entry(doc, "new-start")["answer"], answer)
        alternates = _entry(doc, "signatories")["alternates"]
        assert any(_same(a, phrase) for a in alternates)

    verify(store.merged_document())
    verify(open_test_store(tiny_shipped, data).merged_document())  # re-read from disk
    with store.database.write() as conn:  # lose the derived edits: the history rebuilds them
        conn.exec_driver_sql("DELETE FROM overlays")
    assert store.rebuild()
    verify(open_test_store(tiny_shipped, data).merged_document())

    knowledge = store.knowledge()  # validation strips surrounding whitespace, nothing else
    entry = knowledge.get("new-start")
    assert entry is not None and _same(entry.answer, answer.strip())
    signatories = knowledge.get("signatories")
    assert signatories is not None and phrase.strip() in signatories.alternates
    exported, _ = parse_text(store.export_yaml(), "export")
    assert exported.get("new-start") == entry
    assert exported.get("signatories") == signatories

    embed = render.answer_embed(entry, confidence=0.87)
    assert _same(embed.description or "", entry.answer)  # the answer is never cut or escaped
    assert embed.title == entry.question
    assert len(embed) <= render.EMBED_TOTAL_MAX
    payload = {
        "embeds": [embed.to_dict()],
        "allowed_mentions": discord.AllowedMentions.none().to_dict(),
    }
    assert_pings_nobody(payload)


def assert_pings_nobody(payload: dict[str, Any]) -> None:
    """Discord pings only what ``allowed_mentions`` allows, whatever the text says."""
    allowed = payload["allowed_mentions"]
    assert allowed["parse"] == []
    assert not allowed.get("users") and not allowed.get("roles")
    assert allowed.get("replied_user") in (None, False)


def test_the_bot_defaults_to_no_mentions(tiny_shipped: Path, tmp_path: Path) -> None:
    from bot.config import Settings  # noqa: PLC0415
    from bot.discord.bot import build_services, create_bot  # noqa: PLC0415 - discord.py

    settings = Settings(knowledge_path=tiny_shipped, data_dir=tmp_path / "data")
    bot = create_bot(settings, build_services(settings))
    assert bot.allowed_mentions is not None
    assert_pings_nobody({"allowed_mentions": bot.allowed_mentions.to_dict()})


def test_tiny_shipped_file_is_the_tiny_doc(tiny_shipped: Path) -> None:
    """The tiny document stands in for the shipped one in the store property."""
    assert copy.deepcopy(TINY_DOC) == yaml.safe_load(tiny_shipped.read_text(encoding="utf-8"))
