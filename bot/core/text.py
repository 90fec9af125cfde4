"""Text chores every layer needs, written once: clipping, folding, and Discord markup.

Pure Python: the Discord layer, the storage and the matcher all import from here, so a
message is clipped, folded and stripped of markup the same way wherever it is handled.
"""

from __future__ import annotations

import re
import unicodedata

#: Discord syntax that carries no meaning for matching or grouping questions.
DISCORD_MARKUP = re.compile(
    r"<a?:\w{1,32}:\d{1,25}>"  # custom emoji
    r"|<(?:@[!&]?|#)\d{1,25}>"  # user, role and channel mentions
    r"|</[\w\- ]{1,96}:\d{5,25}>"  # slash-command mentions
    r"|<t:-?\d{1,13}(?::[tTdDfFR])?>"  # timestamps
    r"|@(?:everyone|here)\b"
    r"|https?://\S+"
    r"|```.*?```",
    re.DOTALL,
)
#: A user or role mention, with the id as group 1 (the bot strips its own).
MENTION = re.compile(r"<@[!&]?(\d{5,25})>")
_PUNCTUATION = re.compile(r"[^\w\s]")


def clip(text: str, limit: int) -> str:
    """Shorten to ``limit`` characters, marking the cut with an ellipsis."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def strip_accents(text: str) -> str:
    """Case-folded, with accents dropped: "Déjà" -> "deja"."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def fold(text: str) -> str:
    """Case-, accent-, punctuation- and whitespace-insensitive form, to spot duplicates."""
    return " ".join(_PUNCTUATION.sub(" ", strip_accents(text)).split())
