"""Build what the bot shows: embeds and message text, always inside Discord's limits.

Limits (from Discord's API description): content 2,000; embed title 256, description
4,096, field name 256 / value 1,024, footer 2,048, 25 fields, 6,000 characters in all;
button labels 80; select option labels 100; autocomplete choice names 100.

Words others wrote (questions, titles, tags) are shown as typed (``plain``), and a source
link goes only where its URL says (``link``), whatever the knowledge holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from urllib.parse import quote

import discord

from bot.core.knowledge import URL_CHARACTERS, Entry, Knowledge
from bot.core.matching import Match
from bot.core.service import ReloadOutcome
from bot.core.surface import Surface
from bot.core.text import clip

CONTENT_MAX = 2_000
TITLE_MAX = 256
DESCRIPTION_MAX = 4_096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1_024
FOOTER_MAX = 2_048
EMBED_TOTAL_MAX = 6_000
LABEL_MAX = 80
OPTION_MAX = 100
CHOICE_MAX = 100

LINK_TEXT_MAX = 200  # a source title in a link; with the longest URL it fits one field
#: Markdown that formats text, opens a link, or shows a mention or timestamp.
_MARKDOWN = re.compile(r"[\\*_~|`\[\]<>]")
_URL_SAFE = "".join(sorted(URL_CHARACTERS))

COLOUR_ANSWER = discord.Colour(0x2B6CB0)
COLOUR_UNSURE = discord.Colour(0xD69E2E)
COLOUR_INFO = discord.Colour(0x4A5568)

DECLINE_TEXT = (
    "Sorry, I don't know that one. I answer questions about the ELN's December 2020 "
    "recommendations on NATO-Russia military risk reduction, the NATO 2030 report and the "
    "treaties they discuss. Try `/ask` or browse `/topics`."
)
UNSURE_TITLE = "Did you mean…"
OUT_OF_RANGE_TEXT = (
    "There are {count} urgent actions, numbered 1 to {count}. Ask for one of them, "
    "or use `/recommendation`."
)
SMALLTALK_HINT = "Slash commands: `/ask`, `/topics`, `/recommendation`, `/sources`, `/help`."
#: How answers name commands here (see bot.core.surface).
DISCORD = Surface(
    sources="`/sources`",
    recommendation="`/recommendation`",
    how_to_ask=(
        "Ask by mentioning me, in a DM, or in an answer channel. Slash commands: `/ask` (ask a "
        "question), `/topics` (what I can answer), `/recommendation` (one of the seven urgent "
        "actions by number), `/sources` (links to the original documents) and `/help`."
    ),
)
TOO_LONG_TEXT = "That question is over {limit} characters. Could you ask it more briefly?"
SLOW_DOWN_TEXT = "You're going quickly! Please wait {seconds} s and try again."


def slow_down(wait: float) -> str:
    """Never "wait 0 s", never less than the limiter needs."""
    return SLOW_DOWN_TEXT.format(seconds=max(1, math.ceil(wait)))


def plain(text: str) -> str:
    """``text`` shown as typed: markdown, links and mentions in it do nothing.

    For words others wrote (moderators' questions and titles, members' questions): they
    cannot format the bot's message or slip a disguised link into it.
    """
    return _MARKDOWN.sub(lambda m: "\\" + m.group(0), text)


def safe_url(url: str) -> str:
    """``url`` percent-encoded wherever it could end a markdown link or ``<…>``.

    Knowledge validation already refuses such URLs; this is the second line of defence,
    and leaves a plain URL as it is.
    """
    return quote(url, safe=_URL_SAFE)


def link(title: str, url: str) -> str:
    """``[title](url)`` that shows the title literally and goes only to ``url``.

    Discord reads no escapes inside link text, so brackets in a title become parentheses.
    """
    text = clip(title.replace("[", "(").replace("]", ")"), LINK_TEXT_MAX)
    return f"[{plain(text)}]({safe_url(url)})"


def sources_text(entry: Entry, limit: int = FIELD_VALUE_MAX) -> str:
    """As many whole source links as fit ``limit``; the first URL alone if none does."""
    lines: list[str] = []
    for source in entry.sources:
        line = link(source.title, source.url)
        if len("\n".join([*lines, line])) > limit:
            break
        lines.append(line)
    first = entry.sources[0]
    return "\n".join(lines) or _link(first.title, first.url, limit)


def answer_embed(entry: Entry, confidence: float | None = None) -> discord.Embed:
    """The answer card: question as title, answer, sources, and confidence in the footer
    (the decision model's probability that this is the right answer)."""
    embed = discord.Embed(
        title=clip(entry.question, TITLE_MAX),
        description=clip(DISCORD.fill(entry.answer), DESCRIPTION_MAX),
        colour=COLOUR_ANSWER,
    )
    embed.add_field(name="Sources", value=sources_text(entry), inline=False)
    footer = f"entry: {entry.id}"
    if confidence is not None:
        footer = f"Confidence {confidence:.0%} · {footer}"
    embed.set_footer(text=clip(footer, FOOTER_MAX))
    return embed


def passage_embed(entry: Entry) -> discord.Embed:
    """The source passage an answer rests on, quoted verbatim."""
    if entry.passage:
        quoted = "\n\n".join(
            "> "
            + plain(" ".join(p.text.split()))
            + (f"\nRead at <{safe_url(p.source)}>" if p.source else "")
            for p in entry.passage
        )
        body = f"The answer rests on this passage of the source:\n{quoted}"
    else:
        body = "This answer draws on the background sources below rather than the news brief."
    embed = discord.Embed(
        title=clip(f"Source for: {entry.question}", TITLE_MAX),
        description=clip(body, DESCRIPTION_MAX),
        colour=COLOUR_INFO,
    )
    embed.add_field(name="Sources", value=sources_text(entry), inline=False)
    return embed


def unsure_embed(match: Match) -> discord.Embed:
    lines = [f"• {plain(clip(e.question, 200))}" for e in match.suggestions]
    return discord.Embed(
        title=UNSURE_TITLE,
        description=clip("\n".join(lines), DESCRIPTION_MAX),
        colour=COLOUR_UNSURE,
    )


def topic_embed(tag: str, entries: Sequence[Entry]) -> discord.Embed:
    lines = [f"• {plain(clip(e.question, 150))}" for e in entries]
    embed = discord.Embed(
        title=clip(f"Topic: {tag}", TITLE_MAX),
        description=clip("\n".join(lines) or "No questions under this topic yet.", DESCRIPTION_MAX),
        colour=COLOUR_INFO,
    )
    embed.set_footer(text="Pick a question below to see its answer.")
    return embed


def sources_embed(knowledge: Knowledge) -> discord.Embed:
    """Every distinct source cited, the primary documents first."""
    seen: dict[str, str] = {}
    for entry in knowledge.entries:
        for s in entry.sources:
            seen.setdefault(s.url, s.title)
    embed = discord.Embed(title="Sources", colour=COLOUR_INFO)
    lines = [_link(t, u) for u, t in seen.items()]
    chunk: list[str] = []
    for line in lines:
        if len("\n".join([*chunk, line])) > FIELD_VALUE_MAX:
            _add_chunk(embed, chunk)
            chunk = []
        chunk.append(line)
    _add_chunk(embed, chunk)
    return embed


def _link(title: str, url: str, limit: int = FIELD_VALUE_MAX) -> str:
    """A markdown link; just the URL (Discord links it) when the link would not fit a field."""
    line = link(title, url)
    return line if len(line) <= limit else clip(safe_url(url), limit)


def _add_chunk(embed: discord.Embed, chunk: list[str]) -> None:
    if not chunk or len(embed.fields) >= 5:
        return
    name = "Documents" if not embed.fields else "More"
    embed.add_field(name=name, value="\n".join(chunk), inline=False)


def help_embed(answer_channels: bool, *, retention_days: int = 365) -> discord.Embed:
    how = [
        "• **Mention me** with a question, or send me a **DM**.",
        "• `/ask` — type a question; suggestions appear as you type.",
        "• `/topics` — browse questions by topic.",
        "• `/recommendation number:1-7` — one of the seven urgent actions.",
        "• `/sources` — where to read the original documents.",
        "• Right-click a message → **Apps → Ask the bot** to answer it.",
    ]
    if answer_channels:
        how.insert(1, "• Ask in an answer channel and I'll reply when I'm confident.")
    embed = discord.Embed(
        title="What I can answer",
        description=(
            "I answer questions about the European Leadership Network's December 2020 "
            "recommendations on NATO-Russia military risk reduction, the NATO 2030 report, "
            "and the treaties they discuss. When I don't know, I say so.\n\n" + "\n".join(how)
        ),
        colour=COLOUR_INFO,
    )
    embed.add_field(
        name="Your data",
        value=(
            "To help moderators improve the answers, I keep the questions I couldn't answer, "
            "which answers I gave and your votes, with your user id and where you asked, for "
            f"{retention_days} days. `/privacy` says more and deletes yours."
        ),
        inline=False,
    )
    return embed


def reload_summary(outcome: ReloadOutcome, entries: int) -> str:
    """The audit line for a reload: how many entries are served now, or why a file was
    rejected (its first ten errors) while the last good version stays."""
    if outcome.swapped:
        return f"🔄 Knowledge reloaded from disk: {entries} entries now served."
    lines = [str(p) for p in outcome.problems if p.severity == "error"][:10]
    detail = "\n".join(f"• {line}" for line in lines) or outcome.message
    return (
        "⚠️ A changed knowledge file was rejected; still serving the last good version.\n" + detail
    )


def label(text: str) -> str:
    """A button label (80 characters)."""
    return clip(text, LABEL_MAX)
