"""Measure the matcher on a labelled question set: in-scope accuracy and out-of-scope declines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.matching import Match, Matcher, Status
from bot.errors import BotError


@dataclass(frozen=True, slots=True)
class Labelled:
    in_scope: tuple[tuple[str, frozenset[str]], ...]
    out_of_scope: tuple[str, ...]


@dataclass
class Report:
    in_scope: int = 0
    correct: int = 0
    out_of_scope: int = 0
    declined: int = 0
    misses: list[tuple[str, str, Match]] = field(default_factory=list)  # (kind, expected, match)

    @property
    def accuracy(self) -> float:
        return self.correct / self.in_scope if self.in_scope else 0.0

    @property
    def decline_rate(self) -> float:
        return self.declined / self.out_of_scope if self.out_of_scope else 0.0


def load_labelled(path: Path) -> Labelled:
    """Read ``in_scope: [{q, ids}]`` and ``out_of_scope: [question]``; BotError if malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BotError(f"cannot read labelled set {path}: {exc}") from None
    if not isinstance(data, dict):
        raise BotError(f"{path}: expected a mapping with in_scope and out_of_scope")
    pairs: list[tuple[str, frozenset[str]]] = []
    for i, item in enumerate(data.get("in_scope") or []):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise BotError(f"{path}: in_scope item {i + 1} needs q and ids")
        ids = item.get("ids") or []
        pairs.append((item["q"], frozenset([ids] if isinstance(ids, str) else ids)))
    outs = [str(q) for q in data.get("out_of_scope") or []]
    return Labelled(tuple(pairs), tuple(outs))


def evaluate(matcher: Matcher, labelled: Labelled) -> Report:
    report = Report()
    for question, ids in labelled.in_scope:
        result = matcher.match(question)
        report.in_scope += 1
        if result.entry is not None and result.entry.id in ids:
            report.correct += 1
        else:
            report.misses.append(("in-scope", "/".join(sorted(ids)), result))
    for question in labelled.out_of_scope:
        result = matcher.match(question)
        report.out_of_scope += 1
        if result.status is not Status.ANSWER:
            report.declined += 1
        else:
            report.misses.append(("out-of-scope", "(decline)", result))
    return report


def format_report(report: Report, *, show_misses: bool = True) -> str:
    lines = [
        f"in-scope top-1 accuracy:   {report.accuracy:6.1%}  ({report.correct}/{report.in_scope})",
        f"out-of-scope declined:     {report.decline_rate:6.1%}  "
        f"({report.declined}/{report.out_of_scope})",
    ]
    if show_misses and report.misses:
        lines.append("")
        lines.append(f"misses ({len(report.misses)}):")
        for kind, expected, m in report.misses:
            got = m.entry.id if m.entry else f"{m.status.value}"
            best = m.best
            detail = f"{best.entry.id} {best.score:.0f}" if best else "no candidate"
            lines.append(f"  [{kind}] {m.question!r}: expected {expected}, got {got} ({detail})")
    return "\n".join(lines)
