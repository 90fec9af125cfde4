"""One answer text, every surface: placeholders an answer uses for how to do something.

An answer says "use {recommendation}" once; Discord shows the slash command, the command
line shows the ``eln-bot`` equivalent, the console what to type there. ``check`` rejects
answers that name a slash command or an ``eln-bot`` command literally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
#: A literal command reference that belongs in a placeholder instead.
LITERAL_COMMAND = re.compile(
    r"(?<![\w/.:])/(?:ask|topics|recommendation|sources|help|kb|settings|privacy)\b"
    r"|\beln-bot\s+[a-z]"
)


@dataclass(frozen=True, slots=True)
class Surface:
    """What each placeholder reads as where the answer is shown."""

    sources: str
    recommendation: str
    how_to_ask: str

    def fill(self, text: str) -> str:
        """``text`` with each known placeholder replaced; unknown ones are left visible."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


PLACEHOLDERS = frozenset(f.name for f in fields(Surface))

COMMAND_LINE = Surface(
    sources='`eln-bot ask "sources"`',
    recommendation='`eln-bot ask "recommendation 3"`',
    how_to_ask=(
        'Ask one question with `eln-bot ask "your question"`, several with '
        "`eln-bot console`, or run me on Discord with `eln-bot run`."
    ),
)
CONSOLE = Surface(
    sources='"sources"',
    recommendation='"recommendation 3"',
    how_to_ask="Type a question and press Enter; `help` lists what else you can type.",
)
