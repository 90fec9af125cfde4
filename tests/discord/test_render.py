"""What the bot shows stays inside Discord's limits whatever the knowledge holds, and pings
nobody: checked on the embeds discord.py would send."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest

from bot.core.knowledge import Knowledge, Passage, Problem, Source, load
from bot.core.matching import Status
from bot.core.service import ReloadOutcome
from bot.core.surface import COMMAND_LINE, CONSOLE
from bot.core.text import clip
from bot.discord import render
from tests.conftest import SHIPPED_KNOWLEDGE

from .conftest import make_entry, make_match

HUGE = "word " * 2_000  # 10,000 characters: more than any Discord field holds


def assert_within_limits(embed: discord.Embed) -> dict[str, Any]:
    """Every documented embed limit, on the payload discord.py sends."""
    data = embed.to_dict()
    assert len(data.get("title", "")) <= render.TITLE_MAX
    assert len(data.get("description", "")) <= render.DESCRIPTION_MAX
    fields = data.get("fields", [])
    assert len(fields) <= 25
    for f in fields:
        assert 0 < len(f["name"]) <= render.FIELD_NAME_MAX
        assert 0 < len(f["value"]) <= render.FIELD_VALUE_MAX
    footer = data.get("footer", {}).get("text", "")
    assert len(footer) <= render.FOOTER_MAX
    assert len(embed) <= render.EMBED_TOTAL_MAX  # discord.py counts as Discord does
    return dict(data)


# --- clip ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abcde", 5, "abcde"),  # exactly at the limit: untouched
        ("abcdef", 5, "abcd…"),  # one over: cut, and the cut is marked
        ("  abc  ", 3, "abc"),  # surrounding space does not count
        ("ab   cdef", 6, "ab…"),  # no space left dangling before the mark
        ("", 5, ""),
    ],
)
def test_clip_keeps_text_within_the_limit_and_marks_the_cut(
    text: str, limit: int, expected: str
) -> None:
    assert clip(text, limit) == expected
    assert len(clip(text, limit)) <= limit


def test_button_labels_fit_discord() -> None:
    assert render.label("x" * 80) == "x" * 80
    assert len(render.label("x" * 81)) == render.LABEL_MAX
    assert render.label("x" * 81).endswith("…")


# --- answer cards -------------------------------------------------------------------------


def test_answer_card_shows_the_answer_its_sources_and_confidence() -> None:
    entry = make_entry(id="signatories", question="Who signed?", answer="145 people.")
    data = assert_within_limits(render.answer_embed(entry, 0.916))
    assert data["title"] == "Who signed?"
    assert data["description"] == "145 people."
    assert data["fields"] == [
        {"name": "Sources", "value": "[NATO Watch](https://natowatch.org/)", "inline": False}
    ]
    assert data["footer"]["text"] == "Confidence 92% · entry: signatories"


def test_a_picked_entry_has_no_confidence() -> None:
    data = render.answer_embed(make_entry(id="picked")).to_dict()
    assert data["footer"]["text"] == "entry: picked"


def test_oversized_entries_are_clipped_to_every_limit() -> None:
    sources = tuple(Source(f"Title {i} " + "t" * 250, f"https://x.org/{i}") for i in range(10))
    entry = make_entry(
        question=HUGE, answer=HUGE, sources=sources, passage=(Passage(HUGE), Passage(HUGE))
    )
    for embed in (render.answer_embed(entry, 0.99), render.passage_embed(entry)):
        data = assert_within_limits(embed)
        assert data["title"].endswith("…") and data["description"].endswith("…")


def test_sources_stop_before_the_field_overflows() -> None:
    sources = tuple(Source(f"Document {i}", f"https://x.org/{'p' * 80}/{i}") for i in range(30))
    value = render.sources_text(make_entry(sources=sources))
    assert len(value) <= render.FIELD_VALUE_MAX
    lines = value.splitlines()
    assert 1 < len(lines) < 30  # as many whole links as fit, none cut in half
    assert all(line.startswith("[Document ") and line.endswith(")") for line in lines)


def test_a_source_too_long_for_a_link_is_shown_as_its_url() -> None:
    url = "https://x.org/" + "p" * 2_000
    value = render.sources_text(make_entry(sources=(Source("Long", url),)))
    assert len(value) == render.FIELD_VALUE_MAX and value.startswith("https://x.org/ppp")


def test_brackets_in_source_titles_cannot_break_the_link() -> None:
    value = render.sources_text(make_entry(sources=(Source("A [draft] text", "https://x.org"),)))
    assert value == "[A (draft) text](https://x.org)"


HOSTILE = "https://nato.int/)[Official NATO page](https://evil.example/login"


@pytest.mark.parametrize("url", [HOSTILE, HOSTILE.replace(" ", "_")])
def test_a_url_cannot_add_a_second_link_even_unvalidated(url: str) -> None:
    value = render.sources_text(make_entry(sources=(Source("NATO", url),)))
    assert value.count("](") == 1 and value.startswith("[NATO](https://nato.int/%29%5BOfficial")
    assert value.endswith("%5D%28https://evil.example/login)")
    assert " " not in value


def test_markdown_in_a_source_title_shows_as_typed() -> None:
    title = "**Bold** _it_ `code` <@123> ~~gone~~ ||spoiler|| back\\slash"
    value = render.sources_text(make_entry(sources=(Source(title, "https://x.org"),)))
    assert value == (
        "[\\*\\*Bold\\*\\* \\_it\\_ \\`code\\` \\<@123\\> \\~\\~gone\\~\\~ "
        "\\|\\|spoiler\\|\\| back\\\\slash](https://x.org)"
    )


@pytest.mark.parametrize(
    "text",
    ["[Official NATO page](https://evil.example/login)", "a*b_c~d|e`f<g>h\\i]j[k", "plain words?"],
)
def test_plain_escapes_markdown_and_nothing_else(text: str) -> None:
    shown = render.plain(text)
    assert re.sub(r"\\(.)", r"\1", shown) == text  # Discord drops each escaping backslash
    assert not re.search(r"(?<!\\)[\[\]*_~|`<>]", shown)


def test_questions_in_lists_cannot_carry_links() -> None:
    sneaky = make_entry(id="a", question="[Official NATO page](https://evil.example/login)")
    for embed in (
        render.unsure_embed(make_match(Status.UNSURE, sneaky)),
        render.topic_embed("t", [sneaky]),
    ):
        description = embed.to_dict()["description"]
        assert "\\[Official NATO page\\](https://evil.example/login)" in description


def test_a_passage_is_quoted_as_written_without_markdown() -> None:
    entry = make_entry(passage=(Passage("See [the page](https://evil.example) *now*"),))
    description = render.passage_embed(entry).to_dict()["description"]
    assert "> See \\[the page\\](https://evil.example) \\*now\\*" in description


def test_a_passage_source_cannot_end_its_angle_brackets() -> None:
    entry = make_entry(passage=(Passage("Words.", "https://x.org/a> [b](https://evil.example)"),))
    description = render.passage_embed(entry).to_dict()["description"]
    assert "Read at <https://x.org/a%3E%20%5Bb%5D%28https://evil.example%29>" in description


def test_passage_is_quoted_verbatim_and_a_missing_one_says_so() -> None:
    quoted = render.passage_embed(
        make_entry(passage=(Passage("The  text\nas   written."),))
    ).to_dict()
    assert "> The text as written." in quoted["description"]
    bare = render.passage_embed(make_entry()).to_dict()
    assert "background sources" in bare["description"]


# --- other cards ----------------------------------------------------------------------------


def test_unsure_card_lists_the_suggestions() -> None:
    first, second = make_entry(id="a", question="First?"), make_entry(id="b", question=HUGE)
    data = assert_within_limits(render.unsure_embed(make_match(Status.UNSURE, first, second)))
    assert data["title"] == render.UNSURE_TITLE
    lines = data["description"].splitlines()
    assert lines[0] == "• First?" and len(lines[1]) <= 202


def test_topic_card_lists_questions_or_says_there_are_none(knowledge: Knowledge) -> None:
    tag = knowledge.tags[0]
    data = assert_within_limits(render.topic_embed(tag, knowledge.by_tag[tag]))
    assert data["title"] == f"Topic: {tag}"
    assert data["description"].startswith("• ")
    empty = render.topic_embed("x" * 300, []).to_dict()
    assert len(empty["title"]) == render.TITLE_MAX
    assert empty["description"] == "No questions under this topic yet."


def test_sources_card_lists_each_source_once_within_limits() -> None:
    entries = tuple(
        make_entry(id=f"e{i}", sources=(Source(f"Doc {i % 50}", f"https://x.org/{i % 50}"),))
        for i in range(200)
    )
    data = assert_within_limits(render.sources_embed(Knowledge(entries)))
    links = [line for f in data["fields"] for line in f["value"].splitlines()]
    assert len(links) == len(set(links)) and links[0] == "[Doc 0](https://x.org/0)"
    assert [f["name"] for f in data["fields"]] == ["Documents", "More"]  # 50 links: two fields


@pytest.mark.parametrize("answer_channels", [False, True])
def test_help_card_mentions_answer_channels_only_when_there_are_some(
    answer_channels: bool,
) -> None:
    data = assert_within_limits(render.help_embed(answer_channels))
    assert ("answer channel" in data["description"]) is answer_channels
    assert "/ask" in data["description"]


# --- texts ------------------------------------------------------------------------------------


def test_slow_down_never_says_wait_zero() -> None:
    assert render.slow_down(0.001) == render.SLOW_DOWN_TEXT.format(seconds=1)
    assert render.slow_down(4.2) == render.SLOW_DOWN_TEXT.format(seconds=5)


def test_reload_summary_says_what_is_served_or_why_a_file_was_rejected() -> None:
    swapped = render.reload_summary(ReloadOutcome(swapped=True), 42)
    assert swapped == "🔄 Knowledge reloaded from disk: 42 entries now served."
    problems = tuple(Problem(f"problem {i}", "faq.yaml", line=i) for i in range(15))
    rejected = render.reload_summary(ReloadOutcome(swapped=False, problems=problems), 42)
    assert "still serving the last good version" in rejected
    assert rejected.count("• ") == 10  # the first ten; the file itself says the rest
    unreadable = render.reload_summary(ReloadOutcome(swapped=False, message="not valid YAML"), 1)
    assert unreadable.endswith("\nnot valid YAML")


def test_a_passage_read_elsewhere_says_where() -> None:
    page = Passage("Words from the page.", "https://example.org/page")
    quoted = render.passage_embed(make_entry(passage=(page,))).to_dict()
    assert "> Words from the page.\nRead at <https://example.org/page>" in quoted["description"]


def test_no_shipped_answer_names_the_wrong_surfaces_commands() -> None:
    """Offline answers never name a slash command; Discord answers never an eln-bot one."""
    shipped, _ = load(SHIPPED_KNOWLEDGE)
    slash = re.compile(r"`/(?:ask|topics|recommendation|sources|help)\b")
    for entry in shipped.entries:
        for surface in (COMMAND_LINE, CONSOLE):
            assert not slash.search(surface.fill(entry.answer)), entry.id
        assert "eln-bot" not in render.DISCORD.fill(entry.answer), entry.id
        assert "{" not in render.DISCORD.fill(entry.answer), entry.id
