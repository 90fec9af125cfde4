"""Placeholders in answers read as each surface's own command."""

from __future__ import annotations

from bot.core.surface import COMMAND_LINE, CONSOLE, LITERAL_COMMAND, Surface


def test_each_surface_fills_the_same_text_its_own_way() -> None:
    text = "Use {recommendation}, or {sources} for links. {how_to_ask}"
    offline = COMMAND_LINE.fill(text)
    assert 'eln-bot ask "recommendation 3"' in offline and "{" not in offline
    assert LITERAL_COMMAND.search(CONSOLE.fill(text).replace("eln-bot", "")) is None
    custom = Surface(sources="S", recommendation="R", how_to_ask="H")
    assert custom.fill(text) == "Use R, or S for links. H"


def test_an_unknown_placeholder_stays_visible_rather_than_vanishing() -> None:
    assert COMMAND_LINE.fill("see {nothing}") == "see {nothing}"
