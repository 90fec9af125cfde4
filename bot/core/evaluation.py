"""Measure the matcher on a labelled question set: answers, declines, small talk, and how
well its confidence is calibrated. Every rate comes with its 95% (Wilson) interval.

A labelled set is YAML: ``in_scope: [{q, ids}]`` (every entry id that is a fair answer),
``out_of_scope: [question]`` and, optionally, ``smalltalk: [question]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.decision import (
    DecisionModel,
    Sample,
    calibrate,
    expected_calibration_error,
    reliability,
)
from bot.core.knowledge import Knowledge
from bot.core.matching import Match, Matcher, Status
from bot.core.smalltalk import Kind
from bot.errors import BotError

#: Entries tagged so describe the bot itself: "who are you" answered as small talk is right.
ABOUT_TAG = "about"
_SELF_KINDS = frozenset({Kind.HELP, Kind.WHO_ARE_YOU})


@dataclass(frozen=True, slots=True)
class Labelled:
    in_scope: tuple[tuple[str, frozenset[str]], ...]
    out_of_scope: tuple[str, ...]
    smalltalk: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Proportion:
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Wilson score interval: honest at small counts and near 0% or 100%."""
        n = self.total
        if not n:
            return 0.0, 0.0
        p = self.hits / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def __str__(self) -> str:
        low, high = self.interval()
        return f"{self.value:6.1%}  ({self.hits}/{self.total}; 95% CI {low:.1%}–{high:.1%})"


@dataclass
class Report:
    in_scope: int = 0
    correct: int = 0
    offered: int = 0  # the right entry answered, or first suggested
    out_of_scope: int = 0
    declined: int = 0  # declined or answered as small talk
    smalltalk: int = 0
    smalltalk_replied: int = 0
    misses: list[tuple[str, str, Match]] = field(default_factory=list)  # (kind, expected, match)
    outcomes: list[tuple[float, bool]] = field(default_factory=list)  # (confidence, top right)

    @property
    def accuracy(self) -> float:
        return self.correct / self.in_scope if self.in_scope else 0.0

    @property
    def decline_rate(self) -> float:
        return self.declined / self.out_of_scope if self.out_of_scope else 0.0

    @property
    def ece(self) -> float:
        return expected_calibration_error(
            [ok for _, ok in self.outcomes], [p for p, _ in self.outcomes]
        )


LABELLED_KEYS = ("in_scope", "out_of_scope")  # required
OPTIONAL_KEYS = ("smalltalk",)  # questions the bot should meet with small talk
KEYS_HELP = (
    "in_scope (questions and the ids that answer them) and out_of_scope (questions to decline)"
)


def load_labelled(path: Path) -> Labelled:
    """Read a labelled set; one clear BotError line, naming the file, if it is not one.

    Without the checks a file lacking the keys scored "0.0% (0/0)", and bad YAML dumped the
    parser's multi-line message.
    """
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise BotError(f"{path}: expected a mapping with {KEYS_HELP}, found {_kind(data)}")
    if missing := [k for k in LABELLED_KEYS if k not in data]:
        raise BotError(f"{path}: missing {' and '.join(missing)}; a labelled set has {KEYS_HELP}")
    if unknown := sorted(str(k) for k in data if k not in LABELLED_KEYS + OPTIONAL_KEYS):
        raise BotError(f"{path}: unknown key(s) {', '.join(unknown)}; expected {KEYS_HELP}")
    pairs = tuple(
        _labelled(item, number, path)
        for number, item in enumerate(_list(data, "in_scope", path), start=1)
    )
    outs, talk = (
        tuple(_question(q, key, n, path) for n, q in enumerate(_list(data, key, path), start=1))
        for key in ("out_of_scope", "smalltalk")
    )
    if not pairs and not outs:
        raise BotError(f"{path}: no questions in in_scope or out_of_scope")
    return Labelled(pairs, outs, talk)


def evaluate(matcher: Matcher, labelled: Labelled) -> Report:
    report = Report()
    about = {e.id for e in matcher.knowledge.entries if ABOUT_TAG in e.tags}
    for question, ids in labelled.in_scope:
        result = matcher.match(question)
        report.in_scope += 1
        self_talk = result.smalltalk in _SELF_KINDS and bool(ids & about)
        right = self_talk or (result.entry is not None and result.entry.id in ids)
        report.correct += right
        first = result.entry or (result.suggestions[0] if result.suggestions else None)
        report.offered += self_talk or (first is not None and first.id in ids)
        _note(report, result, ids)
        if not right:
            report.misses.append(("in-scope", "/".join(sorted(ids)), result))
    for question in labelled.out_of_scope:
        result = matcher.match(question)
        report.out_of_scope += 1
        _note(report, result, frozenset())
        if result.status is Status.ANSWER:
            report.misses.append(("out-of-scope", "(decline)", result))
        else:
            report.declined += 1
    for question in labelled.smalltalk:
        result = matcher.match(question)
        report.smalltalk += 1
        report.smalltalk_replied += result.status is Status.SMALLTALK
        if result.status is Status.ANSWER:
            report.misses.append(("smalltalk", "(small talk)", result))
    return report


