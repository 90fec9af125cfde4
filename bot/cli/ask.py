"""``eln-bot ask``: answer questions offline, as text for people or JSON lines for scripts.

Imported only when a question is to be answered; it loads the matching core and the knowledge,
never discord.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from bot.cli.boundary import UsageError
from bot.config import Settings
from bot.core import smalltalk
from bot.core.decision import model_beside
from bot.core.matching import Match, Matcher, Status
from bot.core.surface import COMMAND_LINE, Surface
from bot.errors import ExitCode
from bot.storage.loading import load_effective

EXAMPLE = "What are the seven urgent actions?"
ASK_HINT = f'Try: eln-bot ask "{EXAMPLE}"'


def matcher_for(args: argparse.Namespace, settings: Settings) -> Matcher:
    """A matcher over ``--knowledge`` if given, else the shipped file plus moderators' edits."""
    path: Path | None = getattr(args, "knowledge", None)
    knowledge, _ = load_effective(settings, path)
    return Matcher(knowledge, model=model_beside(path or settings.knowledge_path))


def ask(args: argparse.Namespace, settings: Settings) -> int:
    """Exit OK with a confident answer, FAILED when declined or unsure (scripts can test it)."""
    question = " ".join(args.question).strip()
    if args.json:
        lines = [question] if question else sys.stdin
        return _json_lines(matcher_for(args, settings), lines, args, settings)
    if not question:
        raise UsageError(f'give a question, e.g. eln-bot ask "{EXAMPLE}"')
    if refusal := too_long(question, settings):
        print(refusal)
        return ExitCode.FAILED
    result = matcher_for(args, settings).match(question, strict=args.strict)
    print(render_text(result, hint=ASK_HINT))
    if args.explain:
        print()
        print(explain(result))
    return ExitCode.OK if result.status is Status.ANSWER else ExitCode.FAILED


def _json_lines(
    matcher: Matcher, lines: Iterable[str], args: argparse.Namespace, settings: Settings
) -> int:
    """One JSON object per non-blank line, flushed each time so a pipeline sees it at once."""
    for line in lines:
        question = line.strip()
        if len(question) > settings.max_question:
            print(json.dumps(too_long_json(question)), flush=True)
        elif question:
            result = matcher.match(question, strict=args.strict)
            print(json.dumps(as_json(result)), flush=True)
    return ExitCode.OK


def too_long(question: str, settings: Settings) -> str | None:
    """The polite refusal for a question over ``ELN_MAX_QUESTION`` characters, else None."""
    if len(question) <= settings.max_question:
        return None
    return f"That question is over {settings.max_question} characters; please shorten it."


def as_json(result: Match) -> dict[str, object]:
    """One answer for scripts. ``score`` is the matcher's 0-100 score for its best
    candidate; ``confidence`` the probability (0-1) that it is right; ``status`` is one of
    answer, unsure, decline, smalltalk, too_long."""
    entry = result.entry
    return {
        "question": result.question,
        "id": entry.id if entry else None,
        "score": result.score,
        "suggestions": [e.id for e in result.suggestions],
        "answer": COMMAND_LINE.fill(entry.answer) if entry else None,
        "status": result.status.value,
        "confidence": round(result.confidence, 4),
    }


def too_long_json(question: str) -> dict[str, object]:
    """The JSON line for a question over the limit: never matched."""
    return {
        "question": question,
        "id": None,
        "score": 0.0,
        "suggestions": [],
        "answer": None,
        "status": "too_long",
        "confidence": 0.0,
    }


def render_text(result: Match, *, hint: str, surface: Surface = COMMAND_LINE) -> str:
    """A plain-text answer for the terminal; ``hint`` says how to ask again where it is read,
    ``surface`` how answers name commands there."""
    entry = result.entry
    if result.smalltalk is not None:
        return smalltalk.reply(result.smalltalk, hint)
    if entry is not None:
        lines = [entry.question, "", surface.fill(entry.answer), "", "Sources:"]
        lines += [f"  - {s.title}: {s.url}" for s in entry.sources]
        lines.append(f"Confidence: {result.confidence:.0%} (entry: {entry.id})")
        if result.sibling is not None:
            lines.append(f"See also: {result.sibling.question} ({result.sibling.id})")
        return "\n".join(lines)
    if result.out_of_range is not None:
        return (
            f"There are {result.item_count} urgent actions, numbered 1 to "
            f"{result.item_count}. Ask for one of them. {hint}"
        )
    if result.suggestions:
        lines = ["I'm not sure what you mean. Did you mean:"]
        lines += [f"  - {e.question} ({e.id})" for e in result.suggestions]
        return "\n".join(lines)
    return (
        "Sorry, I don't know that one. I answer questions about the ELN's December 2020 "
        "recommendations on NATO-Russia military risk reduction, the NATO 2030 report and "
        f"the treaties they discuss. {hint}"
    )


def explain(result: Match) -> str:
    """Why the matcher decided what it did: the words it read, the phrasing, the runner-up."""
    words = ", ".join(
        f"{t.word}->{t.known_as}({t.similarity:.2f})"
        if t.known_as and t.known_as != t.word
        else f"{t.word}{'' if t.known_as else '?'} w={t.weight:.2f}"
        for t in result.tokens
    )
    lines = [
        f"normalised:  {result.normalised!r}",
        f"words:       {words}  (? = unknown word)",
        f"decision:    {result.status.value} at score {result.score:.1f}, "
        f"confidence {result.confidence:.0%}",
    ]
    if result.item is not None:
        lines.append(f"item:        points at action {result.item}")
    for label, cand in zip(("best", "runner-up", "third"), result.candidates, strict=False):
        lines.append(f"{label + ':':<12} {cand.entry.id} {cand.score:.1f} via {cand.phrasing!r}")
    return "\n".join(lines)