def samples(matcher: Matcher, labelled: Labelled) -> list[Sample]:
    """What the decision model learns from: each question the matcher ranked, with whether
    its top candidate was a right answer (small talk is replied to before any ranking)."""
    out = []
    questions: Iterable[tuple[str, frozenset[str]]] = (
        *labelled.in_scope,
        *((q, frozenset()) for q in (*labelled.out_of_scope, *labelled.smalltalk)),
    )
    for question, ids in questions:
        result = matcher.match(question)
        if result.status is Status.SMALLTALK or not result.candidates:
            continue
        right = result.candidates[0].entry.id in ids
        out.append(Sample(result.features, right, bool(ids)))
    return out


def fit_model(knowledge: Knowledge, sets: Iterable[Labelled]) -> DecisionModel:
    """Refit the decision model for this knowledge from labelled questions: what
    ``eln-bot calibrate`` does for an operator's own knowledge and questions."""
    matcher = Matcher(knowledge)  # features do not depend on a model
    found = [s for labelled in sets for s in samples(matcher, labelled)]
    if len(found) < 50:
        raise BotError(f"only {len(found)} labelled questions; fitting needs at least 50")
    return calibrate(found)


def format_report(report: Report, *, show_misses: bool = True) -> str:
    lines = [
        f"in-scope answered right:        {Proportion(report.correct, report.in_scope)}",
        f"right entry answered or first suggested: {Proportion(report.offered, report.in_scope)}",
        f"out-of-scope declined:          {Proportion(report.declined, report.out_of_scope)}",
    ]
    if report.smalltalk:
        replied = Proportion(report.smalltalk_replied, report.smalltalk)
        lines.append(f"small talk replied as such:     {replied}")
    lines.extend(["", *format_reliability(report)])
    if show_misses and report.misses:
        lines.append("")
        lines.append(f"misses ({len(report.misses)}):")
        for kind, expected, m in report.misses:
            got = m.entry.id if m.entry else f"{m.status.value}"
            best = m.best
            detail = f"{best.entry.id} {best.score:.0f}, p={m.confidence:.2f}" if best else "-"
            lines.append(f"  [{kind}] {m.question!r}: expected {expected}, got {got} ({detail})")
    return "\n".join(lines)


def format_reliability(report: Report) -> list[str]:
    """Predicted against observed accuracy of the top candidate, per confidence bin."""
    probs = [p for p, _ in report.outcomes]
    bins = reliability([ok for _, ok in report.outcomes], probs)
    lines = ["confidence   questions  predicted  observed"]
    lines += [
        f"{b.low:.1f}–{b.high:.1f}   {b.count:9d}  {b.predicted:9.1%}  {b.observed:8.1%}"
        for b in bins
    ]
    lines.append(f"expected calibration error: {report.ece:.1%}")
    return lines


def _note(report: Report, result: Match, ids: frozenset[str]) -> None:
    if result.status is not Status.SMALLTALK and result.candidates:
        report.outcomes.append((result.confidence, result.candidates[0].entry.id in ids))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BotError(f"{path}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise BotError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BotError(f"{where}: not valid YAML ({problem})") from None


def _labelled(item: Any, number: int, path: Path) -> tuple[str, frozenset[str]]:
    ids = item.get("ids") if isinstance(item, dict) else None
    ids = [ids] if isinstance(ids, str) else ids
    question = item.get("q") if isinstance(item, dict) else None
    if not isinstance(question, str) or not isinstance(ids, list) or not ids:
        raise BotError(
            f"{path}: in_scope item {number} needs q (the question) and ids "
            "(the entry ids that answer it)"
        )
    if not all(isinstance(i, str) for i in ids):
        raise BotError(f"{path}: in_scope item {number}: ids must be entry ids (text)")
    return question, frozenset(ids)


def _question(item: Any, key: str, number: int, path: Path) -> str:
    """A question given as plain text or as ``{q: text}``."""
    text = item.get("q") if isinstance(item, dict) else item
    if not isinstance(text, str) or not text.strip():
        raise BotError(f"{path}: {key} item {number} must be a question (text)")
    return text


def _list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise BotError(f"{path}: {key} must be a list, found {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
